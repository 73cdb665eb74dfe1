"""Claim `sequential-single-path`: Sequential has one input, one output and no branches."""

import keras
import pytest

pytestmark = pytest.mark.claim("sequential-single-path")


@pytest.fixture
def model(impl):
    return impl.models.build("sequential", input_shape=(5,), hidden_units=7, num_classes=3)


@pytest.mark.parametrize(
    "merge_layer",
    [
        pytest.param(lambda: keras.layers.Concatenate(), id="concatenate"),
        pytest.param(lambda: keras.layers.Add(), id="add"),
        pytest.param(lambda: keras.layers.Multiply(), id="multiply"),
    ],
)
def test_keras_refuses_a_layer_that_needs_two_inputs(model, merge_layer):
    """Adding a layer that needs a list of inputs to a Sequential model is refused by Keras."""
    # Keras' words: "... should be called on a list of [at least 1] input[s]. Received: input_shape=(None, 3)"
    with pytest.raises(ValueError, match=r"layer should be called on a list of .*input.*Received: input_shape=\(None, 3\)"):
        model.add(merge_layer())


def test_keras_refuses_a_second_input(model):
    """A Sequential model takes one input: a second keras.Input is refused."""
    with pytest.raises(ValueError, match=r"has already been configured to use input shape \(None, 5\)"):
        model.add(keras.Input((5,)))


def test_a_sequential_model_has_one_input_and_one_output(model):
    """A Sequential model has exactly one input tensor and one output tensor."""
    assert len(model.inputs) == 1
    assert len(model.outputs) == 1


def test_its_graph_is_a_chain(impl, model):
    """In a Sequential model's graph every node has at most one incoming and one outgoing edge."""
    graph = impl.models.describe_graph(model)
    sources = [edge.source for edge in graph.edges]
    targets = [edge.target for edge in graph.edges]
    assert len(set(sources)) == len(sources) and len(set(targets)) == len(targets)
    # The edges link consecutive nodes: input -> hidden -> classifier.
    assert [(edge.source, edge.target) for edge in graph.edges] == list(zip(graph.nodes, graph.nodes[1:]))
