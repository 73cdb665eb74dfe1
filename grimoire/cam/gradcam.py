"""Grad-CAM (Selvaraju et al. 2017): channel weights are the spatially averaged gradients.

    dA[b, i, j, c] = d score[b, k_b] / d A[b, i, j, c]
    weights[b, c]  = mean over (i, j) of dA[b, i, j, c]        (per image: never over the batch)
    map[b, i, j]   = sum over c of weights[b, c] * A[b, i, j, c]
    heatmap        = relu(map) / max(relu(map))                (0 everywhere if that max is 0)
"""

from keras import ops

from .base import GradientCAM, details


class GradCAM(GradientCAM):
    """Grad-CAM, built once for a model and called on many batches.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> step = GradCAM(model)
    >>> step(np.ones((4, 8, 8, 1))).shape
    (4, 6, 6)
    >>> step(np.zeros((4, 8, 8, 1))).shape
    (4, 6, 6)
    >>> step.trace_count == (2 if keras.config.backend() == "torch" else 1)  # compiled: same size, no new trace
    True
    """

    method = "grad-cam"

    def combine(self, features, gradients):
        """Grad-CAM's step: channel weights from the gradients, then the weighted sum of the feature maps.

        Formula:
            weights[b, c] = mean over (i, j) of gradients[b, i, j, c]
            maps[b, i, j] = sum over c of weights[b, c] * features[b, i, j, c]

        Args:
            features: `(batch, h, w, channels)`, the target layer's activations A.
            gradients: `(batch, h, w, channels)`, d score / d A for each image's own class score.

        Returns:
            `(maps, weights)`: the raw maps `(batch, h, w)`, before ReLU and normalisation, and the
            channel weights `(batch, channels)`.

        Example:

        >>> ones = ops.ones((1, 2, 2, 3))
        >>> maps, weights = GradCAM.combine(None, ones, 2.0 * ones)
        >>> ops.convert_to_numpy(maps).tolist(), ops.convert_to_numpy(weights).tolist()
        ([[[6.0, 6.0], [6.0, 6.0]]], [[2.0, 2.0, 2.0]])
        """
        weights = ops.mean(gradients, axis=(1, 2))
        maps = ops.einsum("bijc,bc->bij", features, weights)
        return maps, weights


def grad_cam(model, images, *, layer_name=None, class_index=None, output=None, score="logits", jit_compile=False):
    """Grad-CAM heatmaps of `images` for `model`, in [0, 1] at the feature-map resolution.

    The compiled step is built once per (model, layer, score) and reused by later calls.

    Args:
        model: a built `keras.Model`: Sequential, Functional, nested or a subclass with its own `call()`.
        images: (batch, height, width, channels) matching the model's input; finite numbers. Integer
            images are given to the model as float32 with the same values (as `model.predict` does),
            never rescaled.
        layer_name: str or None, the target layer, at any depth (None: `find_target_layer(model)`).
        class_index: None (top class of each image), an int (every image) or one int per image,
            within the chosen output.
        output: None when the model returns one tensor; else the name (dict key or output name)
            or index of the output to explain, of shape `(batch, classes)`.
        score: "logits" (default: the score before the last softmax/sigmoid layer) or "probability".
        jit_compile: bool, run the step under XLA.

    Returns:
        numpy float32 array `(batch, h, w)`; `upsample` it to the image size.
    """
    return grad_cam_details(
        model, images, layer_name=layer_name, class_index=class_index, output=output, score=score,
        jit_compile=jit_compile,
    ).heatmaps


def grad_cam_details(model, images, *, layer_name=None, class_index=None, output=None, score="logits", jit_compile=False):
    """Like `grad_cam`, returning the whole `CamResult`: raw maps, channel weights, features, gradients.

    Returns:
        `CamResult(heatmaps, maps, weights, features, gradients, scores, class_index)`, numpy arrays.
    """
    return details(
        GradCAM, model, images, layer_name=layer_name, class_index=class_index, output=output, score=score,
        jit_compile=jit_compile,
    )
