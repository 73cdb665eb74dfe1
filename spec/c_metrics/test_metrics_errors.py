"""Bad input to grimoire.metrics: clear errors naming the argument, the expectation and what was received."""

import keras
import numpy as np
import pytest
import tensorflow as tf


@pytest.mark.claim("metric-is-subclass")
@pytest.mark.parametrize(
    "num_classes, error, message",
    [
        pytest.param(
            1,
            ValueError,
            r"Argument `num_classes` must be at least 2.* Received: num_classes=1",
            id="one",
        ),
        pytest.param(
            0,
            ValueError,
            r"Argument `num_classes` must be at least 2.* Received: num_classes=0",
            id="zero",
        ),
        pytest.param(
            2.0,
            TypeError,
            r"Argument `num_classes` must be an integer. Received: num_classes=2.0 \(of type float\)",
            id="float",
        ),
        pytest.param(
            "3",
            TypeError,
            r"Argument `num_classes` must be an integer. Received: num_classes='3'",
            id="string",
        ),
        pytest.param(
            True,
            TypeError,
            r"Argument `num_classes` must be an integer. Received: num_classes=True",
            id="bool",
        ),
    ],
)
def test_balanced_accuracy_needs_an_integer_number_of_classes_of_at_least_two(impl, num_classes, error, message):
    """BalancedAccuracy refuses a class count that is not an integer >= 2."""
    with pytest.raises(error, match=message):
        impl.metrics.BalancedAccuracy(num_classes=num_classes)


@pytest.mark.claim("metric-is-subclass")
def test_from_logits_must_be_a_bool(impl):
    """from_logits is a flag, not a string."""
    with pytest.raises(TypeError, match=r"Argument `from_logits` must be True or False. Received: from_logits='yes'"):
        impl.metrics.BalancedAccuracy(num_classes=2, from_logits="yes")


@pytest.mark.claim("metric-streaming")
@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        pytest.param(
            np.zeros((4, 2)),
            np.zeros((4, 3)),
            r"y_true with shape \(4, 2\), y_pred with shape \(4, 3\)",
            id="features-differ",
        ),
        pytest.param(
            np.zeros((4, 1)),
            np.zeros((5, 1)),
            r"y_true with shape \(4, 1\), y_pred with shape \(5, 1\)",
            id="batch-differs",
        ),
        pytest.param(
            np.zeros((4, 2, 2)),
            np.zeros((4, 2)),
            r"y_true with shape \(4, 2, 2\), y_pred with shape \(4, 2\)",
            id="rank-differs",
        ),
    ],
)
def test_rmse_refuses_mismatched_shapes(impl, y_true, y_pred, message):
    """RMSE needs y_true and y_pred of one shape ((batch,) against (batch, 1) is accepted, as in Keras)."""
    with pytest.raises(ValueError, match=r"Arguments `y_true` and `y_pred` must have the same shape.*" + message):
        impl.metrics.RootMeanSquaredError().update_state(y_true, y_pred)


@pytest.mark.claim("metric-streaming")
def test_rmse_accepts_a_trailing_axis_of_one(impl):
    """Labels (batch,) against predictions (batch, 1) are the same data, as Keras' built-in RMSE treats them."""
    metric, builtin = impl.metrics.RootMeanSquaredError(), keras.metrics.RootMeanSquaredError()
    metric.update_state([1.0, 2.0, 3.0], [[1.5], [2.0], [2.0]])
    builtin.update_state([1.0, 2.0, 3.0], [[1.5], [2.0], [2.0]])
    assert float(metric.result()) == pytest.approx(float(builtin.result()))


