"""Convolution ladder timings: numpy reference and im2col, TensorFlow eager, graph and XLA.

Same inputs on every rung; each output (forward) or gradient (backward) is checked against the
float64 definition before it is timed. Run: `pytest spec/benchmarks --benchmark-only -n 0`.
"""

import functools

import numpy as np
import pytest

from ..g_perf import devices

# TensorFlow's paths: a JAX-only environment skips this module (its JAX rungs are in *_jax.py).
tf = pytest.importorskip("tensorflow", reason=devices.NO_TENSORFLOW)

from ..g_perf import ladder, oracles  # noqa: E402
from . import machine  # noqa: E402
from .machine import schema  # noqa: E402

pytestmark = pytest.mark.claim("bench-conv")

# (kind, batch, size, channels, filters, kernel)
SIZES = {
    "3x3-tiny": ("conv", 2, 16, 16, 16, 3),  # where the loop-based reference can take part
    "3x3": ("conv", 32, 64, 64, 64, 3),  # a typical early conv layer: 9.7 GFLOP
    "1x1": ("conv", 32, 32, 256, 256, 1),  # a pointwise layer (a separable conv's second step): 4.3 GFLOP
    "depthwise": ("depthwise", 32, 64, 64, 1, 3),  # 9 MACs per output: limited by memory, not arithmetic
}


@functools.cache
def problem(name):
    """Inputs and float64 oracles (forward, both gradients) for one size, computed once."""
    kind, *shape = SIZES[name]
    x, k, g = ladder.conv_inputs(kind, *shape)
    forward = oracles.conv2d if kind == "conv" else oracles.depthwise_conv2d
    grads = oracles.conv2d_grads if kind == "conv" else oracles.depthwise_conv2d_grads
    return {
        "kind": kind,
        "batch": shape[0],
        "arrays": (x, k, g),
        "macs": ladder.conv_macs(kind, *shape),
        "forward": lambda: forward(x, k, padding="same"),
        "grads": functools.cache(lambda: dict(zip(("input", "filter"), grads(x, k, g, padding="same")))),
    }


def _bytes(arrays, output_shape):
    # Minimum traffic: read every operand once, write the result once (float32).
    return sum(a.nbytes for a in arrays) + 4 * int(np.prod(output_shape))


@pytest.mark.parametrize(
    "path, name",
    [pytest.param("reference", "3x3-tiny", id="reference-3x3-tiny")]
    + [pytest.param("im2col", name, id=f"im2col-{name}") for name in ("3x3-tiny", "3x3", "1x1")],
)
def test_numpy_forward(benchmark, record, impl, path, name):
    """The explanatory numpy convolutions: same numbers as the definition, a fraction of the speed."""
    p = problem(name)
    x, k, _ = p["arrays"]
    run = functools.partial(ladder.numpy_forward(impl, path), x, k)
    out = run()
    ladder.assert_same(out, p["forward"]())
    benchmark(run)
    record(flops=2 * p["macs"], bytes=_bytes((x, k), out.shape), device="cpu", batch_size=p["batch"],
           path=schema.numpy_path(path), case=schema.conv_case("forward", name), backend="numpy",
           precision="float64" if path == "reference" else "float32")


@pytest.mark.parametrize("device", devices.device_params())
@pytest.mark.parametrize("mode", ladder.TF_MODES)
@pytest.mark.parametrize("name", list(SIZES))
def test_tensorflow_forward(benchmark, record, against_peak, name, mode, device):
    """TensorFlow's forward convolution; in graph mode it runs close to the matmul peak."""
    p = problem(name)
    x, k, _ = p["arrays"]
    fn = ladder.tf_forward(p["kind"], mode)
    with tf.device(devices.tf_device(device)):
        tx, tk = tf.constant(x), tf.constant(k)

    def run():
        with tf.device(devices.tf_device(device)):
            return fn(tx, tk).numpy()

    out = run()
    ladder.assert_same(out, p["forward"]())
    benchmark(run)
    record(flops=2 * p["macs"], bytes=_bytes((x, k), out.shape), device=device, batch_size=p["batch"],
           path=schema.tf_path(mode), case=schema.conv_case("forward", name))
    if device == "cpu" and mode == "function" and name != "3x3-tiny":
        against_peak(run, 2 * p["macs"])  # the graph-mode target, measured alternating with the matmul


@pytest.mark.parametrize("device", devices.device_params())
@pytest.mark.parametrize("wrt", ["input", "filter"])
@pytest.mark.parametrize("mode", ladder.TF_MODES)
@pytest.mark.parametrize("name", ["3x3", "1x1", "depthwise"])
def test_tensorflow_backward(benchmark, record, against_peak, name, mode, wrt, device):
    """TensorFlow's input and filter gradients: each the same multiply-adds as the forward pass."""
    p = problem(name)
    x, k, g = p["arrays"]
    fn = ladder.tf_backward(p["kind"], wrt, mode)
    with tf.device(devices.tf_device(device)):
        tx, tk, tg = tf.constant(x), tf.constant(k), tf.constant(g)

    def run():
        with tf.device(devices.tf_device(device)):
            return fn(tx, tk, tg).numpy()

    out = run()
    ladder.assert_same(out, p["grads"]()[wrt])
    benchmark(run)
    operands = (x if wrt == "filter" else k, g)
    record(flops=2 * p["macs"], bytes=_bytes(operands, out.shape), device=device, batch_size=p["batch"],
           path=schema.tf_path(mode), case=schema.conv_case(f"backward-{wrt}", name))
    if device == "cpu" and mode == "function":
        against_peak(run, 2 * p["macs"])
