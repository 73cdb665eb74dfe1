"""LayerCAM: positive gradients times features position by position; on a GAP head, CAM with clipped weights."""

import keras
import numpy as np
import pytest

from spec.f_cam import heads, oracles, oracles_methods
from spec.gradients import traces
from spec.tolerances import ATOL_NORMALISED_MAPS, RTOL_CAM_METHODS, RTOL_FLOAT64_REORDER

pytestmark = pytest.mark.claim("layercam")

L = keras.layers


def _assert_close(actual, expected, scale):
    """|actual - expected| <= RTOL_CAM_METHODS * scale, elementwise (scale broadcasts per image)."""
    error = np.abs(np.asarray(actual, np.float64) - expected) / scale
    assert error.max() <= RTOL_CAM_METHODS, f"max error {error.max():.2e} of the scale > {RTOL_CAM_METHODS}"
    return error.max()


def _terms_scale(features, per_position_weights):
    """Per image, the largest sum over channels of |weight * A|: what a map's float32 rounding is relative to."""
    return (np.abs(features) * np.abs(per_position_weights)).sum(axis=-1).max(axis=(1, 2))[:, None, None]


@pytest.mark.parametrize("classes", [pytest.param(None, id="top-class"), pytest.param([2, 1, 0, 2, 1, 0], id="per-image")])
def test_matches_the_papers_equation_on_a_flatten_head(impl, rng, classes):
    """Conv -> Flatten -> Dense(relu) -> Dense: the map is sum_c relu(g) * A with g computed by hand in float64."""
    case = heads.flatten_mlp(rng)
    assert np.abs(case["pre"]).min() > 1e-3  # no hidden unit on its ReLU kink
    _, gradients, chosen, _ = oracles_methods.flatten_mlp_gradients(
        case["features"], *case["model"].get_layer("hidden").get_weights(),
        *case["model"].get_layer("head").get_weights(), classes=classes,
    )
    expected = oracles_methods.layercam(case["features"], gradients)
    assert np.any(gradients < 0) and np.any(gradients > 0)
    details = impl.cam.layer_cam_details(case["model"], case["images"], class_index=classes)
    np.testing.assert_array_equal(details.class_index, chosen)
    error = _assert_close(details.maps, expected, _terms_scale(case["features"], gradients))
    np.testing.assert_allclose(details.heatmaps, oracles.normalized(expected), atol=ATOL_NORMALISED_MAPS)
    # Not HiResCAM: the negative gradients were clipped, and here they matter.
    hires = (case["features"] * gradients).sum(axis=-1)
    assert np.abs(hires - expected).max() > 100 * RTOL_CAM_METHODS * np.abs(expected).max()
    print(f"max |map - oracle| / scale = {error:.1e}")


def test_on_a_gap_head_it_is_cam_with_negative_weights_clipped_and_never_below_gradcam(impl, shapes):
    """Trained shapes convnet: map = sum_c relu(W[c, k]) A_c / (H*W) >= Grad-CAM's sum_c W[c, k] A_c / (H*W)."""
    model, images, labels = shapes.model, shapes.images[:32], shapes.labels[:32]
    kernel = model.get_layer("predictions").kernel.numpy().astype(np.float64)
    features = heads.features_of(model, "features", images)
    hw = features.shape[1] * features.shape[2]
    column = kernel[:, labels].T[:, None, None, :] / hw  # the gradient, the same at every position
    expected = oracles_methods.layercam(features, np.broadcast_to(column, features.shape))
    np.testing.assert_allclose(expected, oracles.gap_dense_cam(features, np.maximum(kernel, 0), labels) / hw, rtol=RTOL_FLOAT64_REORDER)
    details = impl.cam.layer_cam_details(model, images, class_index=labels)
    error = _assert_close(details.maps, expected, _terms_scale(features, column))
    print(f"max |map - oracle| / scale = {error:.1e}")

    # relu(w) - w = relu(-w): LayerCAM - Grad-CAM = sum_c relu(-W[c, k]) A_c / (H*W), >= 0 as the features are.
    assert features.min() >= 0
    gap = impl.cam.grad_cam_details(model, images, class_index=labels).maps
    excess = oracles_methods.layercam(features, np.broadcast_to(-column, features.shape))
    assert excess.min() >= 0 and np.mean(excess > 0) > 0  # negatively weighted channels are active here
    _assert_close(details.maps - gap, excess, _terms_scale(features, column))


def test_with_all_class_weights_positive_it_equals_gradcam_hirescam_and_cam(impl, shapes):
    """A copy of the trained model with |W|: every gradient is >= 0, so LayerCAM = HiResCAM = Grad-CAM = CAM / (H*W)."""
    model = keras.models.clone_model(shapes.model)
    model.set_weights(shapes.model.get_weights())
    head = model.get_layer("predictions")
    kernel, bias = head.get_weights()
    head.set_weights([np.abs(kernel), bias])
    images, labels = shapes.images[:32], shapes.labels[:32]
    layer = impl.cam.layer_cam_details(model, images, class_index=labels)
    assert layer.gradients.min() >= 0
    features = layer.features.astype(np.float64)
    hw = features.shape[1] * features.shape[2]
    cam_over_hw = oracles.gap_dense_cam(features, np.abs(kernel), labels) / hw
    scale = np.einsum("bijc,cb->bij", np.abs(features), np.abs(kernel[:, labels])).max(axis=(1, 2))[:, None, None] / hw
    for other in ("grad_cam_details", "hires_cam_details"):
        _assert_close(getattr(impl.cam, other)(model, images, class_index=labels).maps, layer.maps, scale)
    _assert_close(layer.maps, cam_over_hw, scale)


@pytest.mark.parametrize("kernel", [pytest.param(-1.0, id="all-negative-weights"), pytest.param(0.0, id="zero-head")])
def test_degenerate_evidence_gives_an_all_zero_finite_map(impl, rng, kernel):
    """No positive gradient anywhere: the map is 0 and so is the heatmap, with no NaN."""
    model = heads.fixed_gap_head(kernel)
    details = impl.cam.layer_cam_details(model, rng.uniform(0, 1, (3, 8, 8, 1)).astype("float32"))
    np.testing.assert_array_equal(details.maps, np.zeros_like(details.maps))
    np.testing.assert_array_equal(details.heatmaps, np.zeros_like(details.heatmaps))


def test_the_compiled_step_is_reused_and_agrees_with_eager_and_xla(impl, rng):
    """One trace serves new batches (of one size, on JAX) and classes; eager and compiled give the same heatmaps (XLA: see Grad-CAM++)."""
    case = heads.flatten_mlp(rng)
    step = impl.cam.LayerCAM(case["model"])
    first = step(case["images"])
    step(case["images"][:2], class_index=1)
    # One trace on TensorFlow (a free batch axis); on JAX one per batch size (jax.jit specialises on shapes).
    assert step.trace_count == traces([len(case["images"]), 2])
    np.testing.assert_allclose(impl.cam.LayerCAM(case["model"], run_eagerly=True)(case["images"]), first, atol=ATOL_NORMALISED_MAPS)
