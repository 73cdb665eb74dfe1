"""Bad input to grimoire.metrics: clear errors naming the argument, the expectation and what was received."""

import keras
import numpy as np
import pytest

from ..tolerances import RTOL_FLOAT32_ACCUMULATION
from . import oracles


@pytest.mark.claim("metrics-errors")
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


@pytest.mark.claim("metrics-errors")
def test_from_logits_must_be_a_bool(impl):
    """from_logits is a flag, not a string."""
    with pytest.raises(TypeError, match=r"Argument `from_logits` must be True or False. Received: from_logits='yes'"):
        impl.metrics.BalancedAccuracy(num_classes=2, from_logits="yes")


@pytest.mark.claim("metrics-errors")
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
    assert float(metric.result()) == pytest.approx(float(builtin.result()), rel=RTOL_FLOAT32_ACCUMULATION)


@pytest.mark.claim("metrics-errors")
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


@pytest.mark.claim("metrics-errors")
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


def _jax_jit(method):
    """A metric method as a compiled JAX step: `jax.jit` of its stateless form, state passed in and out."""
    import jax

    metric = method.__self__
    if method.__name__ == "update_state":
        step = jax.jit(metric.stateless_update_state)

        def update(*args):
            for variable, value in zip(metric.variables, step([v.value for v in metric.variables], *args)):
                variable.assign(value)

        return update
    result = jax.jit(metric.stateless_result)
    return lambda: result([v.value for v in metric.variables])


# Keras' torch backend runs a step's Python (torch.compile, when asked for, falls back to it at a
# data-dependent check), so there a bad sample meets the eager refusal at once, in fit and evaluate too.
EAGER_STEPS = keras.config.backend() == "torch"


def _compilers():
    """The ways this backend compiles a step: tf.function with and without XLA, or jax.jit (none on torch)."""
    if EAGER_STEPS:
        why = ("torch has no compiled metric step that strips checks: its steps run the metric's Python, where the "
               "eager refusals tested in this module hold")
        return [pytest.param(None, id="torch", marks=pytest.mark.skip(reason=why))]
    if keras.config.backend() != "tensorflow":
        return [pytest.param(_jax_jit, id="jax-jit")]
    import tensorflow as tf

    return [
        pytest.param(lambda f: tf.function(f), id="tf-function"),
        pytest.param(lambda f: tf.function(f, jit_compile=True), id="xla"),
    ]


COMPILERS = _compilers()
LEFT_OUT = r"Metric '{name}' left out samples it cannot count: {count} with {what}.*Fix the labels, predictions or weights"


@pytest.mark.claim("metrics-errors")
@pytest.mark.parametrize("compile_", COMPILERS)
@pytest.mark.parametrize(
    "labels",
    [
        pytest.param([0, 7, -3], id="out-of-range"),
        pytest.param([0.0, 1.5, -1.0], id="fractional-and-negative"),
        pytest.param([0.0, float("nan"), 3.0], id="nan-and-too-large"),
    ],
)
def test_bad_labels_in_a_compiled_step_are_counted_not_dropped(impl, compile_, labels):
    """In a compiled step (where XLA strips assertions) two bad labels make the result NaN there and an eager error naming the count."""
    metric = impl.metrics.BalancedAccuracy(3)
    compile_(metric.update_state)(keras.ops.convert_to_tensor(labels), keras.ops.convert_to_tensor(np.eye(3, dtype="float32")))
    assert np.isnan(float(compile_(metric.result)()))
    with pytest.raises(ValueError, match=LEFT_OUT.format(name="balanced_accuracy", count=2, what=r"labels outside \[0, 3\)")):
        metric.result()
    metric.reset_state()
    assert float(metric.result()) == 0.0  # a fresh start forgets the count


def _label_blind_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.square(y_pred))


