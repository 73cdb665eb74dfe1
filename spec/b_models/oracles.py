"""Float64 numpy oracles for the section-B tests: dense layers computed by hand."""

import numpy as np


def relu(x):
    return np.maximum(x, 0.0)


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)  # shift for stability; softmax is shift-invariant
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def dense(x, layer, activation=None):
    """`activation(x @ W + b)` in float64 from a built Keras Dense layer's weights."""
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in layer.get_weights())
    z = np.asarray(x, dtype=np.float64) @ kernel + bias
    return activation(z) if activation else z


def classifier(x, model):
    """The grimoire classifier `softmax(relu(x W1 + b1) W2 + b2)` from a model's `hidden`/`classifier` layers."""
    hidden = _layer(model, "hidden")
    head = _layer(model, "classifier")
    return dense(dense(x, hidden, relu), head, softmax)


def _layer(model, name):
    # Subclassed models track sub-layers in `layers` too; look them up by name.
    return next(layer for layer in model.layers if layer.name == name)
