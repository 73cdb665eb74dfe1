"""Deeper conv layers see larger receptive fields on smaller maps and, in Xception, with more channels."""

import keras
import numpy as np
import pytest

from .. import gradients

pytestmark = pytest.mark.claim("feature-hierarchy")

L = keras.layers


def plain_stack():
    inputs = keras.Input((48, 48, 1))
    x = L.Conv2D(4, 3, name="c1")(inputs)
    x = L.Conv2D(4, 3, name="c2")(x)
    x = L.Conv2D(4, 3, strides=2, name="c3")(x)
    x = L.Conv2D(4, 3, name="c4")(x)
    return keras.Model(inputs, x), ["c1", "c2", "c3", "c4"]


def pooled_dilated():
    inputs = keras.Input((48, 48, 2))
    x = L.Conv2D(4, 5, padding="same", name="c1")(inputs)
    x = L.AveragePooling2D(2, name="pool1")(x)
    x = L.Conv2D(4, 3, dilation_rate=2, padding="same", name="c2")(x)
    x = L.Conv2D(4, (3, 1), name="c3")(x)
    x = L.AveragePooling2D(3, strides=2, name="pool2")(x)
    return keras.Model(inputs, x), ["c1", "pool1", "c2", "c3", "pool2"]


def residual():
    inputs = keras.Input((48, 48, 1))
    a = L.Conv2D(4, 3, strides=2, name="c1")(inputs)
    b = L.Conv2D(4, 3, padding="same", name="c2")(a)
    b = L.BatchNormalization(name="bn")(b)
    b = L.SeparableConv2D(4, 3, padding="same", name="sep")(b)
    shortcut = L.Conv2D(4, 1, name="shortcut")(a)
    x = L.Add(name="add")([b, shortcut])
    x = L.DepthwiseConv2D(3, strides=2, name="dw")(x)
    return keras.Model(inputs, x), ["c1", "c2", "sep", "dw"]  # the main path


NETS = [pytest.param(plain_stack, id="plain-stack"), pytest.param(pooled_dilated, id="pool-dilation"), pytest.param(residual, id="residual")]


def gradient_support(model, layer_name, seed=0):
    """Height and width of the input region whose pixels move the centre unit of `layer_name`'s map.

    The measured oracle: d(unit)/d(input) is non-zero exactly on the pixels the unit sees (with
    linear layers and random weights, exact cancellation has probability zero).
    """
    sub = keras.Model(model.inputs, model.get_layer(layer_name).output)
    x = gradients.wrt_input(np.random.default_rng(seed).normal(size=(1,) + tuple(model.input_shape[1:])))

    def unit():
        y = sub(x.value, training=False)
        return y[0, y.shape[1] // 2, y.shape[2] // 2, 0]

    (grad,) = gradients.gradient(unit, [x])
    grad = np.abs(grad[0]).sum(axis=-1)
    rows, cols = np.nonzero(grad.sum(axis=1))[0], np.nonzero(grad.sum(axis=0))[0]
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


@pytest.mark.parametrize("make", NETS)
def test_receptive_field_equals_the_input_gradient_support(impl, make):
    """The arithmetic receptive field of every layer equals the extent of the input gradient of one of its units."""
    model, _ = make()
    for name in [layer.name for layer in model.layers[1:]]:
        size, _ = impl.conv.receptive_field(model, name)
        assert tuple(size) == gradient_support(model, name), name


@pytest.mark.parametrize("make", NETS)
def test_deeper_layers_see_more_on_smaller_maps(impl, make):
    """Along the net the receptive field grows while the map never gets larger (Keras' output shapes)."""
    model, names = make()
    fields = [np.prod(impl.conv.receptive_field(model, n)[0]) for n in names]
    sizes = [np.prod(model.get_layer(n).output.shape[1:3]) for n in names]
    assert all(b > a for a, b in zip(fields, fields[1:])), fields
    assert all(b <= a for a, b in zip(sizes, sizes[1:])), sizes
    assert sizes[-1] < sizes[0]


def test_stride_multiplies_the_growth_of_later_layers(impl):
    """After a stride-2 layer each 3x3 conv adds 2*(3-1) = 4 input pixels instead of 2; a max pool window counts fully."""
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), L.Conv2D(8, 3, name="a"), L.MaxPooling2D(2, name="p"), L.Conv2D(8, 3, name="b"), L.Conv2D(8, 3, name="c")]
    )
    # Hand arithmetic: r = 3; pool: r = 3 + 1*1 = 4, jump 2; then +2*2 twice.
    assert impl.conv.receptive_field(model, "a") == ((3, 3), (1, 1))
    assert impl.conv.receptive_field(model, "p") == ((4, 4), (2, 2))
    assert impl.conv.receptive_field(model, "b") == ((8, 8), (2, 2))
    assert impl.conv.receptive_field(model, "c") == ((12, 12), (2, 2))


def xception_block_outputs(model):
    """The last layer of each of Xception's 14 blocks, in order (names block1_... to block14_...)."""
    last = {}
    for layer in model.layers:
        if layer.name.startswith("block"):
            last[int(layer.name[5:].split("_")[0])] = layer
    return [last[b] for b in sorted(last)]


def test_xception_blocks_shrink_maps_and_widen_channels(impl, xception):
    """Along Xception's 14 blocks the maps shrink 147 -> 10 and the channels grow 64 -> 2048, never backwards."""
    blocks = xception_block_outputs(xception)
    assert len(blocks) == 14
    shapes = [tuple(layer.output.shape) for layer in blocks]
    spatial = [s[1] for s in shapes]
    channels = [s[-1] for s in shapes]
    assert all(b <= a for a, b in zip(spatial, spatial[1:])), spatial
    assert all(b >= a for a, b in zip(channels, channels[1:])), channels
    assert (spatial[0], channels[0]) == (147, 64) and (spatial[-1], channels[-1]) == (10, 2048)
    # The stem's size is the conv formula: 299 -> 149 (3x3, stride 2, valid) -> 147 (3x3, valid).
    stem = impl.conv.conv2d_output_shape((None, 299, 299, 3), 32, 3, strides=2)
    assert stem == tuple(xception.get_layer("block1_conv1").output.shape)
    assert impl.conv.conv2d_output_shape(stem, 64, 3) == tuple(xception.get_layer("block1_conv2").output.shape)


def test_xception_receptive_fields_grow_block_by_block(impl, xception):
    """Each Xception block sees more of the image than the one before; the last sees more than the 299-pixel input."""
    blocks = xception_block_outputs(xception)
    fields = [impl.conv.receptive_field(xception, layer.name)[0][0] for layer in blocks]
    assert all(b > a for a, b in zip(fields, fields[1:])), fields
    # The stem by hand: 3x3 stride 2 sees 3 pixels, the next 3x3 conv 3 + 2*2 = 7.
    assert impl.conv.receptive_field(xception, "block1_conv1")[0] == (3, 3)
    assert impl.conv.receptive_field(xception, "block1_conv2")[0] == (7, 7)
    assert fields[-1] > 299
