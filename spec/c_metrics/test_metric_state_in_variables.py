"""Claim `metric-state-in-variables`: metric state is non-trainable framework variables, apart from the model's weights."""

import keras
import numpy as np
import pytest

from ..tolerances import RTOL_FLOAT32_ELEMENTWISE
from . import oracles

pytestmark = pytest.mark.claim("metric-state-in-variables")


@pytest.mark.parametrize(
    "make, shapes",
    [
        pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(), [(), (), (), ()], id="rmse-four-scalars"),
        pytest.param(lambda impl: impl.metrics.BalancedAccuracy(num_classes=4), [(4,), (4,), (), (), ()], id="balanced-accuracy-two-vectors-three-counts"),
    ],
)
def test_the_state_is_non_trainable_variables(impl, make, shapes):
    """The metric's variables are Keras variables, not trainable, zero at the start, of the documented shapes."""
    metric = make(impl)
    assert [tuple(v.shape) for v in metric.variables] == shapes
    assert all(isinstance(v, keras.Variable) for v in metric.variables)
    assert not any(v.trainable for v in metric.variables)
    assert all(np.all(v.numpy() == 0) for v in metric.variables)


def test_updates_land_in_the_variables(impl):
    """update_state changes the variables' values: the state lives there and nowhere else."""
    metric = impl.metrics.RootMeanSquaredError()
    metric.update_state([[1.0], [2.0]], [[0.0], [0.0]])
    # n=2 and 1 + 4 = 5; the counts of invalid weights and values stay 0.
    assert sorted(float(v.numpy()) for v in metric.variables) == pytest.approx([0.0, 0.0, 2.0, 5.0], rel=RTOL_FLOAT32_ELEMENTWISE)


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
