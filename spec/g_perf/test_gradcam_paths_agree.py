"""Claim bench-gradcam, the part that needs no clock.

A compiled Grad-CAM costs about one forward pass because backpropagation stops at the target
layer: of the compiled step's graph, the ops that run (those its outputs depend on) include no
gradient op of any convolution, and TensorFlow's per-op float-op statistics add up to within 0.1%
of the forward pass's. And the paths the benchmarks time give the same maps: the implementation
compiled and under XLA, and a textbook eager version, all equal an analytic float64 oracle.

Oracle for the maps: on a global-average-pooling + Dense head, d logit_k / d A[i, j, c] is
kernel[c, k] / (H * W) at every position, so Grad-CAM's channel weights are exactly that and the
map is relu(A . kernel[:, k]) / (H * W), normalised per image (numpy float64 on Keras' features).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ..tolerances import (
    ATOL_DEEP_FLOAT32_PATHS,
    ATOL_SAME_GRAPH,
    RTOL_DEEP_FLOAT32_PATHS,
    RTOL_FLOAT32_DOT,
    RTOL_ONE_FORWARD_PASS,
)
from . import ladder, oracles

pytestmark = pytest.mark.claim("bench-gradcam")

XCEPTION_TARGET = "block14_sepconv2_act"

# The gradient ops a convolution or depthwise/separable convolution leaves in a backward graph.
CONV_GRADIENT_OPS = {
    "Conv2DBackpropInput", "Conv2DBackpropFilter",
    "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter",
}


def analytic_grad_cam(model, layer_name, images, method="grad-cam"):
    """A CAM method's maps for the top logit on a GAP + Dense head, in float64, from the definition."""
    features = np.asarray(keras.Model(model.inputs[0], model.get_layer(layer_name).output)(images), np.float64)
    head = model.layers[-1]
    kernel, bias = (np.asarray(w, np.float64) for w in head.get_weights())
    logits = features.mean(axis=(1, 2)) @ kernel + bias
    return oracles.gap_head_maps(features, kernel, logits.argmax(axis=-1), method)


def _assert_maps(got, want):
    np.testing.assert_allclose(got, want, rtol=RTOL_FLOAT32_DOT, atol=10 * ATOL_SAME_GRAPH)


@pytest.fixture(scope="module")
def small_model():
    """A small random convnet with Xception's kind of head: GAP, then Dense with softmax."""
    keras.utils.set_random_seed(7)
    return keras.Sequential([
        keras.Input((20, 20, 3)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.Conv2D(16, 3, activation="relu", name="last_conv"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(5, activation="softmax"),
    ])


PEER = pytest.mark.skipif(not ladder.peer_installed(), reason=ladder.PEER_MISSING)


@pytest.mark.parametrize("path", ["compiled", "xla", "eager-textbook", pytest.param("tf-keras-vis", marks=PEER)])
def test_every_grad_cam_path_gives_the_same_maps(impl, small_model, path, rng):
    """The implementation compiled, under XLA, the textbook eager version and the peer give the analytic maps."""
    images = rng.uniform(-1, 1, (4, 20, 20, 3)).astype(np.float32)
    if path == "eager-textbook":
        got = ladder.textbook_grad_cam(small_model, "last_conv")(images)
    elif path == "tf-keras-vis":
        got = ladder.tf_keras_vis_grad_cam(small_model, "last_conv")(images)
    else:
        got = impl.cam.grad_cam(small_model, images, layer_name="last_conv", jit_compile=path == "xla")
    _assert_maps(got, analytic_grad_cam(small_model, "last_conv", images))


@pytest.mark.parametrize("method, name", [("grad-cam++", "grad_cam_plus_plus"), ("layercam", "layer_cam")])
def test_xception_cam_methods_give_their_analytic_maps(impl, xception, rng, method, name):
    """Grad-CAM++ and LayerCAM, as the benchmarks time them on Xception, give their closed-form maps."""
    images = rng.uniform(-1, 1, (2, 299, 299, 3)).astype(np.float32)
    got = getattr(impl.cam, name)(xception, images, layer_name=XCEPTION_TARGET)
    _assert_maps(got, analytic_grad_cam(xception, XCEPTION_TARGET, images, method))


def test_xception_paths_give_the_same_maps_and_predictions(impl, xception, rng):
    """On Xception (the benchmark model) the compiled maps are the analytic ones, for the forward pass's prediction."""
    images = rng.uniform(-1, 1, (2, 299, 299, 3)).astype(np.float32)
    details = impl.cam.grad_cam_details(xception, images)  # default target: the last spatial layer
    assert impl.cam.find_target_layer(xception) == XCEPTION_TARGET
    _assert_maps(details.heatmaps, analytic_grad_cam(xception, XCEPTION_TARGET, images))
    if ladder.peer_installed():  # the peer as the benchmarks time it, on the same images
        _assert_maps(ladder.tf_keras_vis_grad_cam(xception, XCEPTION_TARGET)(images), details.heatmaps)
    # The forward-only pass predicts what Grad-CAM explained: softmax of its logits.
    probabilities = ladder.forward_only(xception)(images)
    scores = tf.nn.softmax(details.scores).numpy()
    np.testing.assert_allclose(scores, probabilities, rtol=RTOL_DEEP_FLOAT32_PATHS, atol=ATOL_DEEP_FLOAT32_PATHS)


def _fixed_shape_graph(fn, *specs):
    return tf.function(fn).get_concrete_function(*specs).graph


def test_compiled_grad_cam_costs_one_forward_pass(impl, xception):
    """Backpropagation stops at the target layer: no conv gradient runs, and FLOPs equal the forward pass's."""
    step = impl.cam.GradCAM(xception, layer_name=XCEPTION_TARGET)
    images = tf.TensorSpec((1, 299, 299, 3), tf.float32)
    # The implementation's own step function, traced at a fixed batch so every shape is known.
    grad_cam_graph = _fixed_shape_graph(step.step.python_function, images, tf.TensorSpec((1,), tf.int32))
    forward_graph = _fixed_shape_graph(lambda x: xception(x, training=False), images)
    executed = oracles.executed_ops(grad_cam_graph)
    op_types = {op.type for op in executed}
    assert not op_types & CONV_GRADIENT_OPS
    assert {"Conv2D", "DepthwiseConv2dNative"} <= op_types  # the forward convs do run
    forward = oracles.graph_flops(forward_graph)
    assert oracles.ops_flops(forward_graph, forward_graph.get_operations()) == forward  # same registry
    assert oracles.ops_flops(grad_cam_graph, executed) == pytest.approx(forward, rel=RTOL_ONE_FORWARD_PASS)
