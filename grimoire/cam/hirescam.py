"""HiResCAM (Draelos & Carin 2020): multiply gradients and features elementwise, then sum channels.

    map[b, i, j] = sum over c of dA[b, i, j, c] * A[b, i, j, c]

Grad-CAM first averages dA over (i, j), so it throws away where the gradient was large. On a
global-average-pooling head dA is the same at every position and the two maps coincide; on a
Flatten head each position has its own weight and only HiResCAM's map adds up to the score
(sum of the map = logit - bias, exactly what the model computed), so only it is faithful there.
"""

from keras import ops

from .base import GradientCAM, details


class HiResCAM(GradientCAM):
    """HiResCAM, built once for a model and called on many batches (see `GradientCAM`).

    `weights` in its result are the spatially averaged gradients, as in Grad-CAM, for comparison.
    """

    method = "hirescam"

    def combine(self, features, gradients):
        """HiResCAM's step: each position's features weighted by its own gradients, summed over channels.

        Formula:
            maps[b, i, j] = sum over c of gradients[b, i, j, c] * features[b, i, j, c]
            weights[b, c] = mean over (i, j) of gradients[b, i, j, c]     (reported, as Grad-CAM's)

        Args:
            features: `(batch, h, w, channels)`, the target layer's activations A.
            gradients: `(batch, h, w, channels)`, d score / d A for each image's own class score.

        Returns:
            `(maps, weights)`: the raw maps `(batch, h, w)`, before ReLU and normalisation, and the
            channel weights `(batch, channels)`.
        """
        maps = ops.sum(gradients * features, axis=-1)
        return maps, ops.mean(gradients, axis=(1, 2))


def hires_cam(model, images, *, layer_name=None, class_index=None, output=None, score="logits", jit_compile=False):
    """HiResCAM heatmaps `(batch, h, w)` in [0, 1]; arguments as in `grad_cam`."""
    return hires_cam_details(
        model, images, layer_name=layer_name, class_index=class_index, output=output, score=score,
        jit_compile=jit_compile,
    ).heatmaps


def hires_cam_details(model, images, *, layer_name=None, class_index=None, output=None, score="logits", jit_compile=False):
    """Like `hires_cam`, returning the whole `CamResult`."""
    return details(
        HiResCAM, model, images, layer_name=layer_name, class_index=class_index, output=output, score=score,
        jit_compile=jit_compile,
    )
