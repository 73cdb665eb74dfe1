"""The paths the section-G benchmarks compare, defined once for the correctness tests and the timings.

Convolution ladder, slowest to fastest: the implementation's numpy `conv2d_reference` (explicit
sliding window) and `conv2d_im2col` (one matrix product), then TensorFlow's `tf.nn` ops run eagerly,
as a `tf.function` graph and compiled by XLA. Backward means the two gradients of a convolution:
with respect to its input (what backpropagation passes on) and to its filter (what training
updates).

Grad-CAM ladder: the implementation's compiled step (graph, XLA), a textbook eager version written
here (the Keras example's recipe, pooling per image), and the forward pass alone, compiled.
"""

import numpy as np
import tensorflow as tf

from .problems import assert_same, conv_inputs, conv_macs  # noqa: F401  (the rungs' shared problems)

TF_MODES = ("eager", "function", "xla")


# --- convolution ------------------------------------------------------------------------------


def compile_mode(fn, mode):
    """`fn` run eagerly, as a `tf.function` graph, or as an XLA-compiled `tf.function`."""
    if mode == "eager":
        return fn
    if mode == "function":
        return tf.function(fn)
    if mode == "xla":
        return tf.function(fn, jit_compile=True)
    raise ValueError(f"Argument `mode` must be one of {TF_MODES}. Received: mode={mode!r}")


def tf_forward(kind, mode):
    """TensorFlow's forward convolution (`kind` "conv" or "depthwise", stride 1, 'same')."""
    if kind == "conv":
        fn = lambda x, k: tf.nn.conv2d(x, k, strides=1, padding="SAME")  # noqa: E731
    else:
        fn = lambda x, k: tf.nn.depthwise_conv2d(x, k, strides=(1, 1, 1, 1), padding="SAME")  # noqa: E731
    return compile_mode(fn, mode)


def tf_backward(kind, wrt, mode):
    """TensorFlow's gradient of `sum(conv(x, k) * g)` with respect to `wrt` ("input" or "filter").

    Called as `f(x, k, g)`; the ops are the ones a training step runs (Conv2DBackpropInput/Filter
    and their depthwise counterparts), taken directly so no path pays for a forward pass it does
    not need.
    """
    op = {
        ("conv", "input"): tf.raw_ops.Conv2DBackpropInput,
        ("conv", "filter"): tf.raw_ops.Conv2DBackpropFilter,
        ("depthwise", "input"): tf.raw_ops.DepthwiseConv2dNativeBackpropInput,
        ("depthwise", "filter"): tf.raw_ops.DepthwiseConv2dNativeBackpropFilter,
    }[(kind, wrt)]
    same = dict(strides=[1, 1, 1, 1], padding="SAME")
    if wrt == "input":
        fn = lambda x, k, g: op(input_sizes=tf.shape(x), filter=k, out_backprop=g, **same)  # noqa: E731
    else:
        fn = lambda x, k, g: op(input=x, filter_sizes=tf.shape(k), out_backprop=g, **same)  # noqa: E731
    return compile_mode(fn, mode)


def numpy_forward(impl, path):
    """The implementation's numpy convolution: "reference" or "im2col" (stride 1, 'same')."""
    fn = {"reference": impl.conv.conv2d_reference, "im2col": impl.conv.conv2d_im2col}[path]
    return lambda x, k: fn(x, k, padding="same")


# --- Grad-CAM ---------------------------------------------------------------------------------


def textbook_grad_cam(model, layer_name):
    """Grad-CAM as tutorials write it, run eagerly: a two-output model and a GradientTape per call.

    Returns a function `images -> heatmaps (batch, h, w)`. The two-output model is built once
    (tutorials often rebuild it per call, which would only make eager look worse). The class score
    is the logit (the final Dense layer's pre-activation, recomputed from its weights); gradients
    are pooled per image (axis 1, 2: pooling over the batch too is the common bug) and each map is
    divided by its own maximum.
    """
    import keras

    head = model.layers[-1]
    grad_model = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, head.input])

    def heatmaps(images):
        with tf.GradientTape() as tape:
            features, pooled = grad_model(images, training=False)
            logits = tf.matmul(pooled, head.kernel) + head.bias
            top = tf.argmax(logits, axis=-1)
            score = tf.gather(logits, top, batch_dims=1)
        grads = tape.gradient(score, features)
        weights = tf.reduce_mean(grads, axis=(1, 2))
        maps = tf.nn.relu(tf.einsum("bijc,bc->bij", features, weights))
        peak = tf.reduce_max(maps, axis=(1, 2), keepdims=True)
        return tf.math.divide_no_nan(maps, peak).numpy()

    return heatmaps


PEER_MISSING = "tf-keras-vis is not installed (the optional peer: pip install -e '.[peers]'; the test extra installs it)"


def peer_installed():
    """Whether tf-keras-vis, the Grad-CAM peer the benchmarks compare with, can be imported."""
    import importlib.util

    return importlib.util.find_spec("tf_keras_vis") is not None


def tf_keras_vis_grad_cam(model, layer_name):
    """tf-keras-vis' Grad-CAM, set up to compute what the textbook version does.

    Like with like: the same class (the top logit, through `ReplaceToLinear`, which swaps the last
    softmax for a linear activation in a clone), the same layer (`seek_penultimate_conv_layer=False`:
    by default tf-keras-vis walks back from an activation layer to the convolution before it, which
    on Xception is before the batch normalisation and the ReLU), the map at the layer's own
    resolution (`expand_cam=False`: no resampling), divided by its maximum as the textbook does
    (tf-keras-vis' own normalisation subtracts the minimum first). Returns `images -> heatmaps`.
    """
    import keras
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    # tf-keras-vis reads `output_names`, which Keras 3 gives functional models only.
    functional = model if hasattr(model, "output_names") else keras.Model(model.inputs, model.outputs)
    explain = Gradcam(functional, model_modifier=ReplaceToLinear(), clone=True)

    def heatmaps(images):
        top = list(np.argmax(model(images, training=False), axis=-1))
        maps = np.asarray(explain(CategoricalScore(top), images, penultimate_layer=layer_name,
                                  seek_penultimate_conv_layer=False, expand_cam=False, normalize_cam=False), np.float32)
        peak = maps.max(axis=(1, 2), keepdims=True)
        return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)

    return heatmaps


def forward_only(model):
    """The model's compiled inference pass: what Grad-CAM's cost is compared with."""
    fn = tf.function(lambda x: model(x, training=False))
    return lambda images: fn(images).numpy()


