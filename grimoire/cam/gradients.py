"""The few things a class activation map needs from the Keras backend: traces, gradients, compiling.

Everything else in `grimoire.cam` is `keras.ops` and numpy. What differs between backends:

    trace:      run the model once without numbers      TF: tf.function concrete function
                                                        JAX: jax.make_jaxpr on symbolic shapes
                                                        torch: two small eager runs (batch 2 and
                                                             3, free sizes 83 and 89, as Keras'
                                                             own torch shape inference); an axis
                                                             that differs between them is free
    gradient:   dA = d score / d A, A = feature maps    TF: tf.GradientTape watching A
                                                        JAX: jax.grad w.r.t. a zero perturbation
                                                             D added to A (d score / d D = dA)
                                                        torch: torch.autograd.grad w.r.t. A
    compile:    one compiled step per explainer         TF: tf.function with a free batch axis
                                                        JAX: jax.jit of the step, the model's
                                                             variables passed in as arguments
                                                        torch: eager (torch.compile breaks its
                                                             graph at autograd.grad and recompiles
                                                             per shape: see compile_step)

On JAX the variables are arguments of the compiled step (read inside a `keras.StatelessScope`),
never constants captured at trace time: a model trained or randomised after its explainer was
built is explained with its current weights, as on TensorFlow.

TensorFlow is imported only on the TensorFlow backend, so `import grimoire.cam` works without it
(on JAX or torch).
"""

import functools

import keras
from keras import ops


BACKENDS = ("tensorflow", "jax", "torch")


def backend():
    """The Keras backend's name: "tensorflow", "jax", ..."""
    return keras.config.backend()


def _require_supported():
    if backend() not in BACKENDS:
        raise NotImplementedError(
            f"grimoire.cam computes gradients on the TensorFlow, JAX and torch backends. Received: KERAS_BACKEND="
            f"{backend()!r}. Set KERAS_BACKEND to one of {', '.join(BACKENDS)}."
        )


# --- tracing: the model's structure without computing numbers --------------------------------------


def trace(forward, shape):
    """Runs `forward(images)` once abstractly on images of `shape` (None: any size); no numbers computed.

    Args:
        forward: `images -> list of output tensors`; may record what it sees on the way.
        shape: the input shape, `(None, h, w, c)`.

    Returns:
        A list, one entry per tensor `forward` returned: "softmax" or "sigmoid" when the tensor
        comes straight out of that op, else None.
    """
    _require_supported()
    if backend() == "tensorflow":
        import tensorflow as tf

        found = []

        def traced(images):
            outputs = forward(images)
            found[:] = [_tf_squashed(tensor) for tensor in outputs]
            return outputs

        tf.function(traced).get_concrete_function(tf.TensorSpec(shape, tf.float32))
        return found
    if backend() == "torch":
        return _torch_trace(forward, shape)
    import jax
    from jax import export

    # One symbolic size for every unknown axis, as Keras' own JAX shape inference does; ">= 2"
    # keeps JAX from treating it as a broadcastable or squeezable 1.
    size = export.symbolic_shape("(size)", constraints=["size>=2"])[0]
    spec = jax.ShapeDtypeStruct(tuple(size if d is None else d for d in shape), "float32")

    def stateless(images):
        with keras.StatelessScope():  # a layer assigning state while traced changes nothing
            return forward(images)

    closed = jax.make_jaxpr(stateless)(spec)
    return [_jax_squashed(closed.jaxpr, var) for var in closed.jaxpr.outvars]


# Keras' torch shape inference fills a free axis with 83, then 89, and calls an axis that differs
# free; the batch takes 2, then 3, so that a trace of a large network stays cheap.
_TORCH_RUNS = ((2, 83), (3, 89))


def _torch_trace(forward, shape):
    """Two eager runs of `forward` on zeros; the squashing is read off each output's autograd node."""
    import torch

    for batch, free in _TORCH_RUNS:
        size = tuple(batch if axis == 0 and d is None else (free if d is None else d) for axis, d in enumerate(shape))
        images = ops.zeros(size, dtype="float32").requires_grad_()  # so that every output has a grad_fn
        with torch.enable_grad():
            outputs = forward(images)
    return [_torch_squashed(tensor) for tensor in outputs]


