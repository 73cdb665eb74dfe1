"""The pipeline every gradient-based CAM method shares.

    plan:           target layer, chosen output, logits (plan.py)            decided once per model
    forward pass:   images -> (feature maps A, class scores, predictions)    the model's own call,
                    with A and the logits captured on the way (capture.py)
    compiled step:  score_k = sum(scores * one_hot(k)); dA = d score_k / dA   one tf.function or
                    jax.jit per explainer (gradients.py: the only backend-specific part)
    method:         raw map = combine(A, dA)   (Grad-CAM, HiResCAM, ... differ only here)
    heatmap:        relu(raw) / max(relu(raw)) per image, 0 where the max is 0

Why it is built the way it is:

- Any model: the forward pass is the model's own `call()` (Sequential, Functional, nested or
  subclassed), with the target layer's output recorded while it runs; nothing is rebuilt.
- Any output: a model returning several tensors (list, tuple, dict) is explained for the one
  named by `output=`; every method receives it through `explainer`/`details` here.
- The class score is the logit, not the probability (see plan.py): a probability's gradient
  carries the factor p(1 - p), which is exactly 0 once p rounds to 1.0, and subtracts the
  probability-weighted gradients of the other classes.
- The class is selected with a one-hot product, never with `scores[:, k]` for a tensor `k`:
  under XLA a slice index must be a compile-time constant, which would bake the class into
  the program and recompile it for every new class index.
- The step has an input signature with a free batch axis, so new images of the same size
  reuse one trace; `trace_count` counts how often Python traced it.
- Gradients are pooled per image (over height and width), and maps normalised per image, so an
  image's map does not depend on its batch mates.
"""

import collections
import weakref

import keras
import numpy as np
from keras import ops
from keras.src.models.functional import Functional

from . import gradients as backend_gradients
from .capture import adopt_input_shape, input_shape, probe
from .inputs import check_class_index, check_flag, check_image_size, check_images
# SCORES, Plan and PreActivation are re-exported: methods written against base.py find them here.
from .plan import SCORES, CapturedForward, Plan, PreActivation, _check_score, plan, select_output  # noqa: F401
from ..graph import walk
from .steps import class_score, normalize
from .target import _check_model, locate_layer

CamResult = collections.namedtuple(
    "CamResult", ["heatmaps", "maps", "weights", "features", "gradients", "scores", "class_index"]
)
CamResult.__doc__ = """What a class activation map is made of, one row per image (numpy arrays).

Fields:
    heatmaps: (batch, h, w) in [0, 1]: relu(maps) divided by its per-image maximum (0 if that is 0).
    maps: (batch, h, w) raw map before ReLU and normalisation.
    weights: (batch, channels) channel weights (Grad-CAM: gradients averaged over h and w).
    features: (batch, h, w, channels) the target layer's activations.
    gradients: (batch, h, w, channels) d score / d features (None for classic CAM).
    scores: (batch, classes) the scores differentiated (logits or probabilities).
    class_index: (batch,) int, the class explained for each image.
"""

def gradient_model(model, layer_name=None, *, output=None, score="logits"):
    """Builds the model `images -> [feature maps, class scores, predictions]`.

    It takes the original model's input and returns the target layer's activations together
    with the predictions (both are needed: the features to weight, the prediction to explain).
    The middle output is what gets differentiated: the logits when `score="logits"` and the
    output comes out of a softmax/sigmoid layer (see `plan`), else the output itself.

    A `keras.Model` needs symbolic tensors, so this works for Sequential and Functional models
    (nested ones included); the explainers use `CapturedForward`, which works for any model.

    Args:
        model: a built Sequential or Functional `keras.Model`.
        layer_name: str or None, the target layer (None: `find_target_layer(model)`). May be a
            layer inside a nested model.
        output: None (the only output), or the name or index of the output to explain.
        score: "logits" (default) or "probability".

    Returns:
        A `keras.Model` on the same input tensor, sharing the original layers (and weights).

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> [tuple(t.shape) for t in gradient_model(model).outputs]
    [(None, 6, 6, 2), (None, 3), (None, 3)]
    """
    chosen_plan = plan(model, layer_name, output=output, score=score)
    # Only a Sequential or Functional model has a graph of symbolic tensors to build a Model from.
    graph = isinstance(model, keras.Sequential) or (isinstance(model, Functional) and type(model).call is Functional.call)
    if not graph:
        raise ValueError(
            f"Argument `model` must be Sequential or Functional to build a gradient model. Received: model "
            f"{model.name!r} of type {type(model).__name__}. Use GradCAM(model), which runs any model's own call()."
        )
    producer = probe(model).calls[chosen_plan.output.call].layer
    paths = {layer: (*path, layer) for path, layer in walk(model)}
    target_path, _ = locate_layer(model, chosen_plan.target.name)
    target = (*target_path, chosen_plan.target)
    head = paths[producer]
    _, taps = tap(model, model.inputs[0], [target, head])
    head_input, predictions = taps[head]
    if chosen_plan.head_kind == "dense":
        scores = PreActivation(producer, name=f"{producer.name}_logits")(head_input)
    elif chosen_plan.head_kind == "input":
        scores = head_input
    else:
        scores = predictions
    return keras.Model(model.inputs[0], [taps[target][1], scores, predictions], name=f"{model.name}_gradient_model")


