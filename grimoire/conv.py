"""Conv2D explained: the sliding dot product, its fast im2col form, output sizes and receptive fields.

A `Conv2D` layer with `F` filters of size `kh x kw` over `C` input channels holds a kernel of shape
`(kh, kw, C, F)` (HWIO) and a bias of shape `(F,)`. Output value `(n, i, j, f)` is the dot product of
the input window under position `(i, j)`, all `C` channels at once, with filter `f`, plus `bias[f]`::

    out[n, i, j, f] = sum_{a, b, c} x[n, i*s + a*d, j*s + b*d, c] * kernel[a, b, c, f] + bias[f]

where `s` is the stride, `d` the dilation rate and `x` the input after zero padding.

Images are NHWC (`channels_last`, Keras' default). Integers for `strides`, `dilation_rate` and
`kernel_size` mean the same value on both axes; pairs give one value per axis.
"""

import numpy as np

from . import _checks, arguments, graph
from ._checks import guard
from .arguments import PADDINGS


# --- sizes ------------------------------------------------------------------------------------


@guard(arguments.conv_axis)
def conv_output_length(length, kernel_size, *, stride=1, padding="valid", dilation=1):
    """Length of a convolution's output along one spatial axis.

    Formula:

        effective_k = dilation * (kernel_size - 1) + 1
        valid: out = floor((length - effective_k) / stride) + 1     # no padding
        same:  out = ceil(length / stride)                          # pad just enough

    Both are the general `floor((n + 2p - d*(k-1) - 1) / s) + 1` with `p = 0` ("valid") or with the
    padding "same" adds (possibly uneven, extra row at the end, like TensorFlow).

    Args:
        length: input length `n` along the axis (positive int).
        kernel_size: kernel length `k` along the axis.
        stride: step `s` between windows.
        padding: `"valid"` or `"same"`.
        dilation: gap `d` between kernel taps (1 means dense).

    Returns:
        The output length, a positive int.

    Example:

    >>> conv_output_length(28, 3), conv_output_length(28, 3, stride=2, padding="same")
    (26, 14)
    """
    if padding == "same":
        return -(-length // stride)  # ceil without floats
    effective = dilation * (kernel_size - 1) + 1
    return (length - effective) // stride + 1


def conv2d_output_shape(input_shape, filters, kernel_size, *, strides=1, padding="valid", dilation_rate=1):
    """Output shape of `Conv2D(filters, kernel_size, ...)` on inputs of `input_shape` (NHWC).

    Args:
        input_shape: `(batch, height, width, channels)`; `batch` may be `None`. A shape without the
            batch axis, `(height, width, channels)`, gives a result without it too.
        filters: number of filters `F` = output channels.
        kernel_size: int or `(kh, kw)`.
        strides: int or `(sh, sw)`.
        padding: `"valid"` or `"same"`.
        dilation_rate: int or `(dh, dw)`.

    Returns:
        A tuple `(batch, out_h, out_w, filters)` (or `(out_h, out_w, filters)`), each spatial size from
        `conv_output_length`.

    Example:

    >>> conv2d_output_shape((None, 299, 299, 3), 32, 3, strides=2)
    (None, 149, 149, 32)
    """
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) not in (3, 4):
        raise ValueError(
            "Argument `input_shape` must be (batch, height, width, channels) or (height, width, channels). "
            f"Received: input_shape={input_shape!r}"
        )
    input_shape = tuple(input_shape)
    batch = input_shape[:-3]
    if batch and batch[0] is not None:
        _checks.positive_int("input_shape[0] (batch)", batch[0])
    height, width, channels = input_shape[-3:]
    _checks.positive_int("input_shape channels", channels)
    filters = _checks.positive_int("filters", filters)
    kernel_size = _checks.conv_window("kernel_size", kernel_size, 2)
    strides = _checks.conv_window("strides", strides, 2)
    dilation_rate = _checks.conv_window("dilation_rate", dilation_rate, 2)
    _checks.strides_and_dilation(strides, dilation_rate)
    padding = _checks.one_of("padding", padding, PADDINGS)
    spatial = tuple(
        conv_output_length(n, k, stride=s, padding=padding, dilation=d)
        for n, k, s, d in zip((height, width), kernel_size, strides, dilation_rate)
    )
    return batch + spatial + (filters,)