def merged_shape(tensors):
    """The shape several runs agree on: `shape_of`, with None where the runs' sizes differ."""
    shapes = [shape_of(tensor) for tensor in tensors]
    return tuple(d if all(s[axis] == d for s in shapes) else None for axis, d in enumerate(shapes[0]))


def shape_of(tensor):
    """A tensor's shape as a tuple, None for an axis of unknown (symbolic) size."""
    return tuple(d if isinstance(d, int) else None for d in tensor.shape)


def is_tensor(value):
    """Whether `value` is one tensor of the backend (traced or not)."""
    return ops.is_tensor(value)


_TF_SQUASHING = {"Softmax": "softmax", "Sigmoid": "sigmoid"}


def _tf_squashed(tensor):
    op = getattr(tensor, "op", None)
    while op is not None and op.type in ("Identity", "IdentityN") and op.inputs:
        op = op.inputs[0].op
    return None if op is None else _TF_SQUASHING.get(op.type)


_TORCH_SQUASHING = {"SoftmaxBackward0": "softmax", "SigmoidBackward0": "sigmoid"}
_TORCH_PASS_THROUGH = ("ViewBackward0", "CloneBackward0", "ToCopyBackward0", "AliasBackward0", "UnsqueezeBackward0", "SqueezeBackward0", "ExpandBackward0")


def _torch_squashed(tensor):
    node = getattr(tensor, "grad_fn", None)
    while node is not None and node.name() in _TORCH_PASS_THROUGH and node.next_functions:
        node = node.next_functions[0][0]
    return None if node is None else _TORCH_SQUASHING.get(node.name())


_JAX_PASS_THROUGH = ("copy", "copy_p", "convert_element_type", "reshape", "broadcast_in_dim", "squeeze", "expand_dims")


def _jax_squashed(jaxpr, var):
    """'sigmoid' for `logistic(x)`; 'softmax' for `exp(x) / sum(exp(x))` (how jax.nn.softmax is traced)."""
    producers = {out: eqn for eqn in jaxpr.eqns for out in eqn.outvars}

    def source(v):
        eqn = producers.get(v)
        while eqn is not None and eqn.primitive.name in _JAX_PASS_THROUGH:
            eqn = producers.get(eqn.invars[0])
        return eqn

    eqn = source(var)
    if eqn is None:
        return None
    if eqn.primitive.name == "logistic":
        return "sigmoid"
    if eqn.primitive.name == "div" and len(eqn.invars) == 2:
        numerator, denominator = source(eqn.invars[0]), source(eqn.invars[1])
        if (
            numerator is not None and numerator.primitive.name == "exp"
            and denominator is not None and denominator.primitive.name == "reduce_sum"
            and source(denominator.invars[0]) is numerator
        ):
            return "softmax"
    return None


# --- the gradient ------------------------------------------------------------------------------------


def feature_gradients(forward, images, class_index, feature_shape=None, *, score):
    """Feature maps A and `d score_k / d A`, per image, for the class `k` of each image.

    Each image's score depends on its own features only, so one gradient of the summed scores
    gives every image its own gradient (nothing is pooled over the batch here).

    Args:
        forward: `(images, perturb=None) -> (features, scores, predictions)`; with a tensor
            `perturb` (the features' shape) the target layer's output is `A + perturb` downstream.
        images: float32 tensor `(batch, h, w, c)`.
        class_index: int32 tensor `(batch,)`, -1 for the top class.
        feature_shape: the features' shape without the batch axis if known, else None.
        score: `(scores, class_index) -> (chosen, score)`, the class score to differentiate
            (`steps.class_score`).

    Returns:
        `(features, gradients, scores, chosen)`.
    """
    _require_supported()
    if backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape(watch_accessed_variables=False) as tape:
            # Watching the input records every op on the path, trainable weights or not.
            tape.watch(images)
            features, scores, _ = forward(images)
            chosen, score_k = score(scores, class_index)
        return features, tape.gradient(score_k, features), scores, chosen
    if backend() == "torch":
        return _torch_gradients(forward, images, class_index, score)
    import jax

    if feature_shape is None or None in feature_shape:
        full = jax.eval_shape(lambda x: forward(x)[0], images).shape
    else:
        full = (images.shape[0], *feature_shape)

    def total_score(perturb):
        # d total / d perturb at perturb = 0 is d score / d A: A + perturb is what the rest of the
        # model sees, and the total sums per-image scores that depend on their own image only.
        features, scores, _ = forward(images, perturb=perturb)
        chosen, score_k = score(scores, class_index)
        return ops.sum(score_k), (features, scores, chosen)

    zero = ops.zeros(full, dtype="float32")
    gradients, (features, scores, chosen) = jax.grad(total_score, has_aux=True)(zero)
    return features, gradients, scores, chosen


