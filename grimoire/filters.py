"""Filters as separate tensors: their distances, how Keras initialises them, and why randomness matters.

A Conv2D kernel `(kh, kw, C, F)` holds `F` filters, filter `f` being `kernel[:, :, :, f]`, a
`kh x kw x C` tensor. Keras fills it from an initializer whose spread depends on the fans:

    fan_in  = kh * kw * C     # inputs feeding one output unit
    fan_out = kh * kw * F     # outputs one input unit feeds

Glorot ("Xavier") keeps the variance near `2 / (fan_in + fan_out)`, He near `2 / fan_in`.
"""

import math

import numpy as np

from . import _checks
from ._checks import guard

# Keras' variance-scaling initializers: name -> (scale, mode, distribution).
VARIANCE_SCALING = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
}

# A standard normal cut at +/-2 keeps the fraction erf(sqrt 2) of its mass and has variance
#   1 - 2 * 2 * phi(2) / erf(sqrt 2)  ~ 0.7737,  standard deviation ~ 0.87962566
# (phi the standard normal density). Keras divides its stddev by this number (hard-coded as
# 0.87962566103423978) so that the truncated samples have exactly the intended variance.
TRUNCATED_NORMAL_STD = math.sqrt(1 - 4 * math.exp(-2) / math.sqrt(2 * math.pi) / math.erf(math.sqrt(2)))


def _filter_kernel(kernel):
    """A kernel as a float64 array with a filter axis last, checked."""
    kernel = _checks.array("kernel", kernel)
    if kernel.ndim < 2:
        raise ValueError(
            "Argument `kernel` must have a filter axis last, e.g. (kh, kw, in_channels, filters). "
            f"Received: kernel with shape {kernel.shape}"
        )
    if kernel.shape[-1] < 1:
        raise ValueError(f"Argument `kernel` has no filters. Received: kernel with shape {kernel.shape}")
    return {"kernel": kernel}


@guard(_filter_kernel)
def pairwise_distances(kernel):
    """Euclidean distances between every pair of filters of a kernel.

    Formula:

        rows = kernel.reshape(-1, F).T               # filter f as a vector of kh*kw*C numbers
        D[f, g] = sqrt(sum((rows[f] - rows[g])**2))

    The differences are taken directly (not via |a|^2 + |b|^2 - 2ab) so equal filters are exactly 0.

    Args:
        kernel: array `(..., filters)`, e.g. a Conv2D kernel `(kh, kw, C, F)` or a Dense kernel.

    Returns:
        float64 array `(F, F)`, symmetric with a zero diagonal.

    Example:

    >>> k = np.zeros((3, 3, 1, 3)); k[..., 1] = 1.0; k[..., 2] = 1.0
    >>> pairwise_distances(k)
    array([[0., 3., 3.],
           [3., 0., 0.],
           [3., 0., 0.]])
    """
    rows = kernel.reshape(-1, kernel.shape[-1]).T  # one row per filter
    return np.stack([np.sqrt(np.sum((rows - row) ** 2, axis=1)) for row in rows])


def min_pairwise_distance(kernel):
    """The smallest distance between two different filters (`inf` for a single filter).

    Example:

    >>> min_pairwise_distance(np.eye(3).reshape(1, 1, 3, 3))
    1.4142135623730951
    """
    distances = pairwise_distances(kernel)
    if distances.shape[0] < 2:
        return math.inf
    return float(distances[~np.eye(distances.shape[0], dtype=bool)].min())


@guard(lambda shape: _weight_shape(shape))
def fans(shape):
    """`(fan_in, fan_out)` of a weight shape, the way Keras counts them.

    Formula (kernel `(k1, ..., kn, in, out)`):

        receptive = k1 * ... * kn
        fan_in = receptive * in;  fan_out = receptive * out

    Example:

    >>> fans((3, 3, 64, 128))
    (576, 1152)
    """
    receptive = math.prod(shape[:-2])
    return receptive * shape[-2], receptive * shape[-1]


def _weight_shape(shape):
    if not isinstance(shape, (tuple, list)) or len(shape) < 2:
        raise ValueError(
            "Argument `shape` must be a weight shape with at least 2 axes, (..., in, out). "
            f"Received: shape={shape!r}"
        )
    return {"shape": tuple(_checks.positive_int("shape", d) for d in shape)}


