"""Parameter counts from shapes and configuration alone.

A layer's parameter count is fixed by what it is configured to do and by the shape of what it
receives; nothing has to be read off its weights. Each formula below is a small pure function;
`count_params` walks a built model and applies the right one to every layer, and `param_table`
shows the working next to `model.summary()`.

Example:

>>> import keras
>>> model = keras.Sequential([keras.layers.Dense(32, activation="relu"),
...                           keras.layers.Dense(10, activation="softmax")])
>>> model.build(input_shape=(None, 3))
>>> count_params(model)
458
"""

import math

import keras

from . import _checks, arguments
from ._checks import flag as _flag, guard, positive_int
from .layers import APPLICATION_LAYERS, CONVOLUTIONS, DEPTHWISE, PARAMETER_FREE, SEPARABLE, channels_of, check_layer
from .layers import formula_for, input_shape_of, layers_to_count, output_shape_of, window_volume


# --- the formulas --------------------------------------------------------------------------------


@guard(lambda input_size, output_size, use_bias: {
    "input_size": positive_int("input_size", input_size),
    "output_size": positive_int("output_size", output_size),
    "use_bias": bool(_flag("use_bias", use_bias)),
})
def dense_params(input_size, output_size, *, use_bias=True):
    """Parameters of a Dense layer.

    Formula:
        input_size * output_size          # one weight per (input, unit) pair: the kernel
        + output_size if use_bias         # one bias per unit

    Args:
        input_size: size of the last axis of the input.
        output_size: number of units.
        use_bias: whether the layer adds a bias vector.

    Returns:
        The number of parameters, an int.

    Example:

    >>> dense_params(3, 32)
    128
    """
    return input_size * output_size + (output_size if use_bias else 0)


@guard(lambda kernel_size, in_channels, filters, use_bias, groups, rank: arguments.conv_params(
    kernel_size, in_channels, filters, use_bias, groups, rank))
