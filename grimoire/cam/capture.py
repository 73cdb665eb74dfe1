"""Seeing inside a model while its own `call()` runs: which layers it calls, with what, in what order.

A class activation map needs the activations of one layer and the input of the last squashing
layer, for any model a user brings: Sequential, Functional, nested, or a `keras.Model` subclass
with its own `call()`. We never rebuild or re-implement the model. Instead the chosen layers'
`call` is wrapped for the duration of one forward pass of the model itself:

    with intercept({layer: record}):      # layer.call -> record(calls, inputs, output) -> output
        outputs = model(images)           # the model's own call, unchanged
                                          # finally: layer.call is the class's method again

The wrapper returns the very tensor the layer produced, so the model continues from it and a
gradient tape sees it on the path to the output. The wrapper is an instance attribute set and
deleted with `object.__setattr__`/`object.__delattr__` (no Keras attribute tracking involved),
so afterwards the model is what it was: same attributes, same layers, same weights.

`probe(model)` does this once for every layer, in a throwaway trace (no numbers are computed: a
`tf.function` on TensorFlow, `jax.make_jaxpr` on JAX, see gradients.py), and keeps what the
explainers need: each call's layer, its position among that layer's calls, its output rank and
shape, and which call produced each of the model's outputs.
"""

import collections
import contextlib
import weakref

import keras

from .. import _checks
from . import gradients

Call = collections.namedtuple("Call", ["layer", "index", "shape", "source"])
Call.__doc__ = """One layer call seen during the probe, in the order the calls finished.

Fields:
    layer: the layer called.
    index: 0 for that layer's first call in one forward pass, 1 for its second, ...
    shape: the output's shape (a tuple, None for an unknown size), or None if it was not one tensor.
    source: position in the probe's call list of the call whose output this call's input is
        (None if the input was not one recorded call's output, e.g. the model's input).
"""

Output = collections.namedtuple("Output", ["key", "name", "shape", "call", "squashed"])
Output.__doc__ = """One tensor the model returns.

Fields:
    key: how to take it from the model's return value: None (a single tensor), an int (list or
        tuple position) or a str (dict key); nested structures are flattened with `tree`.
    name: a readable name: the dict key, the Functional model's output name, or the producing layer's.
    shape: its shape (tuple).
    call: position in the probe's call list of the layer call that produced it, or None.
    squashed: "softmax" or "sigmoid" when the tensor comes straight out of that op, else None.
"""

Probe = collections.namedtuple("Probe", ["calls", "outputs", "input_shape"])


def sublayers(model):
    """Every layer `model` tracks, at any depth (nested models and layers holding layers), in tracking order."""
    # `_flatten_layers` is how Keras itself walks tracked layers (summary, weights): it descends
    # into nested models and into custom layers that hold other layers.
    return list(model._flatten_layers(include_self=False, recursive=True))


def input_shape(model):
    """The model's input shape `(None, ...)`, from its Input (Sequential, Functional) or its build shape (subclassed)."""
    try:
        inputs = model.inputs
    except AttributeError:
        inputs = None
    if inputs:
        if len(inputs) != 1:
            raise ValueError(
                f"Argument `model` must take a single image input. Received: model {model.name!r} with "
                f"{len(inputs)} inputs"
            )
        return (None, *tuple(inputs[0].shape)[1:])
    shapes = getattr(model, "_build_shapes_dict", None) or {}
    shape = shapes.get("input_shape") if len(shapes) == 1 else None
    if not isinstance(shape, (tuple, list)) or not all(d is None or isinstance(d, int) for d in shape):
        if model in _FROM_IMAGES:
            return _FROM_IMAGES[model]
        raise ValueError(
            f"Argument `model` must be built with a known input shape. Received: model {model.name!r} "
            "without inputs. Start it with keras.Input(shape), call model.build((None, h, w, c)), call "
            "the model once on a batch of images, or pass the images to the CAM function (grad_cam(model, "
            "images)), which takes the shape from them."
        )
    return (None, *tuple(shape)[1:])


