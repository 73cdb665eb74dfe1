"""Convolution timings on JAX: `jax.jit` of XLA's convolution, forward and both gradients.

Same problems as `test_bench_conv.py` (checked against the same float64 oracles before timing), and
compared with JAX's own matmul peak on the same device. Needs no TensorFlow: on a machine with JAX
and a GPU, `pytest spec/benchmarks --benchmark-only -n 0 -k jax` times the GPU.
"""

import numpy as np
import pytest

from ..g_perf import jax_ladder, oracles
from ..g_perf import problems as ladder
from .machine import schema

pytestmark = [
    pytest.mark.claim("bench-conv"),
    pytest.mark.skipif(not jax_ladder.installed(), reason=jax_ladder.MISSING),
    # Plain jax.jit, no Keras: the rungs run whichever Keras backend the session has.
    pytest.mark.runs_on("tensorflow", "jax", why="the JAX rungs use no Keras"),
]

SIZES = ladder.RUNGS
problem = ladder.rung


def _precision(device):
    # JAX's default precision runs float32 products in TF32 on Ampere-class GPUs.
    return "float32" if device == "cpu" else "default (TF32 on Ampere and newer)"


@pytest.mark.parametrize("device", jax_ladder.device_params())
@pytest.mark.parametrize("name", list(SIZES))
def test_jax_forward(benchmark, record, name, device):
    """JAX's compiled forward convolution: same numbers as the definition, timed against JAX's peak."""
    kind, shape, (x, k, _), macs = problem(name)
    fn = jax_ladder.forward(kind, shape[2])
    jx, jk = jax_ladder.on(device, x, k)
    run = lambda: np.asarray(fn(jx, jk))  # noqa: E731  (np.asarray waits for the device)
    out = run()
    ladder.assert_same(out, (oracles.conv2d if kind == "conv" else oracles.depthwise_conv2d)(x, k, padding="same"))
    benchmark(run)
    record(flops=2 * macs, bytes=x.nbytes + k.nbytes + out.nbytes, device=device, batch_size=shape[0],
           path=schema.jax_path(), case=schema.conv_case("forward", name), backend="jax", precision=_precision(device))


@pytest.mark.parametrize("device", jax_ladder.device_params())
@pytest.mark.parametrize("wrt", ["input", "filter"])
@pytest.mark.parametrize("name", list(SIZES))
def test_jax_backward(benchmark, record, name, wrt, device):
    """JAX's input and filter gradients (vector-Jacobian products), checked, then timed."""
    kind, shape, (x, k, g), macs = problem(name)
    fn = jax_ladder.backward(kind, shape[2], wrt)
    arrays = jax_ladder.on(device, x, k, g)
    run = lambda: np.asarray(fn(*arrays))  # noqa: E731
    out = run()
    grads = (oracles.conv2d_grads if kind == "conv" else oracles.depthwise_conv2d_grads)(x, k, g, padding="same")
    ladder.assert_same(out, dict(zip(("input", "filter"), grads))[wrt])
    benchmark(run)
    operands = (x if wrt == "filter" else k, g)
    record(flops=2 * macs, bytes=sum(a.nbytes for a in operands) + out.nbytes, device=device, batch_size=shape[0],
           path=schema.jax_path(), case=schema.conv_case(f"backward-{wrt}", name), backend="jax",
           precision=_precision(device))


@pytest.mark.parametrize("device", jax_ladder.device_params())
def test_jax_matmul_peak(benchmark, record, device):
    """JAX's large float32 matmul: the ceiling its rungs are compared with on this device."""
    from .machine import PEAK_MATMUL_N, matmul_fn, matmul_operands

    a, b = matmul_operands()
    run, flops = matmul_fn(a, b, device, backend="jax")
    want = a[:64].astype(np.float64) @ b[:, :64].astype(np.float64)
    np.testing.assert_allclose(run()[:64, :64], want, rtol=0, atol=1e-4 * np.sqrt(PEAK_MATMUL_N))
    benchmark(run)
    record(flops=flops, bytes=3 * a.nbytes, device=device, batch_size=1, path=schema.MATMUL,
           case=f"{PEAK_MATMUL_N}x{PEAK_MATMUL_N}", backend="jax", precision=_precision(device))
