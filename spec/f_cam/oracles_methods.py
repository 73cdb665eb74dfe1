"""Float64 oracles for Grad-CAM++, LayerCAM and deletion/insertion, written from the papers' equations.

Kept apart from `oracles.py` so that each can grow on its own. Nothing here imports grimoire.
"""

import numpy as np


def gradcam_plus_plus(features, gradients):
    """Grad-CAM++ (Chattopadhay et al. 2018, eq. 19 with S = exp(Y)), float64, as the paper writes it.

        alpha[i, j, c] = g^2 / (2 g^2 + sum_ab A[a, b, c] * g^3)      (0 where the denominator is 0)
        w[c]           = sum_ij alpha[i, j, c] * relu(g[i, j, c])
        map[i, j]      = sum_c w[c] * A[i, j, c]

    Args:
        features, gradients: (batch, h, w, channels).

    Returns:
        `(maps (batch, h, w), weights (batch, channels), alpha (batch, h, w, channels))`.
    """
    a = np.asarray(features, dtype=np.float64)
    g = np.asarray(gradients, dtype=np.float64)
    numerator = g**2
    denominator = 2 * g**2 + a.sum(axis=(1, 2), keepdims=True) * g**3
    alpha = np.divide(numerator, denominator, out=np.zeros_like(g), where=denominator != 0)
    weights = (alpha * np.maximum(g, 0.0)).sum(axis=(1, 2))
    return np.einsum("bijc,bc->bij", a, weights), weights, alpha


def layercam(features, gradients):
    """LayerCAM (Jiang et al. 2021, eq. 3-4), float64: map[i, j] = sum_c relu(g[i, j, c]) * A[i, j, c]."""
    a = np.asarray(features, dtype=np.float64)
    g = np.asarray(gradients, dtype=np.float64)
    return (np.maximum(g, 0.0) * a).sum(axis=-1)


def flatten_mlp_gradients(features, hidden_kernel, hidden_bias, out_kernel, out_bias, classes=None):
    """Logits and d logit_k / d A for the head Flatten -> Dense(relu) -> Dense, float64 by hand.

        h = relu(flat(A) @ W1 + b1);  logit = h @ W2 + b2
        d logit_k / d flat(A) = W1 @ (W2[:, k] * [pre-activation > 0])

    Args:
        features: (batch, h, w, c).
        hidden_kernel, hidden_bias, out_kernel, out_bias: the two Dense layers' weights.
        classes: None (top logit) or (batch,) ints.

    Returns:
        `(logits (batch, classes), gradients (batch, h, w, c), classes (batch,), pre (batch, hidden))`;
        `pre` is the hidden pre-activation, to check no unit sits on the ReLU's kink.
    """
    a = np.asarray(features, dtype=np.float64)
    w1, b1, w2, b2 = (np.asarray(v, dtype=np.float64) for v in (hidden_kernel, hidden_bias, out_kernel, out_bias))
    flat = a.reshape(len(a), -1)
    pre = flat @ w1 + b1
    logits = np.maximum(pre, 0.0) @ w2 + b2
    classes = logits.argmax(axis=1) if classes is None else np.broadcast_to(classes, (len(a),))
    per_unit = w2[:, classes].T * (pre > 0)  # (batch, hidden)
    gradients = (per_unit @ w1.T).reshape(a.shape)
    return logits, gradients, classes, pre


def perturbation_curves(predict, images, maps, baseline, counts, classes, *, insert):
    """Deletion/insertion curves (Petsiuk et al. 2018), each perturbed image built on its own.

    Pixels are taken in decreasing order of `maps` (already at the image size, no ties assumed).

    Args:
        predict: function from a batch of images to class scores (batch, classes).
        images, baseline: (batch, H, W, C).
        maps: (batch, H, W).
        counts: pixels moved at each step, ints.
        classes: (batch,) class scored.
        insert: False (replace the first pixels by the baseline) or True (start from the baseline).

    Returns:
        `(scores (batch, steps + 1), auc (batch,))`, the AUC by numpy's trapezoid over counts / (H*W).
    """
    batch, height, width = np.shape(maps)
    pictures = []
    for b in range(batch):
        order = np.argsort(-np.asarray(maps[b], dtype=np.float64).ravel(), kind="stable")
        for n in counts:
            chosen = np.zeros(height * width, dtype=bool)
            chosen[order[:n]] = True
            chosen = chosen.reshape(height, width, 1)
            pictures.append(np.where(chosen, images[b], baseline[b]) if insert else np.where(chosen, baseline[b], images[b]))
    outputs = np.asarray(predict(np.stack(pictures)), dtype=np.float64).reshape(batch, len(counts), -1)
    scores = np.take_along_axis(outputs, np.asarray(classes)[:, None, None], axis=2)[..., 0]
    fractions = np.asarray(counts, dtype=np.float64) / (height * width)
    return scores, _trapezoid(scores, fractions, axis=1)


def paired_t(differences):
    """Mean of paired differences over its standard error (sd with ddof=1 over sqrt(n))."""
    d = np.asarray(differences, dtype=np.float64)
    return d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))


def standard_error(values):
    """Standard error of a mean: sd (ddof=1) / sqrt(n)."""
    v = np.asarray(values, dtype=np.float64)
    return v.std(ddof=1) / np.sqrt(len(v))


# numpy 2.0 renamed `trapz` to `trapezoid`; TensorFlow 2.16 to 2.18 install numpy 1.26.
_trapezoid = getattr(np, "trapezoid", None) or np.trapz
