"""Grad-CAM++: alpha-weighted positive gradients, checked against the paper's equation in float64."""

import keras
import numpy as np
import pytest

from spec.f_cam import heads, oracles, oracles_methods
from spec.gradients import traces
from spec.tolerances import ATOL_NORMALISED_MAPS, RTOL_CAM_METHODS

pytestmark = pytest.mark.claim("gradcam-plus-plus")

L = keras.layers


def _scale(features, weights):
    """Per image, the largest sum over channels of |w_c A_c|: the size a map's float32 rounding is relative to."""
    return np.einsum("bijc,bc->bij", np.abs(features), np.abs(weights)).max(axis=(1, 2))[:, None, None]


def _assert_close(actual, expected, scale):
    """|actual - expected| <= RTOL_CAM_METHODS * scale, elementwise (scale broadcasts per image)."""
    error = np.abs(np.asarray(actual, np.float64) - expected) / scale
    assert error.max() <= RTOL_CAM_METHODS, f"max error {error.max():.2e} of the scale > {RTOL_CAM_METHODS}"


@pytest.mark.parametrize("classes", [pytest.param(None, id="top-class"), pytest.param([0, 1, 2, 0, 1, 2], id="per-image")])
def test_matches_the_papers_equation_on_a_flatten_head(impl, rng, classes):
    """Conv -> Flatten -> Dense(relu) -> Dense: alpha, weights and map equal eq. 19 of the paper (float64, g by hand)."""
    case = heads.flatten_mlp(rng)
    assert np.abs(case["pre"]).min() > 1e-3  # no hidden unit on its ReLU kink: the gradient is well defined
    _, gradients, chosen, _ = oracles_methods.flatten_mlp_gradients(
        case["features"], *case["model"].get_layer("hidden").get_weights(),
        *case["model"].get_layer("head").get_weights(), classes=classes,
    )
    maps, weights, _ = oracles_methods.gradcam_plus_plus(case["features"], gradients)
    assert np.any(gradients < 0) and np.any(gradients > 0)  # the general case: mixed signs, varying by position

    details = impl.cam.grad_cam_plus_plus_details(case["model"], case["images"], class_index=classes)
    np.testing.assert_array_equal(details.class_index, chosen)
    scale = _scale(case["features"], weights)
    _assert_close(details.weights, weights, np.abs(weights).max(axis=1, keepdims=True))
    _assert_close(details.maps, maps, scale)
    np.testing.assert_allclose(details.heatmaps, oracles.normalized(maps), atol=ATOL_NORMALISED_MAPS)
    print(f"max |map - oracle| / scale = {np.max(np.abs(details.maps - maps) / scale):.1e}")


def test_the_heatmap_alone_is_the_papers_on_a_flatten_head(impl, rng):
    """Asked for the heatmap only (all a library's public API returns), Grad-CAM++ gives eq. 19's, normalised."""
    case = heads.flatten_mlp(rng)
    _, gradients, _, _ = oracles_methods.flatten_mlp_gradients(
        case["features"], *case["model"].get_layer("hidden").get_weights(),
        *case["model"].get_layer("head").get_weights(), classes=[0, 1, 2, 0, 1, 2],
    )
    maps, _, _ = oracles_methods.gradcam_plus_plus(case["features"], gradients)
    heatmaps = impl.cam.grad_cam_plus_plus(case["model"], case["images"], class_index=[0, 1, 2, 0, 1, 2])
    np.testing.assert_allclose(heatmaps, oracles.normalized(maps), atol=ATOL_NORMALISED_MAPS)


def test_on_a_gap_head_the_weights_are_relu_w_over_two_plus_w_times_the_pooled_feature(impl, shapes):
    """Trained shapes convnet: w_c = relu(W[c, k]) / (2 + W[c, k] * P[c]), P the pooled feature; negative W give 0."""
    model, images, labels = shapes.model, shapes.images[:32], shapes.labels[:32]
    kernel = model.get_layer("predictions").kernel.numpy().astype(np.float64)
    features = heads.features_of(model, "features", images)
    pooled = features.mean(axis=(1, 2))
    column = kernel[:, labels].T  # (batch, channels)
    expected = np.maximum(column, 0.0) / (2.0 + column * pooled)
    details = impl.cam.grad_cam_plus_plus_details(model, images, class_index=labels)
    scale = _scale(features, expected)
    _assert_close(details.weights, expected, np.abs(expected).max(axis=1, keepdims=True))
    _assert_close(details.maps, np.einsum("bijc,bc->bij", features, expected), scale)
    # Where Grad-CAM keeps a negative weight W/(H*W), Grad-CAM++ has exactly 0: only positive gradients count.
    assert np.any(column < 0) and np.all(details.weights[column < 0] == 0)


def test_a_zero_denominator_gives_alpha_zero_not_infinity(impl):
    """Constant features A = -1 on 8x8 and W = 2: g = 1/32, 2 + g * sum A = 2 - 2 = 0 exactly; the map is 0, finite."""
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), L.Conv2D(1, 3, padding="same", name="conv"), L.GlobalAveragePooling2D(),
         L.Dense(1, name="head")]
    )
    model.get_layer("conv").set_weights([np.zeros((3, 3, 1, 1), "float32"), np.array([-1.0], "float32")])
    model.get_layer("head").set_weights([np.array([[2.0]], "float32"), np.zeros(1, "float32")])
    details = impl.cam.grad_cam_plus_plus_details(model, np.zeros((2, 8, 8, 1), "float32"))
    np.testing.assert_array_equal(details.gradients, np.full((2, 8, 8, 1), 1 / 32, "float32"))  # exact in binary
    assert np.all(np.isfinite(details.weights)) and np.all(np.isfinite(details.heatmaps))
    np.testing.assert_array_equal(details.weights, np.zeros((2, 1)))
    np.testing.assert_array_equal(details.heatmaps, np.zeros((2, 8, 8)))


@pytest.mark.parametrize("kernel", [pytest.param(-1.0, id="all-negative-weights"), pytest.param(0.0, id="zero-head")])
def test_degenerate_evidence_gives_an_all_zero_finite_map(impl, rng, kernel):
    """No positive gradient anywhere: every weight is 0 and so is the heatmap, with no NaN."""
    model = heads.fixed_gap_head(kernel)
    details = impl.cam.grad_cam_plus_plus_details(model, rng.uniform(0, 1, (3, 8, 8, 1)).astype("float32"))
    np.testing.assert_array_equal(details.weights, np.zeros_like(details.weights))
    np.testing.assert_array_equal(details.heatmaps, np.zeros_like(details.heatmaps))


def test_the_compiled_step_is_reused_and_agrees_with_eager_and_xla(impl, rng):
    """One trace serves new batches (of one size, on JAX) and classes; eager, compiled and XLA give the same heatmaps."""
    case = heads.flatten_mlp(rng)
    step = impl.cam.GradCAMPlusPlus(case["model"])
    first = step(case["images"])
    step(case["images"][:2], class_index=1)
    # One trace on TensorFlow (a free batch axis); on JAX one per batch size (jax.jit specialises on shapes).
    assert step.trace_count == traces([len(case["images"]), 2])
    for other in (impl.cam.GradCAMPlusPlus(case["model"], run_eagerly=True), impl.cam.GradCAMPlusPlus(case["model"], jit_compile=True)):
        np.testing.assert_allclose(other(case["images"]), first, atol=ATOL_NORMALISED_MAPS)
