"""Conv2D(filters=32) makes 32 feature maps, one per filter: map j depends on filter j (and bias j) only."""

import keras
import numpy as np
import pytest

from ..tolerances import ATOL_CONV, RTOL_CONV

pytestmark = pytest.mark.claim("conv-filters-are-channels")


@pytest.mark.parametrize(
    ("input_shape", "kernel_size", "padding"),
    [
        pytest.param((4, 28, 28, 1), 3, "valid", id="gray-28-valid"),
        pytest.param((2, 32, 32, 3), 3, "same", id="rgb-32-same"),
        pytest.param((1, 10, 12, 5), (5, 1), "valid", id="5ch-5x1"),
    ],
)
def test_32_filters_give_32_feature_maps(impl, rng, input_shape, kernel_size, padding):
    """The output is (batch, h', w', 32): the last axis counts filters, as Keras' output and our shape say."""
    layer = keras.layers.Conv2D(32, kernel_size, padding=padding, activation="relu")
    out = layer(rng.normal(size=input_shape).astype("float32"))
    assert out.shape[0] == input_shape[0] and out.shape[-1] == 32
    assert tuple(out.shape) == impl.conv.conv2d_output_shape(input_shape, 32, kernel_size, padding=padding)


@pytest.mark.parametrize("j", [pytest.param(0, id="first"), pytest.param(13, id="middle"), pytest.param(31, id="last")])
def test_zeroing_filter_j_zeroes_exactly_map_j(impl, rng, j):
    """With filter j and bias j set to zero, map j is all zeros and the other 31 maps do not change (Keras and ours)."""
    images = rng.normal(size=(2, 10, 10, 3)).astype("float32")
    layer = keras.layers.Conv2D(32, 3)
    layer.build(images.shape)
    kernel = rng.normal(size=(3, 3, 3, 32)).astype("float32")
    bias = rng.normal(size=32).astype("float32")
    layer.set_weights([kernel, bias])
    before = keras.ops.convert_to_numpy(layer(images))
    kernel[..., j] = 0.0
    bias[j] = 0.0
    layer.set_weights([kernel, bias])
    after = keras.ops.convert_to_numpy(layer(images))

    assert np.all(after[..., j] == 0.0)
    assert np.all(before[..., j] != 0.0)  # it was a real map before
    others = [f for f in range(32) if f != j]
    np.testing.assert_allclose(after[..., others], before[..., others], rtol=RTOL_CONV, atol=ATOL_CONV)

    ours = impl.conv.conv2d_reference(images, kernel, bias)
    assert np.all(ours[..., j] == 0.0)
    np.testing.assert_allclose(ours, after, rtol=RTOL_CONV, atol=ATOL_CONV)


def test_map_j_is_the_single_filter_convolution(impl, rng):
    """Map j of a 32-filter layer equals a 1-filter Conv2D holding filter j alone: filters act independently."""
    images = rng.normal(size=(1, 9, 9, 4))
    kernel = rng.normal(size=(3, 3, 4, 32))
    bias = rng.normal(size=32)
    full = impl.conv.conv2d_reference(images, kernel, bias)
    for j in (0, 7, 31):
        single = keras.layers.Conv2D(1, 3)
        single.build(images.shape)
        single.set_weights([kernel[..., j : j + 1].astype("float32"), bias[j : j + 1].astype("float32")])
        np.testing.assert_allclose(
            full[..., j : j + 1], keras.ops.convert_to_numpy(single(images.astype("float32"))), rtol=RTOL_CONV, atol=ATOL_CONV
        )
