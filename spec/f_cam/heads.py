"""Small convnets whose class-score gradients the oracles know in closed form (shared by section F tests)."""

import keras
import numpy as np

from spec.f_cam import oracles_methods

L = keras.layers


def features_of(model, layer_name, images):
    """The named layer's activations, by calling the layers before it eagerly (no CAM code involved)."""
    x = images
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        x = layer(x)
        if layer.name == layer_name:
            return keras.ops.convert_to_numpy(x).astype(np.float64)
    raise AssertionError(layer_name)


def flatten_mlp(rng, *, batch=6, size=10, channels=5, hidden=8, classes=3, activation="relu"):
    """Conv -> Flatten -> Dense(relu) -> Dense(softmax) on seeded images, with its float64 gradients.

    Behind a Flatten each position has its own weights, so the gradient varies from place to place
    and changes sign: the general case the CAM methods were designed for, yet exact in numpy.

    Returns:
        dict: model, images, features (float64), logits, gradients (of the top logit), classes, pre.
    """
    model = keras.Sequential(
        [keras.Input((size, size, 1)), L.Conv2D(channels, 3, activation=activation, name="conv"), L.Flatten(),
         L.Dense(hidden, activation="relu", name="hidden"), L.Dense(classes, activation="softmax", name="head")]
    )
    images = rng.uniform(0, 1, size=(batch, size, size, 1)).astype("float32")
    features = features_of(model, "conv", images)
    logits, gradients, top, pre = oracles_methods.flatten_mlp_gradients(
        features, *model.get_layer("hidden").get_weights(), *model.get_layer("head").get_weights()
    )
    return dict(model=model, images=images, features=features, logits=logits, gradients=gradients, classes=top, pre=pre)


def fixed_gap_head(kernel_value):
    """Conv(relu) -> GAP -> Dense(softmax) whose head kernel is `kernel_value` everywhere and bias 0.

    With kernel_value <= 0 no feature has a positive gradient for any class: the degenerate case
    every gradient-based map must turn into an all-zero, finite heatmap.
    """
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.GlobalAveragePooling2D(),
         L.Dense(3, activation="softmax", name="head")]
    )
    model.get_layer("head").set_weights([np.full((4, 3), kernel_value, "float32"), np.zeros(3, "float32")])
    return model
