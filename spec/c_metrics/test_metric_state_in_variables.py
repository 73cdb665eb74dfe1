"""Claim `metric-state-in-variables`: metric state is non-trainable framework variables, apart from the model's weights."""

import keras
import numpy as np
import pytest

from ..tolerances import RTOL_FLOAT32_ELEMENTWISE
from . import oracles

pytestmark = pytest.mark.claim("metric-state-in-variables")


@pytest.mark.parametrize(
    "make, keras_twin, per_class",
    [
        pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(), keras.metrics.RootMeanSquaredError, 0, id="rmse-scalars"),
        pytest.param(lambda impl: impl.metrics.BalancedAccuracy(num_classes=4), None, 4, id="balanced-accuracy-per-class"),
    ],
)
def test_the_state_is_non_trainable_variables(impl, make, keras_twin, per_class):
    """The metric's variables are Keras variables, not trainable, zero at the start: scalars for RMSE, per-class vectors for recall."""
    metric = make(impl)
    shapes = [tuple(v.shape) for v in metric.variables]
    assert shapes, "a streaming metric keeps its state in variables"
    assert all(isinstance(v, keras.Variable) for v in metric.variables)
    assert not any(v.trainable for v in metric.variables)
    assert all(np.all(v.numpy() == 0) for v in metric.variables)
    if keras_twin is not None:  # Keras' own RMSE: scalar sums, nothing per example
        assert set(shapes) == {tuple(v.shape) for v in keras_twin().variables} == {()}
    if per_class:  # recall per class needs one count per class, not one scalar
        assert (per_class,) in shapes and all(s in ((), (per_class,)) for s in shapes), shapes


@pytest.mark.parametrize(
    "make, y_true, y_pred, expected",
    [
        pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(), [[1.0], [2.0]], [[0.0], [0.0]],
                     np.sqrt((1.0 + 4.0) / 2), id="rmse"),
        pytest.param(lambda impl: impl.metrics.BalancedAccuracy(num_classes=3), [0, 1, 1, 2], np.eye(3)[[0, 1, 0, 0]],
                     (1.0 + 0.5 + 0.0) / 3, id="balanced-accuracy"),
    ],
)
def test_the_state_lives_in_the_variables_and_nowhere_else(impl, make, y_true, y_pred, expected):
    """Copying the variables' values into a fresh metric carries its whole state: the same result, the oracle's."""
    metric, fresh = make(impl), make(impl)
    metric.update_state(np.asarray(y_true, "float32"), np.asarray(y_pred, "float32"))
    assert any(np.any(v.numpy() != 0) for v in metric.variables), "update_state must change the variables"
    for target, source in zip(fresh.variables, metric.variables, strict=True):
        target.assign(source)
    assert float(fresh.result()) == pytest.approx(float(metric.result()), rel=RTOL_FLOAT32_ELEMENTWISE)
    assert float(fresh.result()) == pytest.approx(expected, rel=RTOL_FLOAT32_ELEMENTWISE)


@pytest.mark.parametrize(
    "build, make, y",
    [
        pytest.param(oracles.regressor, lambda impl: impl.metrics.RootMeanSquaredError(), "regression", id="rmse"),
        pytest.param(oracles.classifier, lambda impl: impl.metrics.BalancedAccuracy(num_classes=3), "labels", id="balanced-accuracy"),
    ],
)
def test_the_state_never_appears_among_the_model_weights(impl, rng, build, make, y):
    """A compiled model tracks the metric's variables as metric variables, never as (trainable) weights."""
    model = build()
    metric = make(impl)
    loss = "mse" if y == "regression" else "sparse_categorical_crossentropy"
    model.compile(optimizer="sgd", loss=loss, metrics=[metric])
    x = rng.normal(size=(8, 4)).astype("float32")
    targets = rng.normal(size=(8, 1)).astype("float32") if y == "regression" else rng.integers(0, 3, 8)
    model.evaluate(x, targets, verbose=0)

    ids = {id(v) for v in metric.variables}
    assert ids and not ids & {id(w) for w in model.trainable_weights}
    assert not ids & {id(w) for w in model.weights}
    assert ids <= {id(v) for v in model.metrics_variables}
