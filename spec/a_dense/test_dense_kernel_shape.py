"""A Dense layer's weights are an (in, out) kernel and an (out,) bias."""

import keras
import numpy as np
import pytest


@pytest.mark.claim("dense-kernel-shape")
@pytest.mark.parametrize(
    ("input_size", "units"),
    [pytest.param(3, 32, id="3-to-32"), pytest.param(32, 10, id="32-to-10"), pytest.param(1, 1, id="1-to-1")],
)
def test_kernel_is_in_by_out_and_bias_is_out(impl, input_size, units):
    """The kernel is (in, out), the bias (out,), and their sizes sum to the parameter count."""
    layer = keras.layers.Dense(units)
    layer.build((None, input_size))

    assert tuple(layer.kernel.shape) == (input_size, units)
    assert tuple(layer.bias.shape) == (units,)
    volume = int(np.prod(layer.kernel.shape)) + int(np.prod(layer.bias.shape))
    assert volume == impl.params.dense_params(input_size, units)


@pytest.mark.claim("dense-kernel-shape")
def test_layer_without_bias_has_only_a_kernel(impl):
    """use_bias=False leaves the kernel alone: one weight tensor, in*out numbers."""
    layer = keras.layers.Dense(32, use_bias=False)
    layer.build((None, 3))

    assert [tuple(w.shape) for w in layer.weights] == [(3, 32)]
    assert impl.params.dense_params(3, 32, use_bias=False) == 96
