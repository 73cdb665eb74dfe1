"""The pipeline every gradient-based CAM method shares.

    gradient model: images -> (feature maps A, class scores, predictions)     built once
    compiled step:  score_k = sum(scores * one_hot(k)); dA = d score_k / dA   one tf.function
    method:         raw map = combine(A, dA)   (Grad-CAM, HiResCAM, ... differ only here)
    heatmap:        relu(raw) / max(relu(raw)) per image, 0 where the max is 0

Why it is built the way it is:

- The class score is the logit, not the probability. When the model ends in a softmax (a Dense
  with `activation="softmax"`, or a Softmax/Activation layer) the gradient model recomputes
  `x @ kernel + bias` with the final Dense layer's own variables, so the user's model is never
  changed. A saturated softmax has a vanishing gradient; the logit's does not.
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
import tensorflow as tf

from .target import _check_model, find_target_layer, locate_layer

SCORES = ("logits", "probability")
_SQUASHING = ("softmax", "sigmoid")

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


class PreActivation(keras.layers.Layer):
    """A Dense layer's output before its activation, `x @ kernel + bias`, using that layer's variables.

    Shares the weights (it reads them at call time), so training or randomising the Dense layer
    shows up here too; the original layer is left untouched.

    Args:
        dense: the built `keras.layers.Dense` whose pre-activation to compute.
    """

    def __init__(self, dense, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense

    def call(self, x):
        y = keras.ops.matmul(x, self.dense.kernel)
        return y + self.dense.bias if self.dense.use_bias else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dense.units)


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None)


def _score_tensor(head, head_input, output, score):
    """The symbolic class scores: the final layer's pre-activation when it squashes, else the output."""
    if score == "probability":
        return output
    if isinstance(head, keras.layers.Dense) and _activation_name(head) in _SQUASHING:
        return PreActivation(head, name=f"{head.name}_logits")(head_input)
    if isinstance(head, keras.layers.Softmax) or (
        isinstance(head, keras.layers.Activation) and _activation_name(head) in _SQUASHING
    ):
        return head_input
    return output


def gradient_model(model, layer_name=None, *, score="logits"):
    """Builds the model `images -> [feature maps, class scores, predictions]`.

    It takes the original model's input and returns the target layer's activations together
    with the predictions (both are needed: the features to weight, the prediction to explain).
    The middle output is what gets differentiated: the logits when `score="logits"` and the
    model ends in a softmax/sigmoid, else the model's output itself.

    Args:
        model: a built `keras.Model` whose output is `(batch, classes)`.
        layer_name: str or None, the target layer (None: `find_target_layer(model)`). May be a
            layer inside a nested model.
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
    _check_model(model)
    score = _check_score(score)
    _check_output(model)
    path, layer = locate_layer(model, find_target_layer(model) if layer_name is None else layer_name)
    head = model.layers[-1]
    target = (*path, layer)
    output, taps = tap(model, model.inputs[0], [target, (head,)])
    scores = _score_tensor(head, taps[(head,)][0], output, score)
    return keras.Model(model.inputs[0], [taps[target][1], scores, output], name=f"{model.name}_gradient_model")


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


def _check_score(score):
    if not isinstance(score, str) or score.lower() not in SCORES:
        raise ValueError(
            f"Argument `score` must be one of {list(SCORES)}. Received: score={score!r}. "
            "Use 'logits' (the default) unless you want to see why not to use 'probability'."
        )
    return score.lower()


def _check_output(model):
    shape = tuple(model.outputs[0].shape)
    if len(model.outputs) != 1 or len(shape) != 2:
        raise ValueError(
            "Argument `model` must have one output of shape (batch, classes) to explain a class. "
            f"Received: model {model.name!r} with output shape(s) {[tuple(t.shape) for t in model.outputs]}"
        )
    return shape[1]


def check_images(model, images):
    """Returns `images` as a float32 numpy batch matching the model's input shape, or raises."""
    expected = tuple(model.inputs[0].shape)
    try:
        array = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(
            f"Argument `images` must be an array of numbers. Received: images of type {type(images).__name__}"
        ) from None
    if array.ndim != len(expected):
        hint = " Add a batch axis: images[None]." if array.ndim == len(expected) - 1 else ""
        raise ValueError(
            f"Argument `images` must have rank {len(expected)} (batch, height, width, channels) to match the "
            f"model's input {expected}. Received: images with shape {array.shape}.{hint}"
        )
    if any(want is not None and got != want for got, want in zip(array.shape[1:], expected[1:])):
        raise ValueError(
            f"Argument `images` must have shape (batch, {', '.join(str(d) for d in expected[1:])}) to match the "
            f"model's input. Received: images with shape {array.shape}. Resize the images to the model's input size."
        )
    if array.shape[0] == 0:
        raise ValueError(f"Argument `images` must hold at least one image. Received: images with shape {array.shape}")
    return array


