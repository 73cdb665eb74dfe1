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

The methods above are the lesson. Around them, `refusing` (support, shipped solved) polices the
input: `update_state` receives tensors of the metric's dtype, one weight per sample (ones when none
was given), and never a row that cannot be counted. Bad values are never dropped silently. A check
that raises works only while the values are known (eager code); inside a compiled step (`fit`,
`evaluate`, `jit_compile=True`) XLA removes TensorFlow assertions, so a row that cannot be counted (a
label outside `[0, num_classes)`, a fractional label, a negative or non-finite sample weight, NaN or
inf values) is handed on with weight 0 *and counted* in a state variable of its own. `result()` then
refuses to give a number: eagerly it raises `ValueError` with the count and the fix; inside a compiled
function it returns NaN. `fit` and `evaluate` read every metric eagerly once more at the end of each
epoch, so the NaN of a compiled step becomes that `ValueError` there.

Example:

>>> rmse = RootMeanSquaredError()
>>> rmse.update_state([0.0, 0.0], [3.0, 4.0])
>>> rmse.update_state([0.0], [0.0])
>>> round(float(rmse.result()), 4)  # sqrt((9 + 16 + 0) / 3)
2.8868
"""

import keras
import numpy as np  # noqa: F401 (the examples use it)
from keras import ops

from ._checks import guard
from .refusals import INVALID_LABELS, INVALID_VALUES, INVALID_WEIGHTS, refusing
from .refusals import classification_batch, from_logits_flag, num_classes_at_least_two, regression_batch


@keras.saving.register_keras_serializable(package="grimoire")
@refusing(regression_batch, [INVALID_WEIGHTS, INVALID_VALUES])
class RootMeanSquaredError(keras.metrics.Metric):
    """Root mean squared error, streamed over batches, with optional sample weights.

    For samples `i` with weights `w_i` (1 when not given), each sample's squared error is averaged
    over its non-batch axes first (as Keras does), then::

        rmse = sqrt(sum_i w_i * mean((y_true_i - y_pred_i) ** 2) / sum_i w_i)

    State: two scalars, `squared_error_sum` (the numerator) and `total_weight` (the denominator).
    Before any update (or if every weight is 0) the result is 0, not NaN, matching
    `keras.metrics.RootMeanSquaredError`. (`refusing` adds two counts of left-out samples.)

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

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds one batch to the sums.

        Args:
            y_true: targets, a tensor of the metric's dtype, batch axis first.
            y_pred: predictions of the same shape.
            sample_weight: one weight per sample, shape (batch,) (ones when the caller gave none).
        """
        squared = ops.square(y_true - y_pred)
        if len(squared.shape) > 1:
            squared = ops.mean(squared, axis=tuple(range(1, len(squared.shape))))  # one value per sample
        self.squared_error_sum.assign_add(ops.sum(sample_weight * squared))
        self.total_weight.assign_add(ops.sum(sample_weight))

    def result(self):
        # divide_no_nan: 0 / 0 gives 0, so the metric is finite before the first update.
        return ops.sqrt(ops.divide_no_nan(self.squared_error_sum, self.total_weight))

    def reset_state(self):
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))


@keras.saving.register_keras_serializable(package="grimoire")
@refusing(classification_batch, [INVALID_LABELS, INVALID_WEIGHTS, INVALID_VALUES])
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
    guess), and a negative or non-finite sample weight, raise `ValueError` at once when `update_state`
    runs eagerly. Inside a compiled step the row is left out and counted instead (see the module
    docstring): `result()` is then NaN there and raises eagerly, as at the end of `fit`'s or
    `evaluate`'s epoch.

    State: two vectors of length `num_classes`, `true_positives` and `support` (the weighted
    per-class counts of true labels). (`refusing` adds three counts of left-out samples.)

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

    @guard(lambda self, num_classes, from_logits, name, dtype: {
        "num_classes": num_classes_at_least_two(num_classes), "from_logits": from_logits_flag(from_logits)})
    def __init__(self, num_classes, from_logits=False, name="balanced_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.from_logits = from_logits
        self.true_positives = self.add_variable(shape=(num_classes,), initializer="zeros", name="true_positives")
        self.support = self.add_variable(shape=(num_classes,), initializer="zeros", name="support")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds one batch to the per-class counts.

        Args:
            y_true: int32 labels in [0, num_classes), shape (batch,).
            y_pred: scores, shape (batch, num_classes); the predicted class is the arg-max.
            sample_weight: one weight per sample, shape (batch,) (ones when the caller gave none).
        """
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        true_one_hot = ops.one_hot(y_true, self.num_classes, dtype=self.dtype)  # (batch, num_classes)
        hit = ops.cast(ops.equal(y_true, predicted), self.dtype)
        self.support.assign_add(ops.sum(sample_weight[:, None] * true_one_hot, axis=0))
        self.true_positives.assign_add(ops.sum((sample_weight * hit)[:, None] * true_one_hot, axis=0))

    def result(self):
        present = ops.cast(self.support > 0, self.dtype)
        recall = ops.divide_no_nan(self.true_positives, self.support)
        return ops.divide_no_nan(ops.sum(recall * present), ops.sum(present))

    def reset_state(self):
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "from_logits": self.from_logits}
