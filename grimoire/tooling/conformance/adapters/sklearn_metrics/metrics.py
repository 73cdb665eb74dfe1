"""RMSE and balanced accuracy as scikit-learn computes them, behind Keras' metric interface.

scikit-learn implements the formulas Grimoire's metric claims state (`root_mean_squared_error`,
`balanced_accuracy_score`, both with `sample_weight`), not streaming metrics. So each class here
is a `keras.metrics.Metric` whose eager `update_state` keeps the rows it is given (as numpy, in
Python lists) and whose `result()` hands all of them to `sklearn.metrics` at once, exactly as a
user of scikit-learn computes a score over a whole data set. What a Keras metric does beyond the
formula (variables, compiled steps, serialization, distribution) is not asked of scikit-learn:
an update inside a compiled step raises the `not_asked` marker.
"""

import functools

import numpy as np

from grimoire.tooling.conformance.shared import ask_peer, not_asked

PEER = "scikit-learn"


@functools.cache  # made on first use: importing the adapter must not start TensorFlow (the CPU split comes first)
def _classes():
    import keras
    import tensorflow as tf

    class _Rows(keras.metrics.Metric):
        def __init__(self, name, dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.rows = []

        def update_state(self, y_true, y_pred, sample_weight=None):
            if not tf.executing_eagerly():
                raise not_asked(PEER, "compiled_steps")
            weights = None if sample_weight is None else np.asarray(sample_weight, np.float64).reshape(-1)
            self.rows.append((np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64), weights))

        def reset_state(self):
            self.rows = []

        def _stacked(self):
            true = np.concatenate([t.reshape(len(t), -1) for t, _, _ in self.rows]) if self.rows else np.zeros((0, 1))
            pred = np.concatenate([p.reshape(len(p), -1) for _, p, _ in self.rows]) if self.rows else np.zeros((0, 1))
            weights = None
            if any(w is not None for _, _, w in self.rows):
                weights = np.concatenate([np.ones(len(t)) if w is None else w for t, _, w in self.rows])
            return true, pred, weights

    class RootMeanSquaredError(_Rows):
        """`sklearn.metrics.root_mean_squared_error` over every row updated so far."""

        def __init__(self, name="rmse", dtype=None):
            super().__init__(name=name, dtype=dtype)

        def result(self):
            from sklearn.metrics import root_mean_squared_error

            true, pred, weights = self._stacked()
            # sklearn averages the per-output RMSEs; Grimoire's RMSE pools all values of a row alike.
            return np.float32(ask_peer(PEER, root_mean_squared_error, true.reshape(-1), pred.reshape(-1),
                                       sample_weight=None if weights is None else np.repeat(weights, true.shape[1])))

    class BalancedAccuracy(_Rows):
        """`sklearn.metrics.balanced_accuracy_score` of the arg-max (or thresholded) predictions."""

        def __init__(self, num_classes, from_logits=False, name="balanced_accuracy", dtype=None):
            super().__init__(name=name, dtype=dtype)
            self.num_classes, self.from_logits = num_classes, from_logits

        def result(self):
            from sklearn.metrics import balanced_accuracy_score

            true, pred, weights = self._stacked()
            if pred.shape[1] == 1:  # one binary score per sample
                predicted = (pred[:, 0] > (0.0 if self.from_logits else 0.5)).astype(int)
            else:
                predicted = pred.argmax(axis=1)
            return np.float32(ask_peer(PEER, balanced_accuracy_score, true.reshape(-1).astype(int), predicted,
                                       sample_weight=weights))

    return {"RootMeanSquaredError": RootMeanSquaredError, "BalancedAccuracy": BalancedAccuracy}


def __getattr__(name):
    if name in ("RootMeanSquaredError", "BalancedAccuracy"):
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