def conv_params(kernel_size, in_channels, filters, *, use_bias=True, groups=1, rank=None):
    """Parameters of a convolution (Conv1D/2D/3D and their Transpose versions).

    Formula:
        prod(kernel_size) * (in_channels / groups) * filters   # one window per filter
        + filters if use_bias                                  # one bias per filter

    Args:
        kernel_size: the window size, a tuple with one int per spatial axis (`(3, 3)` for 3x3), or
            an int for the same size on every axis, as in Keras; the lesson receives the tuple.
        in_channels: channels of the input.
        filters: channels of the output (number of filters).
        use_bias: whether the layer adds a bias per filter.
        groups: number of channel groups; each filter sees `in_channels / groups` channels, and
            both `in_channels` and `filters` must be divisible by it (Keras refuses otherwise).
        rank: number of spatial axes an int `kernel_size` stands for (default 2, a Conv2D).

    Returns:
        The number of parameters, an int.

    Example:

    >>> conv_params((3, 3), 3, 32)   # a 3x3 Conv2D from RGB to 32 maps
    896
    >>> conv_params(3, 3, 32)        # an int means 3x3, as in keras.layers.Conv2D(32, 3)
    896
    """
    return math.prod(kernel_size) * (in_channels // groups) * filters + (filters if use_bias else 0)


def depthwise_conv_params(kernel_size, in_channels, *, depth_multiplier=1, use_bias=True, rank=None):
    """Parameters of a depthwise convolution: one window per input channel and multiplier.

    Formula:
        prod(kernel_size) * in_channels * depth_multiplier
        + in_channels * depth_multiplier if use_bias

    Example:

    >>> depthwise_conv_params((3, 3), 728)
    7280
    """
    window = window_volume("kernel_size", kernel_size, rank)
    maps = positive_int("in_channels", in_channels) * positive_int("depth_multiplier", depth_multiplier)
    return window * maps + (maps if _flag("use_bias", use_bias) else 0)


def separable_conv_params(kernel_size, in_channels, filters, *, depth_multiplier=1, use_bias=True, rank=None):
    """Parameters of a separable convolution: a depthwise step, then a 1x1 pointwise step.

    Formula:
        prod(kernel_size) * in_channels * depth_multiplier     # depthwise kernel
        + in_channels * depth_multiplier * filters              # pointwise kernel
        + filters if use_bias

    Example:

    >>> separable_conv_params((3, 3), 728, 728, use_bias=False)   # an Xception middle-flow conv
    536536
    """
    window = window_volume("kernel_size", kernel_size, rank)
    maps = positive_int("in_channels", in_channels) * positive_int("depth_multiplier", depth_multiplier)
    filters = positive_int("filters", filters)
    return window * maps + maps * filters + (filters if _flag("use_bias", use_bias) else 0)


def batch_norm_params(channels, *, center=True, scale=True):
    """Parameters of BatchNormalization, trainable and not.

    Formula:
        channels * (center + scale)   # beta and gamma, trained
        + 2 * channels                # moving mean and variance, updated but not trained

    Example:

    >>> batch_norm_params(32)
    128
    """
    channels = positive_int("channels", channels)
    return channels * (_flag("center", center) + _flag("scale", scale)) + 2 * channels


def layer_norm_params(features, *, center=True, scale=True):
    """Parameters of LayerNormalization over `features` normalised values.

    Formula:
        features * (center + scale)   # beta and gamma

    Example:

    >>> layer_norm_params(64)
    128
    """
    features = positive_int("features", features)
    return features * (_flag("center", center) + _flag("scale", scale))


def normalization_params(kept_size, *, adapted=True):
    """Parameters (all non-trainable) of a `Normalization` layer.

    Formula:
        2 * kept_size + 1 if adapted     # a mean and a variance per kept position, and a
                                         # sample count (kept for old saved models)
        0 otherwise                      # mean and variance given to the constructor: constants

    `kept_size` is the product of the input sizes along the layer's `axis` (1 for `axis=None`).

    Example:

    >>> normalization_params(3)   # EfficientNet's per-channel RGB statistics
    7
    """
    kept_size = positive_int("kept_size", kept_size)
    return 2 * kept_size + 1 if _flag("adapted", adapted) else 0


def embedding_params(input_dim, output_dim):
    """Parameters of an Embedding: one `output_dim` vector per token.

    Formula:
        input_dim * output_dim

    Example:

    >>> embedding_params(1000, 64)
    64000
    """
    return positive_int("input_dim", input_dim) * positive_int("output_dim", output_dim)


RNN_GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


def rnn_params(cell, input_size, units, *, use_bias=True, reset_after=True):
    """Parameters of a SimpleRNN, GRU or LSTM layer.

    Formula:
        gates * units * (input_size + units)     # input kernel and recurrent kernel per gate
        + gates * units if use_bias              # one bias per gate unit
        + gates * units if GRU and reset_after   # GRU keeps a second, recurrent bias

    gates = 1 (SimpleRNN), 3 (GRU), 4 (LSTM).

    Example:

    >>> rnn_params("LSTM", 8, 16)
    1600
    """
    if cell not in RNN_GATES:
        raise ValueError(f"Argument `cell` must be one of {sorted(RNN_GATES)}. Received: cell={cell!r}")
    gates = RNN_GATES[cell]
    input_size = positive_int("input_size", input_size)
    units = positive_int("units", units)
    biases = _flag("use_bias", use_bias) * (2 if cell == "GRU" and _flag("reset_after", reset_after) else 1)
    return gates * units * (input_size + units) + biases * gates * units


# --- applying them to built layers ---------------------------------------------------------------

def layer_params(layer):
    """The analytic parameter count of one built layer and the formula used.

    Args:
        layer: a built `keras.layers.Layer` (a nested model counts as one layer).

    Returns:
        A tuple `(count, formula)`: the int count and the formula as text.

    Raises:
        ValueError: the layer is not built, or its type has no formula here.
    """
    check_layer(layer)
    if isinstance(layer, keras.Model):
        return count_params(layer), "sum over its layers"
    if isinstance(layer, PARAMETER_FREE) and type(layer).__module__.startswith("keras."):
        return 0, "no weights"
    formula = formula_for(layer, _FORMULAS, counting="parameter", where="grimoire.params", free="the parameter-free layers")
    return formula(layer.get_config(), input_shape_of(layer))


def count_params(model_or_layer):
    """Counts the parameters of a built model or layer from configuration and shapes alone.

    Never reads the weights: each layer's count comes from its type's formula applied to its config
    and input shape. The result equals Keras' `count_params()`, which is the claim the spec checks.

    Args:
        model_or_layer: a built `keras.Model` (Sequential, Functional or subclassed, possibly
            nested) or a built `keras.layers.Layer`.

    Returns:
        The total number of parameters (trainable and not), an int.

    Example:

    >>> import keras
    >>> layer = keras.layers.Dense(32)
    >>> layer.build((None, 3))
    >>> count_params(layer)
    128
    """
    return sum(layer_params(layer)[0] for layer in layers_to_count(model_or_layer, "parameter"))


def param_table(model):
    """One row per layer: name, type, input shape, output shape, count and formula.

    Read it next to `model.summary()`: the counts are derived, not read.

    Args:
        model: a built `keras.Model`.

    Returns:
        A list of dicts with keys `name`, `type`, `input_shape`, `output_shape`, `params`, `formula`.
    """
    _checks.keras_model("model", model)
    count_params(model)  # validates the model as a whole first
    return [
        {
            "name": layer.name,
            "type": type(layer).__name__,
            "input_shape": input_shape_of(layer),
            "output_shape": output_shape_of(layer),
            "params": count,
            "formula": formula,
        }
        for layer in model.layers
        for count, formula in [layer_params(layer)]
    ]


def format_param_table(model):
    """`param_table` as aligned text, ending with the total."""
    rows = param_table(model)
    lines = [f"{'layer':<28}{'type':<24}{'input':<22}{'output':<22}{'params':>12}  formula"]
    for r in rows:
        lines.append(
            f"{r['name']:<28}{r['type']:<24}{str(r['input_shape']):<22}{str(r['output_shape']):<22}"
            f"{r['params']:>12,}  {r['formula']}"
        )
    lines.append(f"{'total':<96}{sum(r['params'] for r in rows):>12,}")
    return "\n".join(lines)


# --- per-type formulas on (config, input_shape) --------------------------------------------------


def _dense(config, shape):
    n = dense_params(shape[-1], config["units"], use_bias=config["use_bias"])
    return n, f"{shape[-1]}*{config['units']}" + (f" + {config['units']}" if config["use_bias"] else "")


def _conv(config, shape):
    cin, k, f, groups = channels_of(config, shape), config["kernel_size"], config["filters"], config.get("groups", 1)
    n = conv_params(k, cin, f, use_bias=config["use_bias"], groups=groups)
    seen = f"({cin}/{groups})" if groups > 1 else f"{cin}"
    return n, f"{'*'.join(map(str, k))}*{seen}*{f}" + (f" + {f}" if config["use_bias"] else "")


def _depthwise(config, shape):
    cin, k, m = channels_of(config, shape), config["kernel_size"], config["depth_multiplier"]
    n = depthwise_conv_params(k, cin, depth_multiplier=m, use_bias=config["use_bias"])
    return n, f"{'*'.join(map(str, k))}*{cin}*{m}" + (f" + {cin * m}" if config["use_bias"] else "")


def _separable(config, shape):
    cin, k, m, f = channels_of(config, shape), config["kernel_size"], config["depth_multiplier"], config["filters"]
    n = separable_conv_params(k, cin, f, depth_multiplier=m, use_bias=config["use_bias"])
    return n, f"{'*'.join(map(str, k))}*{cin}*{m} + {cin * m}*{f}" + (f" + {f}" if config["use_bias"] else "")


def _normalised_size(config, shape):
    axes = config["axis"] if isinstance(config["axis"], (list, tuple)) else [config["axis"]]
    return math.prod(shape[a] for a in axes)


def _batch_norm(config, shape):
    c = _normalised_size(config, shape)
    return batch_norm_params(c, center=config["center"], scale=config["scale"]), f"{c}*{config['center'] + config['scale']} + 2*{c}"


def _layer_norm(config, shape):
    d = _normalised_size(config, shape)
    scale = config["scale"] or config.get("rms_scaling", False)
    center = config["center"] and not config.get("rms_scaling", False)
    return layer_norm_params(d, center=center, scale=scale), f"{d}*{center + scale}"


def _normalization(config, shape):
    axis = config["axis"]
    axes = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    kept = math.prod(shape[a] for a in axes)
    adapted = config.get("mean") is None
    n = normalization_params(kept, adapted=adapted)
    return n, f"2*{kept} + 1" if adapted else "mean and variance given: constants"


def _layer_scale(config, shape):
    # ConvNeXt's LayerScale: one learned scale per channel.
    d = config["projection_dim"]
    return positive_int("projection_dim", d), f"{d}"


def _embedding(config, shape):
    return embedding_params(config["input_dim"], config["output_dim"]), f"{config['input_dim']}*{config['output_dim']}"


def _rnn(name):
    def formula(config, shape):
        u, i = config["units"], shape[-1]
        n = rnn_params(name, i, u, use_bias=config["use_bias"], reset_after=config.get("reset_after", False))
        return n, f"{RNN_GATES[name]}*{u}*({i}+{u}) + biases"

    return formula


_FORMULAS = {
    keras.layers.Dense: _dense,
    **{kind: _conv for kind in CONVOLUTIONS},
    **{kind: _depthwise for kind in DEPTHWISE},
    **{kind: _separable for kind in SEPARABLE},
    keras.layers.BatchNormalization: _batch_norm,
    keras.layers.LayerNormalization: _layer_norm,
    keras.layers.Normalization: _normalization,
    keras.layers.Embedding: _embedding,
    **{getattr(keras.layers, name): _rnn(name) for name in RNN_GATES},
}


for _name, _kind in APPLICATION_LAYERS.items():
    _FORMULAS[_kind] = _layer_scale if _name == "LayerScale" else (lambda config, shape: (0, "no weights"))
