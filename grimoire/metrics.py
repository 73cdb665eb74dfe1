"""Two custom Keras metrics, written as models of the pattern.

A metric is a small object with state. The pattern is always the same:

- create the state in `__init__` with `self.add_variable(...)`: framework variables, not trainable, so
  backpropagation never touches them;
- `update_state(y_true, y_pred, sample_weight=None)` adds one batch to the state with `assign_add`;
- `result()` turns the state into the number you read;
- `reset_state()` puts the state back to zero (Keras calls it at the start of every epoch);
- `get_config()` returns the constructor arguments, so the metric can be saved and rebuilt.

Keep *sums* in the state and divide only in `result()`: sums of batches add up to the sum over all the
data, so any split into batches (and any number of replicas) gives the same answer. An average of
per-batch averages does not.

Bad values are never dropped silently. A check that raises works only while the values are known
(eager code); inside a compiled step (`fit`, `evaluate`, `jit_compile=True`) XLA removes TensorFlow
assertions, so a row that cannot be counted (a label outside `[0, num_classes)`, a fractional label,
a negative or non-finite sample weight) is left out of the sums *and counted* in a state variable of
its own. `result()` then refuses to give a number: eagerly it raises `ValueError` with the count and
the fix; inside a compiled function it returns NaN. `fit` and `evaluate` read every metric eagerly
once more at the end of each epoch, so the NaN of a compiled step becomes that `ValueError` there.

Example:

>>> rmse = RootMeanSquaredError()
>>> rmse.update_state([0.0, 0.0], [3.0, 4.0])
>>> rmse.update_state([0.0], [0.0])
>>> round(float(rmse.result()), 4)  # sqrt((9 + 16 + 0) / 3)
2.8868
"""

import keras
import numpy as np
from keras import ops

from . import _checks


@keras.saving.register_keras_serializable(package="grimoire")
class RootMeanSquaredError(keras.metrics.Metric):
    """Root mean squared error, streamed over batches, with optional sample weights.

    For samples `i` with weights `w_i` (1 when not given), each sample's squared error is averaged
    over its non-batch axes first (as Keras does), then::

        rmse = sqrt(sum_i w_i * mean((y_true_i - y_pred_i) ** 2) / sum_i w_i)

    State: two scalars, `squared_error_sum` (the numerator) and `total_weight` (the denominator),
    and two counts: `invalid_weights`, samples whose weight is negative or not finite (such a weight
    would cancel other samples' errors: 0.0 or NaN instead of an error), and `invalid_values`,
    samples with NaN or inf in `y_true` or `y_pred`. Such a sample is left out and counted, and
    `result()` raises (eager) or gives NaN (compiled) while a count is above 0.
    Before any update (or if every weight is 0) the result is 0, not NaN, matching
    `keras.metrics.RootMeanSquaredError`.

    Args:
        name: name of the metric (the key in `history` and in `evaluate`'s dict).
        dtype: dtype of the state and the result (default: Keras' float type, float32).

    Example:

    >>> m = RootMeanSquaredError()
    >>> m.update_state([[1.0], [2.0]], [[1.0], [4.0]], sample_weight=[1.0, 3.0])
    >>> float(m.result())  # sqrt((1 * 0 + 3 * 4) / 4)
    1.7320507764816284
    """

    def __init__(self, name="rmse", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.squared_error_sum = self.add_variable(shape=(), initializer="zeros", name="squared_error_sum")
        self.total_weight = self.add_variable(shape=(), initializer="zeros", name="total_weight")
        self.invalid_weights = self.add_variable(shape=(), initializer="zeros", name="invalid_weights")
        self.invalid_values = self.add_variable(shape=(), initializer="zeros", name="invalid_values")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true, y_pred = _same_rank(y_true, y_pred)
        _check_same_shape(y_true, y_pred)
        squared = ops.square(y_true - y_pred)
        if len(squared.shape) > 1:
            squared = ops.mean(squared, axis=tuple(range(1, len(squared.shape))))  # one value per sample
        weight, invalid = _valid_weight(_sample_weight(sample_weight, squared, self.dtype))
        bad_values = _non_finite_rows(("y_true", y_true), ("y_pred", y_pred))
        # A left-out row's error is set to 0 too: 0 * NaN would still be NaN.
        weight = ops.where(bad_values, ops.zeros_like(weight), weight)
        squared = ops.where(bad_values, ops.zeros_like(squared), squared)
        self.squared_error_sum.assign_add(ops.sum(weight * squared))
        self.total_weight.assign_add(ops.sum(weight))
        self.invalid_weights.assign_add(ops.sum(ops.cast(invalid, self.dtype)))
        self.invalid_values.assign_add(ops.sum(ops.cast(bad_values, self.dtype)))

    def result(self):
        # divide_no_nan: 0 / 0 gives 0, so the metric is finite before the first update.
        value = ops.sqrt(ops.divide_no_nan(self.squared_error_sum, self.total_weight))
        return _refuse_if_invalid(self, value, [(self.invalid_weights, _INVALID_WEIGHT),
                                                (self.invalid_values, _INVALID_VALUES)])

    def reset_state(self):
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))


