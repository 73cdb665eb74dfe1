"""The textbook steps every gradient-based CAM shares: which layer, which score, which heatmap.

    target layer:  the last layer whose output is still a spatial map (batch, h, w, channels)
    class score:   score_k = the chosen class's score, per image (the top class unless told)
    heatmap:       relu(map) / max(relu(map)), per image; 0 everywhere where that max is 0

With a method's `combine` (Grad-CAM's is in `gradcam.py`) these are the whole of Grad-CAM. The
pipeline around them (`base.py`: watching any model's forward pass, the gradient on each Keras
backend, the compiled step, checking the images) is support: it calls these functions, so they are
always the ones tested.
"""

from keras import ops


def last_spatial_layer(layers):
    """The name of the last layer whose output is 4-D `(batch, height, width, channels)`.

    Everything after it (global pooling, flattening, Dense) has lost the spatial layout, so that is
    the last place where "where" is still encoded: the CAM target.

    Args:
        layers: `(name, output shape)` pairs in the order the forward pass calls the layers; only
            layers whose maps line up with the image are listed (see `target.find_target_layer`).

    Returns:
        The name (a str), or None if no layer has a 4-D output.

    Example:

    >>> last_spatial_layer([("conv", (None, 6, 6, 2)), ("pool", (None, 2)), ("dense", (None, 3))])
    'conv'
    """
    for name, shape in reversed(layers):
        if len(shape) == 4:
            return name
    return None


def class_score(scores, class_index):
    """Each image's chosen class and its score: the number whose gradient a CAM follows.

    A `class_index` below 0 means the top class (the arg-max of that image's scores). The score is
    picked with a one-hot product rather than `scores[:, k]`: under XLA an index must be a constant,
    so slicing would compile the step again for every class.

    Args:
        scores: `(batch, classes)` class scores (the logits, before any softmax).
        class_index: int32 `(batch,)`, the class to explain per image, or -1 for the top class.

    Returns:
        `(chosen, score)`: int32 `(batch,)` classes and `(batch,)` scores.

    Example:

    >>> chosen, score = class_score(ops.convert_to_tensor([[1.0, 3.0], [5.0, 2.0]]), ops.convert_to_tensor([-1, 1]))
    >>> ops.convert_to_numpy(chosen).tolist(), ops.convert_to_numpy(score).tolist()
    ([1, 1], [3.0, 2.0])
    """
    chosen = ops.where(class_index < 0, ops.cast(ops.argmax(scores, axis=-1), "int32"), class_index)
    one_hot = ops.one_hot(chosen, scores.shape[-1], dtype=scores.dtype)
    return chosen, ops.sum(scores * one_hot, axis=-1)


def normalize(maps):
    """Heatmaps in [0, 1]: the positive part of each raw map divided by its maximum.

    An image whose map has no positive value gets an all-zero heatmap, never 0 / 0 = NaN.

    Args:
        maps: `(batch, h, w)` raw maps.

    Returns:
        `(batch, h, w)` heatmaps.

    Example:

    >>> ops.convert_to_numpy(normalize(ops.convert_to_tensor([[[-1.0, 2.0]], [[-3.0, 0.0]]]))).tolist()
    [[[0.0, 1.0]], [[0.0, 0.0]]]
    """
    positive = ops.relu(maps)
    peak = ops.max(positive, axis=(1, 2), keepdims=True)
    return ops.divide_no_nan(positive, peak)
