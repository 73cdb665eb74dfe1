"""Gradients for the spec's own oracles, on the Keras backend of the run (TensorFlow, JAX or torch).

    gradient(fn, [x])            d fn() / d x for a tensor or array x (an input)
    gradient(fn, variables)      d fn() / d v for Keras variables, as a training step takes them:
                                 only trainable variables are differentiated; a variable that is
                                 not trainable gets None (the optimizer never sees it)

TensorFlow: one `tf.GradientTape` around `fn()`, watching the inputs and (by default) the trainable
variables it reads. JAX: `jax.grad` of `fn()` evaluated inside a `keras.StatelessScope` in which the
trainable variables hold traced values, the way Keras' JAX trainer differentiates
`model.stateless_call`. Writes to variables inside `fn` are kept in that scope and dropped.
torch: `torch.autograd.grad` of `fn()` with respect to the inputs (made to require gradients) and
the trainable variables' tensors, as Keras' torch trainer differentiates its loss.

A trainable variable or input `fn` does not depend on gets None on TensorFlow and torch and zeros
on JAX; the spec's tests do not rely on either.
"""

import keras
import numpy as np


def backend():
    return keras.config.backend()


def gradient(fn, wrt):
    """Returns the list of gradients of the scalar `fn()` with respect to each entry of `wrt`.

    Args:
        fn: a function of no arguments returning a scalar tensor; it closes over the entries of
            `wrt` that are inputs as `wrt_input(x)` gives them (see below) and reads the variables.
        wrt: a list of `keras.Variable`s and/or `Input`s made by `wrt_input`.

    Returns:
        A list of numpy arrays (None for a variable that is not trainable), like `wrt`.
    """
    if backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            for item in wrt:
                if isinstance(item, Input):
                    tape.watch(item.value)
            value = fn()
        targets = [item.value if isinstance(item, Input) else item for item in wrt]
        grads = tape.gradient(value, targets)
        return [None if g is None else np.asarray(g) for g in grads]
    if backend() == "torch":
        return _torch_gradient(fn, wrt)
    if backend() != "jax":
        raise NotImplementedError(f"spec.gradients supports TensorFlow, JAX and torch. Received: backend {backend()!r}")
    import jax

    variables = [v for v in wrt if not isinstance(v, Input) and v.trainable]
    inputs = [item for item in wrt if isinstance(item, Input)]

    def scalar(variable_values, input_values):
        saved = [item.value for item in inputs]
        try:
            for item, value in zip(inputs, input_values):
                item.value = value
            with keras.StatelessScope(state_mapping=list(zip(variables, variable_values))):
                return fn()
        finally:
            for item, value in zip(inputs, saved):
                item.value = value

    d_variables, d_inputs = jax.grad(scalar, argnums=(0, 1))(
        [v.value for v in variables], [item.value for item in inputs]
    )
    found = {id(v): np.asarray(g) for v, g in zip(variables, d_variables)}
    found.update({id(item): np.asarray(g) for item, g in zip(inputs, d_inputs)})
    return [found.get(id(item)) for item in wrt]


def _torch_gradient(fn, wrt):
    import torch

    for item in wrt:
        if isinstance(item, Input):
            item.value = item.value.detach().requires_grad_()
    targets = [item for item in wrt if isinstance(item, Input) or item.trainable]
    with torch.enable_grad():
        value = fn()
        grads = torch.autograd.grad(value, [t.value for t in targets], allow_unused=True)
    found = {id(t): None if g is None else keras.ops.convert_to_numpy(g) for t, g in zip(targets, grads)}
    return [found.get(id(item)) for item in wrt]


class Input:
    """An input tensor to differentiate with respect to: `fn` reads it as `x.value`.

    Args:
        array: the input's values (converted to a float32 tensor of the backend).
    """

    def __init__(self, array):
        self.value = keras.ops.convert_to_tensor(np.asarray(array, dtype=np.float32))


def traces(batch_sizes):
    """How often a compiled step is traced when called on batches of these sizes.

    `tf.function` with a free batch axis traces once; `jax.jit` specialises on shapes and traces
    once per distinct batch size; on torch the step runs eagerly, its Python once per call.
    """
    if backend() == "torch":
        return len(batch_sizes)
    return 1 if backend() == "tensorflow" else len(set(batch_sizes))


def wrt_input(array):
    """An `Input` holding `array`, for `gradient(fn, [x])`."""
    return Input(array)
