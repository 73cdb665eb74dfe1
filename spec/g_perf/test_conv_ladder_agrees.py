"""Claim bench-conv, the part that needs no clock: every path of the convolution ladder computes the
same numbers, forward and backward, so the benchmarks compare speed on equal terms.

Oracle: float64 numpy convolutions and their two gradients (`oracles.py`), written from the
definition, sliding windows and scatter-adds. The timings themselves are in
`spec/benchmarks/test_bench_conv.py` (run with `--benchmark-only`).
"""

import pytest
import tensorflow as tf

from . import devices, ladder, oracles

pytestmark = pytest.mark.claim("bench-conv")

# (kind, batch, size, channels, filters, kernel): the benchmark shapes, scaled down.
SMALL = {
    "3x3": ("conv", 2, 9, 6, 5, 3),
    "1x1": ("conv", 2, 7, 8, 4, 1),
    "depthwise": ("depthwise", 2, 9, 6, 1, 3),
}
CASES = [pytest.param(*shape, id=name) for name, shape in SMALL.items()]


def _oracle_forward(kind, x, k):
    return oracles.conv2d(x, k, padding="same") if kind == "conv" else oracles.depthwise_conv2d(x, k, padding="same")


def _oracle_grads(kind, x, k, g):
    grads = oracles.conv2d_grads if kind == "conv" else oracles.depthwise_conv2d_grads
    return dict(zip(("input", "filter"), grads(x, k, g, padding="same")))


@pytest.mark.parametrize("path", ["reference", "im2col"])
@pytest.mark.parametrize("kind, batch, size, channels, filters, kernel", [c for c in CASES if c.values[0] == "conv"])
def test_numpy_paths_compute_the_convolution(impl, path, kind, batch, size, channels, filters, kernel):
    """The explanatory numpy convolutions give the same numbers as the float64 definition."""
    x, k, _ = ladder.conv_inputs(kind, batch, size, channels, filters, kernel)
    ladder.assert_same(ladder.numpy_forward(impl, path)(x, k), _oracle_forward(kind, x, k))


@pytest.mark.parametrize("device", devices.device_params())
@pytest.mark.parametrize("mode", ladder.TF_MODES)
@pytest.mark.parametrize("kind, batch, size, channels, filters, kernel", CASES)
def test_tensorflow_paths_compute_the_convolution(kind, batch, size, channels, filters, kernel, mode, device):
    """TensorFlow's forward convolution, eager, graph or XLA, gives the float64 definition's numbers."""
    x, k, _ = ladder.conv_inputs(kind, batch, size, channels, filters, kernel)
    with tf.device(devices.tf_device(device)):
        got = ladder.tf_forward(kind, mode)(tf.constant(x), tf.constant(k)).numpy()
    ladder.assert_same(got, _oracle_forward(kind, x, k))


@pytest.mark.parametrize("device", devices.device_params())
@pytest.mark.parametrize("wrt", ["input", "filter"])
@pytest.mark.parametrize("mode", ladder.TF_MODES)
@pytest.mark.parametrize("kind, batch, size, channels, filters, kernel", CASES)
def test_tensorflow_paths_compute_the_gradients(kind, batch, size, channels, filters, kernel, mode, wrt, device):
    """The input and filter gradients each path times equal the float64 scatter-add and correlation."""
    x, k, g = ladder.conv_inputs(kind, batch, size, channels, filters, kernel)
    with tf.device(devices.tf_device(device)):
        got = ladder.tf_backward(kind, wrt, mode)(tf.constant(x), tf.constant(k), tf.constant(g)).numpy()
    ladder.assert_same(got, _oracle_grads(kind, x, k, g)[wrt])


def test_gradients_are_those_of_the_forward_pass():
    """The raw backprop ops the benchmarks time are what GradientTape computes for the forward conv."""
    x, k, g = (tf.constant(a) for a in ladder.conv_inputs("conv", 2, 9, 6, 5, 3))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, k])
        y = ladder.tf_forward("conv", "eager")(x, k)
    by_tape = tape.gradient(y, [x, k], output_gradients=g)
    by_ops = [ladder.tf_backward("conv", wrt, "eager")(x, k, g) for wrt in ("input", "filter")]
    for tape_grad, op_grad in zip(by_tape, by_ops):
        ladder.assert_same(op_grad.numpy(), tape_grad.numpy())
