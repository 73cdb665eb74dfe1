"""Convolution timings on torch: torch's own convolution (eager), forward and both gradients.

Same problems as `test_bench_conv.py` (checked against the same float64 oracles before timing), and
compared with torch's own float32 matmul peak on the same device. Needs no TensorFlow and no Keras:
on a machine with torch and a GPU, `pytest spec/benchmarks --benchmark-only -n 0 -k torch` times
the GPU (any KERAS_BACKEND; with KERAS_BACKEND=torch the Grad-CAM session benchmark runs too).
"""

import numpy as np
import pytest

from ..g_perf import oracles, torch_ladder
from ..g_perf import problems as ladder
from .machine import schema

pytestmark = [
    pytest.mark.claim("bench-conv"),
    pytest.mark.skipif(not torch_ladder.installed(), reason=torch_ladder.MISSING),
    # Plain torch, no Keras: the rungs run whichever Keras backend the session has.
    pytest.mark.runs_on("tensorflow", "jax", "torch", why="the torch rungs use no Keras"),
]

SIZES = ladder.RUNGS
problem = ladder.rung


@pytest.mark.parametrize("device", torch_ladder.device_params())
@pytest.mark.parametrize("name", list(SIZES))
def test_torch_forward(benchmark, record, name, device):
    """Torch's forward convolution gives the definition's numbers; its time is reported against torch's peak."""
    kind, shape, (x, k, _), macs = problem(name)
    fn = torch_ladder.forward(kind, shape[2])
    tx, tk = torch_ladder.on(device, x, k)
    run = lambda: fn(tx, tk)  # a numpy result: the copy waits for the device
    out = run()
    ladder.assert_same(out, (oracles.conv2d if kind == "conv" else oracles.depthwise_conv2d)(x, k, padding="same"))
    benchmark(run)
    record(flops=2 * macs, bytes=x.nbytes + k.nbytes + out.nbytes, device=device, batch_size=shape[0],
           path=schema.torch_path(), case=schema.conv_case("forward", name), backend="torch",
           precision=torch_ladder.PRECISION)


@pytest.mark.parametrize("device", torch_ladder.device_params())
@pytest.mark.parametrize("wrt", ["input", "filter"])
@pytest.mark.parametrize("name", list(SIZES))
def test_torch_backward(benchmark, record, name, wrt, device):
    """Torch's input and filter gradients (autograd's vector-Jacobian products) are checked, then timed."""
    kind, shape, (x, k, g), macs = problem(name)
    fn = torch_ladder.backward(kind, shape[2], wrt)
    arrays = torch_ladder.on(device, x, k, g)
    run = lambda: fn(*arrays)
    out = run()
    grads = (oracles.conv2d_grads if kind == "conv" else oracles.depthwise_conv2d_grads)(x, k, g, padding="same")
    ladder.assert_same(out, dict(zip(("input", "filter"), grads))[wrt])
    benchmark(run)
    operands = (x if wrt == "filter" else k, g)
    record(flops=2 * macs, bytes=sum(a.nbytes for a in operands) + out.nbytes, device=device, batch_size=shape[0],
           path=schema.torch_path(), case=schema.conv_case(f"backward-{wrt}", name), backend="torch",
           precision=torch_ladder.PRECISION,
           note="eager autograd: each timed call runs the forward convolution too; flops count the gradient alone")


@pytest.mark.parametrize("device", torch_ladder.device_params())
def test_torch_matmul_peak(benchmark, record, device):
    """Torch's large float32 matmul: the ceiling its rungs are compared with on this device."""
    from .machine import PEAK_MATMUL_N, matmul_fn, matmul_operands

    a, b = matmul_operands()
    run, flops = matmul_fn(a, b, device, backend="torch")
    want = a[:64].astype(np.float64) @ b[:, :64].astype(np.float64)
    np.testing.assert_allclose(run()[:64, :64], want, rtol=0, atol=1e-4 * np.sqrt(PEAK_MATMUL_N))
    benchmark(run)
    record(flops=flops, bytes=3 * a.nbytes, device=device, batch_size=1, path=schema.MATMUL,
           case=f"{PEAK_MATMUL_N}x{PEAK_MATMUL_N}", backend="torch", precision=torch_ladder.PRECISION)
