"""Claim `metric-not-backprop`: training moves metric state only through update_state, never through gradients."""

import keras
import numpy as np
import pytest

from .. import gradients
from ..tolerances import RTOL_SAME_GRAPH

from . import oracles

pytestmark = pytest.mark.claim("metric-not-backprop")

BATCH, STEPS, EPOCHS = 8, 3, 2


@pytest.fixture
def regression_data(rng):
    x = rng.normal(size=(BATCH * STEPS, 4)).astype("float32")
    return x, (x @ rng.normal(size=(4, 1))).astype("float32")


@pytest.fixture
def classification_data(rng):
    return rng.normal(size=(BATCH * STEPS, 4)).astype("float32"), rng.integers(0, 3, BATCH * STEPS)


def test_the_loss_has_no_gradient_to_the_metric_state(impl, regression_data):
    """Differentiated as a training step is (trainable variables only), d(loss)/d(metric variable) is None for every metric variable.

    The loss reads the metric (0 * result) after update_state, so only the metric variables not
    being trainable keeps them out: a trainable metric variable would get a gradient (zeros).
    """
    x, y = regression_data
    model, metric = oracles.regressor(), impl.metrics.RootMeanSquaredError()

    def loss():
        y_pred = model(x, training=True)
        metric.update_state(y, y_pred)
        return keras.ops.mean(keras.ops.square(keras.ops.convert_to_tensor(y) - y_pred)) + 0.0 * metric.result()

    found = gradients.gradient(loss, model.trainable_variables + metric.variables)
    model_gradients, metric_gradients = found[: len(model.trainable_variables)], found[len(model.trainable_variables) :]
    assert all(g is not None for g in model_gradients)  # the gradient did see the model
    assert metric_gradients == [None] * len(metric.variables)


def test_the_optimizer_never_receives_the_metric_variables(impl, classification_data):
    """After fit, the optimizer's slots cover exactly the trainable weights; no metric variable is among its variables."""
    x, y = classification_data
    model, metric = oracles.classifier(), impl.metrics.BalancedAccuracy(num_classes=3)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=[metric])
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    optimizer_ids = {id(v) for v in model.optimizer.variables}
    assert not optimizer_ids & {id(v) for v in metric.variables}
    # Adam keeps a first and a second moment per trainable variable, nothing for anything else.
    momenta = [v for v in model.optimizer.variables if v.path.endswith("_momentum")]
    assert len(momenta) == len(model.trainable_variables)


def test_after_fit_rmse_state_is_what_update_state_accumulated(impl, regression_data):
    """After fit, the RMSE state equals the numpy sums over the last epoch's batches and predictions."""
    x, y = regression_data
    model, metric = oracles.regressor(), impl.metrics.RootMeanSquaredError()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=[metric])
    recorder = oracles.RecordBatchPredictions(x, BATCH, training=True)
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[recorder])
    predictions = np.concatenate(recorder.predictions).astype(np.float64)
    squared_sum = float(np.sum((y - predictions) ** 2))
    # The sums are the state; a counter of left-out samples (if any) stays at 0.
    state = sorted(float(v.numpy()) for v in metric.variables if v.numpy() != 0)
    np.testing.assert_allclose(state, sorted([squared_sum, float(len(x))]), rtol=RTOL_SAME_GRAPH)
    np.testing.assert_allclose(float(metric.result()), oracles.rmse(y, predictions), rtol=RTOL_SAME_GRAPH)


def test_after_fit_balanced_accuracy_state_is_what_update_state_accumulated(impl, classification_data):
    """After fit, per-class true positives and support equal numpy counts over the last epoch's predictions."""
    x, y = classification_data
    model, metric = oracles.classifier(), impl.metrics.BalancedAccuracy(num_classes=3)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy", metrics=[metric])
    recorder = oracles.RecordBatchPredictions(x, BATCH, training=True)
    history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[recorder])
    predicted = np.argmax(np.concatenate(recorder.predictions), axis=-1)
    support = np.bincount(y, minlength=3)
    true_positives = np.bincount(y[predicted == y], minlength=3)
    state = [v.numpy() for v in metric.variables]
    assert any(np.array_equal(s, support) for s in state) and any(np.array_equal(s, true_positives) for s in state)
    expected = oracles.balanced_accuracy(y, np.concatenate(recorder.predictions))
    assert float(metric.result()) == pytest.approx(expected, rel=RTOL_SAME_GRAPH)
    assert history.history["balanced_accuracy"][-1] == pytest.approx(expected, rel=RTOL_SAME_GRAPH)
