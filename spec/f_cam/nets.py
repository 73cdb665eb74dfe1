"""One small convnet written every way Keras allows, sharing its layer objects (so its weights).

    conv1 (3x3, relu) -> pool -> conv2 (3x3, relu) -> gap -> head (Dense, softmax)

The same layer instances are called by a Sequential model, a Functional model, a Functional model
of two nested models (a base and a head, `Model(i, head(base(i)))`), and a `keras.Model` subclass
with its own `call()`: the four are one network, so their maps must agree.
"""

import keras
import numpy as np

L = keras.layers

SIZE, CHANNELS, CLASSES, AUX = 12, 2, 3, 2


def cnn_layers(seed=0):
    """Fresh layers of the shared convnet, built with seeded weights; `aux` is a second (linear) head."""
    keras.utils.set_random_seed(seed)
    layers = {
        "conv1": L.Conv2D(4, 3, activation="relu", name="conv1"),
        "pool": L.MaxPooling2D(name="pool"),
        "conv2": L.Conv2D(6, 3, activation="relu", name="conv2"),
        "gap": L.GlobalAveragePooling2D(name="gap"),
        "head": L.Dense(CLASSES, activation="softmax", name="head"),
        "aux": L.Dense(AUX, name="aux"),
    }
    features = layers["conv2"](layers["pool"](layers["conv1"](keras.Input((SIZE, SIZE, CHANNELS)))))
    pooled = layers["gap"](features)
    layers["head"](pooled), layers["aux"](pooled)
    return layers


def _features(layers, x):
    return layers["conv2"](layers["pool"](layers["conv1"](x)))


def sequential(layers):
    return keras.Sequential(
        [keras.Input((SIZE, SIZE, CHANNELS))] + [layers[k] for k in ("conv1", "pool", "conv2", "gap", "head")],
        name="sequential_cnn",
    )


def functional(layers):
    inputs = keras.Input((SIZE, SIZE, CHANNELS))
    return keras.Model(inputs, layers["head"](layers["gap"](_features(layers, inputs))), name="functional_cnn")


def nested(layers):
    """`Model(i, head(base(i)))`: the softmax Dense sits inside a nested head model."""
    base_in = keras.Input((SIZE, SIZE, CHANNELS))
    base = keras.Model(base_in, _features(layers, base_in), name="base")
    head_in = keras.Input(tuple(base.outputs[0].shape[1:]))
    head = keras.Model(head_in, layers["head"](layers["gap"](head_in)), name="head_model")
    inputs = keras.Input((SIZE, SIZE, CHANNELS))
    return keras.Model(inputs, head(base(inputs)), name="nested_cnn")


class SubclassedCNN(keras.Model):
    """The convnet as a subclass: its own `call()`, optionally returning several outputs.

    Args:
        layers: the shared layers (from `cnn_layers`).
        outputs: "single" (the softmax), "tuple" (softmax, aux logits), "dict" ({"shape": ..., "aux": ...}),
            or "inline-softmax" (a linear head with `keras.ops.softmax` applied inside `call()`:
            a softmax op, not a layer).
    """

    def __init__(self, layers, outputs="single", **kwargs):
        super().__init__(**kwargs)
        self.conv1, self.pool, self.conv2 = layers["conv1"], layers["pool"], layers["conv2"]
        self.gap, self.head, self.aux = layers["gap"], layers["head"], layers["aux"]
        self.outputs_kind = outputs

    def call(self, inputs):
        pooled = self.gap(self.conv2(self.pool(self.conv1(inputs))))
        if self.outputs_kind == "single":
            return self.head(pooled)
        if self.outputs_kind == "tuple":
            return self.head(pooled), self.aux(pooled)
        if self.outputs_kind == "dict":
            return {"shape": self.head(pooled), "aux": self.aux(pooled)}
        return keras.ops.softmax(self.aux(pooled))


def subclassed(layers, outputs="single"):
    model = SubclassedCNN(layers, outputs, name=f"subclassed_cnn_{outputs.replace('-', '_')}")
    model(np.zeros((1, SIZE, SIZE, CHANNELS), np.float32))  # built by a first call, as users do
    return model


BUILDERS = {"sequential": sequential, "functional": functional, "nested": nested, "subclassed": subclassed}


def features_and_logits(layers, images, head="head"):
    """Oracle, float64: conv2's activations (the layers called eagerly) and `mean(A) @ W + b` of a head."""
    features = keras.ops.convert_to_numpy(_features(layers, images)).astype(np.float64)
    kernel, bias = (w.astype(np.float64) for w in layers[head].get_weights())
    return features, features.mean(axis=(1, 2)) @ kernel + bias
