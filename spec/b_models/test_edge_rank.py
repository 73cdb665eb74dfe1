"""Claim `edge-rank`: functional edges carry per-sample tensors of any rank, not only rank 1."""

import keras
import pytest

pytestmark = pytest.mark.claim("edge-rank")


def _small_cnn():
    inputs = keras.Input(shape=(12, 12, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)  # valid: 12 - 3 + 1 = 10
    x = keras.layers.MaxPooling2D(2, name="pool")(x)  # 10 / 2 = 5
    x = keras.layers.Conv2D(6, 3, activation="relu", name="conv2")(x)  # 5 - 3 + 1 = 3
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)  # one number per channel
    outputs = keras.layers.Dense(2, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs)


def test_a_convnet_graph_carries_rank_3_tensors(impl):
    """Between the convolutions the edges carry (h, w, c) tensors; after global pooling, (c,) vectors."""
    graph = impl.models.describe_graph(_small_cnn())
    shapes = {(edge.source, edge.target): tuple(edge.shape) for edge in graph.edges}
    # Expected per-sample shapes from the valid-convolution and pooling formulas.
    assert shapes == {
        ("image", "conv1"): (12, 12, 3),
        ("conv1", "pool"): (10, 10, 4),
        ("pool", "conv2"): (5, 5, 4),
        ("conv2", "gap"): (3, 3, 6),
        ("gap", "head"): (6,),
    }


def test_edge_shapes_match_the_tensors_that_actually_flow(impl, rng):
    """Each edge's shape is the per-sample shape of the tensor its source layer outputs on real data."""
    model = _small_cnn()
    x = rng.normal(size=(2, 12, 12, 3)).astype("float32")
    edges = impl.models.describe_graph(model).edges
    # One model that returns every layer's output, run once on the batch.
    names = [layer.name for layer in model.layers]
    outputs = keras.Model(model.input, [layer.output for layer in model.layers])(x)
    produced = dict(zip(names, (tuple(output.shape[1:]) for output in outputs)))
    assert len(edges) == len(names) - 1
    for edge in edges:
        assert tuple(edge.shape) == produced[edge.source], edge


def test_a_dense_net_graph_carries_rank_1_tensors(impl):
    """In a dense classifier every edge is a rank-1 per-sample vector: the case where 'rank 1' holds."""
    graph = impl.models.describe_graph(impl.models.build("functional", input_shape=(5,), hidden_units=7, num_classes=3))
    assert [tuple(edge.shape) for edge in graph.edges] == [(5,), (7,)]


def test_rank_1_edges_are_not_the_rule(impl):
    """The convnet's graph has more rank-3 edges than rank-1 ones: 'normally rank 1' is a dense-net habit."""
    ranks = [len(edge.shape) for edge in impl.models.describe_graph(_small_cnn()).edges]
    assert ranks.count(3) > ranks.count(1)
