"""Which tensors to capture to explain one output of a model: feature maps, class scores, predictions.

    plan:     target layer (its one call), chosen output, squashing head -> `Plan`     decided once
    forward:  run the model's own call, recording the target's output and the head's input

The class score is the logit, not the probability. When the chosen output comes out of a
softmax/sigmoid layer (a Dense with that activation, or a Softmax/Activation layer), at any
depth, the scores are that layer's input, or for a Dense `x @ kernel + bias` recomputed with the
layer's own variables (`PreActivation`): the user's model is never changed.
"""

import collections
import numbers

import keras
import numpy as np

from .capture import intercept, probe, take
from .target import _check_model, target_call

SCORES = ("logits", "probability")
_SQUASHING = ("softmax", "sigmoid")

Plan = collections.namedtuple(
    "Plan", ["target", "target_call", "output", "head", "head_call", "head_kind", "num_classes"]
)
Plan.__doc__ = """What to capture from a model's forward pass to explain one of its outputs.

Fields:
    target: the layer whose activations are the feature maps A.
    target_call: its position in `probe(model).calls`.
    output: the chosen `capture.Output` (its `key` takes it from the model's return value).
    head: the squashing layer whose input gives the logits, or None (the output is the score).
    head_call: the head's call number (0 for its first call in a forward pass).
    head_kind: "dense" (logits = x @ kernel + bias of the head's input x), "input" (a Softmax or
        Activation layer: its input is the logits) or None.
    num_classes: the chosen output's last dimension.
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


def plan(model, layer_name=None, *, output=None, score="logits"):
    """Decides what to capture to explain `output` of `model` at `layer_name` (see `Plan`).

    The class scores are the logits whenever the chosen output comes straight out of a squashing
    layer: a Dense with `activation="softmax"` or `"sigmoid"`, a `Softmax` layer, or a softmax or
    sigmoid `Activation` layer, at any depth (a head model nested in a bigger model included). When
    the output was squashed by something else (`tf.nn.softmax` inside a subclassed `call()`, a
    `Lambda`), the logits are out of reach and `score="logits"` is refused rather than silently
    explaining probabilities.

    Args:
        model: a built `keras.Model` taking one image input.
        layer_name: str or None, the target layer (None: `find_target_layer(model)`).
        output: None (the model's only output), or the name or index of the output to explain.
        score: "logits" or "probability".

    Returns:
        A `Plan`.
    """
    _check_model(model)
    score = _check_score(score)
    chosen = select_output(model, output)
    head, head_call, head_kind = None, None, None
    if score == "logits":
        calls = probe(model).calls
        producer = calls[chosen.call] if chosen.call is not None else None
        layer = None if producer is None else producer.layer
        if isinstance(layer, keras.layers.Dense) and _activation_name(layer) in _SQUASHING:
            head_kind = "dense"
        elif isinstance(layer, keras.layers.Softmax) or (
            isinstance(layer, keras.layers.Activation) and _activation_name(layer) in _SQUASHING
        ):
            head_kind = "input"
        elif chosen.squashed:
            raise ValueError(
                f"Argument `score` is 'logits', but the logits of {_label(chosen)} of model "
                f"{model.name!r} cannot be found: it is made by a {chosen.squashed} op that no Dense, Softmax or "
                f"Activation layer applies (e.g. tf.nn.{chosen.squashed} inside call()). Pass score='probability' to "
                f"explain the {chosen.squashed} output itself, or apply the {chosen.squashed} with a layer "
                f"(Dense(activation='{chosen.squashed}') or keras.layers.Activation('{chosen.squashed}'))."
            )
        if head_kind is not None:
            head, head_call = layer, producer.index
    target, target_position = target_call(model, layer_name)  # after the refusals that need no layer
    return Plan(target, target_position, chosen, head, head_call, head_kind, chosen.shape[-1])


def _label(output):
    return "the model's output" if output.key is None else f"output {output.name or output.key!r}"


def select_output(model, output=None):
    """The `capture.Output` to explain: the only one, or the one named or numbered by `output`.

    Args:
        model: a built `keras.Model`.
        output: None, an int (position among the outputs) or a str (output name or dict key).

    Returns:
        A `capture.Output` of shape (batch, classes).
    """
    outputs = probe(model).outputs
    listing = ", ".join(f"{at}: {o.name!r} {o.shape}" for at, o in enumerate(outputs))
    if output is None:
        if len(outputs) != 1:
            raise ValueError(
                f"Argument `output` must say which output to explain: model {model.name!r} returns {len(outputs)} "
                f"outputs ({listing}). Received: output=None. Pass output=<name> or output=<index>."
            )
        chosen = outputs[0]
        if len(chosen.shape) != 2:
            raise ValueError(
                "Argument `model` must have one output of shape (batch, classes) to explain a class. "
                f"Received: model {model.name!r} with output shape(s) {[o.shape for o in outputs]}"
            )
        return chosen
    if isinstance(output, (bool, np.bool_)) or not isinstance(output, (str, numbers.Integral)):
        raise TypeError(
            f"Argument `output` must be None, an output name (str) or an output index (int). "
            f"Received: output={output!r} (of type {type(output).__name__}). Outputs: {listing}"
        )
    if isinstance(output, str):
        matches = [o for o in outputs if o.name == output or o.key == output]
        if len(matches) != 1:
            raise ValueError(
                f"Argument `output` must name one of model {model.name!r}'s outputs. Received: output={output!r}. "
                f"Outputs: {listing}"
            )
        chosen = matches[0]
    else:
        if not -len(outputs) <= output < len(outputs):
            raise ValueError(
                f"Argument `output` must be an index in [0, {len(outputs) - 1}] for model {model.name!r}. "
                f"Received: output={output!r}. Outputs: {listing}"
            )
        chosen = outputs[int(output)]
    if len(chosen.shape) != 2:
        raise ValueError(
            f"Argument `output` must select an output of shape (batch, classes). Received: output={output!r} "
            f"with shape {chosen.shape}. Outputs: {listing}"
        )
    return chosen


class CapturedForward:
    """`images -> (feature maps A, class scores, predictions)`, by running the model's own `call()`.

    The target layer's output and the squashing head's input are recorded while the model runs
    (see `capture.intercept`); nothing is rebuilt, so Sequential, Functional, nested and
    subclassed models take the same path. Called inside a compiled step it is traced once.

    With `perturb` (a tensor of the feature maps' shape) the rest of the model sees `A + perturb`
    instead of `A`: the gradient with respect to `perturb` at 0 is the gradient with respect to
    `A` (how JAX, which has no tape to watch a tensor, differentiates a layer's output).

    Args:
        model: a built `keras.Model`.
        plan: a `Plan` for it.
    """

    def __init__(self, model, plan):
        self.model = model
        self.plan = plan
        self.pre_activation = PreActivation(plan.head) if plan.head_kind == "dense" else None

    def __call__(self, images, training=False, perturb=None):
        plan, seen = self.plan, {"target": [], "head": []}

        def target(inputs, output):
            seen["target"].append(output)
            # The features are the target's first call (a shared layer's later calls are left alone).
            if perturb is not None and len(seen["target"]) == 1:
                return output + perturb
            return None

        hooks = {plan.target: target}
        if plan.head is not None:
            hooks[plan.head] = lambda inputs, output: seen["head"].append(inputs)
        with intercept(hooks):
            outputs = self.model(images, training=training)
        predictions = take(outputs, plan.output.key)
        if plan.head_kind == "dense":
            scores = self.pre_activation(seen["head"][plan.head_call])
        elif plan.head_kind == "input":
            scores = seen["head"][plan.head_call]
        else:
            scores = predictions
        return seen["target"][0], scores, predictions


def _check_score(score):
    if not isinstance(score, str) or score.lower() not in SCORES:
        raise ValueError(
            f"Argument `score` must be one of {list(SCORES)}. Received: score={score!r}. "
            "Use 'logits' (the default) unless you want to see why not to use 'probability'."
        )
    return score.lower()


