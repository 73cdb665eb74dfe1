"""Finding the layer whose feature maps a class activation map is built from.

The target is judged by its output, not its class: the last layer whose output is 4-D
`(batch, height, width, channels)` before the network pools or flattens it away. In Xception
that layer is `block14_sepconv2_act`, an `Activation`, not a `Conv2D`.
"""

import keras

from .. import _checks

from .capture import input_shape, probe
from .steps import last_spatial_layer


def _output_shape(layer, model=None):
    """The layer's output shape in `model`'s forward pass (its first call), or None if it is not called."""
    if model is not None:
        for call in probe(model).calls:
            if call.layer is layer:
                return call.shape
        return None
    try:
        output = layer.output
    except (AttributeError, ValueError):
        return None
    shape = getattr(output, "shape", None)
    return None if shape is None else tuple(shape)


def _is_model(layer):
    return isinstance(layer, keras.Model)


def _paths(layer, path=()):
    """Yields `(path, sublayer)` for every layer tracked below `layer`, models and custom blocks alike."""
    for inner in layer._flatten_layers(include_self=False, recursive=False):
        yield path, inner
        yield from _paths(inner, (*path, inner))


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
    names = []
    for call in probe(model).calls:
        if _is_spatial(call) and call.layer.name not in names:
            names.append(call.layer.name)
    return names


def _is_spatial(call):
    """A 4-D output from a layer (not a whole nested model: its last layer is the one to name)."""
    return call.shape is not None and len(call.shape) == 4 and not _is_model(call.layer)


def find_target_layer(model):
    """Returns the name of the last layer with a 4-D (spatial) output that lines up with the image: the CAM target.

    Lists the layers the forward pass calls (descending into nested models, e.g. a pretrained-style
    base inside a bigger classifier), keeps the maps laid out `(batch, height, width, channels)` with
    no Permute or Reshape on their way from the input, and asks `steps.last_spatial_layer` for the
    last of them. Everything after it (global pooling, flattening, Dense) has lost the spatial
    layout, so that is the last place where "where" is still encoded; a map whose axes were
    rearranged would be drawn transposed on the image.

    Args:
        model: a built `keras.Model` (Sequential, Functional, or with nested models).

    Returns:
        The layer's name (a str); `locate_layer(model, name)` gives the layer itself.

    Raises:
        ValueError: if no layer has a 4-D output, or none that lines up with the image (channels-first
            maps, axes rearranged); the message lists the layers and their shapes. Refused before
            the lesson is asked.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
    ...                           keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    >>> find_target_layer(model)
    'conv'
    """
    _check_model(model)
    calls = probe(model).calls
    spatial = [at for at, call in enumerate(calls) if _is_spatial(call)]
    if not spatial:
        found = _described(call for call in calls if not _is_model(call.layer))
        raise ValueError(
            f"Model {model.name!r} has no layer with a 4-D (batch, height, width, channels) output, so there "
            f"is no spatial feature map to build a class activation map from. Found: {found or 'no layers'}. "
            "Grad-CAM needs a convolutional network."
        )
    lined_up = [at for at in spatial if layout(calls, at) != "channels_first" and aligned(calls, at)]
    if not lined_up:
        raise _no_aligned_layer(model, calls, spatial)
    # Whole nested models and maps that no longer line up with the image are left out: the lesson
    # picks among the layers a heatmap can be drawn from.
    layers = [(call.layer.name, call.shape) for at, call in enumerate(calls)
              if call.shape is not None and not _is_model(call.layer) and (at in lined_up or len(call.shape) != 4)]
    return last_spatial_layer(layers)


# Layers that move the axes of a map: after one, (height, width) no longer mean the image's rows and columns.
_REARRANGING = (keras.layers.Permute, keras.layers.Reshape)


def aligned(calls, position):
    """Whether the map a call outputs lines up with the image: no Permute or Reshape on its way from the input."""
    while position is not None:
        if isinstance(calls[position].layer, _REARRANGING):
            return False
        position = calls[position].source
    return True


def _described(calls):
    """`conv (Conv2D, output (None, 6, 6, 2)), ...`: layer calls as a refusal lists them."""
    return ", ".join(f"{call.layer.name} ({type(call.layer).__name__}, output {call.shape})" for call in calls)


def _no_aligned_layer(model, calls, spatial):
    described = _described(calls[at] for at in spatial)
    if all(layout(calls, at) == "channels_first" for at in spatial):
        return ValueError(
            f"Argument `layer_name` must name a layer with channels-last feature maps (batch, height, width, "
            f"channels). Received: layer_name=None, and every 4-D map of model {model.name!r} is laid out "
            f"channels-first (data_format='channels_first'): {described}. Build the model with data_format='channels_last'."
        )
    return ValueError(
        f"Model {model.name!r} has no 4-D map that lines up with the image: a Permute or Reshape rearranges the "
        f"axes of every one ({described}), so a heatmap drawn from it would be transposed or scrambled. Pass "
        "`layer_name=` a layer before the rearrangement."
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
    matches = [(path, layer) for path, layer in _paths(model) if layer.name == layer_name and not _is_model(layer)]
    if not matches:
        raise ValueError(
            f"Argument `layer_name` must name a layer of model {model.name!r}. Received: layer_name={layer_name!r}. "
            f"Layers with a spatial (4-D) output: {spatial_layers(model)}"
        )
    path, layer = min(matches, key=lambda match: len(match[0]))
    shape = _output_shape(layer, model)
    if shape is None or len(shape) != 4:
        raise ValueError(
            f"Argument `layer_name` must name a layer with a 4-D (batch, height, width, channels) output. "
            f"Received: layer_name={layer_name!r} with output shape {shape}. "
            f"Candidates: {spatial_layers(model)}"
        )
    return path, layer


def target_call(model, layer_name):
    """The position in `probe(model).calls` of the target layer's one call, after checking it can give a map.

    Refuses a layer called more than once in a forward pass (which call's maps?) and feature
    maps laid out channels-first (the maps would be summed over the wrong axis).

    Args:
        model: a built `keras.Model`.
        layer_name: str or None (None: `find_target_layer(model)`).

    Returns:
        `(layer, position)`.
    """
    name = find_target_layer(model) if layer_name is None else layer_name
    _, layer = locate_layer(model, name)
    calls = probe(model).calls
    positions = [at for at, call in enumerate(calls) if call.layer is layer]
    if len(positions) != 1:
        raise ValueError(
            f"Argument `layer_name` must name a layer called once per forward pass. Received: layer_name={name!r}, "
            f"called {len(positions)} times by model {model.name!r}, so its feature maps are ambiguous. "
            "Choose a layer on a single path."
        )
    data_format = layout(calls, positions[0])
    if data_format == "channels_first":
        raise ValueError(
            f"Argument `layer_name` must name a layer with channels-last feature maps (batch, height, width, "
            f"channels). Received: layer_name={name!r}, whose maps are laid out channels-first (data_format="
            f"'channels_first'), shape {calls[positions[0]].shape}. Build the model with data_format='channels_last'."
        )
    return layer, positions[0]


def layout(calls, position):
    """The data_format of the maps a call outputs: its own layer's, else that of the layer that made its input."""
    while position is not None:
        data_format = getattr(calls[position].layer, "data_format", None)
        if data_format in ("channels_first", "channels_last"):
            return data_format
        position = calls[position].source
    return keras.config.image_data_format()


def _check_model(model):
    _checks.keras_model("model", model)
    input_shape(model)
