"""Bad input to grimoire.conv gets a Keras-style error naming the argument, the expectation and what was received."""

import keras
import numpy as np
import pytest

IMAGES = np.zeros((1, 6, 6, 3))
KERNEL = np.zeros((3, 3, 3, 4))


@pytest.mark.claim("conv-errors")
@pytest.mark.parametrize("function", ["conv2d_reference", "conv2d_im2col"])
@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        pytest.param((IMAGES, np.zeros((3, 3, 2, 4))), {}, ValueError, r"input channels must match.*Received: images with shape \(1, 6, 6, 3\)", id="channels"),
        pytest.param((IMAGES[0], KERNEL), {}, ValueError, r"`images` must have rank 4. Received: images with shape \(6, 6, 3\)", id="images-rank"),
        pytest.param((IMAGES, KERNEL[..., 0]), {}, ValueError, r"`kernel` must have rank 4", id="kernel-rank"),
        pytest.param((IMAGES, KERNEL, np.zeros(3)), {}, ValueError, r"`bias` must have one value per filter, shape \(4,\). Received: bias with shape \(3,\)", id="bias-size"),
        pytest.param((IMAGES, KERNEL), {"padding": "full"}, ValueError, r"`padding` must be one of \['same', 'valid'\]. Received: padding='full'", id="padding"),
        pytest.param((IMAGES, KERNEL), {"strides": 0}, ValueError, r"`strides` must be a positive integer. Received: strides=0", id="stride-zero"),
        pytest.param((IMAGES, KERNEL), {"strides": (1, 2, 3)}, ValueError, r"`strides` must be an integer or a tuple of 2 integers", id="stride-length"),
        pytest.param((IMAGES, KERNEL), {"dilation_rate": 1.5}, ValueError, r"`dilation_rate` must be an integer or a tuple of 2", id="dilation-float"),
        pytest.param((IMAGES, np.zeros((7, 7, 3, 4))), {}, ValueError, r"larger than the input \(length=6\) with padding='valid'", id="kernel-too-big"),
        pytest.param((np.zeros((0, 6, 6, 3)), KERNEL), {}, ValueError, r"must not have empty axes", id="empty-batch"),
        pytest.param((IMAGES, "kernel"), {}, TypeError, r"`kernel` must be array-like of numbers", id="kernel-string"),
        pytest.param((IMAGES, KERNEL), {"strides": 2, "dilation_rate": 2}, ValueError, r"`strides` and `dilation_rate` cannot both be above 1", id="stride-and-dilation"),
        pytest.param((IMAGES, KERNEL), {"strides": (2, 1), "dilation_rate": (1, 2)}, ValueError, r"Received: strides=\(2, 1\), dilation_rate=\(1, 2\)", id="stride-and-dilation-other-axes"),
    ],
)
def test_convolutions_reject_bad_arguments(impl, function, args, kwargs, error, message):
    """Mismatched channels, wrong ranks, unknown padding and non-positive sizes raise, naming the argument."""
    with pytest.raises(error, match=message):
        getattr(impl.conv, function)(*args, **kwargs)


@pytest.mark.claim("conv-errors")
def test_a_valid_convolution_with_no_position_left_is_refused(impl):
    """A dilated kernel bigger than the input leaves no 'valid' position: the output shape is refused, not 0 or less."""
    with pytest.raises(ValueError, match=r"larger than the input \(length=6\) with padding='valid'"):
        impl.conv.conv2d_output_shape((None, 6, 6, 1), 4, 3, dilation_rate=3)


@pytest.mark.claim("conv-dot-product")
def test_zero_inputs_give_finite_zero_outputs(impl):
    """All-zero images and kernels give zeros (plus bias), never NaN."""
    out = impl.conv.conv2d_im2col(IMAGES, KERNEL, np.ones(4), padding="same", strides=2)
    np.testing.assert_array_equal(out, np.ones((1, 3, 3, 4)))


