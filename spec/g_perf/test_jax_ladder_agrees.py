"""Claim bench-conv on JAX, the part that needs no clock: the JAX rung of the convolution ladder
(`jax.jit` of XLA's convolution, forward and both gradients) gives the float64 definition's numbers,
so its benchmarks compare speed on equal terms. Nothing here imports TensorFlow.
"""

import pytest

from . import jax_ladder, oracles
from . import problems as ladder

pytestmark = [pytest.mark.claim("bench-conv"), pytest.mark.skipif(not jax_ladder.installed(), reason=jax_ladder.MISSING)]

# (kind, batch, size, channels, filters, kernel): the benchmark shapes, scaled down.
CASES = [
    pytest.param("conv", 2, 9, 6, 5, 3, id="3x3"),
    pytest.param("conv", 2, 7, 8, 4, 1, id="1x1"),
    pytest.param("depthwise", 2, 9, 6, 1, 3, id="depthwise"),
]


@pytest.mark.parametrize("device", jax_ladder.device_params())
@pytest.mark.parametrize("kind, batch, size, channels, filters, kernel", CASES)
def test_jax_computes_the_convolution(kind, batch, size, channels, filters, kernel, device):
    """`jit(conv_general_dilated)` gives the definition's output, for full and depthwise convolutions."""
    x, k, _ = ladder.conv_inputs(kind, batch, size, channels, filters, kernel)
    want = (oracles.conv2d if kind == "conv" else oracles.depthwise_conv2d)(x, k, padding="same")
    ladder.assert_same(jax_ladder.forward(kind, channels)(*jax_ladder.on(device, x, k)), want)


@pytest.mark.parametrize("device", jax_ladder.device_params())
@pytest.mark.parametrize("wrt", ["input", "filter"])
@pytest.mark.parametrize("kind, batch, size, channels, filters, kernel", CASES)
def test_jax_computes_the_gradients(kind, batch, size, channels, filters, kernel, wrt, device):
    """Its vector-Jacobian products equal the float64 scatter-add (input) and correlation (filter)."""
    x, k, g = ladder.conv_inputs(kind, batch, size, channels, filters, kernel)
    grads = (oracles.conv2d_grads if kind == "conv" else oracles.depthwise_conv2d_grads)(x, k, g, padding="same")
    want = dict(zip(("input", "filter"), grads))[wrt]
    ladder.assert_same(jax_ladder.backward(kind, channels, wrt)(*jax_ladder.on(device, x, k, g)), want)
