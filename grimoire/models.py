"""One classifier written three ways, a non-linear functional graph, and the three ways of merging tensors.

Keras offers three APIs for the same thing:

- **Sequential**: a Python list of layers, applied one after another (a single path).
- **Functional**: a graph; layers are the nodes, tensors are the edges. Branches, shared layers,
  several inputs and several outputs are allowed.
- **Subclassing**: a `keras.Model` subclass that writes its own `call()`; nothing is declared up front,
  so its weights exist only once it is built or called.

`build_sequential`, `build_functional` and `SubclassedClassifier` below are the same two-layer
classifier in each API; read them side by side. `build(api, ...)` picks one by name.

Example:

>>> seq = build("sequential", input_shape=(4,), hidden_units=8, num_classes=3)
>>> fun = build("functional", input_shape=(4,), hidden_units=8, num_classes=3)
>>> seq.count_params() == fun.count_params() == 4 * 8 + 8 + 8 * 3 + 3
True
"""

from typing import NamedTuple

import keras
import numpy as np

from . import _checks, arguments, graph
from ._checks import guard
from .arguments import MERGE_MODES  # noqa: F401 (the modes `merge` takes, public)

APIS = ("sequential", "functional", "subclassed")


# --- one architecture, three APIs -------------------------------------------------------------


