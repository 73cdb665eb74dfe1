"""Reading built Keras layers: their shapes, channels and windows, and which formula applies.

Shared by the parameter counter (`params`) and the multiply-add counter (`flops`), and shipped solved:
what a learner writes is the formulas, not how Keras stores a layer's shapes.

Example:

>>> import keras
>>> layer = keras.layers.Conv2D(8, 3)
>>> layer.build((None, 32, 32, 3))
>>> input_shape_of(layer), output_shape_of(layer), window_volume("kernel_size", layer.kernel_size)
((None, 32, 32, 3), (None, 30, 30, 8), 9)
"""

import math

import keras

from . import _checks

# Layers that own no weights whatever their configuration.
PARAMETER_FREE = tuple(
    getattr(keras.layers, name)
    for name in (
        "InputLayer", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Identity", "Lambda",
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
        "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Masking",
        "Flatten", "Reshape", "Permute", "RepeatVector", "Rescaling",
        "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
        "UpSampling1D", "UpSampling2D", "UpSampling3D",
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
        "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    )
    if hasattr(keras.layers, name)
)

CONVOLUTIONS = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
    keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose,
)
DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)


def input_shape_of(layer):
    """The (batch-inclusive) input shape a built layer was built with.

    Keras records it in the layer's build config; for a layer inside a Functional model the
    symbolic input gives the same answer.
    """
    shape = (layer.get_build_config() or {}).get("input_shape")
    if shape is None:
        try:
            shape = layer.input.shape
        except (AttributeError, ValueError):
            shape = None
    return None if shape is None else _as_shape(shape)


def output_shape_of(layer):
    """The output shape of a built layer, from its symbolic output or from its input shape."""
    try:
        return _as_shape(layer.output.shape)
    except (AttributeError, ValueError):
        pass
    shape = input_shape_of(layer)
    return None if shape is None else _as_shape(layer.compute_output_shape(shape))


def check_layer(layer):
    """Raises a TypeError unless `layer` is a Keras layer (a model is a layer too)."""
    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(
            f"Argument `layer` must be a Keras layer. Received: layer={layer!r} (of type {type(layer).__name__})"
        )


def formula_for(layer, formulas, *, counting, where, free):
    """The formula in `formulas` for a built layer's exact type, refusing rather than guessing.

    Args:
        layer: the layer to count.
        formulas: dict from layer class to formula.
        counting: what is counted, for the messages ("parameter", "multiply-add").
        where: the module a missing formula belongs in.
        free: how the message names the layers counted as zero.

    Raises:
        ValueError: the layer is not built, or its exact type has no formula (a subclass of a
            known layer may own more weights or do more work, so it is not guessed either).
    """
    if not layer.built:
        raise ValueError(
            f"Layer '{layer.name}' is not built, so its shapes are unknown. Build the model first: "
            "call it on data, call `model.build(input_shape)`, or give it a `keras.Input`."
        )
    kind = type(layer)
    formula = formulas.get(kind)
    if formula is None:
        raise ValueError(
            f"No {counting} formula for layer '{layer.name}' of type {kind.__module__}.{kind.__name__}. "
            f"Add one to {where} (a function of its config and shapes) rather than guessing. "
            f"Known types: {sorted(k.__name__ for k in formulas)} and {free}."
        )
    return formula


def layers_to_count(model_or_layer, counting):
    """The layers whose counts add up to `model_or_layer`'s, once it is checked to be countable.

    A single layer is its own list; a model must be built and must own no weights of its own.
    `counting` names what is counted ("parameter", "multiply-add") for the error messages.
    """
    if not isinstance(model_or_layer, keras.layers.Layer):
        raise TypeError(
            "Argument `model_or_layer` must be a Keras model or layer. "
            f"Received: {model_or_layer!r} (of type {type(model_or_layer).__name__})"
        )
    if not isinstance(model_or_layer, keras.Model):
        return [model_or_layer]
    model = model_or_layer
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built, so its layers' shapes are unknown. "
            "Call `model.build(input_shape)` or call the model on a batch first."
        )
    if owns_weights(model):
        raise ValueError(
            f"Model '{model.name}' creates weights of its own (add_weight in a subclass), which no layer's "
            f"{counting} formula describes. Put them in a layer of their own."
        )
    return list(model.layers)


def channels_of(config, shape):
    """The channel count of `shape` for a layer's `data_format` (channels last unless it says otherwise)."""
    axis = -1 if config.get("data_format", "channels_last") == "channels_last" else 1
    return shape[axis]


def window_volume(name, kernel_size, rank=None):
    """The number of positions in a window: the product of its sizes, one per spatial axis.

    As in Keras, an int means the same size on each of `rank` axes (2 when `rank` is None: `3` is a
    3x3 window, as in `Conv2D(filters, 3)`); a tuple gives one size per axis.
    """
    return math.prod(_checks.conv_window(name, kernel_size, rank))


def _as_shape(shape):
    # A multi-input layer (Add, Concatenate) records a list of shapes.
    if shape and all(isinstance(d, (tuple, list)) for d in shape):
        return [_as_shape(s) for s in shape]
    return tuple(None if d is None else int(d) for d in shape)


def owns_weights(model):
    """Whether a (subclassed) model created weights itself rather than through a sub-layer."""
    # Weights a subclassed model created itself (not through a sub-layer); Keras keeps them apart.
    return bool(getattr(model, "_trainable_variables", None) or getattr(model, "_non_trainable_variables", None))


def spatial_of(shape, config):
    """The spatial sizes of `shape`: the axes between batch and channels (channels_last) or after channels."""
    if config.get("data_format", "channels_last") == "channels_last":
        return tuple(shape[1:-1])
    return tuple(shape[2:])


def has_unknown_size(shape):
    """Whether a (batch-inclusive) shape, or any of a multi-input layer's shapes, leaves a size open."""
    if shape is None:
        return True
    if shape and isinstance(shape[0], (tuple, list)):
        return any(has_unknown_size(s) for s in shape)
    return any(d is None for d in shape[1:])


# Layers defined inside keras.applications rather than keras.layers (private paths, so looked up
# defensively: a Keras without them simply has no formula for them). LayerScale (ConvNeXt) learns
# one scale per channel; CustomScaleLayer (Inception-ResNet, x0 + x1 * scale) and StochasticDepth
# (ConvNeXt with drop_path_rate > 0) own no weights.
APPLICATION_LAYERS = {
    name: kind
    for module, name in [("convnext", "LayerScale"), ("convnext", "StochasticDepth"), ("inception_resnet_v2", "CustomScaleLayer")]
    for kind in [getattr(getattr(keras.src.applications, module, None), name, None)]
    if kind is not None
}
