"""Why a peer's cell differs, measured: the discrepancy as the spec sees it, and with the peer's definition.

Each diagnosis builds one small seeded model, asks the peer (through its adapter) and the reference
for the same maps, and reports `max |peer - reference|` of the normalised maps. It then recomputes
the map from the reference's float64 features and gradients with the peer's definition, written
here in our own words; when the peer matches that (to `FLOAT32_MAPS`) the cause is the definition.

Run in the peer's environment: `python -m grimoire.tooling.conformance.causes PEER` prints JSON.
"""

import importlib
import json
import sys

import numpy as np

from .shared import normalize_maps

FLOAT32_MAPS = 1e-5  # normalised float32 maps of one small model agree to this (spec/tolerances.py's same-graph scale)
EXPLAINED = FLOAT32_MAPS  # a reproduction explains a peer's map when they agree to float32 rounding
REMAINS = 1e-3  # a difference "remains" above this: 100x the float32 scale, far above rounding

# The paper's Grad-CAM++ (Chattopadhyay et al. 2018, "Grad-CAM++: Generalized Gradient-based Visual
# Explanations for Deep Convolutional Networks", WACV, eq. 19 with the exponential score of eq. 17-18):
#     alpha_ab^kc = g_ab^2 / (2 g_ab^2 + sum_ij A_ij^k g_ab^3),   g = dY^c/dA^k (alpha = 0 where g = 0)
#     w_k^c = sum_ab alpha_ab^kc relu(g_ab),   map = relu(sum_k w_k^c A^k)
AUTHORS_CODE = "the Grad-CAM++ authors' released code (github.com/adityac94/Grad_CAM_plus_plus, misc/utils.py)"

# (peer, claim) -> (kind, cause, diagnosis function name below). kind: "by definition" when the
# peer documents its definition, "deviation" when it departs from the paper without saying so.
KNOWN = {
    ("tf-keras-vis", "gradcam-plus-plus"): (
        "deviation",
        f"alphas divided by their sum over positions per channel, as {AUTHORS_CODE} does; the paper's eq. 19 "
        "does not, and tf-keras-vis' documentation does not say so",
        "plus_plus_normalised_alphas",
    ),
    ("xplique", "gradcam-plus-plus"): (
        "deviation",
        "alpha denominator uses mean(A) not sum(A) (eq. 19); its weights also average over positions where "
        "the paper sums, a scale that normalisation cancels",
        "plus_plus_mean_of_features",
    ),
    ("xplique", "last-conv-layer"): (
        "by definition",
        "the layer chosen: xplique takes the last top-level layer with `filters` (the convolution itself, before "
        "its batch norm and activation)",
        "layer_chosen",
    ),
    ("xplique", "conv-layer-type"): (
        "by definition",
        "the layer chosen: xplique takes the last top-level layer with `filters` (the convolution itself, before "
        "its batch norm and activation)",
        "layer_chosen",
    ),
    ("scikit-learn", "metric-streaming"): (
        "by definition",
        "before any update: scikit-learn refuses an empty set of rows (ValueError), where a Keras metric starts at "
        "0; every streamed value over weighted batches holds",
        "sklearn_empty_rows",
    ),
    ("keras", "metrics-errors"): (
        "peer's choice",
        "Keras' RootMeanSquaredError does not check values: a negative sample weight or a NaN/inf value is "
        "computed on (eagerly, in tf.function and under XLA alike); Keras never promised to refuse them",
        "keras_computes_on_bad_values",
    ),
    ("tf-keras-vis", "gradcam-use-logits"): (
        "peer's choice",
        "the logit is the user's to reach: `ReplaceToLinear` sets `activation` on the model's output layers only, so "
        "a separate `Softmax` layer, or a head inside a nested model, still squashes",
        "replace_to_linear_leaves_a_softmax_layer",
    ),
}


def small_model(seed=0):
    """A seeded Conv -> ReLU -> GAP -> softmax Dense model and two images (the diagnoses' subject)."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(6, 3, name="conv")(inputs)
    x = keras.layers.Activation("relu", name="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="head")(x))
    images = np.random.default_rng(seed).random((2, 12, 12, 3)).astype("float32")
    return model, images


def _weights(alphas, g):
    return (alphas * np.maximum(g, 0)).sum(axis=(1, 2))


def _paper_alpha(g, totals):
    """eq. 19's alpha for gradients `g` and per-channel totals of A (the exp score cancels in the ratio)."""
    denominator = 2 * g**2 + g**3 * totals
    return np.divide(g**2, denominator, out=np.zeros_like(g), where=denominator != 0)


def paper_alphas(a, g):
    """eq. 19: the denominator's total is the sum of A over positions."""
    return _paper_alpha(g, a.sum(axis=(1, 2), keepdims=True))


def normalised_alphas(a, g):
    """eq. 19's alphas divided by their sum over positions, per image and channel."""
    alpha = paper_alphas(a, g)
    total = alpha.sum(axis=(1, 2), keepdims=True)
    return np.divide(alpha, total, out=np.zeros_like(alpha), where=total != 0)


def mean_alphas(a, g):
    """eq. 19's alphas with the mean of A over positions in place of the sum."""
    return _paper_alpha(g, a.mean(axis=(1, 2), keepdims=True))


def plus_plus_map(a, g, alphas_from):
    """The normalised Grad-CAM++ heatmap of float64 features `a` and gradients `g` (batch, h, w, c)."""
    return normalize_maps(np.einsum("bijc,bc->bij", a, _weights(alphas_from(a, g), g)), dtype=None)