def tap(model, inputs, paths):
    """Calls `model`'s own layers on the symbolic `inputs`, recording chosen layers' inputs and outputs.

    We replay the graph rather than read `layer.output`: a layer called in several graphs (a
    reloaded Sequential, a nested model) has one output per call, and only a replay guarantees
    the tapped tensors and the predictions come from one connected graph.

    Args:
        model: a built Sequential or Functional `keras.Model`.
        inputs: a `KerasTensor` to call the model on.
        paths: layer paths to record, each a tuple `(nested model, ..., layer)` below `model`.

    Returns:
        `(output, taps)`: the model's output on `inputs`, and `taps[path] = (layer input, layer output)`.
    """
    taps = {}
    last = []

    def call(layer, *args, **kwargs):
        inner = [p[1:] for p in paths if p[0] is layer and len(p) > 1]
        if inner:
            out, inner_taps = tap(layer, args[0], inner)
            taps.update({(layer, *p): value for p, value in inner_taps.items()})
        else:
            out = layer(*args, **kwargs)
        if any(len(p) == 1 and p[0] is layer for p in paths):
            taps[(layer,)] = (args[0], out)
        last[:] = [out]
        return out

    if isinstance(model, keras.Sequential):
        for layer in model.layers:
            call(layer, last[0] if last else inputs)
    else:
        structured = [inputs] if isinstance(model.input, (list, tuple)) else inputs
        # Layers run in topological order, so the last call made is the single output's. We keep
        # that tensor rather than the clone's `outputs`: a model built on intermediate tensors
        # copies its graph, and the copy is not connected to the outer graph we are tapping.
        keras.models.clone_model(model, input_tensors=structured, clone_function=lambda layer: layer, call_function=call)
    return last[0], taps


def _check_output(model, output=None):
    """The number of classes of the output to explain (see `select_output`)."""
    return select_output(model, output).shape[-1]


