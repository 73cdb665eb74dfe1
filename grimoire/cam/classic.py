"""Classic CAM (Zhou et al. 2016): for a global-average-pooling + Dense head, no gradients needed.

    logit[k] = sum over c of W[c, k] * mean over (i, j) of A[i, j, c] + bias[k]
             = mean over (i, j) of CAM_k[i, j] + bias[k]
    CAM_k[i, j] = sum over c of W[c, k] * A[i, j, c]

The map says how much each position adds to the logit. Grad-CAM of the logit on such a head
has channel weights W[c, k] / (H*W), so it equals CAM / (H*W): Grad-CAM generalises CAM to
heads that are not GAP + Dense, which is why CAM refuses them.
"""

import keras
import numpy as np
import tensorflow as tf

from .base import CamResult, _check_output, check_class_index, check_images, normalize, tap
from .target import _check_model


def _head(model):
    """Returns `(features tensor, gap, dense)` if the model ends in GlobalAveragePooling2D [-> Dropout] -> Dense."""
    layers = model.layers
    chain = [layers[-1]]
    index = len(layers) - 2
    while index >= 0 and isinstance(layers[index], keras.layers.Dropout):
        chain.append(layers[index])  # identity at inference
        index -= 1
    if index >= 0:
        chain.append(layers[index])
    dense, gap = chain[0], chain[-1]
    names = " -> ".join(type(layer).__name__ for layer in reversed(chain))
    shaped = (
        isinstance(dense, keras.layers.Dense)
        and isinstance(gap, keras.layers.GlobalAveragePooling2D)
        and not gap.keepdims
        and gap.data_format == "channels_last"
    )
    if shaped:
        _, taps = tap(model, model.inputs[0], [(layer,) for layer in chain])
        # Each layer of the head must feed the next one (a Functional model could branch).
        shaped = all(taps[(later,)][0] is taps[(earlier,)][1] for later, earlier in zip(chain[:-1], chain[1:]))
    if not shaped:
        raise ValueError(
            "Argument `model` must end in GlobalAveragePooling2D -> Dense for classic CAM, whose map is "
            f"the Dense weights applied to the pooled feature maps. Received: model {model.name!r} ending in "
            f"{names}. Use grad_cam(), which works with any differentiable head."
        )
    return taps[(gap,)][0], gap, dense


def cam_details(model, images, *, class_index=None):
    """Classic CAM of `images`, with its parts.

    Args:
        model: a built `keras.Model` ending in GlobalAveragePooling2D (optionally Dropout) -> Dense.
        images: (batch, height, width, channels) matching the model's input.
        class_index: None (top class per image), an int, or one int per image.

    Returns:
        `CamResult`: `maps` is CAM itself (sum over c of W[c, k] * A[..., c]), `weights` the Dense
        column of each image's class `(batch, channels)`, `scores` the logits, `gradients` None.
    """
    _check_model(model)
    num_classes = _check_output(model)
    features_tensor, _, dense = _head(model)
    images = check_images(model, images)
    classes = check_class_index(class_index, images.shape[0], num_classes)
    features_model = keras.Model(model.inputs[0], features_tensor)
    features = tf.convert_to_tensor(features_model(images, training=False))
    kernel = tf.convert_to_tensor(dense.kernel)
    logits = tf.reduce_mean(features, axis=(1, 2)) @ kernel
    if dense.use_bias:
        logits = logits + dense.bias
    chosen = np.where(classes < 0, np.argmax(logits, axis=-1), classes).astype(np.int32)
    weights = tf.transpose(tf.gather(kernel, chosen, axis=1))  # (batch, channels)
    maps = tf.einsum("bijc,bc->bij", features, weights)
    return CamResult(
        heatmaps=np.asarray(normalize(maps)),
        maps=np.asarray(maps),
        weights=np.asarray(weights),
        features=np.asarray(features),
        gradients=None,
        scores=np.asarray(logits),
        class_index=chosen,
    )


def cam(model, images, *, class_index=None):
    """Classic CAM heatmaps `(batch, h, w)` in [0, 1] for a GAP + Dense model.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> cam(model, np.ones((2, 8, 8, 1))).shape
    (2, 6, 6)
    """
    return cam_details(model, images, class_index=class_index).heatmaps