@keras.saving.register_keras_serializable(package="grimoire")
class BalancedAccuracy(keras.metrics.Metric):
    """Balanced accuracy: the mean over classes of each class's recall, streamed over batches.

    Plain accuracy rewards a model that always predicts the majority class; balanced accuracy gives
    every class the same say. With sample weights `w_i` (1 when not given)::

        recall_c = sum_i w_i [y_i == c and pred_i == c] / sum_i w_i [y_i == c]
        balanced_accuracy = mean of recall_c over the classes c with sum_i w_i [y_i == c] > 0

    Classes absent from the true labels seen so far (or whose samples all have weight 0) are left out
    of the mean, as `sklearn.metrics.balanced_accuracy_score` does. Before any update the result is 0,
    not NaN.

    Predictions: `y_pred` holds one score per class, shape `(batch, num_classes)`, and the predicted
    class is the arg-max (softmax does not move the arg-max, so `from_logits` does not matter here).
    For `num_classes=2` a single score per sample, shape `(batch,)` or `(batch, 1)`, is also accepted:
    class 1 when the score is above 0.5 (a probability) or above 0 (a logit, `from_logits=True`).

    `y_true` holds integer labels in `[0, num_classes)`, shape `(batch,)` or `(batch, 1)`. A label out
    of range or with a fraction (1.5), NaN or inf among a sample's scores (its arg-max would be a
    guess), and a negative or non-finite sample weight, raise `ValueError`
    at once when `update_state` runs eagerly. Inside a compiled step the row is left out and counted
    instead (see the module docstring): `result()` is then NaN there and raises eagerly, as at the
    end of `fit`'s or `evaluate`'s epoch.

    State: two vectors of length `num_classes`, `true_positives` and `support` (the weighted
    per-class counts of true labels), and three scalar counts, `invalid_labels`, `invalid_weights`
    and `invalid_values`.

    Args:
        num_classes: number of classes, an integer >= 2.
        from_logits: whether a single binary score is a logit (threshold 0) rather than a
            probability (threshold 0.5).
        name: name of the metric.
        dtype: dtype of the state and the result.

    Example:

    >>> m = BalancedAccuracy(num_classes=3)
    >>> y_true = [0, 0, 0, 1]
    >>> y_pred = np.eye(3)[[0, 0, 0, 0]]  # always class 0: plain accuracy 0.75
    >>> m.update_state(y_true, y_pred)
    >>> float(m.result())  # class 0 recall 1, class 1 recall 0, class 2 absent
    0.5
    """

    def __init__(self, num_classes, from_logits=False, name="balanced_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = _num_classes(num_classes)
        if not isinstance(from_logits, bool):
            raise TypeError(f"Argument `from_logits` must be True or False. Received: from_logits={from_logits!r}")
        self.from_logits = from_logits
        self.true_positives = self.add_variable(shape=(self.num_classes,), initializer="zeros", name="true_positives")
        self.support = self.add_variable(shape=(self.num_classes,), initializer="zeros", name="support")
        self.invalid_labels = self.add_variable(shape=(), initializer="zeros", name="invalid_labels")
        self.invalid_weights = self.add_variable(shape=(), initializer="zeros", name="invalid_weights")
        self.invalid_values = self.add_variable(shape=(), initializer="zeros", name="invalid_values")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = ops.convert_to_tensor(y_true)
        if len(labels.shape) == 2 and labels.shape[-1] == 1:
            labels = ops.squeeze(labels, axis=-1)
        if len(labels.shape) != 1:
            raise ValueError(
                "Argument `y_true` must hold one integer label per sample, shape (batch,) or (batch, 1). "
                f"Received: y_true with shape {tuple(labels.shape)}"
            )
        labels, bad_labels = self._checked_labels(labels)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        predicted = self._predicted_classes(y_pred, labels)
        # NaN scores have no arg-max; the class it reports would be a guess.
        bad_scores = _non_finite_rows(("y_pred", y_pred))
        weight, bad_weights = _valid_weight(_sample_weight(sample_weight, labels, self.dtype))
        # A row with a bad label or bad scores is left out of every sum (weight 0) and counted below.
        weight = ops.where(ops.logical_or(bad_labels, bad_scores), ops.zeros_like(weight), weight)
        weight = ops.cast(weight, self.dtype)  # Keras 3.0 can hand back int32 here (weights of 1 from int labels)
        true_one_hot = ops.one_hot(labels, self.num_classes, dtype=self.dtype)  # (batch, num_classes)
        hit = ops.cast(ops.equal(labels, predicted), self.dtype)
        self.support.assign_add(ops.sum(weight[:, None] * true_one_hot, axis=0))
        self.true_positives.assign_add(ops.sum((weight * hit)[:, None] * true_one_hot, axis=0))
        self.invalid_labels.assign_add(ops.sum(ops.cast(bad_labels, self.dtype)))
        self.invalid_weights.assign_add(ops.sum(ops.cast(bad_weights, self.dtype)))
        self.invalid_values.assign_add(ops.sum(ops.cast(ops.logical_and(bad_scores, ops.logical_not(bad_labels)), self.dtype)))

    def result(self):
        present = ops.cast(self.support > 0, self.dtype)
        recall = ops.divide_no_nan(self.true_positives, self.support)
        value = ops.divide_no_nan(ops.sum(recall * present), ops.sum(present))
        bad_labels = (self.invalid_labels, f"labels outside [0, {self.num_classes}) or with a fraction")
        return _refuse_if_invalid(self, value, [bad_labels, (self.invalid_weights, _INVALID_WEIGHT),
                                                (self.invalid_values, _INVALID_VALUES)])

    def reset_state(self):
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "from_logits": self.from_logits}

    def _predicted_classes(self, y_pred, labels):
        batch = labels.shape[0]
        shape = tuple(y_pred.shape)
        if len(shape) == 2 and shape[-1] == self.num_classes:
            predicted = ops.argmax(y_pred, axis=-1)
        elif self.num_classes == 2 and (len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1)):
            threshold = 0.0 if self.from_logits else 0.5
            predicted = ops.cast(ops.reshape(y_pred, (-1,)) > threshold, "int32")
        else:
            single = " or one score per sample, (batch,) or (batch, 1)," if self.num_classes == 2 else ""
            raise ValueError(
                f"Argument `y_pred` must hold one score per class, shape (batch, {self.num_classes}){single} "
                f"for num_classes={self.num_classes}. Received: y_pred with shape {shape}"
            )
        if batch is not None and shape[0] is not None and shape[0] != batch:
            raise ValueError(
                "Arguments `y_true` and `y_pred` must have the same batch size. "
                f"Received: y_true with {batch} samples, y_pred with shape {shape}"
            )
        return ops.cast(predicted, "int32")

    def _checked_labels(self, labels):
        """Returns `(labels as int32, mask of invalid rows)`; invalid rows get label 0 (and weight 0).

        Eagerly an invalid label raises at once. Inside a compiled step nothing can raise (XLA drops
        assertions), so the mask carries the problem on, into `invalid_labels`.
        """
        if _is_concrete(labels):
            values = ops.convert_to_numpy(labels)
            outside = ~((values >= 0) & (values < self.num_classes) & (values == np.round(values)))
            if outside.any():
                raise ValueError(
                    f"Argument `y_true` must hold integer labels in [0, {self.num_classes}) for "
                    f"num_classes={self.num_classes}. Received: y_true containing {sorted(set(values[outside].tolist()))}"
                )
        invalid = ops.logical_not(ops.logical_and(ops.greater_equal(labels, 0), ops.less(labels, self.num_classes)))
        if "float" in str(labels.dtype):
            # A float label such as 1.5 would otherwise be truncated to class 1 by the cast below;
            # NaN fails every comparison, so it lands here too.
            invalid = ops.logical_or(invalid, ops.not_equal(labels, ops.round(labels)))
        labels = ops.where(invalid, ops.zeros_like(labels), labels)
        return ops.cast(labels, "int32"), invalid