# Built models that know no input shape of their own (a pretrained subclass whose weights were set
# after its own `build()`, never called on a keras.Input): the shape of the images they are explained on.
_FROM_IMAGES = weakref.WeakKeyDictionary()


def adopt_input_shape(model, images):
    """Gives a built model with no input shape of its own that of `images`, `(None, h, w, c)`.

    Nothing changes for a model that has one, or when `images` is not a batch of images (rank 4):
    the usual checks then say what is wrong. Once adopted, other images must have the same size.
    """
    if not isinstance(model, keras.Model) or not model.built or model in _FROM_IMAGES:
        return
    try:
        input_shape(model)
        return
    except ValueError:
        pass
    shape = getattr(images, "shape", None)
    shape = tuple(shape) if shape is not None else tuple(_np_shape(images))
    if len(shape) == 4 and all(isinstance(d, int) and d > 0 for d in shape[1:]):
        _FROM_IMAGES[model] = (None, *shape[1:])


def _np_shape(images):
    import numpy as np

    try:
        return np.shape(images)
    except (TypeError, ValueError):  # ragged nested lists: not images; check_images says so
        return ()


@contextlib.contextmanager
def intercept(hooks):
    """Wraps `layer.call` for each `layer: hook` while the block runs; restores every layer in `finally`.

    Each call of a wrapped layer runs its original `call` and then `hook(inputs, output)`, where
    `inputs` is the first positional argument. The call returns the original output, or what the
    hook returned if that is not None (how a gradient w.r.t. a layer's output is taken on JAX).

    Args:
        hooks: dict `{layer: hook}`.
    """
    wrapped = []
    try:
        for layer, hook in hooks.items():
            had_own = "call" in vars(layer)
            original = layer.call

            def call(*args, __original=original, __hook=hook, **kwargs):
                output = __original(*args, **kwargs)
                replaced = __hook(args[0] if args else None, output)
                return output if replaced is None else replaced

            object.__setattr__(layer, "call", call)
            wrapped.append((layer, had_own, original))
    except BaseException:
        _restore(wrapped)
        raise
    try:
        yield
    finally:
        _restore(wrapped)


def _restore(wrapped):
    for layer, had_own, original in reversed(wrapped):
        if had_own:
            object.__setattr__(layer, "call", original)
        else:
            object.__delattr__(layer, "call")


def same_tensor(a, b):
    """True when `a` and `b` are one tensor of one graph (Keras may hand the same tensor on unchanged)."""
    if a is b:
        return True
    name_a, name_b = getattr(a, "name", None), getattr(b, "name", None)
    return name_a is not None and name_a == name_b and getattr(a, "graph", None) is getattr(b, "graph", None)


def flatten_outputs(outputs):
    """`[(key, tensor), ...]` for a model's return value: one tensor, a list/tuple, or a dict."""
    if isinstance(outputs, dict):
        return [(key, outputs[key]) for key in outputs]
    if isinstance(outputs, (list, tuple)):
        return list(enumerate(outputs))
    return [(None, outputs)]


def take(outputs, key):
    """The output at `key` (None, a list/tuple position or a dict key) of a model's return value."""
    return outputs if key is None else outputs[key]


_PROBES = weakref.WeakKeyDictionary()


