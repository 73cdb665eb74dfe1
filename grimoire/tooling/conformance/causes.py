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

FLOAT32_MAPS = 1e-5  # normalised float32 maps of one small model agree to this (spec/tolerances.py's same-graph scale)

# (peer, claim) -> (kind, cause, diagnosis function name below). kind: "by definition" when the
# peer documents or inherits its definition, "deviation" when it departs from the paper unannounced.
KNOWN = {
    ("tf-keras-vis", "gradcam-plus-plus"): (
        "by definition",
        "alphas divided by their sum over positions per channel (as the Grad-CAM++ authors' released code does); "
        "the paper's eq. 19 does not normalise them",
        "plus_plus_normalised_alphas",
    ),
    ("xplique", "gradcam-plus-plus"): (
        "deviation",
        "alpha's denominator uses the mean of A over positions where the paper's eq. 19 has the sum (and weights "
        "average where the paper sums: a scale that normalisation cancels)",
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


def _normalised(maps):
    maps = np.maximum(maps, 0.0)
    peak = maps.max(axis=(1, 2), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def _plus_plus(adapter, alphas_from):
    import grimoire.cam as reference

    model, images = small_model()
    peer = importlib.import_module(f"{adapter}.cam").grad_cam_plus_plus(model, images, class_index=1)
    mine = reference.grad_cam_plus_plus_details(model, images, class_index=1)
    a, g = mine.features.astype(np.float64), mine.gradients.astype(np.float64)
    alphas = alphas_from(a, g)
    weights = (alphas * np.maximum(g, 0)).sum(axis=(1, 2))
    variant = _normalised(np.einsum("bijc,bc->bij", a, weights))
    return {"as_specified": float(np.abs(peer - mine.heatmaps).max()),
            "with_peer_definition": float(np.abs(peer - variant).max())}


def _paper_alpha(g, totals):
    denominator = 2 * g**2 + g**3 * totals
    return np.divide(g**2, denominator, out=np.zeros_like(g), where=denominator != 0)


def plus_plus_normalised_alphas(adapter):
    def alphas(a, g):
        alpha = _paper_alpha(g, a.sum(axis=(1, 2), keepdims=True))
        total = alpha.sum(axis=(1, 2), keepdims=True)
        return np.divide(alpha, total, out=np.zeros_like(alpha), where=total != 0)

    return _plus_plus(adapter, alphas)


def plus_plus_mean_of_features(adapter):
    return _plus_plus(adapter, lambda a, g: _paper_alpha(g, a.mean(axis=(1, 2), keepdims=True)))


def layer_chosen(adapter):
    import grimoire.cam as reference

    model, _ = small_model()
    return {"peer_layer": importlib.import_module(f"{adapter}.cam").find_target_layer(model),
            "reference_layer": reference.find_target_layer(model)}


def measured_text(result):
    """One line for the table from a diagnosis' result."""
    if "peer_layer" in result:
        return f"chose `{result['peer_layer']}` where the reference chooses `{result['reference_layer']}`"
    return (f"max |Δ| of normalised maps {result['as_specified']:.3g}; with the peer's definition "
            f"{result['with_peer_definition']:.1g}")


def diagnose(peer, adapter, claims):
    """`{claim: {"kind", "cause", "measured", "confirmed"}}` for the differing `claims` with a known cause."""
    found = {}
    for claim in claims:
        if (peer, claim) not in KNOWN:
            continue
        kind, cause, name = KNOWN[(peer, claim)]
        result = globals()[name](adapter)
        confirmed = result.get("with_peer_definition", 0.0) <= FLOAT32_MAPS
        found[claim] = {"kind": kind, "cause": cause, "measured": measured_text(result), "confirmed": confirmed,
                        "result": result}
        if not confirmed:
            found[claim]["kind"] = "undiagnosed"
            found[claim]["cause"] = f"suspected: {cause}, but the peer's definition does not reproduce its maps"
    return found


def main(argv=None):
    peer, adapter, claims = (sys.argv[1:] if argv is None else argv)[:3]
    print(json.dumps(diagnose(peer, adapter, [c for c in claims.split(",") if c])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
