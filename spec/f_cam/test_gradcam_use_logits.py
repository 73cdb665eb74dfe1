"""Differentiate the logit: a probability's gradient is scaled and mixed with the other classes' gradients.

    softmax:  d p_c / dA = p_c (dz_c/dA - sum_k p_k dz_k/dA)
    sigmoid:  d p / dA   = p (1 - p) dz/dA

Dividing each map by its maximum cancels a positive scale, so the sigmoid's factor p(1 - p) is
invisible in a heatmap until it is exactly 0: when p rounds to 1.0 in float32. Whether it does
depends on the CPU's softmax/sigmoid kernel (0.99999994 on one machine is 1.0 on another), so the
tests state what holds on every machine: the identities against float64 oracles, computed from
the probabilities this very run produced.
"""

import keras
import numpy as np
import pytest

from spec.f_cam import nets, oracles
from spec.tolerances import (
    ATOL_FLOAT32_PROBABILITY,
    ATOL_NORMALISED_MAPS,
    ATOL_SAME_GRAPH,
    RTOL_FLOAT32_DOT,
    RTOL_SAME_GRAPH,
)

pytestmark = pytest.mark.claim("gradcam-use-logits")

L = keras.layers


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_the_probability_gradient_mixes_in_the_other_classes(impl, shapes):
    """Trained shapes convnet (GAP head): d p_c/dA = p_c (W_c - sum_k p_k W_k) / (H*W) at every position."""
    model, images, labels = shapes.model, shapes.images[:48], shapes.labels[:48]
    kernel = model.get_layer("predictions").get_weights()[0].astype(np.float64)  # (channels, classes)
    by_logit = impl.cam.grad_cam_details(model, images, class_index=labels)
    by_probability = impl.cam.grad_cam_details(model, images, class_index=labels, score="probability")
    hw = by_logit.features.shape[1] * by_logit.features.shape[2]
    # Oracle in float64 from the float32 logits of this run: the identity, not the forward pass, is under test.
    p = _softmax(by_logit.scores)
    rows = np.arange(len(images))
    p_c = p[rows, labels][:, None]
    mixed = kernel[:, labels].T - p @ kernel.T  # (batch, channels): W_c - sum_k p_k W_k
    expected = (p_c * mixed / hw)[:, None, None, :]
    # float32 rounding: relative to the sizes of the terms, p_c (|W_c| + sum_k p_k |W_k|) / (H*W).
    scale = (p_c * (np.abs(kernel[:, labels].T) + p @ np.abs(kernel).T) / hw)[:, None, None, :]
    error = np.abs(by_probability.gradients - expected)
    assert np.all(error <= RTOL_FLOAT32_DOT * scale), (error / scale).max()
    # The probabilities are the model's own predictions.
    np.testing.assert_allclose(by_probability.scores, model.predict(images, verbose=0), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    # Test power: the unmixed textbook form p_c (1 - p_c) W_c / (H*W) is another gradient.
    unmixed = (p_c * (1 - p_c) * kernel[:, labels].T / hw)[:, None, None, :]
    print(f"max |error| / scale {(error / scale).max():.2e}; unmixed form off by {(np.abs(unmixed - expected) / scale).max():.2e}")
    assert np.any(np.abs(unmixed - expected) > 100 * RTOL_FLOAT32_DOT * scale)


def _sigmoid_model():
    """ReLU conv with zero bias -> GAP -> Dense(1, sigmoid) with positive weights and zero bias.

    Such a network is positively homogeneous: scaling an image by s scales its logit by s, so a
    ladder of brightness factors walks the probability from 0.5 to 1.0 while the logit map only
    changes scale (its heatmap not at all).
    """
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu", name="conv"), L.GlobalAveragePooling2D(),
         L.Dense(1, activation="sigmoid", name="head")]
    )
    conv, head = model.get_layer("conv"), model.get_layer("head")
    conv.set_weights([conv.get_weights()[0], np.zeros(4, np.float32)])
    head.set_weights([np.abs(head.get_weights()[0]) + 0.1, np.zeros(1, np.float32)])
    return model


def test_a_sigmoid_scales_the_map_by_p_times_one_minus_p_which_normalisation_hides(impl, rng):
    """Raw probability map = p(1 - p) x logit map; heatmaps equal wherever p < 1.0, all zero where p rounds to 1.0."""
    model = _sigmoid_model()
    base = rng.uniform(0.2, 1, size=(1, 8, 8, 1)).astype("float32")
    factors = np.geomspace(0.01, 1e4, 24).astype("float32")
    images = base * factors[:, None, None, None]
    by_logit = impl.cam.grad_cam_details(model, images, class_index=0)
    by_probability = impl.cam.grad_cam_details(model, images, class_index=0, score="probability")
    p = 1 / (1 + np.exp(-by_logit.scores[:, 0].astype(np.float64)))
    peak = np.abs(by_logit.maps).max(axis=(1, 2))
    # Error sources: float32 map arithmetic (relative) and the float32 rounding of p near 1.0 (absolute in 1 - p).
    atol = (RTOL_FLOAT32_DOT * p * (1 - p) + ATOL_FLOAT32_PROBABILITY) * peak
    np.testing.assert_array_less(
        np.abs(by_probability.maps - (p * (1 - p))[:, None, None] * by_logit.maps).max(axis=(1, 2)), atol + 1e-30
    )
    computed = by_probability.scores[:, 0]  # this run's float32 probabilities
    saturated = computed == 1.0
    print(f"probability rounds to 1.0 on {saturated.sum()} of {len(images)} images (from factor "
          f"{factors[saturated].min() if saturated.any() else None}); p(1-p) of the others down to {(p * (1 - p))[~saturated].min():.1e}")
    # 1 - p far above float32's resolution near 1.0 cannot round away on any machine: those stay p < 1.
    safe = 1 - p > 1000 * ATOL_FLOAT32_PROBABILITY
    assert safe.sum() >= 8 and not np.any(saturated & safe)
    np.testing.assert_allclose(by_probability.heatmaps[~saturated], by_logit.heatmaps[~saturated], atol=ATOL_NORMALISED_MAPS)
    np.testing.assert_array_equal(by_probability.heatmaps[saturated], np.zeros_like(by_probability.heatmaps[saturated]))
    # The logit heatmap does not care about the scale: every factor gives the base image's heatmap.
    np.testing.assert_allclose(by_logit.heatmaps, np.broadcast_to(by_logit.heatmaps[:1], by_logit.heatmaps.shape), atol=ATOL_NORMALISED_MAPS)


