"""Multiply-add counts from shapes and configuration alone, like parameter counts.

A layer's cost is fixed by what it is configured to do and by the shapes it sees: a convolution
computes one dot product of length `kh*kw*in_channels` for every output value, a Dense layer one
of length `input_size` per unit. This module mirrors `grimoire.params`: one small pure formula per
layer type, `layer_macs` dispatching on the type, `count_macs`/`count_flops` walking a built model
and `flops_table` showing the working.

Conventions (the ones behind "Xception is 8.36 GMAC"):
    - a MAC is one multiply-accumulate of a weighted sum; FLOPs = 2 x MACs (a multiply and an add).
    - only weighted sums count: Dense, convolutions (standard, transposed, depthwise, separable)
      and recurrent cells. Bias additions, normalisation, activations, pooling and merges are
      elementwise work, a fraction of a percent of a convnet's total, and count as 0 MACs.
      `Dot` and `Lambda` have no weights but may do weighted sums: they are refused, not guessed.
    - counts are per example and scale with `batch_size`.

Example:

>>> import keras
>>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
...                           keras.layers.Dense(10)])
>>> count_macs(model)       # conv: 6*6 outputs * 4 filters * 3*3*3 taps; dense: 144 * 10
5328
>>> count_flops(model, batch_size=2)
21312
"""

import math

import keras

from . import arguments
from ._checks import guard, positive_int
from .layers import (
    APPLICATION_LAYERS,
    CONVOLUTIONS,
    DEPTHWISE,
    PARAMETER_FREE,
    SEPARABLE,
    channels_of,
    check_layer,
    has_unknown_size,
    formula_for,
    input_shape_of,
    layers_to_count,
    output_shape_of,
    spatial_of,
)
from .params import RNN_GATES

# --- the formulas --------------------------------------------------------------------------------


@guard(lambda input_size, units, positions: {name: positive_int(name, value) for name, value in
                                               [("input_size", input_size), ("units", units), ("positions", positions)]})
def dense_macs(input_size, units, *, positions=1):
    """Multiply-adds of a Dense layer for one example.

    Formula:
        positions * input_size * units     # one dot product of length input_size per unit,
                                           # at every position of the leading axes

    Args:
        input_size: size of the last axis of the input.
        units: number of units.
        positions: product of the non-batch axes before the last one (1 for a `(batch, features)`
            input; `timesteps` for a Dense applied to a sequence).

    Returns:
        The number of multiply-adds, an int.

    Example:

    >>> dense_macs(2048, 1000)    # Xception's classifier
    2048000
    """
    return positions * input_size * units


@guard(lambda kernel_size, in_channels, filters, output_size, groups: arguments.conv_macs(
    kernel_size, in_channels, filters, output_size, groups))
