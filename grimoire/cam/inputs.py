"""Checks on what the CAM functions are given: images, class indices, flags, and the maps they yield."""

import numpy as np

from . import gradients
from .capture import empty_maps, input_shape

def check_flag(name, value):
    """Returns `value` if it is a bool, else raises: a string like "no" would otherwise count as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"Argument `{name}` must be a bool (True or False). Received: {name}={value!r} (of type {type(value).__name__})"
        )
    return bool(value)


def check_images(model, images):
    """Returns `images` as a float32 numpy batch matching the model's input shape, or raises.

    Integer images (uint8 pixels, ...) are converted to float32 with their values unchanged,
    exactly what `model.predict` feeds the model: never rescaled to [0, 1]. Refused: anything
    that is not real numbers (bool, complex, strings, objects) and values that are NaN or
    infinite once in float32 (a float64 1e39 overflows to inf), since they would come out as a
    NaN map or a meaningless one.

    Args:
        model: a `keras.Model`, or its input shape `(None, ...)`.
        images: array-like, `(batch, *input shape)`.
    """
    expected = tuple(model) if isinstance(model, (tuple, list)) else input_shape(model)
    try:
        raw = np.asarray(images)
    except (TypeError, ValueError):
        raw = np.asarray(None, dtype=object)
    if raw.dtype.kind not in "iuf":
        kind = {"b": "bool", "c": "complex", "O": "object", "U": "str", "S": "bytes"}.get(raw.dtype.kind, str(raw.dtype))
        raise TypeError(
            "Argument `images` must be an array of numbers (integers or floats). Received: images of type "
            f"{type(images).__name__} with dtype {kind}. Convert booleans with images.astype('float32'); "
            "complex images have no meaning for the model."
        )
    with np.errstate(over="ignore", invalid="ignore"):
        array = raw.astype(np.float32)
    if array.ndim != len(expected):
        hint = " Add a batch axis: images[None]." if array.ndim == len(expected) - 1 else ""
        raise ValueError(
            f"Argument `images` must have rank {len(expected)} (batch, height, width, channels) to match the "
            f"model's input {expected}. Received: images with shape {array.shape}.{hint}"
        )
    if any(want is not None and got != want for got, want in zip(array.shape[1:], expected[1:])):
        raise ValueError(
            f"Argument `images` must have shape (batch, {', '.join(str(d) for d in expected[1:])}) to match the "
            f"model's input. Received: images with shape {array.shape}. Resize the images to the model's input size."
        )
    if array.shape[0] == 0:
        raise ValueError(f"Argument `images` must hold at least one image. Received: images with shape {array.shape}")
    bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
    if bad:
        raise ValueError(
            f"Argument `images` must be finite in float32. Received: {bad} of {array.size} values NaN or infinite "
            f"(float32 holds magnitudes up to {np.finfo(np.float32).max:.2e}; larger ones become inf). "
            "Clean or rescale the images first."
        )
    return array


def check_class_index(class_index, batch, num_classes):
    """Expands `class_index` (None, an int, or one per image) to an int32 vector; -1 means top class."""
    if class_index is None:
        return np.full(batch, -1, dtype=np.int32)
    array = np.asarray(class_index)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer) or array.ndim > 1:
        raise TypeError(
            "Argument `class_index` must be None, an int or a sequence of ints (one per image). "
            f"Received: class_index={class_index!r}"
        )
    if array.ndim == 1 and array.shape[0] != batch:
        raise ValueError(
            f"Argument `class_index` must hold one index per image ({batch}) or be a single int. "
            f"Received: class_index with {array.shape[0]} entries"
        )
    if np.any(array < 0) or np.any(array >= num_classes):
        raise ValueError(
            f"Argument `class_index` must be in [0, {num_classes - 1}] for a model with {num_classes} classes. "
            f"Received: class_index={class_index!r}"
        )
    return np.broadcast_to(array, (batch,)).astype(np.int32)


def too_small(layer_name, shape, cause=None):
    reason = f" ({str(cause).splitlines()[0]})" if cause is not None else ""
    where = f"at layer {layer_name!r}" if layer_name else "in every layer"
    return ValueError(
        f"Argument `images` must be large enough for the network to keep a feature map {where}. "
        f"Received: images with shape {shape}, too small: the map would be empty{reason}. Use larger images."
    )


def check_image_size(model, shape):
    """Refuses images too small for the network before any kernel runs and before a layer is chosen.

    The model's forward pass is traced on this size (shapes only, `capture.empty_maps`): a layer
    whose map keeps no position, or a trace that fails, means the images are too small, whichever
    layer a CAM would then explain.
    """
    try:
        empty = empty_maps(model, shape)
    except (ValueError, TypeError, *gradients.kernel_errors()) as error:
        raise too_small(None, shape, error) from None
    if empty:
        name, features_shape = empty[0]
        raise too_small(name, shape, f"feature maps of shape {tuple(features_shape)}")