# --- shared helpers ---------------------------------------------------------------------------

_INVALID_WEIGHT = "sample weights that are negative or not finite"
_INVALID_VALUES = "NaN or inf in y_true or y_pred"


def _is_concrete(tensor):
    """Whether `tensor` holds known values (eager code), not a placeholder of a compiled function."""
    backend = keras.config.backend()
    if backend == "tensorflow":
        # Imported here: on any other backend this module must import without TensorFlow.
        import tensorflow as tf

        return tf.executing_eagerly()
    if backend == "jax":
        import jax

        return not isinstance(tensor, jax.core.Tracer)
    return True  # torch and numpy run eagerly


def _valid_weight(weight):
    """Returns `(weight with invalid entries set to 0, mask of invalid entries)`; eagerly, raises instead.

    A negative weight would subtract a sample's error from the others' (an RMSE of 0.0, or NaN under
    the square root); NaN or inf turns every sum into NaN. Neither is a weighting.
    """
    if _is_concrete(weight):
        values = ops.convert_to_numpy(weight)
        bad = ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            raise ValueError(
                "Argument `sample_weight` must hold finite, non-negative weights. "
                f"Received: sample_weight containing {sorted(set(values[bad].tolist()), key=str)}. "
                "Give a sample you want to leave out the weight 0."
            )
    invalid = ops.logical_not(ops.logical_and(ops.isfinite(weight), ops.greater_equal(weight, 0)))
    return ops.where(invalid, ops.zeros_like(weight), weight), invalid


