"""Independent oracles for section F: float64 numpy, written from the papers' formulas."""

import numpy as np
from scipy.stats import spearmanr


def bilinear(maps, size):
    """Half-pixel-centred bilinear resize of (batch, h, w) maps, float64 (TensorFlow's convention).

    Output pixel i samples source coordinate (i + 0.5) * h / H - 0.5, clamped to the edges.
    """
    maps = np.asarray(maps, dtype=np.float64)
    height, width = size

    def axis(n_in, n_out):
        source = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, source - low

    r0, r1, fr = axis(maps.shape[1], height)
    c0, c1, fc = axis(maps.shape[2], width)
    rows = maps[:, r0, :] * (1 - fr)[None, :, None] + maps[:, r1, :] * fr[None, :, None]
    return rows[:, :, c0] * (1 - fc)[None, None, :] + rows[:, :, c1] * fc[None, None, :]


def peak_in_box(heatmaps, boxes, image_size):
    """Pointing game: does each map's maximum, upsampled to the image, fall inside its box?

    Args:
        heatmaps: (batch, h, w).
        boxes: (batch, 4) as (top, left, bottom, right), bottom/right exclusive.
        image_size: (height, width).

    Returns:
        bool array (batch,).
    """
    upsampled = bilinear(heatmaps, image_size)
    flat = upsampled.reshape(len(upsampled), -1).argmax(axis=1)
    rows, cols = np.unravel_index(flat, image_size)
    boxes = np.asarray(boxes)
    return (rows >= boxes[:, 0]) & (rows < boxes[:, 2]) & (cols >= boxes[:, 1]) & (cols < boxes[:, 3])


def gap_dense_cam(features, kernel, classes):
    """Classic CAM (Zhou et al. 2016): CAM_k[i, j] = sum_c W[c, k] * A[i, j, c], float64."""
    features = np.asarray(features, dtype=np.float64)
    weights = np.asarray(kernel, dtype=np.float64)[:, np.asarray(classes)].T  # (batch, channels)
    return np.einsum("bijc,bc->bij", features, weights)


def gap_dense_logits(features, kernel, bias):
    """logit = mean over positions of A, times W, plus b, float64."""
    pooled = np.asarray(features, dtype=np.float64).mean(axis=(1, 2))
    return pooled @ np.asarray(kernel, dtype=np.float64) + np.asarray(bias, dtype=np.float64)


def normalized(maps):
    """relu(map) / max, 0 where the max is 0, float64."""
    positive = np.maximum(np.asarray(maps, dtype=np.float64), 0.0)
    peak = positive.max(axis=(1, 2), keepdims=True)
    return np.divide(positive, peak, out=np.zeros_like(positive), where=peak > 0)


def rank_correlations(first, second):
    """Spearman's rho between paired maps, one per image; 0 when either map is constant (no ranking)."""
    out = []
    for a, b in zip(first, second):
        a, b = np.ravel(a), np.ravel(b)
        out.append(0.0 if a.std() == 0 or b.std() == 0 else spearmanr(a, b).statistic)
    return np.array(out)


def top_class(logits, chosen, atol):
    """The classes an implementation chose as top, checked against float64 `logits` where that is decidable.

    A float32 and a float64 argmax may differ when the two largest logits are within rounding of
    each other; there either class is a correct top class. Elsewhere the choice must be the argmax.

    Returns:
        `chosen` as an int array, for the oracle to use.
    """
    logits = np.asarray(logits, dtype=np.float64)
    chosen = np.asarray(chosen, dtype=int)
    ordered = np.sort(logits, axis=1)
    decidable = ordered[:, -1] - ordered[:, -2] > 2 * atol
    assert np.array_equal(chosen[decidable], logits.argmax(axis=1)[decidable]), (chosen, logits.argmax(axis=1))
    assert np.all(logits[np.arange(len(chosen)), chosen] >= ordered[:, -1] - 2 * atol)
    return chosen
