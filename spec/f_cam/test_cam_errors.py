"""Bad input to grimoire.cam and grimoire.synthetic: Keras-style messages naming the argument and what came in."""

import keras
import numpy as np
import pytest

from spec.f_cam import nets

pytestmark = pytest.mark.claim("cam-errors")

L = keras.layers


@pytest.mark.parametrize(
    "images, message",
    [
        pytest.param(np.zeros((8, 8, 1)), r"Argument `images` must have rank 4 .* Received: images with shape \(8, 8, 1\). Add a batch axis", id="single-image-without-batch"),
        pytest.param(np.zeros((2, 8, 8)), r"Argument `images` must have rank 4", id="rank-3"),
        pytest.param(np.zeros((2, 9, 8, 1)), r"Argument `images` must have shape \(batch, 8, 8, 1\) .* Received: images with shape \(2, 9, 8, 1\)", id="wrong-size"),
        pytest.param(np.zeros((2, 8, 8, 3)), r"Received: images with shape \(2, 8, 8, 3\)", id="wrong-channels"),
        pytest.param(np.zeros((0, 8, 8, 1)), r"Argument `images` must hold at least one image", id="empty-batch"),
    ],
)
@pytest.mark.parametrize("method", ["grad_cam", "hires_cam", "cam"])
def test_images_of_the_wrong_shape_are_refused(impl, small, images, message, method):
    """Images must be a batch of the model's input size."""
    with pytest.raises(ValueError, match=message):
        getattr(impl.cam, method)(small, images)


def test_non_numeric_images_are_refused(impl, small):
    """Images must be numbers."""
    with pytest.raises(TypeError, match=r"Argument `images` must be an array of numbers"):
        impl.cam.grad_cam(small, [["a"]])


def test_an_unknown_layer_name_lists_the_candidates(impl, small):
    """An unknown layer name: ValueError listing the layers with a spatial output."""
    with pytest.raises(ValueError, match=r"Argument `layer_name` must name a layer .* Received: layer_name='conv9'. .*\['conv'\]"):
        impl.cam.grad_cam(small, np.zeros((1, 8, 8, 1)), layer_name="conv9")


@pytest.mark.parametrize("name", ["gap", "head"])
def test_a_non_spatial_layer_is_refused(impl, small, name):
    """A layer whose output is not 4-D cannot give a map."""
    with pytest.raises(ValueError, match=rf"must name a layer with a 4-D .* Received: layer_name='{name}' with output shape"):
        impl.cam.grad_cam(small, np.zeros((1, 8, 8, 1)), layer_name=name)


def test_a_model_whose_every_map_is_rearranged_is_refused_by_default(impl):
    """A Permute right after the input leaves no map that lines up with the image: no silent transposed default."""
    model = keras.Sequential([keras.Input((8, 6, 1)), L.Permute((2, 1, 3), name="swap"), L.Conv2D(2, 3, name="conv"),
                              L.GlobalAveragePooling2D(), L.Dense(3)])
    with pytest.raises(ValueError, match=r"no 4-D map that lines up with the image: .*swap \(Permute.*conv \(Conv2D.*Pass `layer_name=`"):
        impl.cam.grad_cam(model, np.zeros((1, 8, 6, 1)))


def test_models_that_cannot_be_explained_are_refused(impl):
    """Not a model, an unbuilt model, or an output that is not (batch, classes)."""
    with pytest.raises(TypeError, match=r"Argument `model` must be a keras.Model. Received: model of type Conv2D"):
        impl.cam.find_target_layer(L.Conv2D(2, 3))
    unbuilt = keras.Sequential([L.Conv2D(2, 3), L.GlobalAveragePooling2D(), L.Dense(2)])
    with pytest.raises(ValueError, match=r"must be built with a known input shape"):
        impl.cam.grad_cam(unbuilt, np.zeros((1, 8, 8, 1)))
    dense_map = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3, name="conv")])
    with pytest.raises(ValueError, match=r"one output of shape \(batch, classes\) .* \[\(None, 6, 6, 2\)\]"):
        impl.cam.grad_cam(dense_map, np.zeros((1, 8, 8, 1)))


@pytest.mark.parametrize(
    "class_index, error, message",
    [
        pytest.param(3, ValueError, r"Argument `class_index` must be in \[0, 2\] for a model with 3 classes. Received: class_index=3", id="too-large"),
        pytest.param(-1, ValueError, r"must be in \[0, 2\] .* Received: class_index=-1", id="negative"),
        pytest.param([0, 1, 2], ValueError, r"one index per image \(2\) or be a single int. Received: class_index with 3 entries", id="wrong-count"),
        pytest.param(1.5, TypeError, r"Argument `class_index` must be None, an int or a sequence of ints", id="float"),
        pytest.param(True, TypeError, r"Argument `class_index` must be None, an int", id="bool"),
    ],
)
@pytest.mark.parametrize("method", ["grad_cam", "cam"])
def test_a_class_index_out_of_range_is_refused(impl, small, class_index, error, message, method):
    """A class index must name one of the model's classes, once or once per image."""
    with pytest.raises(error, match=message):
        getattr(impl.cam, method)(small, np.zeros((2, 8, 8, 1)), class_index=class_index)


