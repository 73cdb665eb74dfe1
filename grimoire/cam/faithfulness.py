"""Deletion and insertion (Petsiuk et al. 2018): does removing what a map points at change the decision?

A map is faithful to the model if the pixels it ranks first are the ones the model's score rests on.
Upsample the map to the image, order the pixels from the highest value down, and in `steps` equal
steps

    deletion:   replace the first n pixels by a baseline (default: zeros, a black image)
                -> the class score should fall fast: a LOW area under the curve is good
    insertion:  start from a baseline (default: the image blurred) and put the first n pixels back
                -> the class score should rise fast: a HIGH area under the curve is good

    n_t      = round(t * H*W / steps),  t = 0 .. steps;  fraction_t = n_t / (H*W)
    score_t  = model(perturbed image)[class]     (a probability when the model ends in a softmax)
    AUC      = trapezoid rule of score_t over fraction_t in [0, 1], one number per image

All channels of a pixel go together. Pixels with equal map values are taken in a random order
drawn from `seed`, so a constant map gives the curve of a random order, not of a raster sweep.
Every step of every image goes through one compiled model call per chunk of `batch_size` inputs.

Two maps that know nothing about the model set the bar a method must clear: `random_map` (a
seeded uniform map) and `centre_map` (a Gaussian bump in the middle, for objects that tend to be
centred). Compare maps at the same resolution: all of them are upsampled the same way.
"""

import collections
import weakref

import numpy as np
from keras import ops

from .. import _checks
from . import gradients
from .steps import class_score
from .base import _check_output, check_class_index, check_images
from .target import _check_model

BASELINES = ("zeros", "mean", "blur")

Curves = collections.namedtuple("Curves", ["fractions", "scores", "auc", "class_index"])
Curves.__doc__ = """A deletion or insertion experiment, numpy arrays.

Fields:
    fractions: (steps + 1,) share of pixels removed (deletion) or revealed (insertion), 0 to 1.
    scores: (batch, steps + 1) the class score at each step.
    auc: (batch,) area under each image's curve (trapezoid rule over `fractions`).
    class_index: (batch,) int, the class scored for each image.
"""


def deletion(model, images, maps, *, class_index=None, steps=16, baseline="zeros", seed=0, batch_size=512):
    """Deletes pixels in the order `maps` ranks them and records the class score; lower AUC is better.

    Args:
        model: a built `keras.Model` with output `(batch, classes)`.
        images: (batch, height, width, channels) matching the model's input.
        maps: (batch, h, w) finite, one map per image at any resolution (bilinearly upsampled to
            (height, width) to rank the pixels; higher means more important).
        class_index: None (each image's top class on the intact image), an int, or one int per image.
        steps: int in [1, height * width], the number of deletion steps (`steps + 1` points per curve).
        baseline: what a deleted pixel becomes: "zeros" (default), "mean" (the image's per-channel
            mean), "blur" (the image blurred, see `blurred`), or an array of the images' shape.
        seed: int, the order of pixels with equal map values.
        batch_size: int, model inputs per compiled call.

    Returns:
        `Curves(fractions, scores, auc, class_index)`.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> curves = deletion(model, np.ones((2, 8, 8, 1)), random_map((2, 4, 4)), steps=4)
    >>> curves.fractions.tolist(), curves.scores.shape, curves.auc.shape
    ([0.0, 0.25, 0.5, 0.75, 1.0], (2, 5), (2,))
    """
    return _curves(model, images, maps, class_index, steps, baseline, seed, batch_size, insert=False)


def insertion(model, images, maps, *, class_index=None, steps=16, baseline="blur", seed=0, batch_size=512):
    """Reveals pixels in the order `maps` ranks them, from a baseline; higher AUC is better.

    Arguments as in `deletion`; `baseline` is the starting image (default "blur", as in the paper:
    a blurred image keeps the colours but not the shapes).

    Returns:
        `Curves(fractions, scores, auc, class_index)`: at fraction 0 the baseline, at 1 the image.
    """
    return _curves(model, images, maps, class_index, steps, baseline, seed, batch_size, insert=True)


def deletion_auc(model, images, maps, *, class_index=None, steps=16, baseline="zeros", seed=0, batch_size=512):
    """The deletion AUC of each image, `(batch,)` (lower is better); arguments as in `deletion`."""
    return deletion(
        model, images, maps, class_index=class_index, steps=steps, baseline=baseline, seed=seed, batch_size=batch_size
    ).auc


def insertion_auc(model, images, maps, *, class_index=None, steps=16, baseline="blur", seed=0, batch_size=512):
    """The insertion AUC of each image, `(batch,)` (higher is better); arguments as in `insertion`."""
    return insertion(
        model, images, maps, class_index=class_index, steps=steps, baseline=baseline, seed=seed, batch_size=batch_size
    ).auc


