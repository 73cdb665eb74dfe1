"""Claim `sequential-is-a-stack`: a Sequential model is an ordered list of layers applied one after another."""

import keras
import numpy as np
import pytest

from ..tolerances import ATOL_FLOAT32_DOT, ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT, RTOL_SAME_GRAPH

from . import oracles

pytestmark = pytest.mark.claim("sequential-is-a-stack")


@pytest.fixture
def model(impl):
    return impl.models.build("sequential", input_shape=(5,), hidden_units=7, num_classes=3)


def test_layers_keep_the_given_order(model):
    """model.layers lists the layers in the order they were given: hidden first, classifier last."""
    assert [layer.name for layer in model.layers] == ["hidden", "classifier"]
    assert [layer.units for layer in model.layers] == [7, 3]


def test_output_is_the_layers_applied_in_order(model, rng):
    """The model's output equals its own layer objects applied to the input one after another."""
    x = rng.normal(size=(6, 5)).astype("float32")
    hidden, head = model.layers
    composed = keras.ops.convert_to_numpy(head(hidden(x)))
    np.testing.assert_allclose(model.predict(x, verbose=0), composed, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    # And both equal the float64 computation by hand.
    np.testing.assert_allclose(composed, oracles.classifier(x, model), rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)


def test_add_appends_and_pop_removes_at_the_end(model, rng):
    """pop() removes the last layer and add() appends at the end; the output follows the new list."""
    # Call the model directly: in Keras 3.15 predict() keeps a compiled function from before add/pop.
    x = rng.normal(size=(4, 5)).astype("float32")
    hidden, head = model.layers
    model.pop()
    assert model.layers == [hidden]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(x)), oracles.dense(x, hidden, oracles.relu), rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT
    )
    extra = keras.layers.Dense(2, name="extra")
    model.add(extra)
    assert model.layers == [hidden, extra]
    expected = oracles.dense(oracles.dense(x, hidden, oracles.relu), extra)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), expected, rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)