def test_an_unknown_score_is_refused(impl, small):
    """The score is "logits" or "probability"."""
    with pytest.raises(ValueError, match=r"Argument `score` must be one of \['logits', 'probability'\]. Received: score='softmax'"):
        impl.cam.grad_cam(small, np.zeros((1, 8, 8, 1)), score="softmax")


def test_classic_cam_refuses_heads_other_than_gap_dense(impl):
    """CAM needs GlobalAveragePooling2D -> Dense; a Flatten head is refused with a pointer to grad_cam."""
    flat = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3), L.Flatten(), L.Dense(3)])
    with pytest.raises(ValueError, match=r"must end in GlobalAveragePooling2D -> Dense .* ending in Flatten -> Dense. Use grad_cam\(\)"):
        impl.cam.cam(flat, np.zeros((1, 8, 8, 1)))
    two_dense = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3), L.GlobalAveragePooling2D(), L.Dense(4), L.Dense(3)])
    with pytest.raises(ValueError, match=r"ending in Dense -> Dense"):
        impl.cam.cam(two_dense, np.zeros((1, 8, 8, 1)))


def test_upsample_overlay_and_save_overlay_check_their_arguments(impl, tmp_path):
    """Heatmap and image shapes, sizes, alpha, colormap, box and path are checked before drawing."""
    heat = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"Argument `heatmaps` must have shape \(h, w\) or \(batch, h, w\). Received: heatmaps with shape \(2,\)"):
        impl.cam.upsample(np.zeros(2), 4)
    with pytest.raises(ValueError, match=r"Argument `size` must be a positive integer. Received: size=0"):
        impl.cam.upsample(heat, (0, 4))
    with pytest.raises(ValueError, match=r"Argument `alpha` must be a number in \[0, 1\]. Received: alpha=1.5"):
        impl.cam.overlay(np.zeros((4, 4)), heat, alpha=1.5)
    with pytest.raises(ValueError, match=r"Argument `colormap` must be a matplotlib colormap name .* Received: colormap='nope'"):
        impl.cam.overlay(np.zeros((4, 4)), heat, colormap="nope")
    with pytest.raises(ValueError, match=r"Argument `image` must have shape .* Received: image with shape \(4, 4, 2\)"):
        impl.cam.overlay(np.zeros((4, 4, 2)), heat)
    with pytest.raises(ValueError, match=r"Argument `heatmap` must be finite"):
        impl.cam.overlay(np.zeros((4, 4)), np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match=r"Argument `box` must be \(top, left, bottom, right\) inside the 4x4 image"):
        impl.cam.save_overlay(tmp_path / "x.png", np.zeros((4, 4)), heat, box=(0, 0, 5, 2))
    with pytest.raises(TypeError, match=r"Argument `path` must be a str or Path"):
        impl.cam.save_overlay(3, np.zeros((4, 4)), heat)


def test_make_shapes_checks_its_arguments(impl):
    """The synthetic data needs a positive count, images of at least 16 pixels and an integer seed."""
    with pytest.raises(ValueError, match=r"Argument `n` must be a positive integer. Received: n=0"):
        impl.synthetic.make_shapes(0)
    with pytest.raises(ValueError, match=r"Argument `size` must be at least 16 pixels. Received: size=8"):
        impl.synthetic.make_shapes(4, size=8)
    with pytest.raises(TypeError, match=r"Argument `seed` must be an integer. Received: seed=1.5"):
        impl.synthetic.make_shapes(4, seed=1.5)
    with pytest.raises(ValueError, match=r"Argument `seed` must be a non-negative integer. Received: seed=-1"):
        impl.synthetic.make_shapes(4, seed=-1)


def test_train_shapes_model_checks_its_seed_before_training(impl):
    """A bad seed is refused up front, not deep inside numpy or Keras."""
    with pytest.raises(TypeError, match=r"Argument `seed` must be an integer. Received: seed='0'"):
        impl.synthetic.train_shapes_model(seed="0")


