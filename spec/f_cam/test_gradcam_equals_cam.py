"""On a GAP + Dense head, Grad-CAM of the logit is CAM / (H*W), and the map sums to logit - bias."""

import keras
import numpy as np
import pytest

from spec.f_cam import oracles
from spec.f_cam.heads import features_of
from spec.tolerances import ATOL_NORMALISED_MAPS, ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT, RTOL_SAME_GRAPH

pytestmark = pytest.mark.claim("gradcam-equals-cam")

L = keras.layers


def _dot_atol(features, kernel):
    """float32 rounding of a C-term dot product, relative to the sum of |terms| (see RTOL_FLOAT32_DOT)."""
    return RTOL_FLOAT32_DOT * np.einsum("bijc,ck->", np.abs(features), np.abs(kernel)) / features.shape[0]


@pytest.mark.parametrize("class_index", [pytest.param(None, id="top-class"), pytest.param(2, id="class-2")])
def test_trained_model_gradcam_is_cam_over_hw(impl, shapes, class_index):
    """Trained shapes convnet (8x8 maps): Grad-CAM raw map = CAM / 64; its sum = logit - bias."""
    model, images = shapes.model, shapes.images[:24]
    kernel, bias = (w.astype(np.float64) for w in model.get_layer("predictions").get_weights())
    features = features_of(model, "features", images)
    logits = oracles.gap_dense_logits(features, kernel, bias)
    hw = features.shape[1] * features.shape[2]
    atol = _dot_atol(features, kernel)
    details = impl.cam.grad_cam_details(model, images, class_index=class_index)
    if class_index is None:
        classes = oracles.top_class(logits, details.class_index, atol)
    else:
        classes = np.full(len(images), class_index)
        np.testing.assert_array_equal(details.class_index, classes)
    cam = oracles.gap_dense_cam(features, kernel, classes)
    np.testing.assert_allclose(details.maps, cam / hw, rtol=RTOL_FLOAT32_DOT, atol=atol / hw)
    chosen = logits[np.arange(len(images)), classes]
    np.testing.assert_allclose(details.maps.sum(axis=(1, 2)), chosen - bias[classes], rtol=RTOL_FLOAT32_DOT, atol=atol)
    # Same picture once normalised: CAM and Grad-CAM heatmaps coincide.
    np.testing.assert_allclose(details.heatmaps, oracles.normalized(cam), atol=ATOL_NORMALISED_MAPS)


def test_classic_cam_matches_the_zhou_formula(impl, shapes):
    """impl.cam.cam_details: maps = sum_c W[c, k] A[..., c], weights = W[:, k], scores = logits."""
    model, images = shapes.model, shapes.images[:24]
    kernel, bias = (w.astype(np.float64) for w in model.get_layer("predictions").get_weights())
    features = features_of(model, "features", images)
    logits = oracles.gap_dense_logits(features, kernel, bias)
    details = impl.cam.cam_details(model, images)
    classes = oracles.top_class(logits, details.class_index, _dot_atol(features, kernel))
    np.testing.assert_allclose(details.maps, oracles.gap_dense_cam(features, kernel, classes), atol=_dot_atol(features, kernel))
    np.testing.assert_allclose(details.weights, kernel[:, classes].T, rtol=RTOL_SAME_GRAPH)
    np.testing.assert_allclose(details.scores, logits, rtol=RTOL_FLOAT32_DOT, atol=_dot_atol(features, kernel))
    np.testing.assert_allclose(impl.cam.cam(model, images), details.heatmaps, atol=ATOL_SAME_GRAPH)


