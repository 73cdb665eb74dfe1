"""Any output: a model returning several tensors is explained for the output named or numbered by `output=`."""

import keras
import numpy as np
import pytest

from spec.f_cam import nets, oracles
from spec.tolerances import ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT, RTOL_SAME_GRAPH

pytestmark = pytest.mark.claim("cam-any-output")


@pytest.fixture
def layers():
    return nets.cnn_layers(seed=5)


@pytest.fixture
def images(rng):
    return rng.uniform(0, 1, size=(5, nets.SIZE, nets.SIZE, nets.CHANNELS)).astype("float32")


def _two_outputs(layers, as_dict=False):
    """A Functional model returning [softmax head, linear aux head] (or a dict of them)."""
    inputs = keras.Input((nets.SIZE, nets.SIZE, nets.CHANNELS))
    pooled = layers["gap"](nets._features(layers, inputs))
    heads = {"shape": layers["head"](pooled), "aux": layers["aux"](pooled)}
    return keras.Model(inputs, heads if as_dict else [heads["shape"], heads["aux"]], name="two_heads")


def _oracle(layers, images, head, classes):
    """Float64 CAM / (H*W) of `head` for `classes`, and that head's logits."""
    features, logits = nets.features_and_logits(layers, images, head=head)
    kernel = layers[head].get_weights()[0]
    hw = features.shape[1] * features.shape[2]
    atol = RTOL_FLOAT32_DOT * np.einsum("bijc,ck->", np.abs(features), np.abs(kernel)) / len(images) / hw
    return oracles.gap_dense_cam(features, kernel, classes) / hw, logits, atol


@pytest.mark.parametrize(
    "output, head",
    [
        pytest.param(0, "head", id="index-0"),
        pytest.param("head", "head", id="name-head"),
        pytest.param(1, "aux", id="index-1"),
        pytest.param(-1, "aux", id="index-minus-1"),
        pytest.param("aux", "aux", id="name-aux"),
    ],
)
def test_a_two_output_model_explains_the_chosen_output(impl, layers, images, output, head):
    """Each output, by name or index: its own logits and the float64 CAM of its own head; class_index within it."""
    model = _two_outputs(layers)
    classes = [1] * len(images)
    for method in ("grad_cam_details", "hires_cam_details"):
        result = getattr(impl.cam, method)(model, images, output=output, class_index=1)
        expected, logits, atol = _oracle(layers, images, head, classes)
        np.testing.assert_allclose(result.scores, logits, rtol=RTOL_FLOAT32_DOT, atol=RTOL_FLOAT32_DOT)
        np.testing.assert_allclose(result.maps, expected, rtol=RTOL_FLOAT32_DOT, atol=atol)
    # Classic CAM follows the chosen output's GAP -> Dense chain too.
    classic = impl.cam.cam_details(model, images, output=output, class_index=1)
    hw = classic.features.shape[1] * classic.features.shape[2]
    np.testing.assert_allclose(classic.maps / hw, expected, rtol=RTOL_FLOAT32_DOT, atol=atol)


def test_name_and_index_pick_the_same_output_and_differ_from_the_other(impl, layers, images):
    """output="aux" equals output=1; the two outputs' maps differ (test power); the top class is per output."""
    model = _two_outputs(layers)
    by_name = impl.cam.grad_cam_details(model, images, output="aux")
    by_index = impl.cam.grad_cam_details(model, images, output=1)
    np.testing.assert_allclose(by_name.maps, by_index.maps, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    _, aux_logits = nets.features_and_logits(layers, images, head="aux")
    oracles.top_class(aux_logits, by_name.class_index, RTOL_FLOAT32_DOT)
    other = impl.cam.grad_cam_details(model, images, output=0, class_index=by_name.class_index)
    _, _, atol = _oracle(layers, images, "aux", by_name.class_index)
    assert np.abs(other.maps - by_name.maps).max() > 100 * atol


def test_a_dict_output_model_is_explained_by_key(impl, layers, images):
    """A Functional model returning a dict: output="aux" and output="shape" give the single-output twins' maps."""
    model = _two_outputs(layers, as_dict=True)
    inputs = keras.Input((nets.SIZE, nets.SIZE, nets.CHANNELS))
    pooled = layers["gap"](nets._features(layers, inputs))
    for key in ("shape", "aux"):
        twin = keras.Model(inputs, layers["head" if key == "shape" else "aux"](pooled))
        np.testing.assert_allclose(
            impl.cam.grad_cam_details(model, images, output=key).maps,
            impl.cam.grad_cam_details(twin, images).maps,
            rtol=RTOL_SAME_GRAPH,
            atol=ATOL_SAME_GRAPH,
        )


def test_a_subclassed_dict_model_is_explained_by_key(impl, layers, images):
    """A subclass returning {"shape": softmax, "aux": logits}: each key gives its head's float64 CAM."""
    model = nets.subclassed(layers, "dict")
    for key, head in (("shape", "head"), ("aux", "aux")):
        result = impl.cam.grad_cam_details(model, images, output=key, class_index=0)
        expected, logits, atol = _oracle(layers, images, head, [0] * len(images))
        np.testing.assert_allclose(result.maps, expected, rtol=RTOL_FLOAT32_DOT, atol=atol)
        np.testing.assert_allclose(result.scores, logits, rtol=RTOL_FLOAT32_DOT, atol=RTOL_FLOAT32_DOT)


def test_a_single_output_model_needs_no_choice(impl, layers, images):
    """One output: output=None, output=0 and output=<its name> are the same map."""
    model = nets.functional(layers)
    default = impl.cam.grad_cam_details(model, images).maps
    for output in (0, "head"):
        chosen = impl.cam.grad_cam_details(model, images, output=output).maps
        np.testing.assert_allclose(chosen, default, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
