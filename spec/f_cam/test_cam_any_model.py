"""Any model: Sequential, Functional, nested and subclassed versions of one network give one map."""

import keras
import numpy as np
import pytest

from spec.f_cam import nets, oracles
from spec.gradients import traces
from spec.tolerances import ATOL_NORMALISED_MAPS, ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT, RTOL_SAME_GRAPH

L = keras.layers

pytestmark = pytest.mark.claim("cam-any-model")

APIS = list(nets.BUILDERS)


@pytest.fixture
def layers():
    return nets.cnn_layers(seed=3)


@pytest.fixture
def images(rng):
    return rng.uniform(0, 1, size=(6, nets.SIZE, nets.SIZE, nets.CHANNELS)).astype("float32")


def _cam_oracle(layers, images, classes):
    """Float64 Grad-CAM of the logit on the GAP head: CAM / (H*W), from the layers called eagerly."""
    features, logits = nets.features_and_logits(layers, images)
    kernel = layers["head"].get_weights()[0]
    hw = features.shape[1] * features.shape[2]
    atol = RTOL_FLOAT32_DOT * np.einsum("bijc,ck->", np.abs(features), np.abs(kernel)) / len(images) / hw
    return oracles.gap_dense_cam(features, kernel, classes) / hw, logits, atol


@pytest.mark.parametrize("method", ["grad_cam_details", "hires_cam_details"])
def test_one_network_written_four_ways_gives_one_map(impl, layers, images, method):
    """Sequential, Functional, nested and subclassed twins (shared weights): the same target, scores and maps."""
    results = {}
    for api, build in nets.BUILDERS.items():
        model = build(layers)
        assert impl.cam.find_target_layer(model) == "conv2", api
        results[api] = getattr(impl.cam, method)(model, images)
    reference = results["functional"]
    _, logits = nets.features_and_logits(layers, images)
    classes = oracles.top_class(logits, reference.class_index, RTOL_FLOAT32_DOT)
    expected, logits, atol = _cam_oracle(layers, images, classes)
    errors = {api: float(np.abs(r.maps - reference.maps).max()) for api, r in results.items()}
    print(f"{method}: max |map - functional map| per API {errors}")
    for api, result in results.items():
        # The same layers and ops in the same order: the same-graph float32 tolerance.
        np.testing.assert_allclose(result.maps, reference.maps, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH, err_msg=api)
        np.testing.assert_allclose(result.heatmaps, reference.heatmaps, atol=ATOL_NORMALISED_MAPS, err_msg=api)
        # And each equals the float64 formula, with the logits (not the probabilities) as scores.
        np.testing.assert_allclose(result.maps, expected, rtol=RTOL_FLOAT32_DOT, atol=atol, err_msg=api)
        np.testing.assert_allclose(result.scores, logits, rtol=RTOL_FLOAT32_DOT, atol=RTOL_FLOAT32_DOT, err_msg=api)


def test_the_subclassed_model_runs_compiled_eager_and_under_xla(impl, layers, images):
    """The subclassed twin's compiled step is traced once for new images and classes, and eager, compiled and XLA maps agree."""
    model = nets.subclassed(layers)
    compiled = impl.cam.GradCAM(model)
    first = compiled.explain(images[:3], class_index=1)
    compiled.explain(images[3:], class_index=[0, 1, 2])
    assert compiled.trace_count == traces([3, len(images) - 3])
    eager = impl.cam.GradCAM(model, run_eagerly=True).explain(images[:3], class_index=1)
    xla = impl.cam.GradCAM(model, jit_compile=True).explain(images[:3], class_index=1)
    expected, _, atol = _cam_oracle(layers, images[:3], classes=np.ones(3, int))
    for result in (first, eager, xla):
        np.testing.assert_allclose(result.maps, expected, rtol=RTOL_FLOAT32_DOT, atol=atol)
    # Batched: each image's map is its own (the batch of 3 equals the images alone).
    alone = np.concatenate([compiled(image[None], class_index=1) for image in images[:3]])
    np.testing.assert_allclose(first.heatmaps, alone, atol=ATOL_NORMALISED_MAPS)


