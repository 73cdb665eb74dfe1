"""The study text's example: Dense(32, relu) then Dense(10, softmax) on (None, 3)."""

import keras
import pytest


@pytest.fixture
def example_model():
    model = keras.Sequential()
    model.add(keras.layers.Dense(32, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.build(input_shape=(None, 3))
    return model


@pytest.mark.claim("dense-params-example")
def test_example_has_128_330_and_458_parameters(impl, example_model):
    """The layers hold 128 and 330 parameters, 458 in all, by Keras' count and by ours."""
    first, second = example_model.layers

    assert [first.count_params(), second.count_params(), example_model.count_params()] == [128, 330, 458]
    assert impl.params.count_params(first) == 128
    assert impl.params.count_params(second) == 330
    assert impl.params.count_params(example_model) == 458


@pytest.mark.claim("dense-params-example")
def test_first_layer_maps_a_3_vector_to_a_32_vector(example_model):
    """The first layer's output is a (32,) vector per sample, not the text's '(32,0)'."""
    first = example_model.layers[0]

    assert tuple(first.output.shape) == (None, 32)
    assert first.compute_output_shape((None, 3)) == (None, 32)
    # A (32, 0) tensor would hold no numbers at all.
    assert first(keras.ops.ones((1, 3))).shape == (1, 32)


@pytest.mark.claim("dense-params-example")
def test_param_table_shows_the_same_working_as_summary(impl, example_model):
    """The table lists each layer's shapes and count, matching model.summary()."""
    rows = impl.params.param_table(example_model)

    assert [r["params"] for r in rows] == [layer.count_params() for layer in example_model.layers]
    assert [r["output_shape"] for r in rows] == [tuple(layer.output.shape) for layer in example_model.layers]
    assert [r["input_shape"] for r in rows] == [(None, 3), (None, 32)]
