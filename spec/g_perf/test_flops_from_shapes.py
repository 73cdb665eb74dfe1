"""Claim flops-from-shapes: a layer's multiply-add count follows from its shapes and configuration.

Oracles: values derived by hand in each case below (written as the arithmetic a reader would do),
and TensorFlow's own profiler, which counts the float operations of the traced graph op by op
(`tf.compat.v1.profiler` with `ProfileOptionBuilder.float_operation()`).
"""

import keras
import pytest
import tensorflow as tf

from ..tolerances import RTOL_PROFILER_TOTAL
from . import oracles

pytestmark = pytest.mark.claim("flops-from-shapes")

# Xception's published cost: 8.36 GMAC (16.7 GFLOP) per 299x299 image.
XCEPTION_GMAC = 8.36


def _built(layer, input_shape):
    return keras.Sequential([keras.Input(input_shape), layer])


# (a factory building a fresh layer, input shape without batch, hand-derived MACs for one example):
# each test builds its own layers, none is shared between tests.
CASES = [
    pytest.param(lambda: keras.layers.Dense(32), (3,), 3 * 32, id="dense-3-to-32"),
    pytest.param(lambda: keras.layers.Dense(10), (7, 5), 7 * 5 * 10, id="dense-on-each-of-7-steps"),
    pytest.param(lambda: keras.layers.Conv2D(32, 3), (28, 28, 3), 26 * 26 * 32 * (3 * 3 * 3), id="conv-3x3-rgb-to-32"),
    pytest.param(
        lambda: keras.layers.Conv2D(8, 3, strides=2, padding="same"), (15, 15, 4), 8 * 8 * 8 * (3 * 3 * 4), id="conv-stride-2-same"
    ),
    pytest.param(lambda: keras.layers.Conv2D(16, (1, 1)), (10, 10, 64), 10 * 10 * 16 * 64, id="conv-1x1-pointwise"),
    pytest.param(lambda: keras.layers.Conv2D(6, (3, 5)), (12, 12, 2), 10 * 8 * 6 * (3 * 5 * 2), id="conv-3x5-window"),
    pytest.param(
        lambda: keras.layers.Conv2D(4, 3, dilation_rate=2), (11, 11, 3), 7 * 7 * 4 * (3 * 3 * 3), id="conv-dilated-same-taps"
    ),
    pytest.param(lambda: keras.layers.Conv2D(8, 3, groups=2), (6, 6, 4), 4 * 4 * 8 * (3 * 3 * 2), id="conv-2-groups"),
    pytest.param(lambda: keras.layers.Conv1D(5, 4), (20, 3), 17 * 5 * (4 * 3), id="conv1d"),
    pytest.param(lambda: keras.layers.Conv3D(2, 2), (4, 4, 4, 3), 3 * 3 * 3 * 2 * (2 * 2 * 2 * 3), id="conv3d"),
    pytest.param(lambda: keras.layers.Conv2DTranspose(8, 3, strides=2), (7, 7, 16), 7 * 7 * 16 * (3 * 3 * 8), id="conv-transpose"),
    pytest.param(lambda: keras.layers.DepthwiseConv2D(3), (10, 10, 6), 8 * 8 * 6 * (3 * 3), id="depthwise-3x3"),
    pytest.param(
        lambda: keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), (5, 5, 3), 5 * 5 * 6 * 9, id="depthwise-x2"
    ),
    pytest.param(
        lambda: keras.layers.SeparableConv2D(16, 3), (9, 9, 8), 7 * 7 * 8 * 9 + 7 * 7 * 8 * 16, id="separable-depthwise-plus-1x1"
    ),
    pytest.param(lambda: keras.layers.LSTM(16), (10, 8), 10 * 4 * 16 * (8 + 16), id="lstm-4-gates-10-steps"),
    pytest.param(lambda: keras.layers.GRU(4), (6, 3), 6 * 3 * 4 * (3 + 4), id="gru-3-gates"),
    pytest.param(lambda: keras.layers.BatchNormalization(), (5, 5, 3), 0, id="batchnorm-no-weighted-sums"),
    pytest.param(lambda: keras.layers.MaxPooling2D(), (6, 6, 3), 0, id="maxpool-no-weighted-sums"),
]


@pytest.mark.parametrize("make_layer, input_shape, expected", CASES)
def test_layer_macs_follow_from_shapes_and_config(impl, make_layer, input_shape, expected):
    """Each layer's multiply-add count is the hand-derived product of its shapes and config."""
    layer = make_layer()
    model = _built(layer, input_shape)
    assert impl.flops.count_macs(model) == expected
    assert impl.flops.count_macs(layer) == expected
    assert impl.flops.count_flops(model, batch_size=3) == 2 * 3 * expected