@guard(lambda length, kernel_size, stride, dilation: arguments.conv_axis(length, kernel_size, stride, "same", dilation))
def same_padding(length, kernel_size, stride=1, dilation=1):
    """Zeros added `(before, after)` along one axis by `padding="same"` (TensorFlow's rule).

    Formula:

        total = max((ceil(n / s) - 1) * s + d*(k-1) + 1 - n, 0)
        before = total // 2;  after = total - before       # the odd one goes at the end

    Example:

    >>> same_padding(5, 3), same_padding(6, 3, stride=2)
    ((1, 1), (0, 1))
    """
    out = -(-length // stride)  # the "same" output length, ceil(n / s)
    total = max((out - 1) * stride + dilation * (kernel_size - 1) + 1 - length, 0)
    return total // 2, total - total // 2


# --- the convolution itself -------------------------------------------------------------------


def _padded(images, kernel, strides, padding, dilation_rate):
    """`images` zero-padded as `padding` asks, and the output size `(out_h, out_w)` on them."""
    sizes = (kernel.shape[0], kernel.shape[1])
    if padding == "same":
        pads = [same_padding(n, k, s, d) for n, k, s, d in zip(images.shape[1:3], sizes, strides, dilation_rate)]
        images = np.pad(images, [(0, 0), pads[0], pads[1], (0, 0)])
    out = tuple(conv_output_length(n, k, stride=s, padding="valid", dilation=d)
                for n, k, s, d in zip(images.shape[1:3], sizes, strides, dilation_rate))
    return images, out


@guard(lambda images, kernel, bias, strides, padding, dilation_rate: arguments.convolution(
    images, kernel, bias, strides, padding, dilation_rate, np.float64))
def conv2d_reference(images, kernel, bias=None, *, strides=1, padding="valid", dilation_rate=1):
    """2-D convolution as the study text explains it: slide the window, take dot products (float64).

    For each output position the input window (all channels) is cut out and multiplied elementwise
    with each filter; the sum plus the filter's bias is one output value. Plain loops: this is the
    readable oracle, not a fast path (see `conv2d_im2col`).

    Formula:

        for i, j in output positions:
            window = x_padded[:, i*sh : i*sh + dh*(kh-1) + 1 : dh, j*sw : ... : dw, :]   # (N, kh, kw, C)
            for f in filters:
                out[:, i, j, f] = sum(window * kernel[:, :, :, f]) + bias[f]

    Like Keras' `Conv2D` this is a cross-correlation: the kernel is not flipped.

    Args:
        images: array `(batch, height, width, channels)` (NHWC).
        kernel: array `(kh, kw, channels, filters)` (HWIO, Keras' `Conv2D.kernel` layout).
        bias: optional array `(filters,)`; `None` means no bias.
        strides: int or `(sh, sw)`.
        padding: `"valid"` (no padding) or `"same"` (zero padding so that output = ceil(input / stride)).
        dilation_rate: int or `(dh, dw)`: the gap between kernel taps.

    Returns:
        float64 array `(batch, out_h, out_w, filters)`.

    Example:

    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> k = np.ones((3, 3, 1, 1))       # a 3x3 box filter sums each window
    >>> conv2d_reference(x, k)[0, :, :, 0]
    array([[45., 54.],
           [81., 90.]])
    """
    (sh, sw), (dh, dw) = strides, dilation_rate
    kh, kw, _, filters = kernel.shape
    if padding == "same":
        pads = [same_padding(n, k, s, d) for n, k, s, d in zip(images.shape[1:3], (kh, kw), strides, dilation_rate)]
        images = np.pad(images, [(0, 0), pads[0], pads[1], (0, 0)])
    out_h, out_w = (conv_output_length(n, k, stride=s, padding="valid", dilation=d)
                    for n, k, s, d in zip(images.shape[1:3], (kh, kw), strides, dilation_rate))
    x = images
    out = np.zeros((x.shape[0], out_h, out_w, filters))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw, :]
            for f in range(filters):
                out[:, i, j, f] = np.sum(window * kernel[:, :, :, f], axis=(1, 2, 3)) + bias[f]
    return out


