"""Support for the metrics (shipped solved): what a metric refuses, and what it counts instead.

`refusing(prepare, counts)` decorates a metric class whose methods are the lessons. Its
`update_state` then receives clean tensors: the metric's dtype, one weight per sample, never a row
that cannot be counted. Eagerly, a bad row raises at once, naming the argument and the rows. Inside a
compiled step nothing can raise, so the row is handed on with weight 0 and counted in a state variable
of its own; `result()` is then NaN there and raises eagerly (as at the end of `fit`'s epoch).
"""

import functools

import keras
import numpy as np
from keras import ops

from . import _checks


def refusing(prepare, counts):
    """Support for a metric class: its lessons see clean batches; what cannot be counted is refused.

    Wraps the class's own methods (the learner's lessons):

        __init__:      then one scalar count variable per entry of `counts`
        update_state:  prepare(metric, y_true, y_pred, sample_weight) -> clean tensors and masks of the
                       rows left out; the lesson gets the clean tensors, each mask is added to its count
        result:        the lesson's value, unless a count is above 0: then raise (eager) or NaN (compiled)
        reset_state:   the lesson's reset, then the counts back to 0

    Args:
        prepare: `(metric, y_true, y_pred, sample_weight) -> ((y_true, y_pred, sample_weight), {count: mask})`.
        counts: `[(variable name, what it counts), ...]`, for the state and the messages.
    """
    def decorate(cls):
        for name, wrap in (("__init__", _with_counts), ("update_state", _cleaned), ("result", _refused),
                           ("reset_state", _reset_counts)):
            setattr(cls, name, _rewrappable(wrap, getattr(cls, name), prepare, counts))
        return cls

    return decorate


def _rewrappable(wrap, body, prepare, counts):
    wrapped = functools.wraps(body)(wrap(body, prepare, counts))
    wrapped.__rewrap__ = lambda other: _rewrappable(wrap, other, prepare, counts)  # a planted mistake keeps the support
    return wrapped


def _with_counts(init, prepare, counts):
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        for name, _ in counts:
            setattr(self, name, self.add_variable(shape=(), initializer="zeros", name=name))

    return __init__


def _cleaned(update_state, prepare, counts):
    def update(self, y_true, y_pred, sample_weight=None):
        arguments, left_out = prepare(self, y_true, y_pred, sample_weight)
        update_state(self, *arguments)
        for name, mask in left_out.items():
            getattr(self, name).assign_add(ops.sum(ops.cast(mask, self.dtype)))

    return update


def _refused(result, prepare, counts):
    def refused(self):
        return _refuse_if_invalid(self, result(self), [(getattr(self, name), what) for name, what in counts])

    return refused


def _reset_counts(reset_state, prepare, counts):
    def reset(self):
        reset_state(self)
        for name, _ in counts:
            getattr(self, name).assign(ops.zeros((), dtype=getattr(self, name).dtype))

    return reset


INVALID_LABELS = ("invalid_labels", None)  # the message names the range: see `_label_counts`
INVALID_WEIGHTS = ("invalid_weights", "sample weights that are negative or not finite")
INVALID_VALUES = ("invalid_values", "NaN or inf in y_true or y_pred")


def regression_batch(metric, y_true, y_pred, sample_weight):
    """RMSE's input, checked: same shapes, one finite non-negative weight and finite values per sample."""
    y_true = ops.convert_to_tensor(y_true, dtype=metric.dtype)
    y_pred = ops.convert_to_tensor(y_pred, dtype=metric.dtype)
    y_true, y_pred = _same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred)
    weight, bad_weights = _valid_weight(_sample_weight(sample_weight, _per_sample(y_true), metric.dtype))
    bad_values = _non_finite_rows(("y_true", y_true), ("y_pred", y_pred))
    # A left-out row is handed on as zeros with weight 0: 0 * NaN would still be NaN.
    weight = ops.where(bad_values, ops.zeros_like(weight), weight)
    y_true, y_pred = _zero_rows(y_true, bad_values), _zero_rows(y_pred, bad_values)
    return (y_true, y_pred, weight), {"invalid_weights": bad_weights, "invalid_values": bad_values}