@pytest.mark.claim("metrics-errors")
@pytest.mark.parametrize("jit_compile", [pytest.param(True, id="xla"), pytest.param(False, id="graph")])
def test_evaluate_with_bad_labels_is_not_silent(impl, rng, jit_compile):
    """model.evaluate with labels 7 and -3 (num_classes=3) raises instead of dropping them: compiled, naming the two rows.

    On JAX, jit_compile=False runs the step eagerly, so the refusal is the eager one, naming the label.
    """
    model = oracles.classifier()
    # A loss that ignores the labels: Keras' sparse cross-entropy rejects label 7 itself in graph mode
    # (not under XLA); here only the metric stands between the bad labels and a number.
    model.compile(loss=_label_blind_loss, metrics=[impl.metrics.BalancedAccuracy(3)], jit_compile=jit_compile)
    labels = np.array([0, 1, 2, 7, -3, 0, 1, 2])
    compiled = (jit_compile or keras.config.backend() == "tensorflow") and not EAGER_STEPS
    message = LEFT_OUT.format(name="balanced_accuracy", count=2, what="labels outside") if compiled else (
        r"Argument `y_true` must hold integer labels in \[0, 3\).* Received: y_true containing \[7\]"
    )
    with pytest.raises(ValueError, match=message):
        model.evaluate(rng.normal(size=(8, 4)).astype("float32"), labels, batch_size=4, verbose=0)


@pytest.mark.claim("metrics-errors")
@pytest.mark.parametrize(
    "make, y_true, y_pred",
    [
        pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(), [[1.0], [2.0], [0.0]], [[0.0], [0.0], [0.0]], id="rmse"),
        pytest.param(lambda impl: impl.metrics.BalancedAccuracy(3), [0, 1, 2], np.eye(3, dtype="float32"), id="balanced-accuracy"),
    ],
)
@pytest.mark.parametrize(
    "weights, shown",
    [
        pytest.param([1.0, -1.0, 1.0], r"\[-1.0\]", id="negative"),
        pytest.param([1.0, float("inf"), float("nan")], r"\[inf, nan\]", id="not-finite"),
    ],
)
def test_negative_or_non_finite_weights_are_refused_eagerly(impl, make, y_true, y_pred, weights, shown):
    """A weight below 0 (which would cancel other samples, giving 0.0 or NaN) or not finite is refused, with the values."""
    metric = make(impl)
    with pytest.raises(ValueError, match=r"Argument `sample_weight` must hold finite, non-negative weights. Received: sample_weight containing " + shown):
        metric.update_state(np.array(y_true, dtype="float32"), np.array(y_pred, dtype="float32"), sample_weight=np.array(weights, dtype="float32"))


@pytest.mark.claim("metrics-errors")
@pytest.mark.parametrize(
    "make, y_true, y_pred, argument, rows",
    [
        pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(), [[1.0], [2.0], [0.0]], [[0.0], [float("nan")], [0.0]],
                     "y_pred", r"\[1\]", id="rmse-nan-prediction"),
        pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(), [[1.0], [float("inf")], [float("-inf")]], [[0.0], [0.0], [0.0]],
                     "y_true", r"\[1, 2\]", id="rmse-inf-target"),
        pytest.param(lambda impl: impl.metrics.BalancedAccuracy(3), [0, 1, 2], [[1.0, 0.0, 0.0], [0.0, float("nan"), 0.0], [0.0, 0.0, 1.0]],
                     "y_pred", r"\[1\]", id="balanced-accuracy-nan-score"),
    ],
)
def test_nan_or_inf_values_are_refused_eagerly(impl, make, y_true, y_pred, argument, rows):
    """NaN or inf in targets or predictions is refused with the rows that hold it: NaN in, NaN (or a guessed class) out would pass for a result."""
    metric = make(impl)
    with pytest.raises(ValueError, match=rf"Argument `{argument}` must hold finite numbers. Received: {argument} with NaN or inf in .* at batch indices {rows}"):
        metric.update_state(np.array(y_true, dtype="float32"), np.array(y_pred, dtype="float32"))


