"""Claim `functional-is-a-graph`: layers are nodes, tensors are edges; a layer used twice shares its weights."""

import keras
import numpy as np
import pytest

from ..tolerances import ATOL_FLOAT32_DOT, RTOL_FLOAT32_DOT

from . import oracles

pytestmark = pytest.mark.claim("functional-is-a-graph")

INPUT_DIM, SHARED_UNITS, NUM_CLASSES = 4, 6, 3


@pytest.fixture
def model(impl):
    return impl.models.build_siamese(input_dim=INPUT_DIM, shared_units=SHARED_UNITS, num_classes=NUM_CLASSES)


def _edges_from_config(model):
    """The graph as Keras serializes it: for every layer call, the (layer, shape) of each input tensor."""
    edges = []

    def walk(value, target):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            source = value["config"]["keras_history"][0]
            edges.append((source, target, tuple(value["config"]["shape"][1:])))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, target)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item, target)

    for layer in model.get_config()["layers"]:
        for node in layer["inbound_nodes"]:
            walk(node, layer["name"])
    return sorted(edges)


def test_a_functional_model_takes_several_inputs_and_gives_several_outputs(model, rng):
    """A functional model can have two inputs and two outputs, with a batch for each."""
    assert len(model.inputs) == 2 and len(model.outputs) == 2
    left, right = rng.normal(size=(2, 5, INPUT_DIM)).astype("float32")
    classes, score = (keras.ops.convert_to_numpy(y) for y in model([left, right]))
    assert classes.shape == (5, NUM_CLASSES) and score.shape == (5, 1)


def test_describe_graph_lists_layers_as_nodes_and_tensors_as_edges(impl, model):
    """describe_graph's edges (source layer, target layer, per-sample shape) are the ones Keras serializes."""
    graph = impl.models.describe_graph(model)
    assert set(graph.nodes) == {layer.name for layer in model.layers}
    assert sorted((e.source, e.target, tuple(e.shape)) for e in graph.edges) == _edges_from_config(model)
    assert graph.inputs == ["left", "right"] and graph.outputs == ["classes", "score"]


def test_a_layer_called_twice_is_one_node_with_two_incoming_edges(impl, model):
    """The shared layer is one node of the graph; both inputs flow into it."""
    graph = impl.models.describe_graph(model)
    assert graph.nodes.count("shared") == 1
    assert sorted(e.source for e in graph.edges if e.target == "shared") == ["left", "right"]
    assert [layer.name for layer in model.layers].count("shared") == 1


def test_a_shared_layer_has_one_set_of_weights(model):
    """The shared kernel and bias are single variables of the model, counted once."""
    shared = model.get_layer("shared")
    assert sum(w is shared.kernel for w in model.weights) == 1
    assert sum(w is shared.bias for w in model.weights) == 1
    # Analytic count with the shared layer once: shared + class head on 2u features + score head on u.
    u = SHARED_UNITS
    expected = (INPUT_DIM * u + u) + (2 * u * NUM_CLASSES + NUM_CLASSES) + (u * 1 + 1)
    assert model.count_params() == expected


def test_both_paths_use_the_same_variables(model, rng):
    """After new values are written to the shared layer once, both branches compute with them."""
    shared = model.get_layer("shared")
    shared.kernel.assign(rng.normal(size=(INPUT_DIM, SHARED_UNITS)).astype("float32"))
    shared.bias.assign(rng.normal(size=(SHARED_UNITS,)).astype("float32"))
    left, right = rng.normal(size=(2, 5, INPUT_DIM)).astype("float32")

    left_code = oracles.dense(left, shared, oracles.relu)
    right_code = oracles.dense(right, shared, oracles.relu)
    classes = oracles.dense(np.concatenate([left_code, right_code], axis=-1), model.get_layer("classes"), oracles.softmax)
    score = oracles.dense(left_code + right_code, model.get_layer("score"))

    got_classes, got_score = (keras.ops.convert_to_numpy(y) for y in model([left, right]))
    np.testing.assert_allclose(got_classes, classes, rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)
    np.testing.assert_allclose(got_score, score, rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)
