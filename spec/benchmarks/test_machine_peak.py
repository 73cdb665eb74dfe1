"""The machine's ceiling, measured in the same run as the other benchmarks.

Every other benchmark is reported as a fraction of these two numbers: the speed of a large float32
matrix product (what convolutions are turned into) and of a large memory copy.
"""

import numpy as np
import pytest

from ..g_perf import devices
from . import machine
from .machine import schema

pytestmark = pytest.mark.claim("bench-conv")


@pytest.mark.parametrize("device", devices.device_params())
def test_matmul_peak(benchmark, record, device):
    """A large float32 matmul: the machine's measured compute ceiling (GFLOP/s)."""
    a, b = machine.matmul_operands()
    run, flops = machine.matmul_fn(a, b, device)
    # Check a corner block against float64 before timing; each entry sums n products of unit
    # normals (size ~sqrt(n)), float32 rounding stays far below 1e-4 of that.
    n = a.shape[0]
    want = a[:64].astype(np.float64) @ b[:, :64].astype(np.float64)
    np.testing.assert_allclose(run()[:64, :64], want, rtol=0, atol=1e-4 * np.sqrt(n))
    benchmark(run)
    record(flops=flops, bytes=3 * a.nbytes, device=device, batch_size=1, path=schema.MATMUL, case=f"{n}x{n}")


def test_copy_bandwidth(benchmark, record):
    """A large memory copy: the machine's measured bandwidth ceiling (GB/s)."""
    src = np.arange(machine.COPY_BYTES // 4, dtype=np.float32)
    dst = np.zeros_like(src)
    run, nbytes = machine.copy_fn(src, dst)
    run()
    np.testing.assert_array_equal(dst, src)
    benchmark(run)
    info = record(flops=0, bytes=nbytes, device="cpu", batch_size=1, path=schema.COPY, case=f"{src.nbytes // 2**20} MiB")
    if benchmark.stats is not None:
        info[schema.GBS] = nbytes / benchmark.stats.stats.min / 1e9
