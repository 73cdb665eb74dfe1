"""Keras' built-in metrics where Grimoire's metric claims speak of one.

`RootMeanSquaredError` is `keras.metrics.RootMeanSquaredError` itself, handed out unchanged; reading
it notes that the test asked Keras (`shared.asked`). Keras has no balanced accuracy (the mean of the
per-class recalls; `keras.metrics.Recall` is binary, `SparseCategoricalAccuracy` is plain accuracy),
so `BalancedAccuracy` is not asked of it.
"""

from grimoire.tooling.conformance.shared import asked, not_asked

PEER = "keras"


def __getattr__(name):
    if name == "RootMeanSquaredError":
        import keras

        asked(PEER)
        return keras.metrics.RootMeanSquaredError
    if name == "BalancedAccuracy":
        raise not_asked(PEER, "BalancedAccuracy")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