def _torch_gradients(forward, images, class_index, score):
    import torch

    # As TensorFlow's tape watches the input: every op from the images on is recorded, whether or
    # not the model's weights require gradients (a frozen pretrained model). The per-image scores
    # are summed, as on JAX: each image's score depends on its own features only.
    images = images.detach().requires_grad_()
    with torch.enable_grad():
        features, scores, _ = forward(images)
        chosen, score_k = score(scores, class_index)
        (gradients,) = torch.autograd.grad(ops.sum(score_k), features, allow_unused=True)
    if gradients is None:  # the score does not depend on the maps at all: d score / d A = 0
        gradients = torch.zeros_like(features)
    return features.detach(), gradients, scores.detach(), chosen


# --- compiling ---------------------------------------------------------------------------------------


def compile_step(step, model, signature, *, jit_compile=False, run_eagerly=False):
    """Compiles `step(*tensors) -> dict of tensors` once, for any batch of the given shapes.

    Args:
        step: the Python function; its tensors are as in `signature`.
        model: the `keras.Model` whose variables `step` reads.
        signature: `[(shape, dtype, name), ...]`, one per argument, None for a free axis.
        jit_compile: bool, XLA on TensorFlow (JAX always compiles with XLA; torch runs eagerly).
        run_eagerly: bool, no compiling at all: op by op, the textbook way.

    On torch the step runs eagerly, as Keras' own torch training step does by default:
    `torch.compile` breaks its graph at `torch.autograd.grad` (torch 2.13: dynamo's
    `trace_autograd_ops` is off by default; `torch._dynamo.explain` of a Grad-CAM-shaped step finds
    3 graphs and 2 breaks), so a compiled step would be pieces with Python between them.

    Returns:
        A callable taking numpy arrays or tensors, returning `step`'s dict of tensors.
    """
    _require_supported()
    if run_eagerly or backend() == "torch":
        return step
    if backend() == "tensorflow":
        import tensorflow as tf

        specs = [tf.TensorSpec(shape, dtype, name=name) for shape, dtype, name in signature]
        # TensorFlow counts traces per Python code object, so every explainer of one class (one
        # `_step` method) would share a count and warn of "retracing" after five, though each traces
        # once. A partial has no code object of its own: each step is counted by itself.
        return tf.function(functools.partial(step), input_signature=specs, jit_compile=jit_compile)
    return jax_compiled(step, model)


def jax_compiled(step, model):
    """`jax.jit(step)` with `model`'s variables passed in as arguments (never baked in as constants).

    JAX compiles once per argument shape: a new batch size is a new trace.
    """
    import jax

    variables = list(model.variables)

    def pure(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return step(*args)

    compiled = jax.jit(pure)

    def run(*args):
        return compiled([v.value for v in variables], *args)

    # `run.lower(*args)`: the program XLA compiles for these arguments (`.as_text()` prints it).
    run.lower = lambda *args: compiled.lower([v.value for v in variables], *args)
    return run


def kernel_errors():
    """The exception types a compiled step raises for an input its kernels cannot take."""
    if backend() == "tensorflow":
        import tensorflow as tf

        return (tf.errors.InvalidArgumentError,)
    if backend() == "torch":
        return (RuntimeError,)
    return (ValueError, TypeError)
