"""Feature maps are judged by their output rank, not their class: Xception's CAM layer is no Conv2D."""

import keras
import pytest

pytestmark = pytest.mark.claim("conv-layer-type")

L = keras.layers


def test_conv2d_lives_in_keras_src_layers_convolutional_conv2d():
    """keras.layers.Conv2D is the class keras.src.layers.convolutional.conv2d.Conv2D."""
    from keras.src.layers.convolutional.conv2d import Conv2D

    assert keras.layers.Conv2D is Conv2D
    assert Conv2D.__module__ == "keras.src.layers.convolutional.conv2d"


def test_xception_cam_layer_is_an_activation_after_a_separable_conv(impl, xception):
    """block14_sepconv2_act is an Activation after SeparableConv2D -> BatchNormalization; none is a Conv2D."""
    layer = xception.get_layer(impl.cam.find_target_layer(xception))
    assert type(layer) is keras.layers.Activation
    position = xception.layers.index(layer)
    conv, norm = xception.layers[position - 2 : position]
    assert (conv.name, type(conv)) == ("block14_sepconv2", keras.layers.SeparableConv2D)
    assert (norm.name, type(norm)) == ("block14_sepconv2_bn", keras.layers.BatchNormalization)
    assert not any(isinstance(l, keras.layers.Conv2D) for l in (conv, norm, layer))
    # Judging by class instead would pick a residual 1x1 Conv2D of block 13, 1024 channels: another map.
    last_conv2d = [l for l in xception.layers if isinstance(l, keras.layers.Conv2D)][-1]
    assert last_conv2d.name != layer.name and last_conv2d.output.shape[-1] == 1024


def test_the_target_is_found_by_rank_whatever_the_layer_class(impl):
    """Conv2D -> BatchNormalization -> Activation: the target is the Activation, the last 4-D output."""
    model = keras.Sequential(
        [keras.Input((10, 10, 1)), L.Conv2D(4, 3, name="conv"), L.BatchNormalization(name="bn"),
         L.Activation("relu", name="act"), L.GlobalAveragePooling2D(), L.Dense(2)]
    )
    assert impl.cam.find_target_layer(model) == "act"