def test_the_model_is_unchanged_afterwards(impl, layers, images):
    """After explaining, no layer keeps a wrapped call, the weights are the same objects and values, predictions too."""
    model = nets.subclassed(layers)
    before = keras.ops.convert_to_numpy(model(images))
    attributes = {id(layer): set(vars(layer)) for layer in model._flatten_layers(include_self=True)}
    variables = [(v, keras.ops.convert_to_numpy(v).copy()) for v in model.weights]
    impl.cam.grad_cam(model, images)
    impl.cam.cam(model, images)
    for layer in model._flatten_layers(include_self=True):
        assert set(vars(layer)) == attributes[id(layer)], layer.name
        assert "call" not in vars(layer) and layer.call.__func__ is type(layer).call, layer.name
    assert [v for v, _ in variables] == list(model.weights)
    for variable, value in variables:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), value)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(images)), before, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)


def test_a_subclassed_model_with_several_outputs_explains_each(impl, layers, images):
    """A subclass returning (softmax, aux logits): output 0 gives the single-output map, output 1 the aux head's."""
    model = nets.subclassed(layers, "tuple")
    single = impl.cam.grad_cam_details(nets.subclassed(layers), images)
    first = impl.cam.grad_cam_details(model, images, output=0)
    np.testing.assert_allclose(first.maps, single.maps, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    aux = impl.cam.grad_cam_details(model, images, output="aux", class_index=1)
    features, logits = nets.features_and_logits(layers, images, head="aux")
    kernel = layers["aux"].get_weights()[0]
    hw = features.shape[1] * features.shape[2]
    atol = RTOL_FLOAT32_DOT * np.einsum("bijc,ck->", np.abs(features), np.abs(kernel)) / len(images) / hw
    np.testing.assert_allclose(aux.maps, oracles.gap_dense_cam(features, kernel, [1] * len(images)) / hw, atol=atol)
    np.testing.assert_allclose(aux.scores, logits, rtol=RTOL_FLOAT32_DOT, atol=RTOL_FLOAT32_DOT)
    # Test power: the two outputs' maps are different maps.
    assert np.abs(aux.maps - first.maps).max() > 100 * atol


def test_classic_cam_works_on_the_subclassed_twin(impl, layers, images):
    """cam() reads the GAP -> Dense chain from the subclass's own forward pass: CAM = Grad-CAM * (H*W)."""
    hw = 9  # conv2's 3x3 map
    for api in ("subclassed", "nested"):
        result = impl.cam.cam_details(nets.BUILDERS[api](layers), images)
        expected, _, atol = _cam_oracle(layers, images, result.class_index)
        np.testing.assert_allclose(result.maps / hw, expected, rtol=RTOL_FLOAT32_DOT, atol=atol, err_msg=api)


@pytest.mark.runs_on("tensorflow", why="the retracing warning is tf.function's")
def test_several_explainers_on_one_model_trace_once_each_without_a_retracing_warning(impl, rng):
    """Seven explainers (four methods, two layers, probabilities) on one model: one trace each, no "retracing" warning.

    TensorFlow counts traces per Python function; counted together, seven steps traced once each
    would read as one step retraced seven times.
    """
    import logging

    model = keras.Sequential([keras.Input((16, 16, 1)), L.Conv2D(4, 3, name="c1"), L.Conv2D(4, 3, name="c2"),
                              L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])
    images = rng.normal(size=(2, 16, 16, 1)).astype("float32")
    seen = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        for explain in (impl.cam.grad_cam, impl.cam.hires_cam, impl.cam.grad_cam_plus_plus, impl.cam.layer_cam):
            explain(model, images)
        for layer in ("c1", "c2"):
            impl.cam.grad_cam(model, images, layer_name=layer)
        impl.cam.grad_cam(model, images, score="probability")
    finally:
        logger.removeHandler(handler)

    steps = [impl.cam.explainer(cls, model, **options) for cls, options in [
        (impl.cam.GradCAM, {}), (impl.cam.HiResCAM, {}), (impl.cam.GradCAMPlusPlus, {}), (impl.cam.LayerCAM, {}),
        (impl.cam.GradCAM, {"layer_name": "c1"}), (impl.cam.GradCAM, {"layer_name": "c2"}), (impl.cam.GradCAM, {"score": "probability"})]]
    assert [step.trace_count for step in steps] == [1] * 7
    assert [r.getMessage() for r in seen if "retracing" in r.getMessage()] == []
