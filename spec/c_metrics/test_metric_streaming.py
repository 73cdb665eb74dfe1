"""Claim `metric-streaming`: any split of the data into batches gives the one-pass result; reset_state starts over.

Property-based: hypothesis draws the data size, the cut points of uneven batches, whether samples are
weighted, and a seed for the values (the spec's profile is derandomized, so every run draws the same cases).
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..tolerances import METRIC_MAX_SAMPLES, RTOL_FLOAT32_ACCUMULATION

from . import oracles

pytestmark = pytest.mark.claim("metric-streaming")


@st.composite
def splits(draw):
    """(n, cut points, weighted, seed): n samples cut into uneven consecutive batches."""
    n = draw(st.integers(1, METRIC_MAX_SAMPLES))
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=6))) if n > 1 else []
    return n, cuts, draw(st.booleans()), draw(st.integers(0, 2**32 - 1))


def _weights(rng, n, weighted):
    if not weighted:
        return None
    weights = rng.uniform(0.05, 2.0, n).astype("float32")
    weights[rng.random(n) < 0.2] = 0.0  # some samples count for nothing
    weights[0] = 1.0  # but not all of them
    return weights


def _stream(metric, cuts, *arrays):
    """Feeds the arrays to the metric batch by batch (None arrays stay None)."""
    for rows in np.split(np.arange(len(arrays[0])), cuts):
        metric.update_state(*(None if a is None else a[rows] for a in arrays))
    return float(metric.result())


@given(splits(), st.integers(1, 3))
def test_rmse_over_uneven_weighted_batches_equals_one_pass(impl, split, features):
    """Streaming RMSE equals the float64 one-pass RMSE and Keras' built-in RMSE fed the same batches."""
    n, cuts, weighted, seed = split
    rng = np.random.default_rng(seed)
    y_true = rng.normal(size=(n, features)).astype("float32")
    y_pred = (y_true + rng.normal(scale=0.5, size=(n, features))).astype("float32")
    weights = _weights(rng, n, weighted)

    streamed = _stream(impl.metrics.RootMeanSquaredError(), cuts, y_true, y_pred, weights)
    assert streamed == pytest.approx(oracles.rmse(y_true, y_pred, weights), rel=RTOL_FLOAT32_ACCUMULATION)
    builtin = _stream(keras.metrics.RootMeanSquaredError(), cuts, y_true, y_pred, weights)
    assert streamed == pytest.approx(builtin, rel=RTOL_FLOAT32_ACCUMULATION)


@given(splits(), st.integers(2, 5))
def test_balanced_accuracy_over_uneven_weighted_batches_equals_one_pass(impl, split, num_classes):
    """Streaming balanced accuracy equals scikit-learn's balanced_accuracy_score on all the data at once."""
    n, cuts, weighted, seed = split
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n)
    scores = rng.random((n, num_classes)).astype("float32")
    weights = _weights(rng, n, weighted)

    streamed = _stream(impl.metrics.BalancedAccuracy(num_classes), cuts, labels, scores, weights)
    expected = oracles.balanced_accuracy(labels, scores, weights)
    assert streamed == pytest.approx(expected, rel=RTOL_FLOAT32_ACCUMULATION)


@pytest.mark.parametrize(
    "make, y_true, y_pred",
    [
        pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(), [[1.0], [3.0]], [[0.0], [0.0]], id="rmse"),
        pytest.param(lambda impl: impl.metrics.BalancedAccuracy(3), [0, 2], [[0.9, 0.1, 0.0], [0.1, 0.1, 0.8]], id="balanced-accuracy"),
    ],
)
def test_result_before_any_update_is_zero_not_nan(impl, make, y_true, y_pred):
    """With no data the result is 0 (finite, not NaN), and reset_state returns to exactly that state."""
    metric = make(impl)
    initial = [v.numpy().copy() for v in metric.variables]
    assert float(metric.result()) == 0.0 and math.isfinite(float(metric.result()))
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) != 0.0
    metric.reset_state()
    assert all(np.array_equal(v.numpy(), i) for v, i in zip(metric.variables, initial))
    assert float(metric.result()) == 0.0


@given(splits())
def test_after_reset_the_metric_forgets_earlier_batches(impl, split):
    """After reset_state, one batch gives the same result as on a fresh metric."""
    n, cuts, weighted, seed = split
    rng = np.random.default_rng(seed)
    labels, scores = rng.integers(0, 3, n), rng.random((n, 3)).astype("float32")
    metric = impl.metrics.BalancedAccuracy(3)
    _stream(metric, cuts, labels, scores, None)
    metric.reset_state()
    last = slice(cuts[-1] if cuts else 0, n)
    metric.update_state(labels[last], scores[last])
    fresh = impl.metrics.BalancedAccuracy(3)
    fresh.update_state(labels[last], scores[last])
    assert float(metric.result()) == pytest.approx(float(fresh.result()), rel=RTOL_FLOAT32_ACCUMULATION)


def test_a_class_absent_from_the_labels_drops_out_of_the_mean(impl):
    """Recall is averaged over the classes present in y_true, as scikit-learn does: class 2 is never a label."""
    labels = np.array([0, 0, 1, 1])
    scores = np.eye(3, dtype="float32")[[0, 2, 1, 1]]  # one class-0 sample predicted as the absent class 2
    metric = impl.metrics.BalancedAccuracy(3)
    metric.update_state(labels, scores)
    assert float(metric.result()) == pytest.approx(oracles.balanced_accuracy(labels, scores), rel=RTOL_FLOAT32_ACCUMULATION)
    assert float(metric.result()) == pytest.approx(0.75, rel=RTOL_FLOAT32_ACCUMULATION)


@pytest.mark.parametrize("from_logits, threshold", [pytest.param(False, 0.5, id="probabilities"), pytest.param(True, 0.0, id="logits")])
def test_binary_single_scores_are_thresholded(impl, rng, from_logits, threshold):
    """For two classes a single score per sample counts as class 1 above 0.5 (probability) or 0 (logit)."""
    labels = rng.integers(0, 2, 40)
    scores = (rng.normal(size=(40, 1)) + (0.5 if not from_logits else 0.0)).astype("float32")
    metric = impl.metrics.BalancedAccuracy(2, from_logits=from_logits)
    _stream(metric, [13, 31], labels, scores, None)
    two_columns = np.concatenate([threshold - scores, scores - threshold], axis=-1)  # argmax == (score > threshold)
    assert float(metric.result()) == pytest.approx(oracles.balanced_accuracy(labels, two_columns), rel=RTOL_FLOAT32_ACCUMULATION)
