"""The gradient model takes the original model's input and returns the feature maps AND the predictions."""

import keras
import numpy as np
import pytest

from spec.tolerances import ATOL_FLOAT32_DOT, ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT, RTOL_SAME_GRAPH

pytestmark = pytest.mark.claim("grad-model-same-input")

L = keras.layers


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_xception_gradient_model_shares_the_input_and_taps_block14(impl, xception):
    """On Xception: the very same input tensor; outputs (10, 10, 2048) feature maps and 1000 scores."""
    grad_model = impl.cam.gradient_model(xception)
    assert grad_model.inputs[0] is xception.inputs[0]
    shapes = [tuple(t.shape) for t in grad_model.outputs]
    assert shapes[0] == (None, 10, 10, 2048)
    assert shapes[-1] == tuple(xception.outputs[0].shape) == (None, 1000)


def test_outputs_equal_the_layer_activations_and_the_predictions(impl, shapes):
    """Features equal the layers applied one by one; predictions equal the model's; logits give them by softmax."""
    model, images = shapes.model, shapes.images[:16]
    features, logits, predictions = (keras.ops.convert_to_numpy(t) for t in impl.cam.gradient_model(model)(images))
    # Oracle: call the layers eagerly in order, no functional graph involved.
    x = images
    for name in ("conv1", "pool1", "conv2", "pool2", "features"):
        x = model.get_layer(name)(x)
    np.testing.assert_allclose(features, keras.ops.convert_to_numpy(x), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    np.testing.assert_allclose(predictions, keras.ops.convert_to_numpy(model(images)), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    kernel, bias = model.get_layer("predictions").get_weights()
    expected_logits = keras.ops.convert_to_numpy(x).astype(np.float64).mean(axis=(1, 2)) @ kernel + bias
    np.testing.assert_allclose(logits, expected_logits, rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)
    # predictions = a float32 softmax of these float32 logits: a few roundings, inside the Dense tolerance.
    np.testing.assert_allclose(_softmax(logits), predictions, atol=ATOL_FLOAT32_DOT)


def test_a_layer_inside_nested_models_is_tapped_on_the_outer_input(impl, rng):
    """A target two models deep: the gradient model still starts from the outer input and ends in its predictions."""
    inner_in = keras.Input((6, 6, 4))
    inner = keras.Model(inner_in, L.Conv2D(5, 3, activation="relu", name="target")(inner_in), name="inner")
    mid_in = keras.Input((8, 8, 3))
    middle = keras.Model(mid_in, inner(L.Conv2D(4, 3, name="stem")(mid_in)), name="middle")
    inputs = keras.Input((8, 8, 3))
    scaled = L.Rescaling(0.5, name="scale")(inputs)
    outputs = L.Dense(3, activation="softmax", name="head")(L.GlobalAveragePooling2D()(middle(scaled)))
    model = keras.Model(inputs, outputs)
    images = rng.uniform(-1, 1, size=(4, 8, 8, 3)).astype("float32")

    grad_model = impl.cam.gradient_model(model)
    features, _, predictions = (keras.ops.convert_to_numpy(t) for t in grad_model(images))
    expected = inner.get_layer("target")(middle.get_layer("stem")(model.get_layer("scale")(images)))
    assert grad_model.inputs[0] is model.inputs[0]
    np.testing.assert_allclose(features, keras.ops.convert_to_numpy(expected), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    np.testing.assert_allclose(predictions, keras.ops.convert_to_numpy(model(images)), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)


# Keras 3.15's saving converts its variables with numpy's old __array__ protocol: its warning, not ours.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_a_reloaded_model_gives_the_same_gradient_model_outputs(impl, shapes, tmp_path):
    """A saved and reloaded Sequential (its layers called in several graphs) still taps one connected graph."""
    path = tmp_path / "shapes.keras"
    shapes.model.save(path)
    reloaded = keras.models.load_model(path)
    images = shapes.images[:8]
    original = impl.cam.grad_cam_details(shapes.model, images)
    again = impl.cam.grad_cam_details(reloaded, images)
    for field in ("features", "scores", "gradients", "heatmaps"):
        np.testing.assert_allclose(getattr(again, field), getattr(original, field), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64"])
def test_integer_images_reach_the_model_unscaled_as_predict_gives_them(impl, small, rng, dtype):
    """The model gets the images it would get from predict: integer pixels as float32 with the same values, never divided by 255."""
    pixels = rng.integers(0, 256, size=(3, 8, 8, 1)).astype(dtype)
    as_float = impl.cam.grad_cam_details(small, pixels.astype("float32"), score="probability")
    as_int = impl.cam.grad_cam_details(small, pixels, score="probability")
    np.testing.assert_allclose(as_int.maps, as_float.maps, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    np.testing.assert_allclose(as_int.scores, small.predict(pixels, verbose=0), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    # Test power: the rescaled images would be another input altogether.
    rescaled = impl.cam.grad_cam_details(small, pixels / 255.0, score="probability")
    assert not np.allclose(rescaled.scores, as_int.scores, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