def check_class_index(class_index, batch, num_classes):
    """Expands `class_index` (None, an int, or one per image) to an int32 vector; -1 means top class."""
    if class_index is None:
        return np.full(batch, -1, dtype=np.int32)
    array = np.asarray(class_index)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer) or array.ndim > 1:
        raise TypeError(
            "Argument `class_index` must be None, an int or a sequence of ints (one per image). "
            f"Received: class_index={class_index!r}"
        )
    if array.ndim == 1 and array.shape[0] != batch:
        raise ValueError(
            f"Argument `class_index` must hold one index per image ({batch}) or be a single int. "
            f"Received: class_index with {array.shape[0]} entries"
        )
    if np.any(array < 0) or np.any(array >= num_classes):
        raise ValueError(
            f"Argument `class_index` must be in [0, {num_classes - 1}] for a model with {num_classes} classes. "
            f"Received: class_index={class_index!r}"
        )
    return np.broadcast_to(array, (batch,)).astype(np.int32)


def normalize(maps):
    """relu(maps) / per-image max, with an all-zero map where the max is 0 (never 0/0 = NaN)."""
    positive = tf.nn.relu(maps)
    peak = tf.reduce_max(positive, axis=(1, 2), keepdims=True)
    return tf.math.divide_no_nan(positive, peak)


class GradientCAM:
    """Base pipeline of the gradient-based CAM family; subclasses define `combine`.

    Build it once per (model, layer) and call it on as many batches as you like: the step is a
    `tf.function` traced once per image size (`trace_count` says how often).

    `self.step(images, class_index)` is that function itself: float32 images, an int32 vector of
    class indices (-1 for the top class), and a dict of tensors back (`heatmaps`, `maps`,
    `weights`, `features`, `gradients`, `scores`, `class_index`). Call it directly to time the
    compiled pass without argument checks or numpy conversions.

    Args:
        model: a built `keras.Model` with output `(batch, classes)`.
        layer_name: str or None, the target layer (None: `find_target_layer(model)`).
        score: "logits" (default) or "probability".
        jit_compile: bool, compile the step with XLA.
        run_eagerly: bool, run the step as plain eager Python (the slow, textbook way).
    """

    method = None

    def __init__(self, model, *, layer_name=None, score="logits", jit_compile=False, run_eagerly=False):
        _check_model(model)
        self.score = _check_score(score)
        self.num_classes = _check_output(model)
        self.layer_name = find_target_layer(model) if layer_name is None else layer_name
        self.gradient_model = gradient_model(model, self.layer_name, score=self.score)
        self.input_spec = tuple(model.inputs[0].shape)
        self.jit_compile = bool(jit_compile)
        self.run_eagerly = bool(run_eagerly)
        self.trace_count = 0
        if self.run_eagerly:
            self.step = self._step
        else:
            signature = [
                tf.TensorSpec((None, *self.input_spec[1:]), tf.float32, name="images"),
                tf.TensorSpec((None,), tf.int32, name="class_index"),
            ]
            self.step = tf.function(self._step, input_signature=signature, jit_compile=self.jit_compile)

    def combine(self, features, gradients):
        """Returns `(maps (batch, h, w), weights (batch, channels))` from the features and their gradients."""
        raise NotImplementedError

    def _step(self, images, class_index):
        self.trace_count += 1  # runs at every trace (compiled) or every call (eager)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            # Watching the input records every op on the path, trainable weights or not.
            tape.watch(images)
            features, scores, _ = self.gradient_model(images, training=False)
            chosen = tf.where(class_index < 0, tf.argmax(scores, axis=-1, output_type=tf.int32), class_index)
            score = tf.reduce_sum(scores * tf.one_hot(chosen, tf.shape(scores)[-1], dtype=scores.dtype), axis=-1)
        # Each image's score depends on its own features only, so one gradient of the sum
        # gives every image its own gradient.
        gradients = tape.gradient(score, features)
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
            images: (batch, height, width, channels), the model's input size.
            class_index: None (top class per image), an int (every image), or one int per image.

        Returns:
            `CamResult(heatmaps, maps, weights, features, gradients, scores, class_index)`.
        """
        images = check_images(self.gradient_model, images)
        classes = check_class_index(class_index, images.shape[0], self.num_classes)
        out = self.step(tf.constant(images), tf.constant(classes))
        return CamResult(**{key: np.asarray(value) for key, value in out.items()})

    def __call__(self, images, class_index=None):
        """Heatmaps `(batch, h, w)` in [0, 1] at the feature-map resolution."""
        return self.explain(images, class_index).heatmaps

    def __repr__(self):
        mode = "eager" if self.run_eagerly else ("xla" if self.jit_compile else "compiled")
        return f"{type(self).__name__}(layer_name={self.layer_name!r}, score={self.score!r}, mode={mode!r})"


# One explainer per (model, method, layer, score, mode), dropped with the model.
_CACHE = weakref.WeakKeyDictionary()


def explainer(cls, model, *, layer_name=None, score="logits", jit_compile=False, run_eagerly=False):
    """Returns the cached `cls(model, ...)`, building it on first use."""
    _check_model(model)
    key = (cls, layer_name, _check_score(score), bool(jit_compile), bool(run_eagerly))
    per_model = _CACHE.setdefault(model, {})
    if key not in per_model:
        per_model[key] = cls(model, layer_name=layer_name, score=score, jit_compile=jit_compile, run_eagerly=run_eagerly)
    return per_model[key]
