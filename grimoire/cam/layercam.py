"""LayerCAM (Jiang et al. 2021): weigh every position by its own positive gradient.

    g[b, i, j, c] = d score[b, k_b] / d A[b, i, j, c]
    map[b, i, j]  = sum over c of relu(g[b, i, j, c]) * A[b, i, j, c]
    heatmap       = relu(map) / max(relu(map))                    (per image, as Grad-CAM)

It is HiResCAM with the negative gradients clipped: a position only counts where raising its
activation would raise the class score. Keeping the positions apart (no mean over (i, j)) is what
lets it explain the shallower layers, whose gradients vary a lot from place to place.

On a global-average-pooling + Dense head g = W[c, k] / (H*W) everywhere, so the map is CAM with the
negative class weights set to 0, divided by H*W. With features >= 0 (after a ReLU) it is then never
below Grad-CAM's map, and equal to it when all of the class's weights are >= 0.
"""

from keras import ops

from .base import GradientCAM, details


class LayerCAM(GradientCAM):
    """LayerCAM, built once for a model and called on many batches (see `GradientCAM`).

    `weights` in its result are the positive gradients averaged over (i, j), for comparison with
    Grad-CAM's; the map itself uses them position by position.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> LayerCAM(model)(np.ones((4, 8, 8, 1))).shape
    (4, 6, 6)
    """

    method = "layercam"

    def combine(self, features, gradients):
        """LayerCAM's step: each position's features weighted by its positive gradients, summed over channels.

        Formula:
            maps[b, i, j] = sum over c of relu(gradients[b, i, j, c]) * features[b, i, j, c]
            weights[b, c] = mean over (i, j) of relu(gradients[b, i, j, c])  (reported)

        Args:
            features: `(batch, h, w, channels)`, the target layer's activations A.
            gradients: `(batch, h, w, channels)`, d score / d A for each image's own class score.

        Returns:
            `(maps, weights)`: the raw maps `(batch, h, w)`, before ReLU and normalisation, and the
            channel weights `(batch, channels)`.
        """
        positive = ops.relu(gradients)
        maps = ops.sum(positive * features, axis=-1)
        return maps, ops.mean(positive, axis=(1, 2))


def layer_cam(model, images, *, layer_name=None, class_index=None, output=None, score="logits", jit_compile=False):
    """LayerCAM heatmaps `(batch, h, w)` in [0, 1]; arguments as in `grad_cam`.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> layer_cam(model, np.ones((2, 8, 8, 1))).shape
    (2, 6, 6)
    """
    return layer_cam_details(
        model, images, layer_name=layer_name, class_index=class_index, output=output, score=score, jit_compile=jit_compile
    ).heatmaps


def layer_cam_details(model, images, *, layer_name=None, class_index=None, output=None, score="logits",
                      jit_compile=False):
    """Like `layer_cam`, returning the whole `CamResult`."""
    return details(
        LayerCAM, model, images, layer_name=layer_name, class_index=class_index, output=output, score=score,
        jit_compile=jit_compile,
    )
