"""Grad-CAM++ (Chattopadhay et al. 2018): each position gets its own share of a channel's weight.

Grad-CAM weighs a channel by its mean gradient, so a channel that fires strongly in one small place
and weakly elsewhere is diluted. Grad-CAM++ weighs each position's positive gradient by a
coefficient alpha before summing. The paper explains the exponential of the class score,
S = exp(Y). For a network that is piecewise linear in A (ReLU, max-pooling, Dense) the second
and third derivatives of S are powers of the first gradient g = dY/dA times S, and S cancels:

    g[b, i, j, c]     = d Y[b, k_b] / d A[b, i, j, c]
    alpha[b, i, j, c] = g^2 / (2 g^2 + g^3 * sum over (a, d) of A[b, a, d, c])
                      = 1 / (2 + g * sum over (a, d) of A[b, a, d, c])       where g != 0
                      = 0                                                     where g == 0
    weights[b, c]     = sum over (i, j) of alpha * relu(g)
    map[b, i, j]      = sum over c of weights[b, c] * A[b, i, j, c]
    heatmap           = relu(map) / max(relu(map))                            (as Grad-CAM)

We compute the second form: it never squares or cubes a small gradient into float32 underflow.
Only positions with g > 0 contribute (relu(g) = 0 elsewhere); a zero denominator there (it needs
negative features) gives alpha = 0, so the result is always finite.

On a global-average-pooling + Dense head, g = W[c, k] / (H*W) at every position and the sum of A
over positions is H*W times the pooled feature P[c], so weights[c] = relu(W[c, k]) / (2 + W[c, k] * P[c]).
"""

from keras import ops

from .base import GradientCAM, details


class GradCAMPlusPlus(GradientCAM):
    """Grad-CAM++, built once for a model and called on many batches (see `GradientCAM`).

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> GradCAMPlusPlus(model)(np.ones((4, 8, 8, 1))).shape
    (4, 6, 6)
    """

    method = "grad-cam++"

    def combine(self, features, gradients):
        """Grad-CAM++'s step: positive gradients weighted by alpha, summed, then the weighted sum of the maps.

        Formula (exponential score, so higher derivatives are powers of the first):
            alpha[b, i, j, c] = 1 / (2 + gradients[b, i, j, c] * sum over (a, d) of features[b, a, d, c])
                                (0 where the gradient or the denominator is 0)
            weights[b, c]     = sum over (i, j) of alpha * relu(gradients)
            maps[b, i, j]     = sum over c of weights[b, c] * features[b, i, j, c]

        Args:
            features: `(batch, h, w, channels)`, the target layer's activations A.
            gradients: `(batch, h, w, channels)`, d score / d A for each image's own class score.

        Returns:
            `(maps, weights)`: the raw maps `(batch, h, w)`, before ReLU and normalisation, and the
            channel weights `(batch, channels)`.
        """
        totals = ops.sum(features, axis=(1, 2), keepdims=True)  # sum over (a, d), per image and channel
        denominator = 2.0 + gradients * totals
        # divide_no_nan: alpha = 0 where the denominator is 0; where g == 0 alpha is 0 by definition.
        alpha = ops.where(gradients != 0, ops.divide_no_nan(ops.ones_like(denominator), denominator), 0.0)
        weights = ops.sum(alpha * ops.relu(gradients), axis=(1, 2))
        maps = ops.einsum("bijc,bc->bij", features, weights)
        return maps, weights


def grad_cam_plus_plus(model, images, *, layer_name=None, class_index=None, output=None, score="logits", jit_compile=False):
    """Grad-CAM++ heatmaps `(batch, h, w)` in [0, 1]; arguments as in `grad_cam`.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> grad_cam_plus_plus(model, np.ones((2, 8, 8, 1))).shape
    (2, 6, 6)
    """
    return grad_cam_plus_plus_details(
        model, images, layer_name=layer_name, class_index=class_index, output=output, score=score, jit_compile=jit_compile
    ).heatmaps


def grad_cam_plus_plus_details(model, images, *, layer_name=None, class_index=None, output=None, score="logits",
                               jit_compile=False):
    """Like `grad_cam_plus_plus`, returning the whole `CamResult` (`weights` are the Grad-CAM++ weights)."""
    return details(
        GradCAMPlusPlus, model, images, layer_name=layer_name, class_index=class_index, output=output, score=score,
        jit_compile=jit_compile,
    )