@pytest.mark.claim("conv-errors")
@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        pytest.param(((6, 6), 4, 3), {}, ValueError, r"`input_shape` must be \(batch, height, width, channels\).*Received: input_shape=\(6, 6\)", id="rank-2"),
        pytest.param(((None, 0, 6, 1), 4, 3), {}, ValueError, r"`length` must be a positive integer. Received: length=0", id="zero-height"),
        pytest.param(((None, 6, 6, 1), 0, 3), {}, ValueError, r"`filters` must be a positive integer. Received: filters=0", id="zero-filters"),
        pytest.param(((None, 6, 6, 1), 4, 3), {"padding": "causal"}, ValueError, r"`padding` must be one of \['same', 'valid'\]", id="causal"),
        pytest.param(((None, 6, 6, 1), 4, 3), {"strides": -1}, ValueError, r"`strides` must be a positive integer. Received: strides=-1", id="negative-stride"),
        pytest.param(((None, 6, 6, 1), 4.0, 3), {}, TypeError, r"`filters` must be an integer. Received: filters=4.0", id="float-filters"),
    ],
)
def test_output_shape_rejects_bad_arguments(impl, args, kwargs, error, message):
    """Shape arithmetic refuses non-positive sizes, wrong ranks and unknown paddings."""
    with pytest.raises(error, match=message):
        impl.conv.conv2d_output_shape(*args, **kwargs)


@pytest.mark.claim("conv-errors")
def test_receptive_field_rejects_unknown_layers_and_flat_outputs(impl):
    """An unknown name lists the layers; a Dense/global-pooling output has no receptive field; a non-model is refused."""
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="conv"), keras.layers.GlobalAveragePooling2D(name="gap"), keras.layers.Dense(2, name="dense")]
    )
    with pytest.raises(ValueError, match=r"No layer named 'nope'.*\['conv', 'gap', 'dense'\]"):
        impl.conv.receptive_field(model, "nope")
    with pytest.raises(ValueError, match=r"Layer 'gap' \(GlobalAveragePooling2D\) outputs shape \(None, 4\), not a spatial map"):
        impl.conv.receptive_field(model, "gap")
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model. Received: model of type Conv2D"):
        impl.conv.receptive_field(model.get_layer("conv"), "conv")
    with pytest.raises(TypeError, match=r"`layer_name` must be a layer name \(str\)"):
        impl.conv.receptive_field(model, 0)


@pytest.mark.claim("conv-errors")
def test_receptive_field_refuses_layers_it_cannot_follow(impl):
    """Upsampling changes the map without a kernel: the arithmetic refuses rather than guess."""
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.UpSampling2D(2, name="up"), keras.layers.Conv2D(2, 3, name="conv")])
    with pytest.raises(ValueError, match=r"Layer 'up' \(UpSampling2D\) changes the spatial shape"):
        impl.conv.receptive_field(model, "conv")


@pytest.mark.claim("conv-errors")
def test_receptive_field_refuses_nested_models(impl):
    """A nested model keeps the map's size yet grows the field inside: refused, not treated as pointwise."""
    block = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, padding="same")], name="block")
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(block(inputs)))
    with pytest.raises(ValueError, match=r"Layer 'block' is a nested model"):
        impl.conv.receptive_field(model, "conv")


@pytest.mark.claim("conv-errors")
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        pytest.param(lambda c: c.conv_output_length(0, 3), ValueError, r"Argument `length` must be a positive integer. Received: length=0", id="length"),
        pytest.param(lambda c: c.conv_output_length(5, 3, padding="full"), ValueError, r"Argument `padding` must be one of \['same', 'valid'\]. Received: padding='full'", id="padding"),
        pytest.param(lambda c: c.same_padding(5, 0), ValueError, r"Argument `kernel_size` must be a positive integer. Received: kernel_size=0", id="same-kernel"),
    ],
)
def test_one_axis_helpers_check_their_arguments(impl, call, error, message):
    """The per-axis size helpers refuse what the size formula cannot take."""
    with pytest.raises(error, match=message):
        call(impl.conv)


@pytest.mark.claim("conv-errors")
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(dict(strides=2, dilation_rate=2), r"cannot both be above 1", id="stride-and-dilation"),
        pytest.param(dict(strides=(2, 1), dilation_rate=(1, 2)), r"cannot both be above 1", id="on-different-axes"),
        pytest.param(dict(kernel_size=0), r"`kernel_size` must be a positive integer", id="zero-kernel"),
        pytest.param(dict(strides=(1, 0)), r"`strides` must be a positive integer", id="zero-stride"),
        pytest.param(dict(filters=0), r"`filters` must be a positive integer", id="zero-filters"),
    ],
)
def test_output_shape_refuses_what_keras_conv2d_refuses(impl, kwargs, message):
    """Each configuration keras.layers.Conv2D refuses is refused by conv2d_output_shape too, not given a shape."""
    config = {"filters": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError):
        keras.layers.Conv2D(**config)
    with pytest.raises(ValueError, match=message):
        impl.conv.conv2d_output_shape((None, 9, 9, 3), **config)