def finding(measured, confirmed, **numbers):
    """A diagnosis' result: one line for the table, whether it explains the difference, and its numbers."""
    return {"measured": measured, "confirmed": bool(confirmed), **numbers}


def _plus_plus(adapter, peer_alphas):
    """Confirmed when the peer's definition reproduces its map (to float32) and the paper's does not."""
    import grimoire.cam as reference

    model, images = small_model()
    peer = importlib.import_module(f"{adapter}.cam").grad_cam_plus_plus(model, images, class_index=1)
    mine = reference.grad_cam_plus_plus_details(model, images, class_index=1)
    a, g = mine.features.astype(np.float64), mine.gradients.astype(np.float64)
    paper = float(np.abs(peer - plus_plus_map(a, g, paper_alphas)).max())
    theirs = float(np.abs(peer - plus_plus_map(a, g, peer_alphas)).max())
    return finding(f"max |Δ| of normalised maps against eq. 19 {paper:.3g}, against the peer's definition {theirs:.1g}",
                   theirs <= EXPLAINED and paper > REMAINS, as_specified=paper, with_peer_definition=theirs,
                   reference_vs_paper=float(np.abs(mine.heatmaps - plus_plus_map(a, g, paper_alphas)).max()))


def plus_plus_normalised_alphas(adapter):
    """tf-keras-vis' Grad-CAM++ against eq. 19 and against eq. 19 with per-channel normalised alphas."""
    return _plus_plus(adapter, normalised_alphas)


def plus_plus_mean_of_features(adapter):
    """xplique's Grad-CAM++ against eq. 19 (sum of A) and against eq. 19 with the mean of A."""
    return _plus_plus(adapter, mean_alphas)


def sklearn_empty_rows(adapter):
    """What scikit-learn answers with no rows, and that its streamed RMSE and balanced accuracy match the formulas."""
    from sklearn.metrics import balanced_accuracy_score, root_mean_squared_error

    try:
        root_mean_squared_error(np.zeros(0), np.zeros(0))
        empty = "no error"
    except ValueError as error:
        empty = f"ValueError: {error}"
    rng = np.random.default_rng(0)
    y, p, w = rng.normal(size=50), rng.normal(size=50), rng.uniform(0.1, 2, 50)
    labels, guesses = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    recalls = [w[(labels == c) & (guesses == c)].sum() / w[labels == c].sum() for c in range(3)]
    worst = max(abs(root_mean_squared_error(y, p, sample_weight=w) - np.sqrt((w * (y - p) ** 2).sum() / w.sum())),
                abs(balanced_accuracy_score(labels, guesses, sample_weight=w) - np.mean(recalls)))
    return finding(f"no rows: {empty[:60]}; weighted RMSE and balanced accuracy equal the formulas to {worst:.1g}",
                   empty.startswith("ValueError") and worst < 1e-12, empty=empty, formulas=float(worst))


def layer_chosen(adapter):
    """The layer the peer explains by default, against the reference's choice."""
    import grimoire.cam as reference

    model, _ = small_model()
    peer = importlib.import_module(f"{adapter}.cam").find_target_layer(model)
    mine = reference.find_target_layer(model)
    return finding(f"chose `{peer}` where the reference chooses `{mine}`", peer != mine, peer_layer=peer,
                   reference_layer=mine)


def keras_computes_on_bad_values(adapter):
    """Keras' RMSE given a negative weight and a NaN prediction: the numbers it returns instead of refusing."""
    import keras

    negative = keras.metrics.RootMeanSquaredError()
    negative.update_state([[2.0], [1.0]], [[0.0], [0.0]], sample_weight=[3.0, -1.0])  # (12 - 1) / 2: sqrt 2.35
    nan = keras.metrics.RootMeanSquaredError()
    nan.update_state([[1.0], [2.0]], [[0.0], [float("nan")]])
    weighted, poisoned = float(negative.result()), float(nan.result())
    return finding(f"weights (3, -1) give RMSE {weighted:.3g}, a NaN prediction gives {poisoned}, no error",
                   np.isfinite(weighted) and np.isnan(poisoned), negative_weight_result=weighted, nan_result=poisoned)


def replace_to_linear_leaves_a_softmax_layer(adapter):
    """The output of a Dense -> Softmax layer model after tf-keras-vis' `ReplaceToLinear`: still sums to 1."""
    import keras
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Softmax(name="softmax")(keras.layers.Dense(3, name="logits")(inputs)))
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    ReplaceToLinear()(clone)
    out = np.asarray(clone(np.random.default_rng(0).normal(size=(5, 4)).astype("float32")))
    off = float(np.abs(out.sum(axis=1) - 1).max())
    return finding(f"after ReplaceToLinear the Softmax layer's rows still sum to 1 (max |sum - 1| {off:.1g})",
                   off < 1e-6, row_sums_minus_one=off)


def diagnose(peer, adapter, claims):
    """`{claim: {"kind", "cause", "measured", "confirmed"}}` for the differing `claims` with a known cause."""
    found = {}
    for claim in claims:
        if (peer, claim) not in KNOWN:
            continue
        kind, cause, name = KNOWN[(peer, claim)]
        result = globals()[name](adapter)
        found[claim] = {"kind": kind, "cause": cause, "measured": result["measured"], "confirmed": result["confirmed"]}
        if not result["confirmed"]:
            found[claim]["kind"] = "undiagnosed"
            found[claim]["cause"] = f"suspected: {cause}, but the measurement does not confirm it"
    return found


def main(argv=None):
    peer, adapter, claims = (sys.argv[1:] if argv is None else argv)[:3]
    print(json.dumps(diagnose(peer, adapter, [c for c in claims.split(",") if c])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
