"""Convolution timings on JAX and torch, no Keras: forward and both gradients.

The JAX rung is `jax.jit` of XLA's convolution; the torch rung is torch's own convolution, eager
(`spec/g_perf/jax_ladder.py`, `torch_ladder.py`). Same problems as `test_bench_conv.py`, checked
against the same float64 oracles before timing, and compared with each library's own matmul peak on
the same device. Needs no TensorFlow: on a machine with JAX or torch and a GPU,
`pytest spec/benchmarks --benchmark-only -n 0 -k jax` (or `-k torch`) times the GPU.
"""

import numpy as np
import pytest

from ..g_perf import jax_ladder, oracles, torch_ladder
from ..g_perf import problems as ladder
from .machine import schema

pytestmark = pytest.mark.claim("bench-conv")

SIZES = ladder.RUNGS
problem = ladder.rung
PATHS = {"jax": schema.jax_path(), "torch": schema.torch_path()}


def _on_devices():
    """`(rung, device)` for each library's devices; a rung runs in the Keras sessions it names."""
    return [
        pytest.param(rung, device.values[0], id=device.id,
                     marks=[*device.marks, pytest.mark.skipif(not rung.installed(), reason=rung.MISSING),
                            pytest.mark.runs_on(*rung.RUNS_ON, why=f"the {rung.BACKEND} rungs use no Keras")])
        for rung in (jax_ladder, torch_ladder) for device in rung.device_params()
    ]


@pytest.mark.parametrize("rung, device", _on_devices())
@pytest.mark.parametrize("name", list(SIZES))
def test_forward(benchmark, record, name, rung, device):
    """The library's forward convolution gives the definition's numbers; its time is reported against its peak."""
    kind, shape, (x, k, _), macs = problem(name)
    fn = rung.forward(kind, shape[2])
    on_device = rung.on(device, x, k)
    run = lambda: fn(*on_device)  # noqa: E731  (a numpy result: the copy waits for the device)
    out = run()
    ladder.assert_same(out, (oracles.conv2d if kind == "conv" else oracles.depthwise_conv2d)(x, k, padding="same"))
    benchmark(run)
    record(flops=2 * macs, bytes=x.nbytes + k.nbytes + out.nbytes, device=device, batch_size=shape[0],
           path=PATHS[rung.BACKEND], case=schema.conv_case("forward", name), backend=rung.BACKEND,
           precision=rung.precision(device))


@pytest.mark.parametrize("rung, device", _on_devices())
@pytest.mark.parametrize("wrt", ["input", "filter"])
@pytest.mark.parametrize("name", list(SIZES))
def test_backward(benchmark, record, name, wrt, rung, device):
    """The library's input and filter gradients (vector-Jacobian products) are checked, then timed."""
    kind, shape, (x, k, g), macs = problem(name)
    fn = rung.backward(kind, shape[2], wrt)
    arrays = rung.on(device, x, k, g)
    run = lambda: fn(*arrays)  # noqa: E731
    out = run()
    grads = (oracles.conv2d_grads if kind == "conv" else oracles.depthwise_conv2d_grads)(x, k, g, padding="same")
    ladder.assert_same(out, dict(zip(("input", "filter"), grads))[wrt])
    benchmark(run)
    operands = (x if wrt == "filter" else k, g)
    record(flops=2 * macs, bytes=sum(a.nbytes for a in operands) + out.nbytes, device=device, batch_size=shape[0],
           path=PATHS[rung.BACKEND], case=schema.conv_case(f"backward-{wrt}", name), backend=rung.BACKEND,
           precision=rung.precision(device), **rung.BACKWARD_FACTS)


@pytest.mark.parametrize("rung, device", _on_devices())
def test_matmul_peak(benchmark, record, rung, device):
    """The library's large float32 matmul: the ceiling its rungs are compared with on this device."""
    from .machine import PEAK_MATMUL_N, matmul_fn, matmul_operands

    a, b = matmul_operands()
    run, flops = matmul_fn(a, b, device, backend=rung.BACKEND)
    want = a[:64].astype(np.float64) @ b[:, :64].astype(np.float64)
    np.testing.assert_allclose(run()[:64, :64], want, rtol=0, atol=1e-4 * np.sqrt(PEAK_MATMUL_N))
    benchmark(run)
    record(flops=flops, bytes=3 * a.nbytes, device=device, batch_size=1, path=schema.MATMUL,
           case=f"{PEAK_MATMUL_N}x{PEAK_MATMUL_N}", backend=rung.BACKEND, precision=rung.precision(device))