def _non_finite_rows(*named):
    """Mask of the samples whose values hold NaN or inf, over `(name, tensor)` pairs; eagerly, raises instead.

    NaN in gives NaN out: a metric that averaged it in would report NaN (or, for an arg-max, some
    class) as if it were a measurement.
    """
    masks = []
    for name, values in named:
        finite = ops.isfinite(values)
        if len(values.shape) > 1:
            finite = ops.all(finite, axis=tuple(range(1, len(values.shape))))
        bad = ops.logical_not(finite)
        if _is_concrete(values):
            rows = np.flatnonzero(ops.convert_to_numpy(bad))
            if rows.size:
                raise ValueError(
                    f"Argument `{name}` must hold finite numbers. Received: {name} with NaN or inf in "
                    f"{rows.size} sample(s), at batch indices {rows[:10].tolist()}. Drop or repair those "
                    "samples before updating the metric."
                )
        masks.append(bad)
    return masks[0] if len(masks) == 1 else ops.logical_or(*masks)


def _refuse_if_invalid(metric, value, counters):
    """`value`, unless a count of left-out rows is above 0: then raise (eager) or give NaN (compiled).

    Args:
        metric: the metric, for its name in the message.
        value: the result computed from the valid rows.
        counters: pairs `(count variable, what it counts)`.
    """
    counts = [ops.convert_to_tensor(count) for count, _ in counters]
    if not all(_is_concrete(count) for count in counts):
        # Compiled: nothing can raise here, so the number itself says it is not one.
        left_out = sum(counts[1:], counts[0])
        return ops.where(left_out > 0, ops.full_like(value, float("nan")), value)
    found = [(int(ops.convert_to_numpy(count)), what) for count, (_, what) in zip(counts, counters)]
    listed = "; ".join(f"{n} with {what}" for n, what in found if n)
    if listed:
        raise ValueError(
            f"Metric '{metric.name}' left out samples it cannot count: {listed}. Its result would "
            "describe only the rest, so there is none. Fix the labels, predictions or weights given to "
            "`update_state` (in `fit`/`evaluate`: `y` and `sample_weight`), then call `reset_state()`."
        )
    return value



def _num_classes(value):
    return _checks.at_least("num_classes", value, 2, "balanced accuracy averages the recall of several classes")


def _same_rank(y_true, y_pred):
    # Like Keras' own metrics: labels (batch,) against predictions (batch, 1) is not a mismatch.
    if len(y_pred.shape) == len(y_true.shape) + 1 and y_pred.shape[-1] == 1:
        y_pred = ops.squeeze(y_pred, axis=-1)
    elif len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    return y_true, y_pred


def _check_same_shape(y_true, y_pred):
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    compatible = len(true_shape) == len(pred_shape) and all(
        a is None or b is None or a == b for a, b in zip(true_shape, pred_shape)
    )
    if not compatible or not true_shape:
        raise ValueError(
            "Arguments `y_true` and `y_pred` must have the same shape, batch axis first. "
            f"Received: y_true with shape {true_shape}, y_pred with shape {pred_shape}"
        )


def _sample_weight(sample_weight, per_sample, dtype):
    """Returns one weight per sample, shape (batch,): ones when no weight is given."""
    if sample_weight is None:
        return ops.ones_like(per_sample, dtype=dtype)
    weight = ops.convert_to_tensor(sample_weight, dtype=dtype)
    if len(weight.shape) == 0:
        return ops.ones_like(per_sample, dtype=dtype) * weight
    if len(weight.shape) == 2 and weight.shape[-1] == 1:
        weight = ops.squeeze(weight, axis=-1)
    batch, received = per_sample.shape[0], tuple(weight.shape)
    if len(received) != 1 or (batch is not None and received[0] is not None and received[0] != batch):
        raise ValueError(
            f"Argument `sample_weight` must hold one weight per sample, shape ({batch},) or ({batch}, 1), "
            f"or be a scalar. Received: sample_weight with shape {received}"
        )
    return weight
