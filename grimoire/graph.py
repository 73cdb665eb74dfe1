"""Walking a Keras model: its layers (nested models included) and the graph of a functional model.

Every symbolic tensor of a functional model remembers the call that made it (the operation and
which of its calls, a node); the node knows its input tensors. Following those links backwards
from the outputs visits the whole graph. Three parts of the curriculum walk models this way: the
model description (`models.describe_graph`), the receptive field (`conv.receptive_field`) and the
class activation maps (`cam`), so the walking lives here, once.

Example:

>>> import keras
>>> inputs = keras.Input((4,), name="x")
>>> hidden = keras.layers.Dense(8, name="hidden")(inputs)
>>> model = keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))
>>> [(operation.name, [producer(t)[0].name for t in inputs]) for operation, _, inputs in walk_back(model.outputs)]
[('out', ['hidden']), ('hidden', ['x']), ('x', [])]
>>> [layer.name for _, layer in walk(model)]
['x', 'hidden', 'out']
"""

import keras


def producer(tensor):
    """The `(operation, node index)` that made a symbolic tensor: which layer, and which of its calls."""
    operation, node_index, _ = tensor._keras_history
    return operation, node_index


def inputs_of(tensor):
    """The symbolic tensors that went into the call that made `tensor` (empty for a model input)."""
    operation, node_index = producer(tensor)
    return list(operation._inbound_nodes[node_index].input_tensors)


def walk_back(outputs):
    """Yields `(operation, node index, input tensors)` once per call, from `outputs` back to the inputs.

    Args:
        outputs: symbolic tensors of a functional model (`model.outputs`).

    Returns:
        A generator; a call reached along several paths is yielded once.
    """
    seen, pending = set(), list(outputs)
    while pending:
        tensor = pending.pop()
        operation, node_index = producer(tensor)
        if (id(operation), node_index) in seen:
            continue
        seen.add((id(operation), node_index))
        inputs = inputs_of(tensor)
        yield operation, node_index, inputs
        pending += inputs


def walk(model):
    """Yields `(path, layer)` for every layer of `model` in order, descending into nested models.

    `path` is the tuple of models that contain the layer below `model` (empty for a direct child);
    a nested model is replaced by its own layers.

    Args:
        model: a built `keras.Model`.

    Returns:
        A generator of `(tuple of nested models, layer)` pairs.
    """
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            for path, inner in walk(layer):
                yield (layer, *path), inner
        else:
            yield (), layer