def conv_macs(kernel_size, in_channels, filters, output_size, *, groups=1):
    """Multiply-adds of a convolution (1D/2D/3D) for one example.

    Formula:
        prod(output_size) * filters          # one output value per position and filter
        * prod(kernel_size) * in_channels / groups   # each a dot product over its window

    Args:
        kernel_size: the window size, an int or a tuple of ints (the lesson receives a tuple,
            one int per spatial axis).
        in_channels: channels of the input.
        filters: channels of the output.
        output_size: the spatial size of the output, an int or a tuple of ints
            (e.g. `(149, 149)`); `grimoire.conv.conv2d_output_shape` computes it (the lesson
            receives a tuple).
        groups: channel groups; each filter sees `in_channels / groups` channels (both
            `in_channels` and `filters` must be divisible by it, as Keras requires).

    Returns:
        The number of multiply-adds, an int.

    Example:

    >>> conv_macs(3, 3, 32, (149, 149))   # Xception's first conv: 3x3, RGB to 32, stride 2
    19181664
    """
    return math.prod(output_size) * filters * math.prod(kernel_size) * (in_channels // groups)


def conv_transpose_macs(kernel_size, in_channels, filters, input_size):
    """Multiply-adds of a transposed convolution for one example.

    Each input value is multiplied by a whole `kernel_size x filters` window and scattered into
    the output, so the count follows the input size, not the (larger) output size.

    Formula:
        prod(input_size) * in_channels * prod(kernel_size) * filters

    Example:

    >>> conv_transpose_macs(3, 16, 8, (7, 7))
    56448
    """
    positions, window = arguments.positions_and_window(input_size, kernel_size, "input_size")
    return positions * positive_int("in_channels", in_channels) * window * positive_int("filters", filters)


def depthwise_conv_macs(kernel_size, in_channels, output_size, *, depth_multiplier=1):
    """Multiply-adds of a depthwise convolution for one example: each channel filtered on its own.

    Formula:
        prod(output_size) * in_channels * depth_multiplier * prod(kernel_size)

    Example:

    >>> depthwise_conv_macs(3, 728, (19, 19))
    2365272
    """
    positions, window = arguments.positions_and_window(output_size, kernel_size, "output_size")
    maps = positive_int("in_channels", in_channels) * positive_int("depth_multiplier", depth_multiplier)
    return positions * maps * window


def separable_conv_macs(kernel_size, in_channels, filters, output_size, *, depth_multiplier=1):
    """Multiply-adds of a separable convolution: a depthwise step, then a 1x1 pointwise step.

    Formula:
        prod(output_size) * in_channels * depth_multiplier * prod(kernel_size)   # depthwise
        + prod(output_size) * in_channels * depth_multiplier * filters          # pointwise

    A standard convolution of the same shape costs `prod(kernel_size) * filters` per
    (position, input channel); the separable one `prod(kernel_size) + filters`.

    Example:

    >>> separable_conv_macs(3, 728, 728, (19, 19))   # one of Xception's middle-flow convs
    193689496
    """
    depthwise = depthwise_conv_macs(kernel_size, in_channels, output_size, depth_multiplier=depth_multiplier)
    positions, _ = arguments.positions_and_window(output_size, kernel_size, "output_size")
    return depthwise + positions * in_channels * depth_multiplier * positive_int("filters", filters)


def rnn_macs(cell, input_size, units, timesteps):
    """Multiply-adds of a SimpleRNN, GRU or LSTM layer over a sequence, for one example.

    Formula:
        timesteps * gates * units * (input_size + units)   # input and recurrent kernels per step

    gates = 1 (SimpleRNN), 3 (GRU), 4 (LSTM); the gates' elementwise products are not counted.

    Example:

    >>> rnn_macs("LSTM", 8, 16, 10)
    15360
    """
    if cell not in RNN_GATES:
        raise ValueError(f"Argument `cell` must be one of {sorted(RNN_GATES)}. Received: cell={cell!r}")
    return (
        positive_int("timesteps", timesteps)
        * RNN_GATES[cell]
        * positive_int("units", units)
        * (positive_int("input_size", input_size) + units)
    )


# --- applying them to built layers ---------------------------------------------------------------

# Layers without weights or whose work is elementwise (normalisation, lookups): no multiply-adds.
ELEMENTWISE = (
    keras.layers.BatchNormalization, keras.layers.LayerNormalization, keras.layers.Normalization,
    keras.layers.Embedding, *APPLICATION_LAYERS.values(),  # ConvNeXt's LayerScale: x * gamma
)

# "No parameters" is not "no multiply-adds": Dot computes weighted sums of its two inputs, and a
# Lambda runs arbitrary code. Both are refused like any layer without a formula.
NOT_FREE = (keras.layers.Dot, keras.layers.Lambda)
NO_WEIGHTED_SUMS = tuple(kind for kind in PARAMETER_FREE if kind not in NOT_FREE)


def layer_macs(layer):
    """The analytic multiply-add count of one built layer, per example, and the formula used.

    Args:
        layer: a built `keras.layers.Layer` (a nested model counts as one layer).

    Returns:
        A tuple `(macs, formula)`: the int count for one example and the formula as text.

    Raises:
        ValueError: the layer is not built, or its type has no formula here.
    """
    check_layer(layer)
    if isinstance(layer, keras.Model):
        return count_macs(layer), "sum over its layers"
    if isinstance(layer, NO_WEIGHTED_SUMS) and type(layer).__module__.startswith("keras."):
        return 0, "no weighted sums"
    if isinstance(layer, ELEMENTWISE):
        return 0, "elementwise, no weighted sums"
    formula = formula_for(
        layer, _FORMULAS, counting="multiply-add", where="grimoire.flops",
        free="the elementwise, pooling and reshaping layers",
    )
    in_shape, out_shape = input_shape_of(layer), output_shape_of(layer)
    if has_unknown_size(in_shape) or has_unknown_size(out_shape):
        raise ValueError(
            f"Layer '{layer.name}' has shapes with unknown sizes (input {in_shape}, output {out_shape}), "
            "so its cost depends on the data. Build the model with a fixed input size, e.g. "
            "`keras.Input((299, 299, 3))`."
        )
    return formula(layer.get_config(), in_shape, out_shape)


def count_macs(model_or_layer, batch_size=1):
    """Counts the multiply-adds of a forward pass from configuration and shapes alone.

    Args:
        model_or_layer: a built `keras.Model` (Sequential, Functional or subclassed, possibly
            nested) or a built `keras.layers.Layer`, with fixed spatial sizes.
        batch_size: number of examples in the batch.

    Returns:
        The total number of multiply-adds, an int.

    Example:

    >>> import keras
    >>> layer = keras.layers.Dense(32)
    >>> layer.build((None, 3))
    >>> count_macs(layer, batch_size=4)
    384
    """
    batch_size = positive_int("batch_size", batch_size)
    return batch_size * sum(layer_macs(layer)[0] for layer in layers_to_count(model_or_layer, "multiply-add"))


def count_flops(model_or_layer, batch_size=1):
    """Floating-point operations of a forward pass: 2 x `count_macs` (a multiply and an add each).

    Args:
        model_or_layer: a built `keras.Model` or `keras.layers.Layer` with fixed spatial sizes.
        batch_size: number of examples in the batch.

    Returns:
        The FLOP count, an int.

    Example:

    >>> import keras
    >>> layer = keras.layers.Dense(32)
    >>> layer.build((None, 3))
    >>> count_flops(layer)
    192
    """
    return 2 * count_macs(model_or_layer, batch_size)


def flops_table(model, batch_size=1):
    """One row per layer: name, type, input shape, output shape, MACs, FLOPs and formula.

    The counterpart of `grimoire.params.param_table`: read it next to `model.summary()`.

    Args:
        model: a built `keras.Model` with fixed spatial sizes.
        batch_size: number of examples in the batch (the formulas are per example).

    Returns:
        A list of dicts with keys `name`, `type`, `input_shape`, `output_shape`, `macs`, `flops`,
        `formula`.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"Argument `model` must be a keras.Model. Received: model of type {type(model).__name__}")
    count_macs(model, batch_size)  # validates the model and batch_size first
    rows = []
    for layer in model.layers:
        macs, formula = layer_macs(layer)
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "input_shape": input_shape_of(layer),
                "output_shape": output_shape_of(layer),
                "macs": batch_size * macs,
                "flops": 2 * batch_size * macs,
                "formula": formula if batch_size == 1 else f"{batch_size} * ({formula})",
            }
        )
    return rows


def format_flops_table(model, batch_size=1):
    """`flops_table` as aligned text, ending with the totals in MACs and GFLOPs."""
    rows = flops_table(model, batch_size)
    lines = [f"{'layer':<28}{'type':<24}{'output':<24}{'MACs':>16}  formula"]
    for r in rows:
        lines.append(f"{r['name']:<28}{r['type']:<24}{str(r['output_shape']):<24}{r['macs']:>16,}  {r['formula']}")
    total = sum(r["macs"] for r in rows)
    lines.append(f"{'total':<76}{total:>16,}  = {total / 1e9:.3f} GMAC = {2 * total / 1e9:.3f} GFLOP")
    return "\n".join(lines)


# --- per-type formulas on (config, input_shape, output_shape) -------------------------------------


def _dense(config, in_shape, out_shape):
    positions = math.prod(in_shape[1:-1])
    n = dense_macs(in_shape[-1], config["units"], positions=positions)
    lead = f"{positions}*" if positions > 1 else ""
    return n, f"{lead}{in_shape[-1]}*{config['units']}"


def _conv(config, in_shape, out_shape):
    cin, k, f, groups = channels_of(config, in_shape), config["kernel_size"], config["filters"], config.get("groups", 1)
    size = spatial_of(out_shape, config)
    n = conv_macs(k, cin, f, size, groups=groups)
    seen = f"({cin}/{groups})" if groups > 1 else f"{cin}"
    return n, f"{_times(size)}*{f} outputs * {_times(k)}*{seen}"


def _conv_transpose(config, in_shape, out_shape):
    cin, k, f = channels_of(config, in_shape), config["kernel_size"], config["filters"]
    size = spatial_of(in_shape, config)
    return conv_transpose_macs(k, cin, f, size), f"{_times(size)}*{cin} inputs * {_times(k)}*{f}"


def _depthwise(config, in_shape, out_shape):
    cin, k, m = channels_of(config, in_shape), config["kernel_size"], config["depth_multiplier"]
    size = spatial_of(out_shape, config)
    n = depthwise_conv_macs(k, cin, size, depth_multiplier=m)
    return n, f"{_times(size)}*{cin * m} outputs * {_times(k)}"


def _separable(config, in_shape, out_shape):
    cin, k, m, f = channels_of(config, in_shape), config["kernel_size"], config["depth_multiplier"], config["filters"]
    size = spatial_of(out_shape, config)
    n = separable_conv_macs(k, cin, f, size, depth_multiplier=m)
    return n, f"{_times(size)}*{cin * m} * ({_times(k)} + {f})"


def _rnn(name):
    def formula(config, in_shape, out_shape):
        t, i, u = in_shape[1], in_shape[-1], config["units"]
        return rnn_macs(name, i, u, t), f"{t}*{RNN_GATES[name]}*{u}*({i}+{u})"

    return formula


_TRANSPOSED = tuple(k for k in CONVOLUTIONS if k.__name__.endswith("Transpose"))

_FORMULAS = {
    keras.layers.Dense: _dense,
    **{kind: (_conv_transpose if kind in _TRANSPOSED else _conv) for kind in CONVOLUTIONS},
    **{kind: _depthwise for kind in DEPTHWISE},
    **{kind: _separable for kind in SEPARABLE},
    **{getattr(keras.layers, name): _rnn(name) for name in RNN_GATES},
}


# --- small helpers -------------------------------------------------------------------------------


def _times(sizes):
    return "*".join(map(str, sizes if isinstance(sizes, (tuple, list)) else (sizes,)))
