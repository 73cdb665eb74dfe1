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
from keras import ops

from .base import CamResult, check_class_index, check_images
from .inputs import check_image_size
from .steps import normalize
from .capture import adopt_input_shape, intercept, probe
from .plan import select_output
from .target import _check_model, layout


def _head(model, output=None):
    """Returns `(gap call, dense)` if the chosen output comes from GlobalAveragePooling2D [-> Dropout] -> Dense.

    The chain is read from the model's own forward pass (`capture.probe`), so Sequential,
    Functional, nested and subclassed models are judged alike, and with several outputs the
    chain is the one ending in the chosen output.
    """
    calls = probe(model).calls
    chosen = select_output(model, output)
    chain = [] if chosen.call is None else [chosen.call]
    while chain and calls[chain[-1]].source is not None and (
        len(chain) == 1 or isinstance(calls[chain[-1]].layer, keras.layers.Dropout)
    ):
        chain.append(calls[chain[-1]].source)  # Dropout is the identity at inference
    layers = [calls[at].layer for at in chain]
    names = " -> ".join(type(layer).__name__ for layer in reversed(layers)) or "an output no layer produced"
    dense, gap = (layers[0], layers[-1]) if layers else (None, None)
    if isinstance(gap, keras.layers.GlobalAveragePooling2D) and gap.data_format == "channels_first":
        raise ValueError(
            f"Argument `model` must pool channels-last feature maps for classic CAM. Received: model {model.name!r} "
            f"whose {gap.name!r} pools data_format='channels_first' maps (batch, channels, height, width). Build "
            "the model with data_format='channels_last'."
        )
    if not (isinstance(dense, keras.layers.Dense) and isinstance(gap, keras.layers.GlobalAveragePooling2D)
            and not gap.keepdims and len(chain) >= 2):
        raise ValueError(
            "Argument `model` must end in GlobalAveragePooling2D -> Dense for classic CAM, whose map is "
            f"the Dense weights applied to the pooled feature maps. Received: model {model.name!r} ending in "
            f"{names}. Use grad_cam(), which works with any differentiable head."
        )
    source = calls[chain[-1]].source
    if source is not None and layout(calls, source) == "channels_first":
        raise ValueError(
            f"Argument `model` must give channels-last feature maps for classic CAM. Received: model {model.name!r} "
            f"whose pooled maps come from data_format='channels_first' layers. Build the model channels-last."
        )
    if sum(call.layer is gap for call in calls) != 1:
        raise ValueError(
            f"Argument `model` must call its pooling layer {gap.name!r} once per forward pass for classic CAM. "
            "Received: a layer shared between branches. Use grad_cam() with output= and layer_name=."
        )
    return calls[chain[-1]], dense


def class_activation_maps(features, kernel, class_index):
    """Classic CAM: each image's feature maps weighted by the Dense column of its class, summed over channels.

    Formula:
        weights[b, c] = kernel[c, k_b]
        map[b, i, j]  = sum over c of weights[b, c] * features[b, i, j, c]

    Args:
        features: `(batch, h, w, channels)` the maps the head pools.
        kernel: `(channels, classes)` the Dense layer's kernel after the pooling.
        class_index: int32 `(batch,)`, the class of each image.

    Returns:
        `(maps (batch, h, w), weights (batch, channels))`.

    Example:

    >>> maps, weights = class_activation_maps(np.ones((1, 2, 2, 3), "float32"), np.eye(3, 2, dtype="float32"), np.array([1]))
    >>> ops.convert_to_numpy(maps).tolist(), ops.convert_to_numpy(weights).tolist()
    ([[[1.0, 1.0], [1.0, 1.0]]], [[0.0, 1.0, 0.0]])
    """
    weights = ops.transpose(ops.take(kernel, class_index, axis=1))  # (batch, channels)
    return ops.einsum("bijc,bc->bij", features, weights), weights


def cam_details(model, images, *, class_index=None, output=None):
    """Classic CAM of `images`, with its parts.

    Args:
        model: a built `keras.Model` whose (chosen) output comes from GlobalAveragePooling2D
            (optionally Dropout) -> Dense; Sequential, Functional, nested or subclassed.
        images: (batch, height, width, channels) matching the model's input; finite numbers.
        class_index: None (top class per image), an int, or one int per image.
        output: None (the only output), or the name or index of the output to explain.

    Returns:
        `CamResult`: `maps` is CAM itself (sum over c of W[c, k] * A[..., c]), `weights` the Dense
        column of each image's class `(batch, channels)`, `scores` the logits, `gradients` None.
    """
    adopt_input_shape(model, images)
    _check_model(model)
    gap_call, dense = _head(model, output)
    num_classes = select_output(model, output).shape[-1]
    images = check_images(model, images)
    classes = check_class_index(class_index, images.shape[0], num_classes)

    def features_of(batch):
        seen = []
        # The pooling layer's input is the feature map; the model's own call runs unchanged.
        with intercept({gap_call.layer: lambda inputs, output: seen.append(inputs)}):
            model(batch, training=False)
        return seen[0]

    check_image_size(model, images.shape)
    features = ops.convert_to_tensor(features_of(ops.convert_to_tensor(images)))
    kernel = ops.convert_to_tensor(dense.kernel)
    logits = ops.matmul(ops.mean(features, axis=(1, 2)), kernel)
    if dense.use_bias:
        logits = logits + ops.convert_to_tensor(dense.bias)
    chosen = np.where(classes < 0, np.argmax(ops.convert_to_numpy(logits), axis=-1), classes).astype(np.int32)
    maps, weights = class_activation_maps(features, kernel, ops.convert_to_tensor(chosen))
    return CamResult(
        heatmaps=ops.convert_to_numpy(normalize(maps)),
        maps=ops.convert_to_numpy(maps),
        weights=ops.convert_to_numpy(weights),
        features=ops.convert_to_numpy(features),
        gradients=None,
        scores=ops.convert_to_numpy(logits),
        class_index=chosen,
    )


def cam(model, images, *, class_index=None, output=None):
    """Classic CAM heatmaps `(batch, h, w)` in [0, 1] for a GAP + Dense model.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> cam(model, np.ones((2, 8, 8, 1))).shape
    (2, 6, 6)
    """
    return cam_details(model, images, class_index=class_index, output=output).heatmaps