def test_a_model_without_a_spatial_layer_is_refused_with_what_was_found(impl):
    """A model with no 4-D output has no CAM target: ValueError listing the layers found."""
    model = keras.Sequential([keras.Input((8,)), L.Dense(4, name="hidden"), L.Dense(2, name="out")])
    with pytest.raises(ValueError, match=r"no layer with a 4-D .* Found: hidden \(Dense, output \(None, 4\)\), out"):
        impl.cam.find_target_layer(model)


@pytest.mark.parametrize(
    "values, count",
    [
        pytest.param([np.nan], 1, id="nan"),
        pytest.param([np.inf, -np.inf], 2, id="inf"),
        pytest.param([1e39, -1e39, 2e39], 3, id="float64-beyond-float32-becomes-inf"),
    ],
)
@pytest.mark.parametrize("method", ["grad_cam", "hires_cam", "cam"])
def test_non_finite_images_are_refused_with_their_count(impl, small, values, count, method):
    """NaN in would be a NaN map out: refused, saying how many values are bad (1e39 overflows float32)."""
    images = np.zeros((2, 8, 8, 1), dtype=np.float64)
    images.flat[: len(values)] = values
    with pytest.raises(ValueError, match=rf"Argument `images` must be finite in float32. Received: {count} of 128 values NaN or infinite"):
        getattr(impl.cam, method)(small, images)


@pytest.mark.parametrize(
    "images, kind",
    [
        pytest.param(np.zeros((1, 8, 8, 1), dtype=bool), "bool", id="bool"),
        pytest.param(np.zeros((1, 8, 8, 1), dtype=np.complex64), "complex", id="complex"),
        pytest.param(np.array([np.zeros((8, 8, 1)), "x"], dtype=object), "object", id="object"),
        pytest.param([["a"]], "str", id="strings"),
    ],
)
@pytest.mark.parametrize("method", ["grad_cam", "cam"])
def test_images_that_are_not_real_numbers_are_refused(impl, small, images, kind, method):
    """Booleans, complex numbers, strings and object arrays are not images: TypeError naming the dtype."""
    with pytest.raises(TypeError, match=rf"Argument `images` must be an array of numbers .* with dtype {kind}"):
        getattr(impl.cam, method)(small, images)


@pytest.mark.parametrize("flag", ["jit_compile", "run_eagerly"])
@pytest.mark.parametrize("value", [pytest.param("no", id="str"), pytest.param(1, id="int"), pytest.param(None, id="none")])
def test_flags_must_be_bools(impl, small, flag, value):
    """jit_compile="no" would count as True: a flag that is not a bool is refused."""
    with pytest.raises(TypeError, match=rf"Argument `{flag}` must be a bool \(True or False\). Received: {flag}={value!r}"):
        impl.cam.GradCAM(small, **{flag: value})
    if flag == "jit_compile":
        with pytest.raises(TypeError, match=r"Argument `jit_compile` must be a bool"):
            impl.cam.grad_cam(small, np.zeros((1, 8, 8, 1)), jit_compile=value)


def _channels_first():
    return keras.Sequential(
        [keras.Input((1, 8, 8)), L.Conv2D(2, 3, data_format="channels_first", name="conv"),
         L.Activation("relu", name="act"), L.GlobalAveragePooling2D(data_format="channels_first", name="gap"),
         L.Dense(3, name="head")]
    )


@pytest.mark.parametrize("layer_name", ["conv", "act", None])
@pytest.mark.parametrize("method", ["grad_cam", "hires_cam"])
def test_channels_first_feature_maps_are_refused(impl, layer_name, method):
    """(batch, channels, h, w) maps would be summed over the wrong axis: refused, even after a layout-free Activation."""
    with pytest.raises(ValueError, match=r"must name a layer with channels-last feature maps .*data_format='channels_first'"):
        getattr(impl.cam, method)(_channels_first(), np.zeros((1, 1, 8, 8)), layer_name=layer_name)


def test_classic_cam_names_the_channels_first_pooling(impl):
    """cam() on a channels-first GAP -> Dense says the layout is the problem, not the head's layers."""
    with pytest.raises(ValueError, match=r"must pool channels-last feature maps for classic CAM. .* 'gap' pools data_format='channels_first'") as info:
        impl.cam.cam(_channels_first(), np.zeros((1, 1, 8, 8)))
    assert "must end in GlobalAveragePooling2D -> Dense" not in str(info.value)


def _any_size():
    return keras.Sequential(
        [keras.Input((None, None, 1)), L.Conv2D(2, 3, name="c1"), L.MaxPooling2D(), L.Conv2D(2, 1, name="c2"),
         L.GlobalAveragePooling2D(), L.Dense(3)]
    )


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("size", [2, 3])
def test_images_too_small_for_the_network_are_refused(impl, size, jit_compile):
    """A 3x3 image leaves c2 a (1, 0, 0, 2) map: an empty heatmap would be silently meaningless."""
    model = _any_size()
    with pytest.raises(ValueError, match=r"empty"):
        impl.cam.grad_cam(model, np.ones((1, size, size, 1)), jit_compile=jit_compile)
    with pytest.raises(ValueError, match=r"empty"):
        impl.cam.cam(model, np.ones((1, size, size, 1)))