def probe(model):
    """Runs `model` once symbolically (a trace, no numbers) with every layer recorded.

    Cached per model: a model's structure does not change once built.

    Args:
        model: a built `keras.Model` taking one image input.

    Returns:
        `Probe(calls, outputs, input_shape)`: the `Call`s in the order they finished, the model's
        `Output`s, and its input shape.
    """
    _checks.keras_model("model", model)
    if model in _PROBES:
        return _PROBES[model]
    shape = input_shape(model)
    layers = sublayers(model)
    unbuilt = [layer.name for layer in layers if not layer.built]
    if unbuilt or not model.built:
        raise ValueError(
            f"Argument `model` must be built, with weights, before it can be explained. Received: model "
            f"{model.name!r} with unbuilt layers {unbuilt}. Call the model once on a batch of images (or train it)."
        )
    records, model_outputs, squashed, shapes = _traced_calls(model, shape, layers)
    call_shapes = shapes(lambda records, _: [output for _, _, output in records])
    output_shapes = shapes(lambda _, outputs: [tensor for _, tensor in flatten_outputs(outputs)])
    calls, counts = [], collections.Counter()
    for (layer, inputs, output), shape_ in zip(records, call_shapes):
        source = _producer(records, len(calls), inputs)
        calls.append(Call(layer, counts[layer.name, id(layer)], shape_, source))
        counts[layer.name, id(layer)] += 1
    names = _output_names(model)
    outputs = []
    for position, ((key, tensor), shape_) in enumerate(zip(flatten_outputs(model_outputs), output_shapes)):
        producer = _producer(records, len(records), tensor)
        if isinstance(key, str):
            name = key
        elif names is not None and position < len(names):
            name = names[position]
        else:
            name = records[producer][0].name if producer is not None else None
        outputs.append(Output(key, name, shape_, producer, squashed[position]))
    result = Probe(calls, outputs, shape)
    _PROBES[model] = result
    return result


def _traced_calls(model, shape, layers=None):
    """One symbolic forward pass of `model` on images of `shape` with every layer's call recorded.

    Returns:
        `(records, outputs, squashed, shapes)`: `(layer, inputs, output)` per call in the order the
        calls finished, the model's return value, `gradients.trace`'s squashing per output, and a
        function `shapes(tensors of one run) -> shapes` (None for a free axis: on torch the trace is
        two eager runs, and an axis that differs between them is free).
    """
    runs = []  # one (records, outputs) per run of `forward`: one, or two on torch

    def forward(images):
        records = []

        def hook_for(layer):
            def hook(inputs, output):
                records.append((layer, inputs, output))
                # None: the layer's output goes on unchanged

            return hook

        with intercept({layer: hook_for(layer) for layer in (sublayers(model) if layers is None else layers)}):
            outputs = model(images, training=False)
        runs.append((records, outputs))
        return [tensor for _, tensor in flatten_outputs(outputs)]

    squashed = gradients.trace(forward, shape)
    records, outputs = runs[-1]

    def shapes(pick):
        """Per entry of `pick(records, outputs)` (a list of tensors or None), its shape over every run."""
        per_run = [pick(*run) for run in runs]
        return [None if not gradients.is_tensor(tensors[0]) else gradients.merged_shape(tensors)
                for tensors in zip(*per_run)]

    return records, outputs, squashed, shapes


def empty_maps(model, shape):
    """The layers whose output has a spatial axis of size 0 on images of `shape` (a shape-only trace).

    No kernel runs: oneDNN and XLA fail on an empty window in their own words, or abort the
    process. A trace that cannot even be built for this size raises what it raised.

    Args:
        model: a built `keras.Model`.
        shape: the images' shape, `(batch, height, width, channels)`.

    Returns:
        A list of `(layer name, output shape)`, in call order; empty when every map keeps a position.
    """
    key = tuple(shape[1:])
    cached = _SIZES.setdefault(model, {})
    if key not in cached:
        records, _, _, shapes = _traced_calls(model, (None, *key))
        found = zip(records, shapes(lambda records, _: [output for _, _, output in records]))
        cached[key] = [(layer.name, s) for (layer, _, _), s in found
                       if s is not None and not isinstance(layer, keras.Model) and len(s) == 4 and 0 in s[1:3]]
    return cached[key]


_SIZES = weakref.WeakKeyDictionary()


def _producer(records, before, tensor):
    """Position of the last layer call before `before` that output `tensor` (a nested model's call
    hands on its inner layer's tensor: we name the layer, not the model), or None."""
    for position in range(before - 1, -1, -1):
        layer, _, output = records[position]
        if not isinstance(layer, keras.Model) and same_tensor(output, tensor):
            return position
    return None


def _output_names(model):
    """A Functional model's output names (its output layers' names), else None."""
    try:
        return list(model.output_names) if model.outputs else None
    except (AttributeError, TypeError, ValueError):
        return None