def conv2d_im2col(images, kernel, bias=None, *, strides=1, padding="valid", dilation_rate=1):
    """2-D convolution as one matrix product over the unfolded windows ("im2col").

    The same function as `conv2d_reference`, arranged the way fast libraries think of it: put every
    input window in a row of a matrix (a strided view, no Python loop), flatten each filter into a
    column, and one matmul computes every dot product at once:

        rows   = windows(x_padded)            # (N*out_h*out_w, kh*kw*C)
        cols   = kernel.reshape(kh*kw*C, F)   # one column per filter
        out    = rows @ cols + bias           # reshaped to (N, out_h, out_w, F)

    Args:
        images, kernel, bias, strides, padding, dilation_rate: as in `conv2d_reference`.

    Returns:
        array `(batch, out_h, out_w, filters)`, float32 when images and kernel are both float32,
        float64 otherwise.

    Example:

    >>> x = np.random.default_rng(0).normal(size=(2, 7, 7, 3))
    >>> k = np.random.default_rng(1).normal(size=(3, 3, 3, 4))
    >>> np.allclose(conv2d_im2col(x, k, strides=2, padding="same"), conv2d_reference(x, k, strides=2, padding="same"))
    True
    """
    dtype = np.result_type(np.asarray(images).dtype, np.asarray(kernel).dtype, np.float32)
    if dtype not in (np.float32, np.float64):
        dtype = np.float64
    prepared = arguments.convolution(images, kernel, bias, strides, padding, dilation_rate, dtype)
    kernel, bias, (sh, sw), (dh, dw) = prepared["kernel"], prepared["bias"], prepared["strides"], prepared["dilation_rate"]
    x, (out_h, out_w) = _padded(prepared["images"], kernel, prepared["strides"], prepared["padding"], prepared["dilation_rate"])
    kh, kw, channels, filters = kernel.shape
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # (N, H', W', C, span_h, span_w): a view, no copy yet.
    windows = np.lib.stride_tricks.sliding_window_view(x, (span_h, span_w), axis=(1, 2))
    # Keep every stride-th window and every dilation-th tap inside it.
    windows = windows[:, : (out_h - 1) * sh + 1 : sh, : (out_w - 1) * sw + 1 : sw, :, ::dh, ::dw]
    # One contraction over (C, kh, kw): numpy copies the windows into rows once and calls one GEMM.
    out = np.tensordot(windows, kernel.transpose(2, 0, 1, 3), axes=([3, 4, 5], [0, 1, 2]))
    return out + bias


# --- receptive fields -------------------------------------------------------------------------


def receptive_field(model, layer_name):
    """Size and stride of one unit's receptive field on the model's input, by layer arithmetic.

    Walks the layers from the input to `layer_name`. Along each spatial axis, a layer with kernel
    (or pool) size `k`, stride `s` and dilation `d` changes the field `r` and its jump `j` (the input
    distance between neighbouring output units) as:

        r_out = r_in + d * (k - 1) * j_in
        j_out = j_in * s

    starting from `r = 1, j = 1` at the input. Layers that keep the spatial shape and have no kernel
    (activations, batch norm, dropout, Add, Concatenate...) pass `r` and `j` through; where branches
    merge, the largest field wins. Padding moves the field but does not change its size.

    Args:
        model: a built Keras model (Sequential or Functional) with image inputs.
        layer_name: name of a layer whose output is a spatial map.

    Returns:
        `(size, stride)`: two tuples with one int per spatial axis, e.g. `((7, 7), (2, 2))`.

    Example:

    >>> import keras
    >>> net = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, strides=2, name="a"),
    ...                         keras.layers.Conv2D(8, 3, name="b")])
    >>> receptive_field(net, "b")
    ((7, 7), (2, 2))
    """
    import keras

    _checks.keras_model("model", model)
    if not isinstance(layer_name, str):
        raise TypeError(f"Argument `layer_name` must be a layer name (str). Received: layer_name={layer_name!r}")
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(
            f"No layer named {layer_name!r} in model {model.name!r}. Received: layer_name={layer_name!r}; "
            f"the model's layers are {names}"
        )
    layer = model.get_layer(layer_name)
    _check_spatial(layer.output, layer)
    fields = {}  # id(KerasTensor) -> (size tuple, jump tuple)
    return _field_of(layer.output, fields)