def classification_batch(metric, y_true, y_pred, sample_weight):
    """BalancedAccuracy's input, checked: int labels in range, one score per class, valid weights.

    The lesson receives `y_true` as int32 labels `(batch,)`, `y_pred` as scores `(batch, num_classes)`
    (a single binary score s becomes the two scores `(threshold, s)`, whose arg-max is 1 exactly when
    s is above the threshold), and one weight per sample; a row left out has label 0 and weight 0.
    """
    labels = ops.convert_to_tensor(y_true)
    if len(labels.shape) == 2 and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, axis=-1)
    if len(labels.shape) != 1:
        raise ValueError(
            "Argument `y_true` must hold one integer label per sample, shape (batch,) or (batch, 1). "
            f"Received: y_true with shape {tuple(labels.shape)}"
        )
    labels, bad_labels = _checked_labels(metric.num_classes, labels)
    y_pred = ops.convert_to_tensor(y_pred, dtype=metric.dtype)
    scores = _class_scores(metric, y_pred, labels)
    # NaN scores have no arg-max; the class it reports would be a guess.
    bad_scores = _non_finite_rows(("y_pred", y_pred))
    weight, bad_weights = _valid_weight(_sample_weight(sample_weight, labels, metric.dtype))
    left_out = ops.logical_or(bad_labels, bad_scores)
    weight = ops.cast(ops.where(left_out, ops.zeros_like(weight), weight), metric.dtype)  # Keras 3.0 can give int32
    counts = {"invalid_labels": bad_labels, "invalid_weights": bad_weights,
              "invalid_values": ops.logical_and(bad_scores, ops.logical_not(bad_labels))}
    return (labels, _zero_rows(scores, bad_scores), weight), counts


def _label_counts(metric):
    return f"labels outside [0, {metric.num_classes}) or with a fraction"


def _checked_labels(num_classes, labels):
    """Returns `(labels as int32, mask of invalid rows)`; invalid rows get label 0 (and weight 0).

    Eagerly an invalid label raises at once. Inside a compiled step nothing can raise (XLA drops
    assertions), so the mask carries the problem on, into `invalid_labels`.
    """
    if _is_concrete(labels):
        values = ops.convert_to_numpy(labels)
        outside = ~((values >= 0) & (values < num_classes) & (values == np.round(values)))
        if outside.any():
            raise ValueError(
                f"Argument `y_true` must hold integer labels in [0, {num_classes}) for "
                f"num_classes={num_classes}. Received: y_true containing {sorted(set(values[outside].tolist()))}"
            )
    invalid = ops.logical_not(ops.logical_and(ops.greater_equal(labels, 0), ops.less(labels, num_classes)))
    if "float" in str(labels.dtype):
        # A float label such as 1.5 would otherwise be truncated to class 1 by the cast below;
        # NaN fails every comparison, so it lands here too.
        invalid = ops.logical_or(invalid, ops.not_equal(labels, ops.round(labels)))
    labels = ops.where(invalid, ops.zeros_like(labels), labels)
    return ops.cast(labels, "int32"), invalid


def _class_scores(metric, y_pred, labels):
    """`y_pred` as `(batch, num_classes)` scores, after checking its shape against the labels'."""
    batch = labels.shape[0]
    shape = tuple(y_pred.shape)
    if len(shape) == 2 and shape[-1] == metric.num_classes:
        scores = y_pred
    elif metric.num_classes == 2 and (len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1)):
        score = ops.reshape(y_pred, (-1,))
        threshold = ops.full_like(score, 0.0 if metric.from_logits else 0.5)
        scores = ops.stack([threshold, score], axis=-1)  # arg-max 1 exactly when the score is above it
    else:
        single = " or one score per sample, (batch,) or (batch, 1)," if metric.num_classes == 2 else ""
        raise ValueError(
            f"Argument `y_pred` must hold one score per class, shape (batch, {metric.num_classes}){single} "
            f"for num_classes={metric.num_classes}. Received: y_pred with shape {shape}"
        )
    if batch is not None and shape[0] is not None and shape[0] != batch:
        raise ValueError(
            "Arguments `y_true` and `y_pred` must have the same batch size. "
            f"Received: y_true with {batch} samples, y_pred with shape {shape}"
        )
    return scores


def _per_sample(tensor):
    """A `(batch,)` tensor standing for the samples of `tensor` (the first value of each)."""
    return tensor if len(tensor.shape) <= 1 else ops.reshape(tensor, (ops.shape(tensor)[0], -1))[:, 0]


def _zero_rows(tensor, rows):
    """`tensor` with the samples flagged in `rows` (batch,) set to 0."""
    mask = ops.reshape(rows, (-1,) + (1,) * (len(tensor.shape) - 1))
    return ops.where(mask, ops.zeros_like(tensor), tensor)


def from_logits_flag(value):
    if not isinstance(value, bool):
        raise TypeError(f"Argument `from_logits` must be True or False. Received: from_logits={value!r}")
    return value


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
    found = [(int(ops.convert_to_numpy(count)), what or _label_counts(metric)) for count, (_, what) in zip(counts, counters)]
    listed = "; ".join(f"{n} with {what}" for n, what in found if n)
    if listed:
        raise ValueError(
            f"Metric '{metric.name}' left out samples it cannot count: {listed}. Its result would "
            "describe only the rest, so there is none. Fix the labels, predictions or weights given to "
            "`update_state` (in `fit`/`evaluate`: `y` and `sample_weight`), then call `reset_state()`."
        )
    return value



def num_classes_at_least_two(value):
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