@pytest.mark.claim("metrics-errors")
@pytest.mark.parametrize("compile_", COMPILERS)
def test_nan_predictions_in_a_compiled_step_are_counted_not_averaged(impl, compile_):
    """Compiled, a NaN prediction makes RMSE NaN there and an eager error naming one sample; BalancedAccuracy too, though an arg-max of NaN is some class."""
    rmse = impl.metrics.RootMeanSquaredError()
    tensor = keras.ops.convert_to_tensor
    compile_(rmse.update_state)(tensor([1.0, 2.0]), tensor([float("nan"), 2.0]))
    assert np.isnan(float(compile_(rmse.result)()))
    with pytest.raises(ValueError, match=LEFT_OUT.format(name="rmse", count=1, what="NaN or inf")):
        rmse.result()

    accuracy = impl.metrics.BalancedAccuracy(3)
    scores = np.eye(3, dtype="float32")
    scores[1, 0] = float("nan")
    compile_(accuracy.update_state)(tensor([0, 1, 2]), tensor(scores))
    assert np.isnan(float(compile_(accuracy.result)()))
    with pytest.raises(ValueError, match=LEFT_OUT.format(name="balanced_accuracy", count=1, what="NaN or inf")):
        accuracy.result()


@pytest.mark.claim("metrics-errors")
def test_fit_on_nan_targets_is_not_silent(impl, rng):
    """fit(jit_compile=True) with a NaN target stops at the end of the epoch, naming the sample, instead of logging rmse: nan."""
    model = oracles.regressor()
    # A loss blind to the targets keeps the weights finite, so the one NaN target is the only bad row.
    model.compile(optimizer="sgd", loss=_label_blind_loss, metrics=[impl.metrics.RootMeanSquaredError()], jit_compile=True)
    x, y = rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    y[5] = float("nan")
    eager = r"Argument `y_true` must hold finite numbers\. Received: y_true with NaN or inf in 1 sample"
    with pytest.raises(ValueError, match=eager if EAGER_STEPS else LEFT_OUT.format(name="rmse", count=1, what="NaN or inf")):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)


@pytest.mark.claim("metrics-errors")
@pytest.mark.parametrize("compile_", COMPILERS)
def test_negative_weights_in_a_compiled_step_are_counted_not_used(impl, compile_):
    """Compiled, RMSE with the weights [1, -1] (the sum that gave 0.0 or NaN) is NaN there and an eager error naming one sample."""
    metric = impl.metrics.RootMeanSquaredError()
    tensor = keras.ops.convert_to_tensor
    compile_(metric.update_state)(tensor([1.0, 2.0]), tensor([0.0, 0.0]), tensor([1.0, -1.0]))
    assert np.isnan(float(compile_(metric.result)()))
    with pytest.raises(ValueError, match=LEFT_OUT.format(name="rmse", count=1, what="sample weights that are negative")):
        metric.result()


@pytest.mark.claim("metrics-errors")
def test_fit_with_negative_weights_is_not_silent(impl, rng):
    """fit(jit_compile=True) with a negative sample weight stops at the end of the epoch, naming the sample, instead of logging 0.0."""
    model = oracles.regressor()
    model.compile(optimizer="sgd", loss="mse", weighted_metrics=[impl.metrics.RootMeanSquaredError()], jit_compile=True)
    x, y = rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    weights = np.ones(8, dtype="float32")
    weights[3] = -1.0
    eager = r"Argument `sample_weight` must hold finite, non-negative weights\. Received: sample_weight containing \[-1\.0\]"
    with pytest.raises(ValueError, match=eager if EAGER_STEPS else LEFT_OUT.format(name="rmse", count=1, what="sample weights")):
        model.fit(x, y, sample_weight=weights, batch_size=4, epochs=1, verbose=0)


@pytest.mark.claim("metrics-errors")
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


@pytest.mark.claim("metrics-errors")
def test_balanced_accuracy_refuses_one_hot_labels(impl):
    """y_true holds integer labels, one per sample: a one-hot matrix is refused with its shape."""
    with pytest.raises(ValueError, match=r"Argument `y_true` must hold one integer label per sample.*Received: y_true with shape \(4, 3\)"):
        impl.metrics.BalancedAccuracy(3).update_state(np.eye(3)[[0, 1, 2, 0]], np.zeros((4, 3)))
