"""Putting a heatmap on its image: upsampling, colouring, blending, saving."""

import numbers
from pathlib import Path

import numpy as np
from keras import ops

from .. import _checks


def upsample(heatmaps, size):
    """Bilinear upsampling of heatmaps to an image size, staying in [0, 1].

    A bilinear sample is a convex combination of its four neighbours, so values in [0, 1] stay
    there; the result is clipped only against float rounding.

    Args:
        heatmaps: `(h, w)` or `(batch, h, w)` with values in [0, 1].
        size: int or `(height, width)`, the target size.

    Returns:
        numpy float32 array `(height, width)` or `(batch, height, width)`.

    Example:

    >>> upsample(np.eye(2), (4, 4)).shape
    (4, 4)
    """
    size = _checks.int_tuple("size", size, 2)
    array = np.asarray(heatmaps, dtype=np.float32)
    if array.ndim not in (2, 3):
        raise ValueError(
            "Argument `heatmaps` must have shape (h, w) or (batch, h, w). "
            f"Received: heatmaps with shape {array.shape}"
        )
    batch = array if array.ndim == 3 else array[None]
    resized = ops.convert_to_numpy(ops.image.resize(batch[..., None], size, interpolation="bilinear"))[..., 0]
    resized = np.clip(resized, 0.0, 1.0)
    return resized if array.ndim == 3 else resized[0]


def _as_rgb_uint8(image):
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(
            "Argument `image` must have shape (height, width), (height, width, 1) or (height, width, 3). "
            f"Received: image with shape {np.asarray(image).shape}"
        )
    if array.dtype == np.uint8:
        return array
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError("Argument `image` must be finite. Received: an image with NaN or inf values")
    # Floats are read as [0, 1] when they fit there, else as [0, 255].
    scale = 255.0 if array.max(initial=0.0) <= 1.0 else 1.0
    return np.clip(np.rint(array * scale), 0, 255).astype(np.uint8)


def overlay(image, heatmap, *, alpha=0.4, colormap="jet"):
    """Blends a colour-mapped heatmap onto an image.

        result = (1 - alpha) * image + alpha * colormap(heatmap upsampled to the image)

    Args:
        image: `(H, W)`, `(H, W, 1)` or `(H, W, 3)`; uint8, or float in [0, 1] (or [0, 255] if its
            maximum exceeds 1).
        heatmap: `(h, w)` in [0, 1], at any resolution (bilinearly resized to `(H, W)`).
        alpha: float in [0, 1], the heatmap's opacity.
        colormap: a matplotlib colormap name.

    Returns:
        uint8 RGB array `(H, W, 3)`.

    Example:

    >>> overlay(np.zeros((4, 4)), np.ones((2, 2)), alpha=1.0)[0, 0].tolist()  # jet at 1.0 is dark red
    [128, 0, 0]
    """
    import matplotlib

    rgb = _as_rgb_uint8(image)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"Argument `alpha` must be a number in [0, 1]. Received: alpha={alpha!r}")
    if not isinstance(colormap, str) or colormap not in matplotlib.colormaps:
        raise ValueError(
            f"Argument `colormap` must be a matplotlib colormap name such as 'jet' or 'viridis'. "
            f"Received: colormap={colormap!r}"
        )
    heat = np.asarray(heatmap, dtype=np.float32)
    if heat.ndim != 2:
        raise ValueError(f"Argument `heatmap` must have shape (h, w). Received: heatmap with shape {heat.shape}")
    if not np.all(np.isfinite(heat)):
        raise ValueError("Argument `heatmap` must be finite. Received: a heatmap with NaN or inf values")
    heat = upsample(np.clip(heat, 0.0, 1.0), rgb.shape[:2])
    colored = matplotlib.colormaps[colormap](heat)[..., :3] * 255.0
    blended = (1.0 - alpha) * rgb.astype(np.float64) + alpha * colored
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def save_overlay(path, image, heatmap, *, alpha=0.4, colormap="jet", box=None, scale=1):
    """Writes `overlay(image, heatmap)` as a PNG, optionally outlining a box; returns the path.

    Args:
        path: file path (str or Path); parent folders are created.
        image, heatmap, alpha, colormap: as in `overlay`.
        box: None or `(top, left, bottom, right)` pixel bounds (bottom/right exclusive), e.g. a
            true object box from `grimoire.synthetic.make_shapes`, drawn as a white outline.
        scale: int >= 1, nearest-neighbour enlargement (small images are hard to see).

    Returns:
        The `Path` written.
    """
    from PIL import Image

    if not isinstance(path, (str, Path)):
        raise TypeError(f"Argument `path` must be a str or Path. Received: path of type {type(path).__name__}")
    scale = _checks.positive_int("scale", scale)
    picture = overlay(image, heatmap, alpha=alpha, colormap=colormap)
    if box is not None:
        top, left, bottom, right = _checks.int_tuple("box", tuple(int(v) for v in box), 4, allow_zero=True)
        height, width = picture.shape[:2]
        if not (top < bottom <= height and left < right <= width):
            raise ValueError(
                f"Argument `box` must be (top, left, bottom, right) inside the {height}x{width} image with "
                f"top < bottom and left < right. Received: box={box!r}"
            )
        picture = picture.copy()
        picture[top, left:right] = picture[bottom - 1, left:right] = 255
        picture[top:bottom, left] = picture[top:bottom, right - 1] = 255
    picture = np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture, mode="RGB").save(path, format="PNG")
    return path