def random_map(shape, seed=0):
    """A uniform random map in [0, 1), the baseline that ranks pixels by chance.

    Args:
        shape: `(h, w)` or `(batch, h, w)`, positive ints.
        seed: int, the numpy seed.

    Returns:
        numpy float32 array of that shape.

    Example:

    >>> random_map((2, 3, 3), seed=1).shape
    (2, 3, 3)
    """
    shape = _check_shape(shape)
    seed = _checks.positive_int("seed", seed, allow_zero=True)
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def centre_map(shape):
    """A Gaussian bump centred in the map (sd a quarter of each side): the 'objects are central' baseline.

        map[i, j] = exp(-((i - ci)^2 / (2 sh^2) + (j - cj)^2 / (2 sw^2))),  ci = (h - 1) / 2, sh = h / 4

    Only its order matters to deletion and insertion: nearest the centre first.

    Args:
        shape: `(h, w)` or `(batch, h, w)`, positive ints (every image gets the same map).

    Returns:
        numpy float32 array of that shape, 1 at the centre (for odd sides).

    Example:

    >>> float(centre_map((3, 3))[1, 1]), bool(centre_map((3, 3))[0, 0] < 1)
    (1.0, True)
    """
    shape = _check_shape(shape)
    h, w = shape[-2:]
    rows = (np.arange(h) - (h - 1) / 2.0) / (h / 4.0)
    cols = (np.arange(w) - (w - 1) / 2.0) / (w / 4.0)
    bump = np.exp(-0.5 * (rows[:, None] ** 2 + cols[None, :] ** 2))
    return np.broadcast_to(bump, shape).astype(np.float32)


def blurred(images, sigma=None):
    """A Gaussian blur of each image and channel, edges reflected: the insertion baseline "blur".

    Args:
        images: (batch, height, width, channels).
        sigma: float > 0 in pixels, or None for min(height, width) / 16 (2 pixels on 32x32 images).

    Returns:
        numpy float32 array of the images' shape.
    """
    images = _checks.array("images", images, ndim=4, dtype=np.float32)
    height, width, channels = images.shape[1:]
    if sigma is None:
        sigma = min(height, width) / 16.0
    elif isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.number)) or not sigma > 0:
        raise ValueError(f"Argument `sigma` must be a positive number of pixels. Received: sigma={sigma!r}")
    radius = int(min(np.ceil(3 * sigma), height - 1, width - 1))  # reflect padding needs radius < side
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    padded = ops.pad(ops.convert_to_tensor(images), [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="reflect")
    # Separable: one pass down the rows, one along the columns, each channel on its own.
    rows = np.tile(taps.reshape(-1, 1, 1, 1), (1, 1, channels, 1))
    cols = np.tile(taps.reshape(1, -1, 1, 1), (1, 1, channels, 1))
    out = ops.depthwise_conv(padded, rows, strides=1, padding="valid")
    out = ops.depthwise_conv(out, cols, strides=1, padding="valid")
    return ops.convert_to_numpy(out)


def pixel_ranks(maps, size, seed=0):
    """Each pixel's place in the order `maps` ranks them (0 = highest), after bilinear upsampling.

    Args:
        maps: (batch, h, w) finite.
        size: `(height, width)` of the images.
        seed: int, the order among equal values.

    Returns:
        int32 array `(batch, height, width)`, a permutation of 0 .. height*width - 1 per image.
    """
    maps = np.asarray(maps, dtype=np.float32)
    upsampled = ops.convert_to_numpy(ops.image.resize(maps[..., None], size, interpolation="bilinear"))[..., 0]
    flat = upsampled.reshape(len(maps), -1)
    tiebreak = np.random.default_rng(seed).random(flat.shape)
    order = np.lexsort((tiebreak, -flat), axis=-1)  # highest first; the last key sorts first
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None, :], axis=-1)
    return ranks.reshape(len(maps), *size).astype(np.int32)


