"""The gradient has the feature maps' shape; pooling it over height and width gives one weight per channel."""

import keras
import numpy as np
import pytest
from PIL import Image

from spec.f_cam import oracles
from spec.tolerances import (
    ATOL_BILINEAR_FLOAT32,
    ATOL_SAME_GRAPH,
    RTOL_FLOAT32_DOT,
    RTOL_FLOAT32_ELEMENTWISE,
    RTOL_SAME_GRAPH,
)

pytestmark = pytest.mark.claim("cam-gradient-shapes")


TARGET = "block14_sepconv2_act"  # Xception's last convolutional activation, (10, 10, 2048)


@pytest.fixture(scope="module")
def xception_image():
    """One seeded 299x299 RGB image in [-1, 1], Xception's input range."""
    return np.random.default_rng(7).uniform(-1, 1, size=(1, 299, 299, 3)).astype("float32")


@pytest.fixture(scope="module")
def xception_details(impl, xception, xception_image):
    """One Grad-CAM pass of Xception on one 299x299 image (the only Xception backward pass of the section)."""
    return impl.cam.grad_cam_details(xception, xception_image)


@pytest.fixture(scope="module")
def xception_features(xception, xception_image):
    """Oracle feature maps: a plain Keras sub-model up to the target layer, no CAM code involved."""
    tap = keras.Model(xception.inputs[0], xception.get_layer(TARGET).output)
    return keras.ops.convert_to_numpy(tap(xception_image)).astype(np.float64)


def test_xception_shapes(xception_details):
    """Gradient (1, 10, 10, 2048) like the feature maps; weights (2048,) per image; heatmap (10, 10)."""
    d = xception_details
    assert d.features.shape == d.gradients.shape == (1, 10, 10, 2048)
    assert d.weights.shape == (1, 2048) and d.weights[0].shape == (2048,)
    assert d.maps.shape == d.heatmaps.shape == (1, 10, 10)
    assert d.scores.shape == (1, 1000) and d.class_index.shape == (1,)


def test_xception_gradient_of_the_logit_is_the_class_weight_over_hw_everywhere(xception_details, xception):
    """Xception's head is GAP + Dense, so d logit_k / dA[i, j, c] = W[c, k] / 100 at every position."""
    d = xception_details
    kernel = xception.get_layer("predictions").kernel.numpy().astype(np.float64)
    k = int(d.class_index[0])
    assert k == int(np.argmax(d.scores[0]))  # class_index=None explains the top class
    expected = np.broadcast_to(kernel[:, k] / 100.0, (1, 10, 10, 2048))
    # Each entry is W[c, k] scaled by 1/100 in float32: its rounding is relative, so no atol is needed.
    np.testing.assert_allclose(d.gradients, expected, rtol=RTOL_FLOAT32_ELEMENTWISE, atol=0)


def test_the_feature_maps_are_the_target_layers_output(xception_details, xception_features):
    """The A of Grad-CAM is block14_sepconv2_act's output, as a plain Keras sub-model computes it."""
    assert xception_features.shape == (1, 10, 10, 2048)
    np.testing.assert_allclose(xception_details.features, xception_features, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)


def test_pooled_weights_map_and_heatmap_follow_the_formulas(xception_details, xception_features):
    """weights = numpy mean of the gradient over (h, w); map = sum_c weights * A; heatmap = relu(map) / max."""
    d = xception_details
    gradients, features = d.gradients.astype(np.float64), xception_features
    weights = gradients.mean(axis=(1, 2))
    # A float32 mean of a channel's 100 equal gradient entries (GAP head): its rounding error is
    # relative to those entries, so no atol.
    np.testing.assert_allclose(d.weights, weights, rtol=RTOL_FLOAT32_ELEMENTWISE, atol=0)
    maps = np.einsum("bijc,bc->bij", features, weights)
    # 2048-term dot products: float32 rounding relative to the sum of |terms|.
    scale = np.einsum("bijc,bc->bij", np.abs(features), np.abs(weights)).max()
    np.testing.assert_allclose(d.maps, maps, rtol=0, atol=RTOL_FLOAT32_DOT * scale)
    np.testing.assert_allclose(d.heatmaps, oracles.normalized(d.maps), rtol=RTOL_FLOAT32_ELEMENTWISE, atol=ATOL_SAME_GRAPH)
    assert d.heatmaps.min() >= 0 and d.heatmaps.max() == pytest.approx(1.0)


def test_xception_heatmap_upsamples_to_299x299(impl, xception_details):
    """upsample() brings the (10, 10) map to the (299, 299) input, bilinearly, staying in [0, 1]."""
    heatmap = xception_details.heatmaps[0]
    up = impl.cam.upsample(heatmap, (299, 299))
    assert up.shape == (299, 299)
    assert up.min() >= 0 and up.max() <= 1
    np.testing.assert_allclose(up, oracles.bilinear(heatmap[None], (299, 299))[0], atol=ATOL_BILINEAR_FLOAT32)


@pytest.mark.parametrize(
    "shape, size", [pytest.param((3, 5, 7), (20, 13), id="batch-to-20x13"), pytest.param((4, 4), 9, id="single-to-9")]
)
def test_upsample_is_bilinear_and_bounded(impl, rng, shape, size):
    """Half-pixel bilinear interpolation (float64 oracle); results stay in [0, 1]."""
    maps = rng.uniform(0, 1, size=shape).astype("float32")
    out = impl.cam.upsample(maps, size)
    sizes = (size, size) if isinstance(size, int) else size
    batch = maps if maps.ndim == 3 else maps[None]
    expected = oracles.bilinear(batch, sizes)
    np.testing.assert_allclose(out if maps.ndim == 3 else out[None], expected, atol=ATOL_BILINEAR_FLOAT32)
    assert out.min() >= 0 and out.max() <= 1


def test_overlay_blends_the_colormapped_heatmap_onto_the_image(impl, rng):
    """overlay() = (1 - alpha) * image + alpha * colormap(upsampled heatmap), as uint8 RGB."""
    import matplotlib

    image = rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)
    heatmap = rng.uniform(0, 1, size=(3, 4))
    out = impl.cam.overlay(image, heatmap, alpha=0.3, colormap="viridis")
    assert out.dtype == np.uint8 and out.shape == (12, 16, 3)
    colored = matplotlib.colormaps["viridis"](oracles.bilinear(heatmap[None], (12, 16))[0])[..., :3] * 255
    expected = 0.7 * image + 0.3 * colored
    assert np.abs(out.astype(np.float64) - expected).max() <= 1.0  # rounding to integers


def test_save_overlay_writes_that_picture_as_png(impl, rng, tmp_path):
    """save_overlay() writes a PNG holding overlay()'s pixels, enlarged by `scale`, with a box outline."""
    image = rng.uniform(0, 1, size=(8, 8)).astype("float32")
    heatmap = rng.uniform(0, 1, size=(2, 2))
    path = impl.cam.save_overlay(tmp_path / "cam.png", image, heatmap, box=(2, 3, 6, 7), scale=2)
    saved = np.asarray(Image.open(path))
    assert Image.open(path).format == "PNG" and saved.shape == (16, 16, 3)
    expected = impl.cam.overlay(image, heatmap).repeat(2, axis=0).repeat(2, axis=1)
    outline = np.zeros((8, 8), bool)
    outline[2, 3:7] = outline[5, 3:7] = outline[2:6, 3] = outline[2:6, 6] = True
    outline = outline.repeat(2, axis=0).repeat(2, axis=1)
    assert np.all(saved[outline] == 255)
    np.testing.assert_array_equal(saved[~outline], expected[~outline])