def test_a_model_with_several_outputs_needs_output(impl):
    """Two outputs and no choice: ValueError listing them by name and shape; unknown names and indices too."""
    layers = nets.cnn_layers()
    model = nets.subclassed(layers, "dict")
    with pytest.raises(ValueError, match=r"Argument `output` must say which output to explain: .* returns 2 outputs \(0: 'shape' \(None, 3\), 1: 'aux' \(None, 2\)\). Received: output=None"):
        impl.cam.grad_cam(model, np.zeros((1, 12, 12, 2)))
    with pytest.raises(ValueError, match=r"Argument `output` must name one of .* Received: output='head'. Outputs: 0: 'shape'"):
        impl.cam.grad_cam(model, np.zeros((1, 12, 12, 2)), output="head")
    with pytest.raises(ValueError, match=r"Argument `output` must be an index in \[0, 1\] .* Received: output=2"):
        impl.cam.hires_cam(model, np.zeros((1, 12, 12, 2)), output=2)
    with pytest.raises(TypeError, match=r"Argument `output` must be None, an output name \(str\) or an output index \(int\). Received: output=True"):
        impl.cam.cam(model, np.zeros((1, 12, 12, 2)), output=True)
    with pytest.raises(ValueError, match=r"Argument `class_index` must be in \[0, 1\] for a model with 2 classes"):
        impl.cam.grad_cam(model, np.zeros((1, 12, 12, 2)), output="aux", class_index=2)


def test_an_output_that_is_not_class_scores_is_refused(impl):
    """output= must pick a (batch, classes) tensor, not a feature map."""
    inputs = keras.Input((8, 8, 1))
    features = L.Conv2D(2, 3, name="conv")(inputs)
    model = keras.Model(inputs, [features, L.Dense(3)(L.GlobalAveragePooling2D()(features))])
    with pytest.raises(ValueError, match=r"Argument `output` must select an output of shape \(batch, classes\). Received: output=0 with shape \(None, 6, 6, 2\)"):
        impl.cam.grad_cam(model, np.zeros((1, 8, 8, 1)), output=0)


def test_logits_that_cannot_be_found_are_refused_pointing_to_probability(impl, rng):
    """A subclass applying a softmax op (keras.ops.softmax) inside call(): score="logits" is refused, pointing to score="probability"."""
    model = nets.subclassed(nets.cnn_layers(), "inline-softmax")
    images = rng.uniform(0, 1, size=(2, 12, 12, 2)).astype("float32")
    with pytest.raises(ValueError, match=r"logits of the model's output .* cannot be found: it is made by a softmax op .* Pass score='probability'"):
        impl.cam.grad_cam(model, images)


def test_a_layer_called_twice_is_refused(impl):
    """A shared layer has two feature maps per image: which one is ambiguous, so it is refused."""
    shared = L.Conv2D(2, 3, padding="same", name="twice")
    inputs = keras.Input((8, 8, 2))
    model = keras.Model(inputs, L.Dense(2)(L.GlobalAveragePooling2D()(shared(shared(inputs)))))
    with pytest.raises(ValueError, match=r"must name a layer called once per forward pass. Received: layer_name='twice', called 2 times"):
        impl.cam.grad_cam(model, np.zeros((1, 8, 8, 2)), layer_name="twice")


# Keras warns that build() on a subclass without its own build() leaves layers unbuilt: the case under test.
@pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer:UserWarning")
def test_an_unbuilt_subclassed_model_is_refused(impl):
    """A subclass never called has no input shape (or no weights): refused with how to build it."""
    model = nets.SubclassedCNN(nets.cnn_layers())
    with pytest.raises(ValueError, match=r"must be built with a known input shape"):
        impl.cam.grad_cam(model, np.zeros((1, 12, 12, 2)))
    fresh = {k: type(v).from_config(v.get_config()) for k, v in nets.cnn_layers().items()}
    unbuilt = nets.SubclassedCNN(fresh)
    unbuilt.build((None, 12, 12, 2))
    with pytest.raises(ValueError, match=r"must be built, with weights, before it can be explained. .* unbuilt layers \['conv1'"):
        impl.cam.grad_cam(unbuilt, np.zeros((1, 12, 12, 2)))
    assert keras.ops.is_tensor(keras.ops.convert_to_tensor(0))  # the backend untouched by the refusals
