"""Claims `params-from-shapes` and `flops-from-shapes` on every model in keras.applications.

Each model is built once, with `weights=None` (random weights: nothing is downloaded), and checked
against oracles that do not use grimoire's formulas:

- parameters: Keras' own `model.count_params()`, which sums the sizes of the created weights;
- multiply-adds: the weights themselves. A layer's weighted sums are one pass of each kernel over
  every output position, so its MACs are `output positions * kernel size` (a separable conv runs its
  depthwise and pointwise kernels both); layers without a kernel do elementwise work only.
- FLOPs, for the smallest model of each family: TensorFlow's profiler count of the conv, depthwise
  and matmul ops in the traced inference graph (tracing every model would double the run time).
  Keras runs a grouped convolution (ConvNeXt's 7x7 depthwise step is `Conv2D(groups=channels)`) in
  a nested XLA function, which the profiler does not open; the count adds those function graphs.
"""

import math
import time

import keras
import pytest
import tensorflow as tf

from . import oracles

pytestmark = pytest.mark.slow

APPLICATIONS = sorted(name for name in dir(keras.applications) if name[:1].isupper())

# The smallest model of each family: traced and counted by the profiler as well. (Xception has its
# own profiler test in test_flops_from_shapes.py.)
PROFILED = {
    "ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "InceptionV3", "MobileNet",
    "MobileNetV2", "MobileNetV3Small", "ResNet50", "ResNet50V2", "VGG16",
}

# MobileNetV3 leaves the image size open when no weights are loaded; FLOPs need a fixed one.
INPUT_SHAPES = {"MobileNetV3Small": (224, 224, 3), "MobileNetV3Large": (224, 224, 3)}

DOWNLOAD_WORDS = ("download", "url", "fetch", "http")


def _build(name):
    """The application with random weights, or a skip if even `weights=None` needs a download."""
    keras.utils.set_random_seed(0)
    try:
        return getattr(keras.applications, name)(weights=None, **({"input_shape": INPUT_SHAPES[name]} if name in INPUT_SHAPES else {}))
    except Exception as error:  # noqa: BLE001 - only a download failure or Keras' own refusal is turned into a skip
        if any(word in str(error).lower() for word in DOWNLOAD_WORDS):
            pytest.skip(f"{name}(weights=None) needs a download, and nothing downloads at test time: {error}")
        if "not available with the torch backend" in str(error):
            pytest.skip(f"Keras does not build {name} on torch: {error}")
        raise


def _profiled_flops(graph):
    """The profiler's weighted-sum FLOPs of `graph` and of the functions it calls, once per call."""
    total = oracles.graph_flops(graph, op_types=oracles.MAC_OPS)
    for op in graph.get_operations():
        if op.type in ("PartitionedCall", "StatefulPartitionedCall"):
            # A FuncGraph keeps the functions it calls by name (a private map, read-only here).
            total += _profiled_flops(graph._functions[op.get_attr("f").name].graph)
    return total


def _leaves(model):
    """The layers of a model, with nested models (ConvNeXt's stem and downsampling Sequentials) opened."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        else:
            yield layer


def _kernel_macs(layer):
    """Multiply-adds of one layer from its weights: output positions * size of each kernel it slides."""
    kernels = [getattr(layer, attr) for attr in ("kernel", "depthwise_kernel", "pointwise_kernel") if hasattr(layer, attr)]
    if not kernels:
        return 0
    positions = math.prod(layer.output.shape[1:-1])  # every axis but batch and channels (channels last)
    return positions * sum(math.prod(k.shape) for k in kernels)


# Where the oracle itself changes with the release (found by `grimoire matrix`): TensorFlow's profiler
# counts 0.59 of ConvNeXtTiny's 8.91 GFLOP on the graph older Keras builds for it.
VERSION_NOTES = {
    "ConvNeXtTiny": pytest.mark.since(keras="3.15.0", why="TensorFlow's profiler misses most of the FLOPs of older Keras' ConvNeXt graph"),
}


@pytest.mark.claim("params-from-shapes")
@pytest.mark.parametrize("name", APPLICATIONS)
def test_parameter_counts_of_every_application_match_keras(impl, name):
    """count_params equals Keras' own count (the sizes of the weights it created) on every application."""
    model = _build(name)
    assert impl.params.count_params(model) == model.count_params()


@pytest.mark.claim("flops-from-shapes")
@pytest.mark.parametrize("name", [pytest.param(n, marks=VERSION_NOTES.get(n, ())) for n in APPLICATIONS])
def test_multiply_adds_of_every_application_match_its_weights(impl, name, record_property):
    """count_macs is the sum of output positions times kernel sizes (and, per family, the profiler's FLOPs)."""
    started = time.perf_counter()
    model = _build(name)
    assert impl.flops.count_macs(model) == sum(_kernel_macs(layer) for layer in _leaves(model))
    if name in PROFILED:
        spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32)
        graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
        assert impl.flops.count_flops(model) == _profiled_flops(graph)
    record_property("seconds", round(time.perf_counter() - started, 1))
