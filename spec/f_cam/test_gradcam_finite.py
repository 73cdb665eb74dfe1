"""Degenerate evidence (all-negative maps, zero gradients, dead features) gives an all-zero map, never NaN."""

import keras
import numpy as np
import pytest

from spec.f_cam import oracles

pytestmark = pytest.mark.claim("gradcam-finite")

L = keras.layers


def _model(*, conv_bias=0.0, dense_kernel=None):
    """ReLU features (>= 0) -> GAP -> Dense softmax, with chosen head weights."""
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu", name="conv"), L.GlobalAveragePooling2D(),
         L.Dense(3, activation="softmax", name="head")]
    )
    conv = model.get_layer("conv")
    kernel, bias = conv.get_weights()
    conv.set_weights([np.abs(kernel) + 0.1, np.full_like(bias, conv_bias)])
    if dense_kernel is not None:
        head = model.get_layer("head")
        head.set_weights([np.full((4, 3), dense_kernel, np.float32), np.zeros(3, np.float32)])
    return model


@pytest.mark.parametrize(
    "build, case",
    [
        # Features are >= 0 and every class weight is negative: each channel's pooled gradient is < 0,
        # so the map sum_c w_c A_c is <= 0 everywhere and its ReLU is 0.
        pytest.param(lambda: _model(dense_kernel=-1.0), "negative", id="all-negative-evidence"),
        # A zero head: the gradient of every logit is exactly 0.
        pytest.param(lambda: _model(dense_kernel=0.0), "zero", id="zero-gradients"),
        # Conv bias -100 on inputs in [0, 1]: every ReLU is off, the features are all 0.
        pytest.param(lambda: _model(conv_bias=-100.0), "zero", id="dead-features"),
    ],
)
@pytest.mark.parametrize("method", ["grad_cam_details", "hires_cam_details", "cam_details"])
def test_degenerate_evidence_gives_an_all_zero_finite_map(impl, rng, build, case, method):
    """The raw map is <= 0 (numpy oracle) and the heatmap is exactly 0 everywhere, with no NaN."""
    model = build()
    images = rng.uniform(0, 1, size=(4, 8, 8, 1)).astype("float32")
    details = getattr(impl.cam, method)(model, images)
    assert np.all(np.isfinite(details.maps)) and np.all(np.isfinite(details.heatmaps))
    if case == "negative":
        assert details.maps.max() < 0
    else:
        assert np.all(details.maps == 0)
    np.testing.assert_array_equal(details.heatmaps, np.zeros_like(details.heatmaps))
    np.testing.assert_array_equal(details.heatmaps, oracles.normalized(details.maps))


def test_a_saturated_probability_gives_zeros_not_nan(impl, rng):
    """score='probability' on a sigmoid that is exactly 1.0: zero gradient, zero map, still finite; overlays stay finite.

    A sigmoid, not a softmax: 1 / (1 + exp(-z)) with exp(-z) = 0 is exactly 1.0 on every CPU, while a
    vectorised float32 softmax of the same margin may give 0.99999994 (and a non-zero map).
    """
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu", name="conv"), L.GlobalAveragePooling2D(),
         L.Dense(1, activation="sigmoid", name="head")]
    )
    conv = model.get_layer("conv")
    conv.set_weights([np.abs(conv.get_weights()[0]) + 0.1, np.zeros(4, np.float32)])
    model.get_layer("head").set_weights([np.full((4, 1), 1e4, np.float32), np.zeros(1, np.float32)])
    images = rng.uniform(0.5, 1, size=(3, 8, 8, 1)).astype("float32")
    assert np.all(model.predict(images, verbose=0) == 1.0)
    heatmaps = impl.cam.grad_cam(model, images, score="probability")
    np.testing.assert_array_equal(heatmaps, np.zeros_like(heatmaps))
    assert impl.cam.grad_cam(model, images).max() == pytest.approx(1.0)  # the logit map is still there
    picture = impl.cam.overlay(images[0], impl.cam.upsample(heatmaps[0], (8, 8)))
    assert picture.dtype == np.uint8 and picture.shape == (8, 8, 3)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_the_smallest_image_that_keeps_a_map_gives_a_finite_one_pixel_heatmap(impl, jit_compile):
    """4x4 leaves c2 a 1x1 map (3x3 conv, 2x2 pool): a one-position heatmap, finite, in [0, 1]; 3x3 is refused (cam-errors)."""
    model = keras.Sequential(
        [keras.Input((None, None, 1)), L.Conv2D(2, 3, name="c1"), L.MaxPooling2D(), L.Conv2D(2, 1, name="c2"),
         L.GlobalAveragePooling2D(), L.Dense(3)]
    )
    heatmaps = impl.cam.grad_cam(model, np.ones((1, 4, 4, 1)), jit_compile=jit_compile)
    assert heatmaps.shape == (1, 1, 1)
    assert np.all(np.isfinite(heatmaps)) and 0.0 <= float(heatmaps.min()) <= float(heatmaps.max()) <= 1.0