def test_hirescam_equals_gradcam_on_gap_but_not_on_flatten(impl, rng):
    """HiResCAM (gradient x activation) equals Grad-CAM on a GAP head; on a Flatten head only HiResCAM sums to the logit."""
    images = rng.uniform(0, 1, size=(6, 10, 10, 1)).astype("float32")
    gap = keras.Sequential(
        [keras.Input((10, 10, 1)), L.Conv2D(6, 3, activation="relu", name="conv"), L.GlobalAveragePooling2D(),
         L.Dense(4, activation="softmax", name="head")]
    )
    hires_gap, grad_gap = impl.cam.hires_cam_details(gap, images).maps, impl.cam.grad_cam_details(gap, images).maps
    # Two float32 sums of 6 products each: rounding relative to the maps' scale (see RTOL_FLOAT32_DOT).
    np.testing.assert_allclose(
        hires_gap, grad_gap, rtol=RTOL_FLOAT32_DOT, atol=RTOL_FLOAT32_DOT * np.abs(grad_gap).max()
    )

    flat = keras.Sequential(
        [keras.Input((10, 10, 1)), L.Conv2D(6, 3, activation="relu", name="conv"), L.Flatten(), L.Dense(4, name="head")]
    )
    kernel, bias = (w.astype(np.float64) for w in flat.get_layer("head").get_weights())
    features = features_of(flat, "conv", images)
    logits = features.reshape(len(images), -1) @ kernel + bias
    hires = impl.cam.hires_cam_details(flat, images)
    grad = impl.cam.grad_cam_details(flat, images)
    top = oracles.top_class(logits, hires.class_index, RTOL_FLOAT32_DOT * np.abs(features).sum() / len(images))
    # Oracle: a Flatten+Dense logit's gradient at (i, j, c) is its own weight W[(i, j, c), k].
    per_position = kernel[:, top].T.reshape(features.shape)
    expected = (per_position * features).sum(axis=-1)
    atol = RTOL_FLOAT32_DOT * np.abs(per_position * features).sum(axis=(1, 2, 3)).max()
    np.testing.assert_allclose(hires.maps, expected, atol=atol)
    np.testing.assert_allclose(hires.maps.sum(axis=(1, 2)), logits[np.arange(6), top] - bias[top], atol=atol)
    assert np.abs(grad.maps - hires.maps).max() > 100 * atol  # Grad-CAM averaged the positions away


def test_the_digits_convnet_gradcam_is_cam_over_hw(impl, digits_convnet):
    """The real-data convnet of section D (8x8 digits, GAP -> Dense softmax): target conv3, Grad-CAM = CAM / (H*W)."""
    model, accuracy = digits_convnet
    assert accuracy >= 0.95  # precondition: a trained model, not a random one
    images = impl.digits.load()[2][:32]
    layer_name = impl.cam.find_target_layer(model)
    assert layer_name == impl.digits.LAST_CONV
    kernel, bias = (w.astype(np.float64) for w in model.layers[-1].get_weights())
    features = features_of(model, layer_name, images)
    logits = oracles.gap_dense_logits(features, kernel, bias)
    hw = features.shape[1] * features.shape[2]
    atol = _dot_atol(features, kernel)
    details = impl.cam.grad_cam_details(model, images)
    classes = oracles.top_class(logits, details.class_index, atol)
    np.testing.assert_allclose(details.maps, oracles.gap_dense_cam(features, kernel, classes) / hw, rtol=RTOL_FLOAT32_DOT, atol=atol / hw)
    np.testing.assert_allclose(details.maps.sum(axis=(1, 2)), logits[np.arange(len(images)), classes] - bias[classes], rtol=RTOL_FLOAT32_DOT, atol=atol)
    assert np.all(np.isfinite(details.heatmaps)) and np.all(details.heatmaps.max(axis=(1, 2)) <= 1)


def test_a_nested_base_model_gives_cam_over_hw(impl, rng):
    """Transfer-learning layout (a base model inside a Sequential with a GAP + Dense head): still CAM / (H*W)."""
    base_in = keras.Input((12, 12, 2))
    hidden = L.Conv2D(4, 3, activation="relu", name="stem")(base_in)
    base = keras.Model(base_in, L.Conv2D(6, 3, activation="relu", name="top_conv")(hidden), name="base")
    model = keras.Sequential(
        [keras.Input((12, 12, 2)), base, L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax", name="head")]
    )
    images = rng.uniform(0, 1, size=(5, 12, 12, 2)).astype("float32")
    features = keras.ops.convert_to_numpy(base.get_layer("top_conv")(base.get_layer("stem")(images))).astype(np.float64)
    kernel, bias = (w.astype(np.float64) for w in model.get_layer("head").get_weights())
    details = impl.cam.grad_cam_details(model, images)
    classes = oracles.top_class(oracles.gap_dense_logits(features, kernel, bias), details.class_index, RTOL_FLOAT32_DOT)
    assert impl.cam.find_target_layer(model) == "top_conv"
    hw = features.shape[1] * features.shape[2]
    atol = _dot_atol(features, kernel) / hw
    np.testing.assert_allclose(
        details.maps, oracles.gap_dense_cam(features, kernel, classes) / hw, rtol=RTOL_FLOAT32_DOT, atol=atol
    )
    # CAM (weights W) and Grad-CAM (weights W / (H*W)): two float32 evaluations of the same dot products.
    np.testing.assert_allclose(impl.cam.cam_details(model, images).maps / hw, details.maps, rtol=RTOL_FLOAT32_DOT, atol=atol)
