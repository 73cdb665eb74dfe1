"""Keras' built-in metrics where Grimoire's metric claims speak of one.

`RootMeanSquaredError` is `keras.metrics.RootMeanSquaredError`, presented under Grimoire's API: the
only change is the default name, `"rmse"` (Grimoire's; Keras' is `"root_mean_squared_error"`), which
the claims' tests read as the key of `evaluate`'s and `fit`'s logs. Every state, update and result
is Keras' own (`test_conformance.py` checks that the subclass adds no method but `__init__`).
Reading it notes that the test asked Keras (`shared.asked`). Keras has no balanced accuracy (the
mean of the per-class recalls; `keras.metrics.Recall` is binary, `SparseCategoricalAccuracy` is
plain accuracy), so `BalancedAccuracy` is not asked of it.
"""

import functools

from grimoire.tooling.conformance.shared import asked, not_asked

PEER = "keras"


@functools.cache  # made on first use: importing the adapter must not start TensorFlow (the CPU split comes first)
def _keras_rmse():
    import keras

    class RootMeanSquaredError(keras.metrics.RootMeanSquaredError):
        """Keras' RMSE with Grimoire's default name."""

        def __init__(self, name="rmse", dtype=None):
            super().__init__(name=name, dtype=dtype)

    return RootMeanSquaredError


def __getattr__(name):
    if name == "RootMeanSquaredError":
        asked(PEER)
        return _keras_rmse()
    if name == "BalancedAccuracy":
        raise not_asked(PEER, "BalancedAccuracy")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