# Layers whose weighted sums TensorFlow lowers to exactly one Conv2D, DepthwiseConv2dNative or
# MatMul of the same shape. Not a dilated conv: TensorFlow runs it as SpaceToBatch + a plain conv
# on a padded grid (8x8 outputs computed for a 7x7 result here), so the profiler counts the work
# of that implementation, not of the layer.
PROFILED = ("dense-3", "conv-3x3", "conv-stride", "conv-1x1", "conv-3x5", "depthwise", "separable")


@pytest.mark.parametrize(
    "make_layer, input_shape, batch_size",
    [pytest.param(*p.values[:2], batch, id=f"{p.id}-batch-{batch}") for p in CASES if p.id.startswith(PROFILED)
     for batch in ((1, 4) if p.id.startswith("conv-stride") else (2,))],
)
def test_flops_equal_tensorflow_profiler_count(impl, make_layer, input_shape, batch_size):
    """FLOPs (2 x MACs) equal TensorFlow's profiler count of the layer's weighted-sum ops."""
    model = _built(make_layer(), input_shape)
    spec = tf.TensorSpec((batch_size, *input_shape), tf.float32)
    counted = oracles.profiler_flops(lambda x: model(x), spec, op_types=oracles.MAC_OPS)
    assert impl.flops.count_flops(model, batch_size=batch_size) == counted


def test_flops_table_rows_are_per_layer_and_sum_to_total(impl):
    """The per-layer table has one row per layer, each equal to that layer's count, summing to the total."""
    model = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3, name="c"), keras.layers.ReLU(name="r"),
         keras.layers.GlobalAveragePooling2D(name="g"), keras.layers.Dense(5, name="d")]
    )
    rows = impl.flops.flops_table(model, batch_size=2)
    assert [r["name"] for r in rows] == ["c", "r", "g", "d"]
    assert [r["macs"] for r in rows] == [2 * 14 * 14 * 8 * 27, 0, 0, 2 * 8 * 5]
    assert all(r["flops"] == 2 * r["macs"] for r in rows)
    assert sum(r["macs"] for r in rows) == impl.flops.count_macs(model, batch_size=2)


def test_xception_forward_is_about_8_36_gmac(impl, xception):
    """Xception's forward pass at 299x299 costs 8.36 GMAC (16.7 GFLOP) per image."""
    macs = impl.flops.count_macs(xception)
    assert round(macs / 1e9, 2) == XCEPTION_GMAC
    assert impl.flops.count_flops(xception, batch_size=8) == 8 * 2 * macs


@pytest.fixture(scope="module")
def xception_graph(xception):
    """Xception's inference graph for one 299x299 image, traced once for the profiler."""
    spec = tf.TensorSpec((1, 299, 299, 3), tf.float32)
    return tf.function(lambda x: xception(x, training=False)).get_concrete_function(spec).graph


def test_xception_flops_equal_profiler_weighted_sum_ops(impl, xception, xception_graph):
    """Xception's FLOPs equal, exactly, the profiler's count of its conv, depthwise and matmul ops."""
    counted = oracles.graph_flops(xception_graph, op_types=oracles.MAC_OPS)
    assert impl.flops.count_flops(xception) == counted


def test_xception_flops_agree_with_profiler_total(impl, xception, xception_graph):
    """Counting weighted sums only stays within 0.5% of the profiler's count of every float op."""
    everything = oracles.graph_flops(xception_graph)
    ours = impl.flops.count_flops(xception)
    assert ours < everything  # the rest is elementwise work we do not count
    assert ours == pytest.approx(everything, rel=RTOL_PROFILER_TOTAL)


def test_xception_table_matches_profiler_layer_by_layer(impl, xception):
    """Every Xception layer's row equals the profiler's count for that layer traced on its own."""
    rows = impl.flops.flops_table(xception)
    by_name = {layer.name: layer for layer in xception.layers}
    checked = 0
    for row in rows:
        layer = by_name[row["name"]]
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer.input, (list, tuple)):  # merge layers (Add) take a list: they have no weighted sums
            assert row["macs"] == 0
            continue
        # The layer's own Keras input shape, not the implementation's reported one.
        spec = tf.TensorSpec((1, *layer.input.shape[1:]), tf.float32)
        counted = oracles.profiler_flops(lambda x, layer=layer: layer(x), spec, op_types=oracles.MAC_OPS)
        assert row["flops"] == counted, row["name"]
        checked += counted > 0
    assert checked == 41  # 6 Conv2D, 34 SeparableConv2D and the Dense classifier
