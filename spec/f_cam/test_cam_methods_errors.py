"""Bad input to Grad-CAM++, LayerCAM and deletion/insertion: Keras-style messages naming the argument."""

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.claim("cam-errors")

L = keras.layers


@pytest.mark.parametrize("method", ["grad_cam_plus_plus", "layer_cam"])
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        pytest.param(dict(images=np.zeros((8, 8, 1))), ValueError, r"Argument `images` must have rank 4 .* Add a batch axis", id="no-batch-axis"),
        pytest.param(dict(images=np.zeros((2, 9, 8, 1))), ValueError, r"Received: images with shape \(2, 9, 8, 1\)", id="wrong-size"),
        pytest.param(dict(class_index=3), ValueError, r"Argument `class_index` must be in \[0, 2\]", id="class-out-of-range"),
        pytest.param(dict(layer_name="gap"), ValueError, r"must name a layer with a 4-D", id="non-spatial-layer"),
        pytest.param(dict(score="softmax"), ValueError, r"Argument `score` must be one of", id="unknown-score"),
    ],
)
def test_the_new_methods_refuse_what_grad_cam_refuses(impl, small, method, kwargs, error, message):
    """Same pipeline, same checks: wrong images, class index, layer or score."""
    kwargs = {"images": np.zeros((2, 8, 8, 1)), **kwargs}
    with pytest.raises(error, match=message):
        getattr(impl.cam, method)(small, **kwargs)


@pytest.mark.parametrize("function", ["deletion", "insertion", "deletion_auc", "insertion_auc"])
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        pytest.param(dict(maps=np.zeros((3, 4, 4))), ValueError, r"Argument `maps` must have shape \(batch, h, w\) with one map per image \(2\). Received: maps with shape \(3, 4, 4\)", id="maps-wrong-batch"),
        pytest.param(dict(maps=np.zeros((2, 4, 4, 1))), ValueError, r"Argument `maps` must have shape \(batch, h, w\) .* \(2, 4, 4, 1\)", id="maps-with-channel-axis"),
        pytest.param(dict(maps=np.full((2, 4, 4), np.nan)), ValueError, r"Argument `maps` must be finite: a NaN has no rank", id="maps-nan"),
        pytest.param(dict(maps=[["a"]]), TypeError, r"Argument `maps` must be array-like of numbers", id="maps-not-numbers"),
        pytest.param(dict(images=np.full((2, 8, 8, 1), np.inf)), ValueError, r"Argument `images` must be finite", id="images-inf"),
        pytest.param(dict(images=np.zeros((2, 9, 9, 1))), ValueError, r"Argument `images` must have shape \(batch, 8, 8, 1\)", id="images-wrong-size"),
        pytest.param(dict(steps=0), ValueError, r"Argument `steps` must be a positive integer. Received: steps=0", id="steps-zero"),
        pytest.param(dict(steps=65), ValueError, r"Argument `steps` must be at most the number of pixels \(64\).* Received: steps=65", id="steps-too-many"),
        pytest.param(dict(steps=2.5), TypeError, r"Argument `steps` must be an integer", id="steps-float"),
        pytest.param(dict(baseline="noise"), ValueError, r"Argument `baseline` must be one of \['blur', 'mean', 'zeros'\]. Received: baseline='noise'", id="unknown-baseline"),
        pytest.param(dict(baseline=np.zeros((2, 8, 8))), ValueError, r"Argument `baseline` must be one of .* or an array of the images' shape \(2, 8, 8, 1\). Received: baseline with shape \(2, 8, 8\)", id="baseline-wrong-shape"),
        pytest.param(dict(baseline=np.full((2, 8, 8, 1), np.nan)), ValueError, r"Argument `baseline` must be finite", id="baseline-nan"),
        pytest.param(dict(class_index=[0, 1, 2]), ValueError, r"Argument `class_index` must hold one index per image \(2\)", id="class-index-count"),
        pytest.param(dict(seed=-1), ValueError, r"Argument `seed` must be a non-negative integer", id="negative-seed"),
        pytest.param(dict(batch_size=0), ValueError, r"Argument `batch_size` must be a positive integer", id="batch-size-zero"),
    ],
)
def test_deletion_and_insertion_check_their_arguments(impl, small, function, kwargs, error, message):
    """Shapes, finiteness, steps, baseline, class index, seed and batch size are checked before the model runs."""
    kwargs = {"images": np.zeros((2, 8, 8, 1)), "maps": np.zeros((2, 4, 4)), **kwargs}
    with pytest.raises(error, match=message):
        getattr(impl.cam, function)(small, **kwargs)


def test_the_model_blind_maps_check_their_shape_and_seed(impl):
    """A shape is (h, w) or (batch, h, w) of positive ints; a seed a non-negative int."""
    with pytest.raises(ValueError, match=r"Argument `shape` must be \(h, w\) or \(batch, h, w\). Received: shape=8"):
        impl.cam.random_map(8)
    with pytest.raises(ValueError, match=r"Argument `shape` must be a positive integer. Received: shape=0"):
        impl.cam.centre_map((0, 8))
    with pytest.raises(TypeError, match=r"Argument `seed` must be an integer. Received: seed=0.5"):
        impl.cam.random_map((8, 8), seed=0.5)
    with pytest.raises(ValueError, match=r"Argument `sigma` must be a positive number of pixels. Received: sigma=0"):
        impl.cam.blurred(np.zeros((1, 8, 8, 1)), sigma=0)
    with pytest.raises(ValueError, match=r"Argument `images` must have rank 4. Received: images with shape \(8, 8\)"):
        impl.cam.blurred(np.zeros((8, 8)))


def test_a_model_that_cannot_be_scored_is_refused(impl):
    """Deletion needs one (batch, classes) output to read a class score from."""
    dense_map = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3, name="conv")])
    with pytest.raises(ValueError, match=r"one output of shape \(batch, classes\)"):
        impl.cam.deletion_auc(dense_map, np.zeros((1, 8, 8, 1)), np.zeros((1, 4, 4)))
    with pytest.raises(TypeError, match=r"Argument `model` must be a keras.Model"):
        impl.cam.insertion_auc("model", np.zeros((1, 8, 8, 1)), np.zeros((1, 4, 4)))
