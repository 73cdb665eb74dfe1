"""kernel_size=3 makes each filter a 3x3 window over ALL input channels: kernel (3, 3, C, F), (9C + 1) * F parameters."""

import keras
import numpy as np
import pytest

from ..tolerances import ATOL_FLOAT64_REORDER, RTOL_FLOAT64_REORDER

pytestmark = pytest.mark.claim("conv-kernel-shape")

SHAPES = [
    pytest.param(1, 32, id="gray-to-32"),
    pytest.param(3, 32, id="rgb-to-32"),
    pytest.param(64, 128, id="64-to-128"),
]


@pytest.mark.parametrize(("in_channels", "filters"), SHAPES)
def test_kernel_is_3x3xC_per_filter_and_params_follow(impl, in_channels, filters):
    """Keras' kernel is (3, 3, C, F) and the bias (F,); the layer has (3*3*C + 1) * F parameters."""
    layer = keras.layers.Conv2D(filters, kernel_size=3)
    layer.build((None, 16, 16, in_channels))
    assert tuple(layer.kernel.shape) == (3, 3, in_channels, filters)
    assert tuple(layer.bias.shape) == (filters,)
    expected = (3 * 3 * in_channels + 1) * filters
    assert layer.count_params() == expected
    assert impl.params.conv_params((3, 3), in_channels, filters) == expected


@pytest.mark.parametrize(("in_channels", "filters"), SHAPES[:2])
def test_every_filter_reads_every_input_channel(impl, rng, in_channels, filters):
    """Changing one input channel changes every feature map: a filter is not a 3x3 matrix on one channel."""
    images = rng.normal(size=(1, 6, 6, in_channels))
    kernel = rng.normal(size=(3, 3, in_channels, filters))
    base = impl.conv.conv2d_reference(images, kernel)
    for c in range(in_channels):
        changed = images.copy()
        changed[..., c] += 1.0
        diff = impl.conv.conv2d_reference(changed, kernel) - base
        # Adding 1 to channel c everywhere adds sum(kernel[:, :, c, f]) to every value of map f
        # (two float64 sliding-window sums, differenced: float64 reordering error).
        want = np.broadcast_to(kernel[:, :, c, :].sum(axis=(0, 1)), diff.shape)
        np.testing.assert_allclose(diff, want, rtol=RTOL_FLOAT64_REORDER, atol=ATOL_FLOAT64_REORDER)
        assert np.all(np.abs(diff) > 0)


def test_kernel_channels_must_match_the_images(impl, rng):
    """A (3, 3, C', F) kernel with C' != C cannot be applied: Keras and ours refuse it."""
    images = rng.normal(size=(1, 6, 6, 3)).astype("float32")
    # The backend words the refusal: TensorFlow's shape check (surfaced by keras.ops.conv as a
    # ValueError) or, on JAX and torch, Keras' own channel checks. All name the 3 image and 2 kernel channels.
    refusal = (
        r"Depth of input \(3\) is not a multiple of input depth of filter \(2\)"
        r"|Received input channels 3 and kernel in_channels 2"
        r"|Input channels \(3\) must be divisible by kernel input channels \(2\)"
    )
    with pytest.raises(ValueError, match=refusal):
        keras.ops.conv(images, np.ones((3, 3, 2, 4), dtype="float32"))
    with pytest.raises(ValueError, match=r"kernel's input channels must match the images' channels.*\(3 channels\).*\(2 input channels\)"):
        impl.conv.conv2d_reference(images, np.ones((3, 3, 2, 4)))
