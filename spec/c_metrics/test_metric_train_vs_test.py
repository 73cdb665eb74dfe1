"""Claim `metric-train-vs-test`: metrics measure training and held-out data separately; overfitting shows as a gap.

Two deliberately overfit models: a wide net fit to 12 training samples whose targets are pure noise.
There is nothing to learn, so whatever the model gets right on the training set is memorised, and the
held-out score stays at chance. Keras' per-epoch overhead is large next to a 12-sample step, so one
"epoch" here is REPEATS passes over the same 12 samples (tiled, in order).
"""

import keras
import numpy as np
import pytest

from ..tolerances import RTOL_FLOAT32_ACCUMULATION, RTOL_SAME_GRAPH

from . import oracles

pytestmark = pytest.mark.claim("metric-train-vs-test")

TRAIN, REPEATS, HELD_OUT, EPOCHS, SEED = 12, 25, 90, 3, 11


def overfit(model, x, targets):
    """Fits the first TRAIN rows (repeated, one full batch per step) and validates on the rest.

    Returns (history, model, held-out x, held-out targets).
    """
    repeats = (REPEATS,) + (1,) * (targets.ndim - 1)
    history = model.fit(
        np.tile(x[:TRAIN], (REPEATS, 1)),
        np.tile(targets[:TRAIN], repeats),
        validation_data=(x[TRAIN:], targets[TRAIN:]),
        batch_size=TRAIN,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
    )
    return history.history, model, x[TRAIN:], targets[TRAIN:]


@pytest.fixture(scope="module")
def overfit_regressor(impl):
    """(history, model, held-out x, held-out y) of a regressor fit to noise; seeded, built once per module."""
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(TRAIN + HELD_OUT, 4)).astype("float32")
    y = rng.normal(size=(TRAIN + HELD_OUT, 1)).astype("float32")
    model = oracles.regressor(units=64, seed=SEED)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse", metrics=[impl.metrics.RootMeanSquaredError()])
    return overfit(model, x, y)


@pytest.fixture(scope="module")
def overfit_classifier(impl):
    """(history, model, held-out x, held-out labels) of a 3-class classifier fit to random labels."""
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(TRAIN + HELD_OUT, 4)).astype("float32")
    labels = rng.integers(0, 3, TRAIN + HELD_OUT)
    model = oracles.classifier(units=64, seed=SEED)
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss="sparse_categorical_crossentropy",
        metrics=[impl.metrics.BalancedAccuracy(num_classes=3)],
    )
    return overfit(model, x, labels)


def test_history_has_a_training_and_a_held_out_entry_per_epoch(overfit_regressor, overfit_classifier):
    """fit with validation_data records `metric` and `val_metric` once per epoch."""
    for history, name in [(overfit_regressor[0], "rmse"), (overfit_classifier[0], "balanced_accuracy")]:
        assert len(history[name]) == len(history[f"val_{name}"]) == EPOCHS


def test_the_val_metric_is_measured_on_the_held_out_data(overfit_regressor, overfit_classifier):
    """The last val_ value equals the oracle on the held-out data with the final weights (numpy, scikit-learn)."""
    history, model, x, y = overfit_regressor
    assert history["val_rmse"][-1] == pytest.approx(oracles.rmse(y, keras.ops.convert_to_numpy(model(x))), rel=RTOL_SAME_GRAPH)
    history, model, x, labels = overfit_classifier
    assert history["val_balanced_accuracy"][-1] == pytest.approx(oracles.balanced_accuracy(labels, keras.ops.convert_to_numpy(model(x))), rel=RTOL_SAME_GRAPH)


def test_an_overfit_regressor_shows_the_gap_in_rmse(overfit_regressor):
    """Fit to noise, training RMSE falls far below the held-out RMSE (which stays near the noise's std of 1)."""
    history = overfit_regressor[0]
    # The held-out targets are N(0, 1) noise: no model beats RMSE ~1 there; memorising 12 points gets ~0.
    assert history["rmse"][-1] < 0.3 < 0.8 < history["val_rmse"][-1]
    assert history["rmse"][-1] < history["rmse"][0]


def test_an_overfit_classifier_shows_the_gap_in_balanced_accuracy(overfit_classifier):
    """Fit to random labels, training balanced accuracy reaches 1 while held-out stays near chance (1/3)."""
    history = overfit_classifier[0]
    # Chance is 1/3; with 90 held-out samples (~30 per class) each recall has std <= 0.09, so the
    # mean of three stays below 1/3 + 5 std of the mean (~0.26) unless the model learned something real.
    assert history["balanced_accuracy"][-1] == pytest.approx(1.0, rel=RTOL_FLOAT32_ACCUMULATION)
    assert history["val_balanced_accuracy"][-1] < 1 / 3 + 0.26
