"""A Dense layer has in*out weights plus out biases (in*out without bias)."""

import keras
import pytest
from hypothesis import given
from hypothesis import strategies as st

sizes = st.integers(min_value=1, max_value=512)


@pytest.mark.claim("dense-params-formula")
@given(input_size=sizes, output_size=sizes, use_bias=st.booleans())
def test_dense_params_equal_keras_count(impl, input_size, output_size, use_bias):
    """The formula gives Keras' own count for any sizes, with and without bias."""
    layer = keras.layers.Dense(output_size, use_bias=use_bias)
    layer.build((None, input_size))

    assert impl.params.dense_params(input_size, output_size, use_bias=use_bias) == layer.count_params()


@pytest.mark.claim("dense-params-formula")
@given(input_size=sizes, output_size=sizes)
def test_bias_adds_one_parameter_per_unit(impl, input_size, output_size):
    """Switching the bias on adds exactly one parameter per unit."""
    with_bias = impl.params.dense_params(input_size, output_size, use_bias=True)
    without = impl.params.dense_params(input_size, output_size, use_bias=False)

    assert with_bias - without == output_size
    assert without == input_size * output_size