class GradientCAM:
    """Base pipeline of the gradient-based CAM family; subclasses define `combine`.

    Build it once per (model, layer, output) and call it on as many batches as you like: the
    step is compiled once and reused (`trace_count` says how often Python traced it). On
    TensorFlow it is a `tf.function` with a free batch axis: one trace per image size. On JAX it
    is a `jax.jit` of the same step: one trace per batch shape, as `jax.jit` specialises on shapes.

    `self.step(images, class_index)` is that function itself: float32 images, an int32 vector of
    class indices (-1 for the top class), and a dict of tensors back (`heatmaps`, `maps`,
    `weights`, `features`, `gradients`, `scores`, `class_index`). Call it directly to time the
    compiled pass without argument checks or numpy conversions.

    Args:
        model: a built `keras.Model` (Sequential, Functional, nested or subclassed).
        layer_name: str or None, the target layer (None: `find_target_layer(model)`).
        output: None (the model's only output), or the name or index of the output to explain.
        score: "logits" (default) or "probability".
        jit_compile: bool, compile the step with XLA (on JAX every compiled step is XLA).
        run_eagerly: bool, run the step as plain eager Python (the slow, textbook way).
    """

    method = None

    def __init__(self, model, *, layer_name=None, output=None, score="logits", jit_compile=False, run_eagerly=False):
        _check_model(model)
        self.jit_compile = check_flag("jit_compile", jit_compile)
        self.run_eagerly = check_flag("run_eagerly", run_eagerly)
        self.score = _check_score(score)
        self.plan = plan(model, layer_name, output=output, score=self.score)
        self.num_classes = self.plan.num_classes
        self.layer_name = self.plan.target.name
        self.output = self.plan.output.name if self.plan.output.key is not None else None
        self.gradient_model = CapturedForward(model, self.plan)
        self.input_spec = input_shape(model)
        self.trace_count = 0
        target_shape = probe(model).calls[self.plan.target_call].shape
        self._feature_shape = None if target_shape is None else tuple(target_shape[1:])
        signature = [((None, *self.input_spec[1:]), "float32", "images"), ((None,), "int32", "class_index")]
        self.step = backend_gradients.compile_step(
            self._step, model, signature, jit_compile=self.jit_compile, run_eagerly=self.run_eagerly
        )

    def combine(self, features, gradients):
        """Returns `(maps (batch, h, w), weights (batch, channels))` from the features and their gradients."""
        raise NotImplementedError

    def _step(self, images, class_index):
        self.trace_count += 1  # runs at every trace (compiled) or every call (eager)
        images = ops.convert_to_tensor(images, dtype="float32")
        class_index = ops.convert_to_tensor(class_index, dtype="int32")
        features, gradients, scores, chosen = backend_gradients.feature_gradients(
            self.gradient_model, images, class_index, self._feature_shape, score=class_score
        )
        maps, weights = self.combine(features, gradients)
        return {
            "heatmaps": normalize(maps),
            "maps": maps,
            "weights": weights,
            "features": features,
            "gradients": gradients,
            "scores": scores,
            "class_index": chosen,
        }

    def explain(self, images, class_index=None):
        """Runs the step on a batch; returns a `CamResult` of numpy arrays.

        Args:
            images: (batch, height, width, channels), the model's input size; numbers, finite.
            class_index: None (top class per image), an int (every image), or one int per image.

        Returns:
            `CamResult(heatmaps, maps, weights, features, gradients, scores, class_index)`.
        """
        images = check_images(self.input_spec, images)
        classes = check_class_index(class_index, images.shape[0], self.num_classes)
        check_image_size(self.gradient_model.model, images.shape)  # a shape-only trace, once per image size
        return self._run(images, classes)

    def _run(self, images, classes):
        """The step on checked images and class indices, as numpy arrays."""
        out = self.step(images, classes)
        return CamResult(**{key: ops.convert_to_numpy(value) for key, value in out.items()})

    def __call__(self, images, class_index=None):
        """Heatmaps `(batch, h, w)` in [0, 1] at the feature-map resolution."""
        return self.explain(images, class_index).heatmaps

    def __repr__(self):
        mode = "eager" if self.run_eagerly else ("xla" if self.jit_compile else "compiled")
        output = "" if self.output is None else f", output={self.output!r}"
        return f"{type(self).__name__}(layer_name={self.layer_name!r}{output}, score={self.score!r}, mode={mode!r})"


# One explainer per (model, method, layer, output, score, mode), dropped with the model.
_CACHE = weakref.WeakKeyDictionary()


def explainer(cls, model, *, layer_name=None, output=None, score="logits", jit_compile=False, run_eagerly=False):
    """Returns the cached `cls(model, ...)`, building it on first use."""
    _check_model(model)
    key = (cls, layer_name, output, _check_score(score), check_flag("jit_compile", jit_compile),
           check_flag("run_eagerly", run_eagerly))
    per_model = _CACHE.setdefault(model, {})
    if key not in per_model:
        per_model[key] = cls(
            model, layer_name=layer_name, output=output, score=score, jit_compile=jit_compile, run_eagerly=run_eagerly
        )
    return per_model[key]


def details(cls, model, images, *, layer_name=None, class_index=None, output=None, score="logits", jit_compile=False):
    """The whole `CamResult` of method `cls` (a `GradientCAM` subclass) for `images`, with the cached explainer.

    Every public `*_details` function goes through here, so each method takes the same options.
    The images and the class indices are refused here, before a layer is chosen or a lesson runs.
    """
    adopt_input_shape(model, images)
    _check_model(model)
    checked = check_images(model, images)
    classes = check_class_index(class_index, checked.shape[0], _check_output(model, output))
    check_image_size(model, checked.shape)
    step = explainer(cls, model, layer_name=layer_name, output=output, score=score, jit_compile=jit_compile)
    return step._run(checked, classes)