def _with_linear_head(layers, ending):
    """The shared convnet with a linear Dense copying `head`'s weights, then a separate squashing layer."""
    linear = L.Dense(nets.CLASSES, name="linear")
    inputs = keras.Input((nets.SIZE, nets.SIZE, nets.CHANNELS))
    logits = linear(layers["gap"](nets._features(layers, inputs)))
    linear.set_weights(layers["head"].get_weights())
    return keras.Model(inputs, ending()(logits))


ENDINGS = {
    "dense-softmax-sequential": lambda layers: nets.sequential(layers),
    "softmax-layer": lambda layers: _with_linear_head(layers, L.Softmax),
    "activation-softmax": lambda layers: _with_linear_head(layers, lambda: L.Activation("softmax")),
    "activation-sigmoid": lambda layers: _with_linear_head(layers, lambda: L.Activation("sigmoid")),
    "softmax-dense-in-a-nested-head": lambda layers: nets.nested(layers),
    "subclassed-softmax-dense": lambda layers: nets.subclassed(layers),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_the_logits_are_found_behind_every_final_squashing_layer(impl, rng, ending):
    """Dense softmax, Softmax/Activation layers, a softmax Dense inside a nested head, a subclass: scores are the logits."""
    layers = nets.cnn_layers(seed=11)
    model = ENDINGS[ending](layers)
    images = rng.uniform(0, 1, size=(5, nets.SIZE, nets.SIZE, nets.CHANNELS)).astype("float32")
    features, logits = nets.features_and_logits(layers, images)
    result = impl.cam.grad_cam_details(model, images)
    np.testing.assert_allclose(result.scores, logits, rtol=RTOL_FLOAT32_DOT, atol=RTOL_FLOAT32_DOT)
    kernel = layers["head"].get_weights()[0]
    hw = features.shape[1] * features.shape[2]
    atol = RTOL_FLOAT32_DOT * np.einsum("bijc,ck->", np.abs(features), np.abs(kernel)) / len(images) / hw
    classes = oracles.top_class(logits, result.class_index, RTOL_FLOAT32_DOT)
    np.testing.assert_allclose(
        result.maps, oracles.gap_dense_cam(features, kernel, classes) / hw, rtol=RTOL_FLOAT32_DOT, atol=atol
    )
    # Test power: the model's output is not its logits, so explaining the output would fail the checks above.
    assert not np.allclose(keras.ops.convert_to_numpy(model(images)), logits, rtol=RTOL_FLOAT32_DOT, atol=RTOL_FLOAT32_DOT)


def test_taking_logits_leaves_the_users_model_alone(impl, shapes):
    """The model still ends in softmax and predicts exactly as before after Grad-CAM took its logits."""
    model = keras.models.clone_model(shapes.model)
    model.set_weights(shapes.model.get_weights())
    images = shapes.images[:16]
    before = model.predict(images, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    layers = list(model.layers)
    impl.cam.grad_cam(model, images, score="logits")
    head = model.get_layer("predictions")
    assert head.activation is keras.activations.softmax
    assert model.layers == layers and layers[-1] is head
    assert all("call" not in vars(layer) for layer in layers)
    np.testing.assert_allclose(model.predict(images, verbose=0), before, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_a_separate_softmax_layer_is_skipped_too(impl, rng):
    """Dense -> Softmax layer: the logit map equals that of the same layers without the Softmax."""
    inputs = keras.Input((9, 9, 2))
    features = L.Conv2D(5, 3, activation="relu", name="conv")(inputs)
    logits = L.Dense(4, name="logits")(L.GlobalAveragePooling2D()(features))
    with_softmax = keras.Model(inputs, L.Softmax()(logits))
    without = keras.Model(inputs, logits)
    images = rng.uniform(0, 1, size=(5, 9, 9, 2)).astype("float32")
    np.testing.assert_allclose(
        impl.cam.grad_cam_details(with_softmax, images).maps,
        impl.cam.grad_cam_details(without, images).maps,
        atol=ATOL_SAME_GRAPH,
    )


def test_a_softmax_inside_call_is_explained_as_a_probability_when_asked(impl, rng):
    """keras.ops.softmax inside a subclass's call(): no logits to reach, so score="probability" explains the model's own output."""
    model = nets.subclassed(nets.cnn_layers(), "inline-softmax")
    images = rng.uniform(0, 1, size=(2, 12, 12, 2)).astype("float32")
    result = impl.cam.grad_cam_details(model, images, score="probability")
    np.testing.assert_allclose(result.scores, keras.ops.convert_to_numpy(model(images)), rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