@pytest.mark.claim("metric-streaming")
@pytest.mark.parametrize(
    "make, y_true, y_pred",
    [
        pytest.param(
            lambda impl: impl.metrics.RootMeanSquaredError(),
            np.zeros((4, 1)),
            np.zeros((4, 1)),
            id="rmse",
        ),
        pytest.param(
            lambda impl: impl.metrics.BalancedAccuracy(3),
            np.zeros(4, int),
            np.zeros((4, 3)),
            id="balanced-accuracy",
        ),
    ],
)
def test_sample_weight_needs_one_weight_per_sample(impl, make, y_true, y_pred):
    """A sample_weight of the wrong length is refused with its shape."""
    with pytest.raises(ValueError, match=r"Argument `sample_weight` must hold one weight per sample, shape \(4,\).*Received: sample_weight with shape \(3,\)"):
        make(impl).update_state(y_true, y_pred, sample_weight=np.ones(3))


@pytest.mark.claim("metric-streaming")
@pytest.mark.parametrize(
    "labels, shown",
    [
        pytest.param([0, 1, 3], r"\[3\]", id="too-large"),
        pytest.param([0, -1, 2], r"\[-1\]", id="negative"),
        pytest.param([0.0, 1.5, 2.0], r"\[1.5\]", id="not-whole"),
    ],
)
def test_balanced_accuracy_refuses_labels_out_of_range(impl, labels, shown):
    """Labels outside [0, num_classes) are refused eagerly with the offending values."""
    metric = impl.metrics.BalancedAccuracy(3)
    with pytest.raises(ValueError, match=r"Argument `y_true` must hold integer labels in \[0, 3\) for num_classes=3. Received: y_true containing " + shown):
        metric.update_state(np.array(labels), np.eye(3, dtype="float32")[[0, 1, 2]])


@pytest.mark.claim("metric-streaming")
def test_out_of_range_labels_stop_a_compiled_step_too(impl):
    """Inside tf.function (as in fit) an out-of-range label fails the step instead of being silently dropped."""
    metric = impl.metrics.BalancedAccuracy(3)
    step = tf.function(metric.update_state)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must hold integer labels in \[0, 3\)"):
        step(tf.constant([0, 5]), tf.constant(np.eye(3, dtype="float32")[[0, 1]]))
    assert float(metric.result()) == 0.0  # nothing was counted


@pytest.mark.claim("metric-streaming")
def test_a_fractional_label_stops_a_compiled_step_instead_of_being_truncated(impl):
    """Inside tf.function a label of 1.5 fails the step; it is not silently counted as class 1."""
    metric = impl.metrics.BalancedAccuracy(3)
    step = tf.function(metric.update_state)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must hold integer labels in \[0, 3\)"):
        step(tf.constant([0.0, 1.5]), tf.constant(np.eye(3, dtype="float32")[[0, 1]]))
    assert float(metric.result()) == 0.0


@pytest.mark.claim("metric-streaming")
@pytest.mark.parametrize(
    "num_classes, y_pred, message",
    [
        pytest.param(
            3,
            np.zeros((4, 2)),
            r"shape \(batch, 3\) for num_classes=3. Received: y_pred with shape \(4, 2\)",
            id="wrong-width",
        ),
        pytest.param(
            3,
            np.zeros(4),
            r"shape \(batch, 3\) for num_classes=3. Received: y_pred with shape \(4,\)",
            id="single-score-multiclass",
        ),
        pytest.param(
            2,
            np.zeros((5, 2)),
            r"same batch size. Received: y_true with 4 samples, y_pred with shape \(5, 2\)",
            id="batch-differs",
        ),
    ],
)
def test_balanced_accuracy_refuses_predictions_of_the_wrong_shape(impl, num_classes, y_pred, message):
    """y_pred needs one score per class (or, for two classes, one score per sample) and one row per label."""
    with pytest.raises(ValueError, match=message):
        impl.metrics.BalancedAccuracy(num_classes).update_state(np.zeros(4, int), y_pred)


@pytest.mark.claim("metric-streaming")
def test_balanced_accuracy_refuses_one_hot_labels(impl):
    """y_true holds integer labels, one per sample: a one-hot matrix is refused with its shape."""
    with pytest.raises(ValueError, match=r"Argument `y_true` must hold one integer label per sample.*Received: y_true with shape \(4, 3\)"):
        impl.metrics.BalancedAccuracy(3).update_state(np.eye(3)[[0, 1, 2, 0]], np.zeros((4, 3)))