@guard(lambda size, jump, kernel_size, stride, dilation: {
    name: _checks.positive_int(name, value) for name, value in
    [("size", size), ("jump", jump), ("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)]})
def receptive_field_step(size, jump, kernel_size, *, stride=1, dilation=1):
    """One layer's effect on a unit's receptive field along one axis: `(size, jump)` after it.

    Formula:

        size_out = size + dilation * (kernel_size - 1) * jump   # the window adds (k-1) taps, jump apart
        jump_out = jump * stride                                # neighbouring outputs, farther apart

    Args:
        size: the receptive field before the layer, in input pixels (1 at the input).
        jump: the input distance between neighbouring units before the layer (1 at the input).
        kernel_size: the layer's window (kernel or pool size) along the axis.
        stride: its stride.
        dilation: its dilation rate.

    Returns:
        `(size, jump)` after the layer, two ints.

    Example:

    >>> receptive_field_step(1, 1, 3, stride=2)   # a 3x3 stride-2 conv on the input
    (3, 2)
    >>> receptive_field_step(3, 2, 3)             # then a 3x3 conv
    (7, 2)
    """
    return size + dilation * (kernel_size - 1) * jump, jump * stride


def _check_spatial(tensor, layer):
    if len(tensor.shape) < 3:
        raise ValueError(
            f"Layer {layer.name!r} ({type(layer).__name__}) outputs shape {tuple(tensor.shape)}, not a spatial "
            "map: a receptive field is defined for units of a feature map (batch, height, width, channels). "
            "Pick a convolution, pooling or activation layer before any Flatten/Dense/global pooling."
        )


def _field_of(tensor, fields):
    key = id(tensor)
    if key in fields:
        return fields[key]
    operation, _ = graph.producer(tensor)
    node_inputs = graph.inputs_of(tensor)
    inputs = [t for t in node_inputs if len(t.shape) == len(tensor.shape)]
    rank = len(tensor.shape) - 2
    if not node_inputs:  # an InputLayer: each unit sees itself
        result = ((1,) * rank, (1,) * rank)
    else:
        if not inputs:
            raise ValueError(
                f"Layer {operation.name!r} ({type(operation).__name__}) turns a non-spatial tensor into a map; "
                "receptive_field needs a path of spatial layers from the model's input to the layer."
            )
        parents = [_field_of(t, fields) for t in inputs]
        size = tuple(max(p[0][a] for p in parents) for a in range(rank))
        jump = tuple(max(p[1][a] for p in parents) for a in range(rank))
        kernel, stride, dilation = _window_of(operation, inputs[0], tensor, rank)
        steps = [receptive_field_step(r, j, k, stride=s, dilation=d) for r, j, k, s, d in zip(size, jump, kernel, stride, dilation)]
        result = (tuple(r for r, _ in steps), tuple(j for _, j in steps))
    fields[key] = result
    return result


def _window_of(layer, inputs, outputs, rank):
    """(kernel, stride, dilation) of one layer along each spatial axis."""
    import keras

    ones = (1,) * rank
    if isinstance(layer, keras.Model):
        # Its inner layers may well grow the field while keeping the map's size; do not guess.
        raise ValueError(
            f"Layer {layer.name!r} is a nested model; receptive_field follows single layers only. Build the "
            "model from its layers directly (or call receptive_field on the inner model)."
        )
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(
            f"Layer {layer.name!r} uses data_format={layer.data_format!r}; receptive_field supports "
            "channels_last models (Keras' default)."
        )
    if hasattr(layer, "kernel_size"):  # Conv*, SeparableConv*, DepthwiseConv*
        if "Transpose" in type(layer).__name__:
            raise ValueError(f"Layer {layer.name!r} ({type(layer).__name__}) upsamples; receptive_field does not support it.")
        return tuple(layer.kernel_size), tuple(layer.strides), tuple(layer.dilation_rate)
    if hasattr(layer, "pool_size"):  # MaxPooling*, AveragePooling*
        return tuple(layer.pool_size), tuple(layer.strides), ones
    if tuple(inputs.shape[1:-1]) == tuple(outputs.shape[1:-1]):
        return ones, ones, ones  # pointwise in space
    if type(layer).__name__.startswith(("ZeroPadding", "Cropping")):
        return ones, ones, ones  # shifts the field, keeps its size and stride
    raise ValueError(
        f"Layer {layer.name!r} ({type(layer).__name__}) changes the spatial shape from {tuple(inputs.shape)} "
        f"to {tuple(outputs.shape)} without a kernel_size or pool_size; receptive_field cannot follow it."
    )
