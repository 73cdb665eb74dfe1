"""Claim `three-apis-agree`: one architecture, three APIs, one parameter count and the same outputs."""

import keras
import numpy as np
import pytest

from ..tolerances import ATOL_FLOAT32_DOT, ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT, RTOL_SAME_GRAPH

from . import oracles

pytestmark = pytest.mark.claim("three-apis-agree")

APIS = ["sequential", "functional", "subclassed"]
SHAPE = dict(input_shape=(6,), hidden_units=9, num_classes=4)
D, H, C = 6, 9, 4


@pytest.fixture
def models(impl):
    return {api: impl.models.build(api, **SHAPE) for api in APIS}


@pytest.fixture
def x(rng):
    return rng.normal(size=(8, D)).astype("float32")


def test_the_three_apis_have_one_parameter_count(models):
    """Keras counts d*h + h + h*c + c parameters for each of the three models."""
    assert {api: model.count_params() for api, model in models.items()} == {api: D * H + H + H * C + C for api in APIS}


def test_the_analytic_counter_agrees_with_keras_for_each_api(impl, models):
    """impl.params.count_params, computed from shapes and configuration, equals Keras' count for each API."""
    for api, model in models.items():
        assert impl.params.count_params(model) == model.count_params(), api


@pytest.mark.parametrize("target_api", ["functional", "subclassed"])
def test_with_the_same_weights_the_apis_give_the_same_outputs(impl, models, x, target_api):
    """After copy_weights from the Sequential model, the other API's predictions equal it and numpy."""
    source, target = models["sequential"], models[target_api]
    before = keras.ops.convert_to_numpy(target(x))
    impl.models.copy_weights(source, target)
    expected = oracles.classifier(x, source)
    # Independently initialised models disagree before the copy: the copy is what makes them agree.
    assert not np.allclose(before, expected, rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(target(x)), keras.ops.convert_to_numpy(source(x)), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(target(x)), expected, rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)


@pytest.mark.parametrize("api", APIS)
def test_each_api_saves_to_keras_format_and_loads_back(models, x, tmp_path, api):
    """Each model saves to .keras and loads back as the same class with identical predictions."""
    model = models[api]
    path = tmp_path / f"{api}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.count_params() == model.count_params()
    # Same weights, same ops on the same machine: agreement to the same-graph tolerance.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)


def test_the_subclassed_model_keeps_its_configuration_through_saving(impl, tmp_path):
    """The registered subclass's get_config carries its arguments through save and load."""
    model = impl.models.build("subclassed", input_shape=(3,), hidden_units=5, num_classes=2, activation="tanh")
    model.save(tmp_path / "sub.keras")
    loaded = keras.saving.load_model(tmp_path / "sub.keras")
    config = loaded.get_config()
    assert (config["hidden_units"], config["num_classes"], config["activation"]) == (5, 2, "tanh")