@guard(lambda input_shape, hidden_units, num_classes, activation: arguments.classifier_sizes(input_shape, hidden_units, num_classes))
def build_sequential(input_shape, hidden_units, num_classes, activation="relu"):
    """The classifier as a Sequential model: a list of layers, applied in order."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape, name="features"),
            keras.layers.Dense(hidden_units, activation=activation, name="hidden"),
            keras.layers.Dense(num_classes, activation="softmax", name="classifier"),
        ],
        name="sequential_classifier",
    )


@guard(lambda input_shape, hidden_units, num_classes, activation: arguments.classifier_sizes(input_shape, hidden_units, num_classes))
def build_functional(input_shape, hidden_units, num_classes, activation="relu"):
    """The classifier as a Functional model: tensors wired from an input to an output."""
    inputs = keras.Input(shape=input_shape, name="features")
    hidden = keras.layers.Dense(hidden_units, activation=activation, name="hidden")(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classifier")(hidden)
    return keras.Model(inputs, outputs, name="functional_classifier")


@keras.saving.register_keras_serializable(package="grimoire")
class SubclassedClassifier(keras.Model):
    """The classifier as a subclassed Model: sub-layers made in `__init__`, wired in `call()`.

    It owns no weights until `build(input_shape)` runs or it is called on a batch: only then does
    it know the input size its first kernel needs.

    Args:
        hidden_units: width of the hidden Dense layer.
        num_classes: number of output classes (softmax probabilities).
        activation: activation of the hidden layer.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    >>> model = SubclassedClassifier(hidden_units=8, num_classes=3)
    >>> len(model.weights)
    0
    >>> _ = model(np.zeros((1, 4), dtype="float32"))
    >>> [tuple(w.shape) for w in model.weights]
    [(4, 8), (8,), (8, 3), (3,)]
    """

    @guard(lambda self, hidden_units, num_classes, activation, kwargs: {
        "hidden_units": _checks.positive_int("hidden_units", hidden_units), "num_classes": arguments.class_count(num_classes)})
    def __init__(self, hidden_units, num_classes, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        self.num_classes = num_classes
        self.activation = activation
        self.hidden = keras.layers.Dense(hidden_units, activation=activation, name="hidden")
        self.classifier = keras.layers.Dense(num_classes, activation="softmax", name="classifier")

    def build(self, input_shape):
        # Keras' default Model.build cannot see inside call(); build the sub-layers explicitly.
        self.hidden.build(input_shape)
        self.classifier.build((*input_shape[:-1], self.hidden_units))

    def call(self, inputs):
        return self.classifier(self.hidden(inputs))

    def get_config(self):
        # Saving stores this dict; loading calls SubclassedClassifier(**config).
        return {
            **super().get_config(),
            "hidden_units": self.hidden_units,
            "num_classes": self.num_classes,
            "activation": self.activation,
        }


def build_subclassed(input_shape, hidden_units, num_classes, activation="relu"):
    """The classifier as a subclassed model, built for `input_shape` so it has its weights."""
    checked = arguments.classifier_sizes(input_shape, hidden_units, num_classes)
    input_shape, hidden_units, num_classes = checked["input_shape"], checked["hidden_units"], checked["num_classes"]
    model = SubclassedClassifier(hidden_units, num_classes, activation=activation, name="subclassed_classifier")
    model.build((None, *input_shape))
    return model


_BUILDERS = {"sequential": build_sequential, "functional": build_functional, "subclassed": build_subclassed}


def build(api, *, input_shape, hidden_units, num_classes, activation="relu"):
    """Builds the same small classifier with the chosen Keras API.

    The architecture is `Dense(hidden_units, activation) -> Dense(num_classes, softmax)`, so every
    API gives `d * h + h + h * c + c` parameters for `d` input features.

    Args:
        api: `"sequential"`, `"functional"` or `"subclassed"`.
        input_shape: per-sample input shape, without the batch axis, e.g. `(4,)`.
        hidden_units: width of the hidden layer.
        num_classes: number of classes (at least 2).
        activation: activation of the hidden layer.

    Returns:
        A built `keras.Model` (its weights exist) whose layers are named `"hidden"` and `"classifier"`.

    Example:

    >>> model = build("subclassed", input_shape=(4,), hidden_units=8, num_classes=3)
    >>> model.count_params()
    67
    """
    api = _checks.one_of("api", api, APIS)
    return _BUILDERS[api](input_shape, hidden_units, num_classes, activation=activation)


def copy_weights(source, target):
    """Copies the weights of `source` into `target`, layer by layer in order.

    The two models may be written with different APIs; they must have the same weighted layers in
    the same order with the same weight shapes (layers without weights, such as `InputLayer`, are
    skipped).

    Args:
        source: a built `keras.Model` to copy from.
        target: a built `keras.Model` of the same architecture to copy into.

    Returns:
        `target`, now holding copies of `source`'s weight values.

    Example:

    >>> a = build("sequential", input_shape=(4,), hidden_units=8, num_classes=3)
    >>> b = build("subclassed", input_shape=(4,), hidden_units=8, num_classes=3)
    >>> _ = copy_weights(a, b)
    >>> x = np.ones((2, 4), dtype="float32")
    >>> bool(np.allclose(a.predict(x, verbose=0), b.predict(x, verbose=0)))
    True
    """
    source_layers = _weighted_layers("source", source)
    target_layers = _weighted_layers("target", target)
    source_shapes = [_weight_shapes(layer) for layer in source_layers]
    target_shapes = [_weight_shapes(layer) for layer in target_layers]
    if source_shapes != target_shapes:
        raise ValueError(
            "Arguments `source` and `target` must have the same architecture: the same weighted layers "
            "in the same order with the same weight shapes. Received: "
            f"source={source.name!r} with {_describe_layers(source_layers)}, "
            f"target={target.name!r} with {_describe_layers(target_layers)}."
        )
    for source_layer, target_layer in zip(source_layers, target_layers):
        target_layer.set_weights(source_layer.get_weights())
    return target


def _weighted_layers(name, model):
    _checks.keras_model(name, model)
    if not model.built or not model.weights:
        raise ValueError(
            f"Argument `{name}` has no weights yet: model {model.name!r} is not built. "
            f"Call `{name}.build(input_shape)` or call it on a batch first."
        )
    return [layer for layer in model.layers if layer.weights]


def _weight_shapes(layer):
    return [tuple(w.shape) for w in layer.weights]


def _describe_layers(layers):
    return "[" + ", ".join(f"{layer.name}: {_weight_shapes(layer)}" for layer in layers) + "]"


# --- a non-linear graph -----------------------------------------------------------------------


@guard(lambda input_dim, shared_units, num_classes: {
    "input_dim": _checks.positive_int("input_dim", input_dim),
    "shared_units": _checks.positive_int("shared_units", shared_units),
    "num_classes": arguments.class_count(num_classes),
})
def build_siamese(*, input_dim, shared_units, num_classes):
    """A functional model Sequential cannot express: two inputs, one shared layer, two outputs.

    Both inputs go through the *same* Dense layer (one set of weights, used twice). The two
    encodings are concatenated for a class head and added for a score head::

        left  -> shared --+-- concatenate -> classes (softmax, num_classes)
        right -> shared --+-- add         -> score   (linear, 1)

    Args:
        input_dim: number of features of each input.
        shared_units: width of the shared Dense layer.
        num_classes: number of classes of the first output (at least 2).

    Returns:
        A `keras.Model` with inputs `[left, right]` and outputs `[classes, score]`.

    Example:

    >>> model = build_siamese(input_dim=4, shared_units=6, num_classes=3)
    >>> [layer.name for layer in model.layers]
    ['left', 'right', 'shared', 'concatenate', 'add', 'classes', 'score']
    """
    left = keras.Input(shape=(input_dim,), name="left")
    right = keras.Input(shape=(input_dim,), name="right")
    shared = keras.layers.Dense(shared_units, activation="relu", name="shared")
    left_code, right_code = shared(left), shared(right)  # one layer object, two calls
    joined = keras.layers.Concatenate(name="concatenate")([left_code, right_code])
    summed = keras.layers.Add(name="add")([left_code, right_code])
    classes = keras.layers.Dense(num_classes, activation="softmax", name="classes")(joined)
    score = keras.layers.Dense(1, name="score")(summed)
    return keras.Model([left, right], [classes, score], name="siamese")


class Edge(NamedTuple):
    """A tensor flowing from one layer (node) to another, with its per-sample shape."""

    source: str
    target: str
    shape: tuple


class Graph(NamedTuple):
    """The nodes (layer names, in execution order) and edges of a functional model."""

    nodes: list
    edges: list
    inputs: list
    outputs: list


def describe_graph(model):
    """Lists the nodes and edges of a functional (or Sequential) model.

    Nodes are the model's operations (layers, plus any `keras.ops` call used in the graph), in the
    order Keras runs them. An edge is one tensor passed from the operation that made it to one that
    consumes it, with its per-sample shape (batch axis removed): `(d,)` in a dense net,
    `(h, w, c)` between convolutions. A layer called twice appears once as a node and receives
    one edge per call.

    Args:
        model: a functional or Sequential `keras.Model` (a subclassed model has no static graph).

    Returns:
        A `Graph(nodes, edges, inputs, outputs)`; `edges` is a list of `Edge(source, target, shape)`
        and `inputs`/`outputs` name the operations that make the model's input and output tensors.

    Example:

    >>> graph = describe_graph(build("functional", input_shape=(4,), hidden_units=8, num_classes=3))
    >>> [(e.source, e.target, e.shape) for e in graph.edges]
    [('features', 'hidden', (4,)), ('hidden', 'classifier', (8,))]
    """
    _checks.keras_model("model", model)
    try:
        # A functional view over the same layers (Sequential keeps one inside once it is built).
        operations = keras.Model(model.inputs, model.outputs).operations
    except (AttributeError, TypeError, ValueError):
        raise ValueError(
            f"Argument `model` must be a functional or Sequential model with a known input shape: "
            f"model {model.name!r} ({type(model).__name__}) has no static graph. Start it with "
            "keras.Input(...); a subclassed model's call() is plain Python, so Keras keeps no graph of it."
        ) from None
    order = {operation.name: index for index, operation in enumerate(operations)}
    edges = [
        Edge(graph.producer(tensor)[0].name, operation.name, tuple(tensor.shape[1:]))
        for operation, _, inputs in graph.walk_back(model.outputs)
        for tensor in inputs
    ]
    edges.sort(key=lambda edge: (order[edge.target], order[edge.source]))
    return Graph(
        nodes=[operation.name for operation in operations],
        edges=edges,
        inputs=[graph.producer(tensor)[0].name for tensor in model.inputs],
        outputs=[graph.producer(tensor)[0].name for tensor in model.outputs],
    )


# --- merging ----------------------------------------------------------------------------------


@guard(arguments.merge)
def merge(tensors, mode):
    """Mixes several tensors into one: end to end, elementwise sum, or along a new axis.

    All tensors are batches, batch axis first. With per-sample shapes:

    - `"concatenate"`: `(a,)` and `(b,)` give `(a + b,)`; joins on the last axis, so all other
      axes must match. No parameters.
    - `"add"`: `(d,)` and `(d,)` give `(d,)`, `out = x1 + x2 + ...`; shapes must be equal.
    - `"stack"`: `n` tensors of `(d,)` give `(n, d)`; a new axis after the batch axis; shapes must
      be equal.

    Works on symbolic tensors (`keras.Input`, to build a functional model) and on concrete arrays.

    Args:
        tensors: a list or tuple of at least two tensors, each of rank >= 2 (batch axis first).
        mode: `"concatenate"`, `"add"` or `"stack"`.

    Returns:
        The merged tensor.

    Example:

    >>> a, b = np.ones((2, 3), "float32"), np.ones((2, 5), "float32")
    >>> tuple(merge([a, b], "concatenate").shape)
    (2, 8)
    >>> tuple(merge([a, a, a], "stack").shape)
    (2, 3, 3)
    """
    if mode == "concatenate":
        return keras.layers.Concatenate(axis=-1)(list(tensors))  # joins on the last axis
    if mode == "add":
        return keras.layers.Add()(list(tensors))
    # Keras has no Stack layer; keras.ops.stack also works on symbolic tensors.
    return keras.ops.stack(list(tensors), axis=1)