def area_under_curve(fractions, scores):
    """Trapezoid rule along the last axis, float64: sum of (f[t+1] - f[t]) * (s[t] + s[t+1]) / 2."""
    fractions = np.asarray(fractions, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    return np.sum(np.diff(fractions) * (scores[..., 1:] + scores[..., :-1]) / 2.0, axis=-1)


def _curves(model, images, maps, class_index, steps, baseline, seed, batch_size, *, insert):
    _check_model(model)
    num_classes = _check_output(model)
    images = check_images(model, images)
    if not np.all(np.isfinite(images)):
        raise ValueError("Argument `images` must be finite. Received: images with NaN or inf values")
    batch, height, width = images.shape[:3]
    maps = _check_maps(maps, batch)
    steps = _checks.positive_int("steps", steps)
    if steps > height * width:
        raise ValueError(
            f"Argument `steps` must be at most the number of pixels ({height * width}): each step moves at "
            f"least one pixel. Received: steps={steps}"
        )
    seed = _checks.positive_int("seed", seed, allow_zero=True)
    batch_size = _checks.positive_int("batch_size", batch_size)
    classes = check_class_index(class_index, batch, num_classes)
    background = _baseline(baseline, images)

    counts = np.rint(np.arange(steps + 1) * (height * width) / steps).astype(np.int32)
    ranks = pixel_ranks(maps, (height, width), seed)
    run = _scorer(model)
    per_call = max(1, batch_size // (steps + 1))  # images per call: all their steps in one batch
    scores, chosen = [], []
    for start in range(0, batch, per_call):
        part = slice(start, start + per_call)
        s, k = run(images[part], background[part], ranks[part], counts, classes[part], np.array(insert))
        scores.append(ops.convert_to_numpy(s))
        chosen.append(ops.convert_to_numpy(k))
    fractions = counts / float(height * width)
    scores = np.concatenate(scores)
    return Curves(fractions, scores, area_under_curve(fractions, scores), np.concatenate(chosen))


# One compiled scorer per model, dropped with the model.
_SCORERS = weakref.WeakKeyDictionary()


def _scorer(model):
    """The compiled `(images, baseline, ranks, counts, class_index, insert) -> (scores, class_index)`."""
    if model in _SCORERS:
        return _SCORERS[model]
    shape = tuple(model.inputs[0].shape[1:])

    def run(images, background, ranks, counts, class_index, insert):
        # removed[b, t, i, j]: pixel (i, j) is among the first counts[t] of image b's order.
        removed = ranks[:, None, :, :] < counts[None, :, None, None]
        # Deletion swaps the first pixels for the baseline; insertion keeps only them.
        taken = ops.not_equal(removed, insert)[..., None]  # xor
        steps = ops.shape(counts)[0]
        perturbed = ops.where(taken, background[:, None], images[:, None])
        flat = ops.reshape(perturbed, (-1, *shape))
        outputs = ops.convert_to_tensor(model(flat, training=False))
        outputs = ops.reshape(outputs, (-1, steps, outputs.shape[-1]))
        intact = ops.where(insert, outputs[:, -1], outputs[:, 0])  # the unperturbed image
        # A one-hot product, not a gather by tensor: the same trace serves every class.
        chosen, _ = class_score(intact, class_index)
        scores = ops.sum(outputs * ops.one_hot(chosen, outputs.shape[-1], dtype=outputs.dtype)[:, None], -1)
        return scores, chosen

    signature = [
        ((None, *shape), "float32", "images"),
        ((None, *shape), "float32", "baseline"),
        ((None, *shape[:2]), "int32", "ranks"),
        ((None,), "int32", "counts"),
        ((None,), "int32", "class_index"),
        ((), "bool", "insert"),
    ]
    _SCORERS[model] = gradients.compile_step(run, model, signature)
    return _SCORERS[model]


def _check_shape(shape):
    if not isinstance(shape, (tuple, list)) or len(shape) not in (2, 3):
        raise ValueError(f"Argument `shape` must be (h, w) or (batch, h, w). Received: shape={shape!r}")
    return tuple(_checks.positive_int("shape", v) for v in shape)


def _check_maps(maps, batch):
    array = _checks.array("maps", maps, dtype=np.float32)
    if array.ndim != 3 or array.shape[0] != batch or 0 in array.shape:
        raise ValueError(
            f"Argument `maps` must have shape (batch, h, w) with one map per image ({batch}). "
            f"Received: maps with shape {array.shape}. Pass heatmaps such as grad_cam(model, images)."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("Argument `maps` must be finite: a NaN has no rank. Received: maps with NaN or inf values")
    return array


def _baseline(baseline, images):
    """The images' baseline as a float32 array of their shape."""
    if isinstance(baseline, str):
        name = _checks.one_of("baseline", baseline, BASELINES)
        if name == "zeros":
            return np.zeros_like(images)
        if name == "mean":
            return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape).astype(np.float32)
        return blurred(images)
    array = _checks.array("baseline", baseline, dtype=np.float32)
    if array.shape != images.shape:
        raise ValueError(
            f"Argument `baseline` must be one of {list(BASELINES)} or an array of the images' shape {images.shape}. "
            f"Received: baseline with shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("Argument `baseline` must be finite. Received: a baseline with NaN or inf values")
    return array
