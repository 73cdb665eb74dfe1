"""Claim `metric-serializable`: get_config/from_config round-trips, and a model compiled with the metric saves and loads."""

import keras
import numpy as np
import pytest

from ..tolerances import RTOL_SAME_GRAPH

from . import oracles

pytestmark = pytest.mark.claim("metric-serializable")

METRICS = [
    pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(name="my_rmse"), id="rmse"),
    pytest.param(lambda impl: impl.metrics.BalancedAccuracy(num_classes=4, from_logits=True, name="bacc"), id="balanced-accuracy"),
]


def _feed(metric, rng):
    if isinstance(metric, keras.metrics.Metric) and "num_classes" in metric.get_config():
        metric.update_state(rng.integers(0, 4, 20), rng.normal(size=(20, 4)).astype("float32"))
    else:
        metric.update_state(rng.normal(size=(20, 2)).astype("float32"), rng.normal(size=(20, 2)).astype("float32"))
    return float(metric.result())


@pytest.mark.parametrize("make", METRICS)
def test_from_config_rebuilds_an_equal_metric(impl, make):
    """from_config(get_config()) gives a metric of the same class and configuration, with fresh state."""
    metric = make(impl)
    config = metric.get_config()
    rebuilt = type(metric).from_config(config)
    assert type(rebuilt) is type(metric)
    assert rebuilt.get_config() == config
    assert all(not np.any(v.numpy()) for v in rebuilt.variables)


@pytest.mark.parametrize("make", METRICS)
def test_the_rebuilt_metric_computes_the_same_result(impl, make):
    """The original and the rebuilt metric give the same result on the same data."""
    metric = make(impl)
    rebuilt = type(metric).from_config(metric.get_config())
    assert _feed(rebuilt, np.random.default_rng(3)) == pytest.approx(_feed(metric, np.random.default_rng(3)), rel=RTOL_SAME_GRAPH)


@pytest.mark.parametrize("make", METRICS)
def test_keras_serializes_the_registered_metric_by_name(impl, make):
    """keras.metrics.serialize/deserialize find the class through its registered name, package 'grimoire'."""
    metric = make(impl)
    serialized = keras.metrics.serialize(metric)
    assert serialized["registered_name"] == f"grimoire>{type(metric).__name__}"
    restored = keras.metrics.deserialize(serialized)
    assert type(restored) is type(metric) and restored.get_config() == metric.get_config()


@pytest.mark.parametrize(
    "build, make, loss, name, labels",
    [
        pytest.param(oracles.regressor, lambda impl: impl.metrics.RootMeanSquaredError(), "mse", "rmse", False, id="rmse"),
        pytest.param(
            oracles.classifier,
            lambda impl: impl.metrics.BalancedAccuracy(num_classes=3),
            "sparse_categorical_crossentropy",
            "balanced_accuracy",
            True,
            id="balanced-accuracy",
        ),
    ],
)
def test_a_model_compiled_with_the_metric_saves_and_loads_with_it(impl, rng, tmp_path, build, make, loss, name, labels):
    """A .keras file keeps the compiled metric: the loaded model evaluates it to the same value as the original."""
    x = rng.normal(size=(24, 4)).astype("float32")
    y = rng.integers(0, 3, 24) if labels else rng.normal(size=(24, 1)).astype("float32")
    metric = make(impl)
    model = build()
    model.compile(optimizer="sgd", loss=loss, metrics=[metric])
    before = model.evaluate(x, y, verbose=0, return_dict=True)[name]
    model.save(tmp_path / "model.keras")

    loaded = keras.saving.load_model(tmp_path / "model.keras")
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)[name]
    assert after == pytest.approx(before, rel=RTOL_SAME_GRAPH)
    # The loaded model's metric is a new instance of the custom class with the same configuration.
    restored = [m for m in loaded.metrics[-1].metrics if m.name == name]
    assert len(restored) == 1 and type(restored[0]) is type(metric) and restored[0] is not metric
    assert restored[0].get_config() == metric.get_config()
