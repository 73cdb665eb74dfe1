"""Independent oracles for section G: TensorFlow's own float-op count and float64 numpy convolutions.

Nothing here imports grimoire: these are what the implementation is checked against.
"""

import numpy as np

# The graph ops that are weighted sums: TensorFlow registers a "flops" statistic of 2 x multiply-adds
# for each (tensorflow/python/ops/nn_ops.py, math_ops.py).
MAC_OPS = ("Conv2D", "DepthwiseConv2dNative", "MatMul")


def profiler_flops(fn, *input_specs, op_types=None):
    """Float operations TensorFlow's profiler counts in the graph of `fn` traced on `input_specs`.

    Args:
        fn: a callable on tensors (a layer, a model, a lambda).
        input_specs: one `tf.TensorSpec` per argument, with fully known shapes.
        op_types: graph op types to count (e.g. `MAC_OPS`); None counts every op with a statistic
            (also bias additions, normalisation, pooling, residual adds, softmax).

    Returns:
        The profiler's `total_float_ops`, an int.
    """
    import tensorflow as tf

    return graph_flops(tf.function(fn).get_concrete_function(*input_specs).graph, op_types=op_types)


def graph_flops(graph, *, op_types=None):
    """The profiler's float-op count of a traced `tf.Graph` (see `profiler_flops`)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    if op_types is not None:
        options["account_type_regexes"] = list(op_types)
    return int(model_analyzer.profile(graph, cmd="scope", options=options).total_float_ops)


def pad_same(x, kernel_size, strides):
    """Zero-pads NHWC `x` like TensorFlow's 'same' (the extra row/column goes at the end)."""
    pads = []
    for n, k, s in zip(x.shape[1:3], kernel_size, strides):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [(0, 0), *pads, (0, 0)])


def _windows(x, kernel_size, strides):
    # (batch, out_h, out_w, kh, kw, channels) views of the padded input.
    kh, kw = kernel_size
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))  # (b, H', W', c, kh, kw)
    return win[:, :: strides[0], :: strides[1]].transpose(0, 1, 2, 4, 5, 3)


def conv2d(x, kernel, *, strides=(1, 1), padding="valid"):
    """Float64 Conv2D (NHWC input, HWIO kernel): every output a dot product over its window."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    if padding == "same":
        x = pad_same(x, kernel.shape[:2], strides)
    return np.einsum("bijpqc,pqco->bijo", _windows(x, kernel.shape[:2], strides), kernel)


def conv2d_grads(x, kernel, upstream, *, strides=(1, 1), padding="valid"):
    """Float64 gradients of `sum(conv2d(x, kernel) * upstream)` with respect to `x` and `kernel`.

    The filter gradient correlates each window with the upstream value it produced; the input
    gradient scatters `upstream @ kernel^T` back onto every input position a window covered.
    """
    x, kernel, g = (np.asarray(a, np.float64) for a in (x, kernel, upstream))
    kh, kw = kernel.shape[:2]
    padded = pad_same(x, (kh, kw), strides) if padding == "same" else x
    d_kernel = np.einsum("bijpqc,bijo->pqco", _windows(padded, (kh, kw), strides), g)
    d_padded = np.zeros_like(padded)
    oh, ow = g.shape[1:3]
    for p in range(kh):
        for q in range(kw):
            d_padded[:, p : p + strides[0] * oh : strides[0], q : q + strides[1] * ow : strides[1]] += g @ kernel[p, q].T
    if padding == "same":
        top, left = [(d_padded.shape[a] - x.shape[a]) // 2 for a in (1, 2)]
        d_padded = d_padded[:, top : top + x.shape[1], left : left + x.shape[2]]
    return d_padded, d_kernel


def depthwise_conv2d(x, kernel, *, strides=(1, 1), padding="valid"):
    """Float64 depthwise conv (kernel `(kh, kw, channels, 1)`): each channel with its own window."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    if padding == "same":
        x = pad_same(x, kernel.shape[:2], strides)
    return np.einsum("bijpqc,pqc->bijc", _windows(x, kernel.shape[:2], strides), kernel[..., 0])