def scaling_of(initializer):
    """(scale, mode, distribution) of a variance-scaling initializer given by name or instance."""
    if isinstance(initializer, str):
        name = initializer.lower()
        if name not in VARIANCE_SCALING:
            raise ValueError(
                f"Argument `initializer` must be one of {sorted(VARIANCE_SCALING)} or a "
                f"keras.initializers.VarianceScaling instance. Received: initializer={initializer!r}"
            )
        return VARIANCE_SCALING[name]
    import keras

    if isinstance(initializer, keras.initializers.VarianceScaling):
        # GlorotUniform & co. subclass VarianceScaling; their get_config() hides scale/mode/distribution.
        # Keras 3.15 added input_axes/output_axes (fans over chosen axes); earlier releases lack them.
        if getattr(initializer, "input_axes", None) is not None or getattr(initializer, "output_axes", None) is not None:
            raise ValueError("Initializers with custom `input_axes`/`output_axes` are not supported.")
        return initializer.scale, initializer.mode, initializer.distribution
    raise TypeError(
        "Argument `initializer` must be a name such as 'glorot_uniform' or a keras.initializers.VarianceScaling "
        f"instance (GlorotUniform, HeNormal, ...). Received: initializer of type {type(initializer).__name__}"
    )


@guard(lambda initializer, shape: scaling_of(initializer) and _weight_shape(shape))
def expected_statistics(initializer, shape):
    """What a variance-scaling initializer promises for a weight `shape`: variance and hard bound.

    Formula:

        n = fan_in ("fan_in"), fan_out ("fan_out") or (fan_in + fan_out) / 2 ("fan_avg")
        variance = scale / n                          # glorot: 2/(fan_in+fan_out), he: 2/fan_in
        uniform:          values in [-b, b],  b = sqrt(3 * variance)
        truncated_normal: values in [-b, b],  b = 2 * sqrt(variance) / 0.87962566

    The truncated normal is drawn with stddev `sqrt(variance) / 0.87962566` and cut at two of those
    stddevs; the cut shrinks the variance by exactly `0.87962566**2`, so the samples still have
    variance `scale / n` (`TRUNCATED_NORMAL_STD` derives the constant). An untruncated normal has no bound
    (`inf`).

    Args:
        initializer: a name (`"glorot_uniform"`, `"glorot_normal"`, `"he_uniform"`, `"he_normal"`,
            `"lecun_uniform"`, `"lecun_normal"`) or a `keras.initializers.VarianceScaling` instance.
        shape: the weight shape, e.g. `(3, 3, in_channels, filters)`.

    Returns:
        dict with `fan_in`, `fan_out`, `distribution`, `variance` and `bound`.

    Example:

    >>> e = expected_statistics("glorot_uniform", (3, 3, 1, 32))
    >>> e["fan_in"], e["fan_out"], round(e["variance"], 6), round(e["bound"], 6)
    (9, 288, 0.006734, 0.142134)
    """
    scale, mode, distribution = scaling_of(initializer)
    fan_in, fan_out = fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    variance = scale / max(1.0, n)  # Keras guards tiny fans the same way
    if distribution == "uniform":
        bound = math.sqrt(3 * variance)  # Var(U(-b, b)) = b^2 / 3
    elif distribution == "truncated_normal":
        bound = 2 * math.sqrt(variance) / TRUNCATED_NORMAL_STD
    else:
        bound = math.inf
    return {"fan_in": fan_in, "fan_out": fan_out, "distribution": distribution, "variance": variance, "bound": bound}


def init_statistics(initializer, shape, *, seed=None):
    """Draws one weight tensor from `initializer` and summarises it, next to what is expected.

    Args:
        initializer: a Keras initializer instance, or a name that `keras.initializers.get` knows.
        shape: the weight shape to draw, e.g. `(3, 3, 64, 128)`.
        seed: optional int; with a name, builds the initializer with this seed (same seed, same draw).

    Returns:
        dict with the sample's `size`, `mean`, `variance`, `min`, `max`, `max_abs`. `variance` is the
        second moment about zero, `mean(w**2)`: the unbiased variance estimate for these zero-mean
        initializers (it needs no sample mean); for a non-zero-mean one it is the mean square. Plus
        the `expected_statistics` entries (`fan_in`, `fan_out`, `distribution`, `expected_variance`,
        `bound`) when the initializer is a variance-scaling one.

    Example:

    >>> s = init_statistics("he_normal", (3, 3, 16, 32), seed=0)
    >>> s["size"], s["max_abs"] <= s["bound"]
    (4608, True)
    """
    import keras

    if not isinstance(shape, (tuple, list)) or not shape:
        raise ValueError(f"Argument `shape` must be a non-empty tuple of positive ints. Received: shape={shape!r}")
    shape = tuple(_checks.positive_int("shape", d) for d in shape)
    if seed is not None:
        seed = _checks.positive_int("seed", seed, allow_zero=True)
    if isinstance(initializer, str):
        # Only random initializers take a seed (Zeros() refuses one).
        config = {} if seed is None else {"seed": seed}
        try:
            initializer = keras.initializers.get({"class_name": initializer, "config": config})
        except (ValueError, TypeError):
            raise ValueError(
                "Argument `initializer` is not a Keras initializer name (or names one that takes no `seed`). "
                f"Received: initializer={initializer!r}, seed={seed!r}. "
                "Use e.g. 'glorot_uniform', 'he_normal' or an instance such as keras.initializers.HeNormal(seed=0)."
            ) from None
    elif not callable(initializer):
        raise TypeError(
            "Argument `initializer` must be a Keras initializer or its name. "
            f"Received: initializer of type {type(initializer).__name__}"
        )
    values = np.asarray(keras.ops.convert_to_numpy(initializer(shape)), dtype=np.float64)
    stats = {
        "size": values.size,
        "mean": float(values.mean()),
        "variance": float(np.mean(values**2)),  # the initializers are zero-mean by construction
        "min": float(values.min()),
        "max": float(values.max()),
        "max_abs": float(np.abs(values).max()),
    }
    if isinstance(initializer, keras.initializers.VarianceScaling) and len(shape) >= 2:
        expected = expected_statistics(initializer, shape)
        stats["expected_variance"] = expected.pop("variance")
        stats.update(expected)
    return stats


