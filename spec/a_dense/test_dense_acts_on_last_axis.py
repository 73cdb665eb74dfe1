"""Dense transforms the last axis of an input of any rank."""

import keras
import numpy as np
import pytest

from spec.tolerances import ATOL_FLOAT32_DOT, RTOL_FLOAT32_DOT


@pytest.mark.claim("dense-acts-on-last-axis")
def test_rank3_input_keeps_steps_and_parameter_count(impl):
    """(None, 5, 3) becomes (None, 5, 32) with the same 128 parameters as on (None, 3)."""
    inputs = keras.Input(shape=(5, 3))
    layer = keras.layers.Dense(32)
    outputs = layer(inputs)

    assert tuple(outputs.shape) == (None, 5, 32)
    assert layer.count_params() == 128
    assert impl.params.count_params(layer) == 128
    assert impl.params.count_params(keras.Model(inputs, outputs)) == 128


@pytest.mark.claim("dense-acts-on-last-axis")
def test_rank3_output_is_x_matmul_w_plus_b_at_every_step(rng):
    """Each step's output is x @ W + b with one shared W (numpy float64 oracle)."""
    layer = keras.layers.Dense(32, bias_initializer="random_normal")
    x = rng.normal(size=(4, 5, 3)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = (w.astype("float64") for w in layer.get_weights())

    expected = x.astype("float64") @ kernel + bias

    np.testing.assert_allclose(y, expected, rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)
    # The loose reading (flatten the steps, one big matrix) would need a (15, 32) kernel.
    assert kernel.shape == (3, 32)