def depthwise_conv2d_grads(x, kernel, upstream, *, strides=(1, 1), padding="valid"):
    """Float64 gradients of `sum(depthwise_conv2d(x, kernel) * upstream)` for `x` and `kernel`."""
    x, kernel, g = (np.asarray(a, np.float64) for a in (x, kernel, upstream))
    kh, kw = kernel.shape[:2]
    padded = pad_same(x, (kh, kw), strides) if padding == "same" else x
    d_kernel = np.einsum("bijpqc,bijc->pqc", _windows(padded, (kh, kw), strides), g)[..., None]
    d_padded = np.zeros_like(padded)
    oh, ow = g.shape[1:3]
    for p in range(kh):
        for q in range(kw):
            d_padded[:, p : p + strides[0] * oh : strides[0], q : q + strides[1] * ow : strides[1]] += g * kernel[p, q, :, 0]
    if padding == "same":
        top, left = [(d_padded.shape[a] - x.shape[a]) // 2 for a in (1, 2)]
        d_padded = d_padded[:, top : top + x.shape[1], left : left + x.shape[2]]
    return d_padded, d_kernel


def executed_ops(graph):
    """The ops of a traced function graph that its outputs depend on.

    Before running a function TensorFlow prunes every op no output needs (the function runtime's
    `PruneFunctionBody`), so these are the ops that execute. A GradientTape traced in a function
    may leave dead gradient ops behind; they cost nothing at run time and are not counted here.
    """
    import tensorflow as tf

    graph_def = graph.as_graph_def()
    kept = tf.compat.v1.graph_util.extract_sub_graph(graph_def, [t.op.name for t in graph.outputs])
    names = {node.name for node in kept.node}
    return [op for op in graph.get_operations() if op.name in names]


def ops_flops(graph, ops):
    """Float operations of `ops` (ops of `graph`) from TensorFlow's statistics registry, the same
    per-op "flops" statistic the profiler sums."""
    from tensorflow.python.framework import ops as tf_ops

    total = 0
    for op in ops:
        try:
            value = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value
        except ValueError:  # an op whose statistic needs shapes the graph does not know
            value = None
        total += int(value or 0)
    return total


# --- CAM maps on a global-average-pooling + Dense head -----------------------------------------------


def gap_head_maps(features, kernel, top, method):
    """Float64 CAM maps from the definition on a GAP + Dense head, normalised per image by their maximum.

    On such a head d logit_k / d A[i, j, c] = kernel[c, k] / (H * W) at every position, so the
    gradient-based methods have closed forms:

        Grad-CAM:    w_c = kernel[c, k] / (H * W)                map = relu(sum_c w_c A_c)
        Grad-CAM++:  alpha = 1 / (2 + g_c * sum_ij A_c)          w_c = sum_ij alpha * relu(g_c)
                     = relu(kernel[c, k]) / (2 + kernel[c, k] * mean_ij A_c)
        LayerCAM:    map = relu(sum_c relu(g_c) * A_c)

    Args:
        features: (batch, H, W, C) float64 feature maps A.
        kernel: (C, classes) float64 Dense kernel.
        top: (batch,) class index per image.
        method: "grad-cam", "grad-cam++" or "layercam".
    """
    h, w = features.shape[1:3]
    g = kernel[:, top].T / (h * w)  # (batch, channels)
    if method == "grad-cam":
        weights = g
    elif method == "grad-cam++":
        pooled = features.mean(axis=(1, 2))
        denominator = 2 + kernel[:, top].T * pooled
        weights = np.divide(np.maximum(kernel[:, top].T, 0), denominator, out=np.zeros_like(g), where=denominator != 0)
    elif method == "layercam":
        weights = np.maximum(g, 0)
    else:
        raise ValueError(f"Argument `method` must be 'grad-cam', 'grad-cam++' or 'layercam'. Received: method={method!r}")
    maps = np.maximum(np.einsum("bijc,bc->bij", features, weights), 0)
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)
