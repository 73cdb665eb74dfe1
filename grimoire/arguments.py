"""What the lessons refuse before they run: the arguments behind each concept module's `guard`.

A lesson is written bare (the formula, the concept); the support checks its arguments first, with
Keras-style messages, and hands the lesson clean values. These are those checks, one function per
lesson or family of lessons, built from the shared ones in `_checks`. Shipped solved: a learner's
package keeps them, so the validation claims (`*-errors`) hold whatever the lessons' bodies are.

Example:

>>> conv_axis(28, 3, 2, "same", 1)["padding"]
'same'
>>> classifier_sizes(4, 8, 1)
Traceback (most recent call last):
ValueError: Argument `num_classes` must be at least 2: a classifier chooses between classes. Received: num_classes=1
"""

import numbers

import numpy as np

from ._checks import array, at_least, conv_groups, conv_window, flag as _flag, one_of, positive_int, strides_and_dilation
from .layers import window_volume

PADDINGS = ("valid", "same")
MERGE_MODES = ("concatenate", "add", "stack")


# --- models ------------------------------------------------------------------------------------


def merge(tensors, mode):
    """`models.merge`'s arguments: refuses what it cannot mix, before Keras would fail late or unclearly."""
    mode = one_of("mode", mode, MERGE_MODES)
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"Argument `tensors` must be a list or tuple of tensors. Received: tensors of type {type(tensors).__name__}"
        )
    if len(tensors) < 2:
        raise ValueError(
            f"Argument `tensors` must hold at least two tensors to merge with mode={mode!r}. "
            f"Received: {len(tensors)} tensor(s)."
        )
    shapes = [_shape_of(index, tensor) for index, tensor in enumerate(tensors)]
    if any(len(shape) < 2 for shape in shapes):
        raise ValueError(
            "Argument `tensors` must be batches: every tensor needs a batch axis and at least one feature "
            f"axis (rank >= 2). Received shapes: {shapes}. Add a batch axis, e.g. x[None, ...]."
        )
    if mode == "concatenate":
        # All axes but the last must agree; the last one grows.
        if len({shape[:-1] for shape in shapes}) > 1:
            raise ValueError(
                "mode='concatenate' joins tensors on the last axis, so all other axes must match. "
                f"Received shapes: {shapes}."
            )
    elif len(set(shapes)) > 1:
        raise ValueError(
            f"mode={mode!r} needs tensors of equal shapes. Received shapes: {shapes}. "
            "Use mode='concatenate' to join features of different sizes, or project them to one size first."
        )
    return {"mode": mode}


def _shape_of(index, tensor):
    """The shape of `tensors[index]`, refusing what has none."""
    if not hasattr(tensor, "shape"):
        raise TypeError(
            f"Argument `tensors` must hold tensors or arrays. Received: tensors[{index}] of type {type(tensor).__name__}"
        )
    return tuple(tensor.shape)


def classifier_sizes(input_shape, hidden_units, num_classes):
    """The sizes of `models`' small classifier, checked."""
    return {"input_shape": sample_shape(input_shape), "hidden_units": positive_int("hidden_units", hidden_units),
            "num_classes": class_count(num_classes)}


def class_count(value):
    """`num_classes` of a classifier: at least two."""
    return at_least("num_classes", value, 2, "a classifier chooses between classes")


