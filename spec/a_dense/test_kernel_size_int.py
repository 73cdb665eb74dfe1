"""`kernel_size=k` means `(k, ..., k)` in every formula, as in Keras' layers (claims `params-from-shapes`,
`flops-from-shapes`, `conv-output-size`)."""

import keras
import pytest

LAYERS = [
    pytest.param(keras.layers.Conv1D, (None, 12, 4), {"filters": 6}, id="conv1d"),
    pytest.param(keras.layers.Conv2D, (None, 12, 12, 4), {"filters": 6}, id="conv2d"),
    pytest.param(keras.layers.Conv3D, (None, 6, 6, 6, 4), {"filters": 6, "groups": 2}, id="conv3d-groups"),
]


@pytest.mark.claim("params-from-shapes")
@pytest.mark.parametrize("kind, input_shape, config", LAYERS)
def test_an_int_kernel_size_counts_parameters_like_the_keras_layer_it_configures(impl, kind, input_shape, config):
    """conv_params(3, ...) gives what Keras counts for kernel_size=3, for 1-D, 2-D and 3-D."""
    layer = kind(kernel_size=3, **config)
    layer.build(input_shape)
    rank, groups = len(input_shape) - 2, config.get("groups", 1)
    assert impl.params.conv_params(3, input_shape[-1], config["filters"], groups=groups, rank=rank) == layer.count_params()


@pytest.mark.claim("flops-from-shapes")
@pytest.mark.parametrize("kind, input_shape, config", LAYERS)
def test_an_int_kernel_size_counts_multiply_adds_like_the_keras_layer_it_configures(impl, kind, input_shape, config):
    """conv_macs(3, ...) equals conv_macs((3,) * rank, ...) and the count of the layer built with kernel_size=3."""
    layer = kind(kernel_size=3, **config)
    output_shape = layer.compute_output_shape(input_shape)
    layer.build(input_shape)
    rank, groups = len(input_shape) - 2, config.get("groups", 1)
    macs = impl.flops.conv_macs(3, input_shape[-1], config["filters"], output_shape[1:-1], groups=groups)
    assert macs == impl.flops.conv_macs((3,) * rank, input_shape[-1], config["filters"], output_shape[1:-1], groups=groups)
    assert impl.flops.count_macs(layer) == macs


@pytest.mark.claim("params-from-shapes")
def test_an_int_kernel_size_means_a_square_window_without_a_rank(impl):
    """Without `rank`, an int is a Conv2D's square window, as in keras.layers.Conv2D(8, 3)."""
    layer = keras.layers.Conv2D(8, 3)
    layer.build((None, 10, 10, 5))
    assert impl.params.conv_params(3, 5, 8) == layer.count_params()
    assert impl.params.depthwise_conv_params(3, 5) == impl.params.depthwise_conv_params((3, 3), 5)
    assert impl.params.separable_conv_params(3, 5, 8) == impl.params.separable_conv_params((3, 3), 5, 8)


@pytest.mark.claim("conv-output-size")
def test_an_int_kernel_size_gives_the_output_shape_of_a_square_window(impl):
    """conv2d_output_shape with kernel_size=3 gives what keras.layers.Conv2D(8, 3) computes."""
    layer = keras.layers.Conv2D(8, 3)
    assert impl.conv.conv2d_output_shape((None, 10, 10, 5), 8, 3) == tuple(layer.compute_output_shape((None, 10, 10, 5)))
