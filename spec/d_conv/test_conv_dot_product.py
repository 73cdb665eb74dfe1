"""Each Conv2D output value is one window-filter dot product plus a bias: a numpy sliding window reproduces it."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ..tolerances import ATOL_CONV, ATOL_FLOAT64_REORDER, RTOL_CONV, RTOL_FLOAT64_REORDER

pytestmark = pytest.mark.claim("conv-dot-product")


def keras_conv(images, kernel, bias, **config):
    """Keras' Conv2D (float32, oneDNN) with the given weights: the library being explained."""
    layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[:2], use_bias=bias is not None, **config)
    layer.build(images.shape)
    layer.set_weights([kernel.astype("float32")] + ([] if bias is None else [bias.astype("float32")]))
    return keras.ops.convert_to_numpy(layer(images.astype("float32")))


@st.composite
def conv_cases(draw):
    """Tiny random convolutions: both paddings, strides or dilation (Keras refuses both > 1 at once)."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    if draw(st.booleans()):
        strides, dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))), (1, 1)
    else:
        strides, dilation = (1, 1), (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # The input is at least as large as the dilated kernel, so 'valid' has an output.
    height = draw(st.integers(dilation[0] * (kh - 1) + 1, 7))
    width = draw(st.integers(dilation[1] * (kw - 1) + 1, 7))
    batch, channels, filters = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(batch, height, width, channels))
    kernel = rng.normal(size=(kh, kw, channels, filters))
    bias = rng.normal(size=filters) if draw(st.booleans()) else None
    return images, kernel, bias, dict(strides=strides, padding=padding, dilation_rate=dilation)


@settings(max_examples=40)
@given(conv_cases())
def test_sliding_dot_product_reproduces_keras_conv2d(impl, case):
    """The float64 sliding-window loop equals keras.layers.Conv2D for random shapes, paddings, strides, dilations."""
    images, kernel, bias, config = case
    expected = keras_conv(images, kernel, bias, **config)
    got = impl.conv.conv2d_reference(images, kernel, bias, **config)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=RTOL_CONV, atol=ATOL_CONV)


@settings(max_examples=40)
@given(conv_cases())
def test_im2col_matmul_equals_the_sliding_window(impl, case):
    """One matrix product over the unfolded windows computes the same numbers as the loop (float64)."""
    images, kernel, bias, config = case
    expected = impl.conv.conv2d_reference(images, kernel, bias, **config)
    got = impl.conv.conv2d_im2col(images, kernel, bias, **config)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=RTOL_FLOAT64_REORDER, atol=ATOL_FLOAT64_REORDER)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(dict(), id="valid"),
        pytest.param(dict(padding="same", strides=2), id="same-stride2"),
        pytest.param(dict(padding="same", dilation_rate=2), id="same-dilation2"),
    ],
)
def test_im2col_keeps_float32_and_matches_keras(impl, rng, config):
    """On float32 inputs the im2col path stays float32 (the fast path) and still equals Conv2D."""
    images = rng.normal(size=(2, 12, 12, 8)).astype("float32")
    kernel = rng.normal(size=(3, 3, 8, 16)).astype("float32")
    bias = rng.normal(size=16).astype("float32")
    got = impl.conv.conv2d_im2col(images, kernel, bias, **config)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, keras_conv(images, kernel, bias, **config), rtol=RTOL_CONV, atol=ATOL_CONV)


def test_one_output_value_is_window_dot_filter_plus_bias(impl, rng):
    """Output (n, i, j, f) is the 3x3xC window at (i*s, j*s) dotted with filter f, plus bias f: checked in Keras."""
    images = rng.normal(size=(1, 9, 9, 3))
    kernel = rng.normal(size=(3, 3, 3, 4))
    bias = rng.normal(size=4)
    keras_out = keras_conv(images, kernel, bias, strides=2)
    ours = impl.conv.conv2d_reference(images, kernel, bias, strides=2)
    for i, j, f in [(0, 0, 0), (1, 2, 3), (3, 3, 1)]:
        window = images[0, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3, :]  # every channel at once
        by_hand = float(np.dot(window.ravel(), kernel[..., f].ravel()) + bias[f])
        assert keras_out[0, i, j, f] == pytest.approx(by_hand, rel=RTOL_CONV, abs=ATOL_CONV)
        assert ours[0, i, j, f] == pytest.approx(by_hand, rel=RTOL_FLOAT64_REORDER, abs=ATOL_FLOAT64_REORDER)


def test_conv2d_is_cross_correlation_not_flipped(impl):
    """The kernel is not flipped (cross-correlation): a one-hot kernel shifts the image the same way in Keras and ours."""
    images = np.arange(25.0).reshape(1, 5, 5, 1)
    kernel = np.zeros((3, 3, 1, 1))
    kernel[0, 2, 0, 0] = 1.0  # picks the top-right pixel of each window
    expected = images[:, 0:3, 2:5, :]
    np.testing.assert_array_equal(impl.conv.conv2d_reference(images, kernel), expected)
    np.testing.assert_allclose(keras_conv(images, kernel, None), expected, rtol=RTOL_CONV)
