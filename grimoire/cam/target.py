"""Finding the layer whose feature maps a class activation map is built from.

The target is judged by its output, not its class: the last layer whose output is 4-D
`(batch, height, width, channels)` before the network pools or flattens it away. In Xception
that layer is `block14_sepconv2_act`, an `Activation`, not a `Conv2D`.
"""

import keras

from .. import _checks


def _output_shape(layer):
    """The layer's symbolic output shape, or None when it was never called in a graph."""
    try:
        output = layer.output
    except (AttributeError, ValueError):
        return None
    shape = getattr(output, "shape", None)
    return None if shape is None else tuple(shape)


def _is_model(layer):
    return isinstance(layer, keras.Model)


def walk(model):
    """Yields `(path, layer)` for every layer of `model` in order, descending into nested models.

    `path` is the tuple of models that contain the layer below `model` (empty for a direct child).

    Args:
        model: a built `keras.Model`.

    Returns:
        A generator of `(tuple of nested models, layer)` pairs, nested layers in place of their model.
    """
    for layer in model.layers:
        if _is_model(layer):
            for path, inner in walk(layer):
                yield (layer, *path), inner
        else:
            yield (), layer


def spatial_layers(model):
    """The names of the layers of `model` (nested models included) whose output is 4-D.

    Args:
        model: a built `keras.Model`.

    Returns:
        A list of layer names, in order from the input to the output.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
    ...                           keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    >>> spatial_layers(model)
    ['conv']
    """
    _check_model(model)
    return [layer.name for _, layer in walk(model) if _rank(layer) == 4]


def _rank(layer):
    shape = _output_shape(layer)
    return None if shape is None else len(shape)


def find_target_layer(model):
    """Returns the name of the last layer with a 4-D (spatial) output: the CAM target.

    Walks the layers backwards (descending into nested models, e.g. a pretrained-style base
    inside a bigger classifier) and stops at the first output of shape
    `(batch, height, width, channels)`. Everything after it (global pooling, flattening, Dense)
    has lost the spatial layout, so that is the last place where "where" is still encoded.

    Args:
        model: a built `keras.Model` (Sequential, Functional, or with nested models).

    Returns:
        The layer's name (a str); `locate_layer(model, name)` gives the layer itself.

    Raises:
        ValueError: if no layer has a 4-D output; the message lists the layers and their shapes.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
    ...                           keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    >>> find_target_layer(model)
    'conv'
    """
    _check_model(model)
    layers = list(walk(model))
    for _, layer in reversed(layers):
        if _rank(layer) == 4:
            return layer.name
    found = ", ".join(f"{layer.name} ({type(layer).__name__}, output {_output_shape(layer)})" for _, layer in layers)
    raise ValueError(
        f"Model {model.name!r} has no layer with a 4-D (batch, height, width, channels) output, so there "
        f"is no spatial feature map to build a class activation map from. Found: {found or 'no layers'}. "
        "Grad-CAM needs a convolutional network."
    )


def locate_layer(model, layer_name):
    """Finds a layer by name in `model` or its nested models; returns `(path, layer)`.

    `path` is the tuple of nested models containing the layer (empty for a direct child). The
    outermost match wins when names repeat.

    Args:
        model: a built `keras.Model`.
        layer_name: str, the layer's name.

    Returns:
        `(tuple of nested models, layer)`.

    Raises:
        ValueError: if no layer has that name (the message lists the spatial candidates), or if the
            layer's output is not 4-D.
    """
    _check_model(model)
    if not isinstance(layer_name, str):
        raise TypeError(f"Argument `layer_name` must be a str or None. Received: layer_name={layer_name!r}")
    matches = [(path, layer) for path, layer in walk(model) if layer.name == layer_name]
    if not matches:
        raise ValueError(
            f"Argument `layer_name` must name a layer of model {model.name!r}. Received: layer_name={layer_name!r}. "
            f"Layers with a spatial (4-D) output: {spatial_layers(model)}"
        )
    path, layer = min(matches, key=lambda match: len(match[0]))
    if _rank(layer) != 4:
        raise ValueError(
            f"Argument `layer_name` must name a layer with a 4-D (batch, height, width, channels) output. "
            f"Received: layer_name={layer_name!r} with output shape {_output_shape(layer)}. "
            f"Candidates: {spatial_layers(model)}"
        )
    return path, layer


def _check_model(model):
    _checks.keras_model("model", model)
    try:
        model.inputs
    except AttributeError:
        model_inputs = None
    else:
        model_inputs = model.inputs
    if not model_inputs:
        raise ValueError(
            f"Argument `model` must be built with a known input shape. Received: model {model.name!r} "
            "without inputs. Start it with keras.Input(shape) or call model.build((None, h, w, c))."
        )
    if len(model_inputs) != 1:
        raise ValueError(
            f"Argument `model` must take a single image input. Received: model {model.name!r} with "
            f"{len(model_inputs)} inputs"
        )
