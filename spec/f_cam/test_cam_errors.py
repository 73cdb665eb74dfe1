"""Bad input to grimoire.cam and grimoire.synthetic: Keras-style messages naming the argument and what came in."""

import keras
import numpy as np
import pytest

L = keras.layers


@pytest.fixture(scope="module")
def small():
    return keras.Sequential(
        [keras.Input((8, 8, 1)), L.Conv2D(2, 3, name="conv"), L.GlobalAveragePooling2D(name="gap"),
         L.Dense(3, activation="softmax", name="head")]
    )


@pytest.mark.claim("cam-gradient-shapes")
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


@pytest.mark.claim("cam-gradient-shapes")
def test_non_numeric_images_are_refused(impl, small):
    """Images must be numbers."""
    with pytest.raises(TypeError, match=r"Argument `images` must be an array of numbers"):
        impl.cam.grad_cam(small, [["a"]])


@pytest.mark.claim("last-conv-layer")
def test_an_unknown_layer_name_lists_the_candidates(impl, small):
    """An unknown layer name: ValueError listing the layers with a spatial output."""
    with pytest.raises(ValueError, match=r"Argument `layer_name` must name a layer .* Received: layer_name='conv9'. .*\['conv'\]"):
        impl.cam.grad_cam(small, np.zeros((1, 8, 8, 1)), layer_name="conv9")


@pytest.mark.claim("last-conv-layer")
@pytest.mark.parametrize("name", ["gap", "head"])
def test_a_non_spatial_layer_is_refused(impl, small, name):
    """A layer whose output is not 4-D cannot give a map."""
    with pytest.raises(ValueError, match=rf"must name a layer with a 4-D .* Received: layer_name='{name}' with output shape"):
        impl.cam.grad_cam(small, np.zeros((1, 8, 8, 1)), layer_name=name)


@pytest.mark.claim("last-conv-layer")
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


@pytest.mark.claim("gradcam-class-sensitive")
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


@pytest.mark.claim("gradcam-use-logits")
def test_an_unknown_score_is_refused(impl, small):
    """The score is "logits" or "probability"."""
    with pytest.raises(ValueError, match=r"Argument `score` must be one of \['logits', 'probability'\]. Received: score='softmax'"):
        impl.cam.grad_cam(small, np.zeros((1, 8, 8, 1)), score="softmax")


@pytest.mark.claim("gradcam-equals-cam")
def test_classic_cam_refuses_heads_other_than_gap_dense(impl):
    """CAM needs GlobalAveragePooling2D -> Dense; a Flatten head is refused with a pointer to grad_cam."""
    flat = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3), L.Flatten(), L.Dense(3)])
    with pytest.raises(ValueError, match=r"must end in GlobalAveragePooling2D -> Dense .* ending in Flatten -> Dense. Use grad_cam\(\)"):
        impl.cam.cam(flat, np.zeros((1, 8, 8, 1)))
    two_dense = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3), L.GlobalAveragePooling2D(), L.Dense(4), L.Dense(3)])
    with pytest.raises(ValueError, match=r"ending in Dense -> Dense"):
        impl.cam.cam(two_dense, np.zeros((1, 8, 8, 1)))


@pytest.mark.claim("cam-gradient-shapes")
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


@pytest.mark.claim("gradcam-localizes")
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


@pytest.mark.claim("gradcam-localizes")
def test_train_shapes_model_checks_its_seed_before_training(impl):
    """A bad seed is refused up front, not deep inside numpy or Keras."""
    with pytest.raises(TypeError, match=r"Argument `seed` must be an integer. Received: seed='0'"):
        impl.synthetic.train_shapes_model(seed="0")