def sample_shape(value):
    """A per-sample `input_shape` (an int, or a non-empty tuple of positive ints) as a tuple."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not value:
        raise ValueError(
            "Argument `input_shape` must be a non-empty tuple of positive integers, the per-sample shape "
            f"without the batch axis, e.g. (4,). Received: input_shape={value!r}"
        )
    return tuple(positive_int("input_shape", size) for size in value)


# --- convolutions --------------------------------------------------------------------------------


def conv_axis(length, kernel_size, stride, padding, dilation):
    """One spatial axis of a convolution, checked: positive sizes, a known padding, a window that fits."""
    arguments = {"length": positive_int("length", length), "kernel_size": positive_int("kernel_size", kernel_size),
                 "stride": positive_int("stride", stride), "dilation": positive_int("dilation", dilation),
                 "padding": one_of("padding", padding, PADDINGS)}
    # Stride and dilation both above 1 is arithmetic here (as in keras.ops.conv's shape inference);
    # conv2d_output_shape and the convolutions refuse it, as keras.layers.Conv2D does.
    window_fits(arguments["length"], arguments["kernel_size"], arguments["dilation"], arguments["padding"])
    return arguments


def window_fits(length, kernel_size, dilation, padding):
    """Refuses a 'valid' window longer than the input: the output would be empty."""
    effective = dilation * (kernel_size - 1) + 1
    if padding == "valid" and effective > length:
        raise ValueError(
            f"The dilated kernel ({effective} = dilation * (kernel_size - 1) + 1 with kernel_size={kernel_size}, "
            f"dilation={dilation}) is larger than the input (length={length}) with padding='valid', so the "
            "output would be empty. Use padding='same', a smaller kernel or a larger input."
        )


def convolution(images, kernel, bias, strides, padding, dilation_rate, dtype):
    """The arguments of both convolutions (`conv2d_reference`, `conv2d_im2col`): arrays, channels, bias, windows."""
    images = array("images", images, ndim=4, dtype=dtype)
    kernel = array("kernel", kernel, ndim=4, dtype=dtype)
    kh, kw, kernel_channels, filters = kernel.shape
    if images.shape[-1] != kernel_channels:
        raise ValueError(
            "The kernel's input channels must match the images' channels: a filter spans every input "
            f"channel. Received: images with shape {images.shape} ({images.shape[-1]} channels) and kernel "
            f"with shape {kernel.shape} ({kernel_channels} input channels). The kernel is "
            "(kernel_h, kernel_w, in_channels, filters), i.e. HWIO, and images are NHWC."
        )
    if 0 in images.shape or 0 in kernel.shape:
        raise ValueError(
            f"Arguments `images` and `kernel` must not have empty axes. Received: images with shape "
            f"{images.shape} and kernel with shape {kernel.shape}"
        )
    if bias is None:
        bias = np.zeros(filters, dtype=dtype)
    else:
        bias = array("bias", bias, ndim=1, dtype=dtype)
        if bias.shape[0] != filters:
            raise ValueError(
                f"Argument `bias` must have one value per filter, shape ({filters},). "
                f"Received: bias with shape {bias.shape}"
            )
    strides = conv_window("strides", strides, 2)
    dilation_rate = conv_window("dilation_rate", dilation_rate, 2)
    strides_and_dilation(strides, dilation_rate)
    padding = one_of("padding", padding, PADDINGS)
    for n, k, d in zip(images.shape[1:3], (kh, kw), dilation_rate):
        window_fits(n, k, d, padding)
    return {"images": images, "kernel": kernel, "bias": bias, "strides": strides, "padding": padding,
            "dilation_rate": dilation_rate}


# --- counts ------------------------------------------------------------------------------------


def conv_params(kernel_size, in_channels, filters, use_bias, groups, rank):
    """`params.conv_params`'s arguments: a window per spatial axis, positive channels, groups that divide both."""
    kernel_size = conv_window("kernel_size", kernel_size, rank)
    in_channels = positive_int("in_channels", in_channels)
    filters = positive_int("filters", filters)
    groups = positive_int("groups", groups)
    conv_groups(in_channels, filters, groups)
    return {"kernel_size": kernel_size, "in_channels": in_channels, "filters": filters,
            "use_bias": bool(_flag("use_bias", use_bias)), "groups": groups}


def conv_macs(kernel_size, in_channels, filters, output_size, groups):
    """`flops.conv_macs`'s arguments: as `conv_params`, with an output size of one entry per kernel axis."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
    positions_and_window(output_size, kernel_size, "output_size")  # checks both, one entry per axis
    in_channels = positive_int("in_channels", in_channels)
    filters = positive_int("filters", filters)
    groups = positive_int("groups", groups)
    conv_groups(in_channels, filters, groups)
    return {"kernel_size": conv_window("kernel_size", kernel_size, len(sizes)), "in_channels": in_channels,
            "filters": filters, "output_size": tuple(sizes), "groups": groups}


def positions_and_window(size, kernel_size, size_name):
    """`(positions, window)`: the volumes of a spatial size and of a kernel with one entry per axis, checked."""
    # An int kernel_size means the same length on every spatial axis, as in Keras; the rank comes
    # from the spatial size (an int size is one axis).
    sizes = size if isinstance(size, (tuple, list)) else (size,)
    if isinstance(kernel_size, (tuple, list)) and len(kernel_size) != len(sizes):
        raise ValueError(
            f"Arguments `kernel_size` and `{size_name}` must have one entry per spatial axis. "
            f"Received: kernel_size={kernel_size!r}, {size_name}={size!r}"
        )
    return window_volume(size_name, sizes), window_volume("kernel_size", kernel_size, len(sizes))