# --- symmetry breaking ------------------------------------------------------------------------


def _symmetry_model(filters, kernel_size):
    import keras

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(filters, kernel_size, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs)


VARIANTS = ("random", "equal", "equal_filters_random_head")


def symmetry_experiment(
    *, seed=0, filters=8, kernel_size=3, samples=512, epochs=4, batch_size=64, learning_rate=1e-2, equal="copy"
):
    """Trains one small convnet from three initialisations and reports its filter distances.

    The net is `Conv2D(filters, k, relu) -> GlobalAveragePooling2D -> Dense(10, softmax)` on the
    digits (`digits.load`). The variants differ only in the initial weights:

    - `"random"`: Keras' default (Glorot uniform filters, Glorot uniform head).
    - `"equal"`: every filter equal (one random filter copied, or all ones with `equal="constant"`),
      and every filter's outgoing head weights equal too. Then the filters are interchangeable:
      each feature map is the same, each receives the same gradient, and they stay equal for ever.
    - `"equal_filters_random_head"`: equal filters but Keras' random head. The head treats the equal
      maps differently, so their gradients differ and the filters split up: the symmetry that blocks
      learning is of the whole layer, not of the filters alone.

    Every variant starts from the same seed and trains on the same batches (same order).

    Args:
        seed: seeds the initialisation and the batch order.
        filters: filters of the conv layer.
        kernel_size: their square size.
        samples: how many of the 1,347 training digits to train on (the first ones of the split).
        epochs, batch_size, learning_rate: Adam training.
        equal: `"copy"` (one random filter copied) or `"constant"` (every weight 1/sqrt(fan_in)).

    Returns:
        dict variant -> {"before": (F, F) distances, "after": (F, F) distances,
        "kernel_before": kernel, "kernel_after": kernel, "accuracy": training-set accuracy}.

    Example:

    >>> result = symmetry_experiment(epochs=1)
    >>> bool(result["equal"]["after"].max() < 1e-6 < result["random"]["after"][0, 1])
    True
    """
    import keras

    seed = _checks.positive_int("seed", seed, allow_zero=True)
    filters = _checks.positive_int("filters", filters)
    if filters < 2:
        raise ValueError(f"Argument `filters` must be at least 2 to compare filters. Received: filters={filters}")
    kernel_size = _checks.positive_int("kernel_size", kernel_size)
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    samples = _checks.positive_int("samples", samples)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"Argument `learning_rate` must be a positive number. Received: learning_rate={learning_rate!r}")
    equal = _checks.one_of("equal", equal, ("copy", "constant"))
    from .digits import load

    x_train, y_train, _, _ = load(seed=seed)
    x_train, y_train = x_train[:samples], y_train[:samples]
    results = {}
    for variant in VARIANTS:
        keras.utils.set_random_seed(seed)  # same random init and same batch order in every variant
        model = _symmetry_model(filters, kernel_size)
        conv, head = model.get_layer("conv"), model.get_layer("head")
        if variant != "random":
            kernel = conv.kernel.numpy().copy()
            if equal == "copy":
                kernel[...] = kernel[..., :1]
            else:
                kernel[...] = 1 / math.sqrt(kernel_size * kernel_size)
            conv.kernel.assign(kernel)
        if variant == "equal":
            head_kernel = head.kernel.numpy().copy()
            head_kernel[...] = head_kernel[:1, :]  # filter f feeds the classes with the same weights
            head.kernel.assign(head_kernel)
        before = conv.kernel.numpy().copy()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
        after = conv.kernel.numpy().copy()
        results[variant] = {
            "before": pairwise_distances(before),
            "after": pairwise_distances(after),
            "kernel_before": before,
            "kernel_after": after,
            "accuracy": float(history.history["accuracy"][-1]),
        }
    return results
