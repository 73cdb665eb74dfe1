"""Differentiate the score before the softmax: a saturated softmax has no gradient left to map."""

import keras
import numpy as np
import pytest

from spec.f_cam import oracles
from spec.tolerances import ATOL_NORMALISED_MAPS, ATOL_SAME_GRAPH

pytestmark = pytest.mark.claim("gradcam-use-logits")

L = keras.layers

# Multiplying the last layer's weights and bias by 20 multiplies every logit by 20: the same
# decisions and the same logit heatmaps (they are normalised), but a softmax that rounds to
# exactly 1.0 in float32 for most images, as an over-trained network's does.
CONFIDENCE = 20.0


@pytest.fixture(scope="module")
def confident(shapes):
    """A copy of the trained shapes model whose logits are scaled by CONFIDENCE (the fixture stays untouched)."""
    model = keras.models.clone_model(shapes.model)
    model.set_weights(shapes.model.get_weights())
    head = model.get_layer("predictions")
    head.set_weights([w * CONFIDENCE for w in head.get_weights()])
    return model


def test_probability_maps_collapse_while_logit_maps_keep_localising(impl, shapes, confident):
    """On a saturated softmax: probability maps vanish (mostly all-zero) and miss; logit maps are unchanged and hit."""
    images, labels, boxes = shapes.images, shapes.labels, shapes.boxes
    probabilities = confident.predict(images, verbose=0)
    saturated = np.mean(probabilities.max(axis=1) == 1.0)
    assert saturated >= 0.5, f"precondition: the softmax must round to 1.0 on most images, got {saturated:.2f}"

    by_logit = impl.cam.grad_cam_details(confident, images, class_index=labels, score="logits")
    by_probability = impl.cam.grad_cam_details(confident, images, class_index=labels, score="probability")
    hit_logit = oracles.peak_in_box(by_logit.heatmaps, boxes, images.shape[1:3]).mean()
    hit_probability = oracles.peak_in_box(by_probability.heatmaps, boxes, images.shape[1:3]).mean()
    all_zero = np.mean(by_probability.heatmaps.max(axis=(1, 2)) == 0)
    magnitude = np.median(np.abs(by_probability.maps).max(axis=(1, 2)) / np.abs(by_logit.maps).max(axis=(1, 2)))
    print(f"saturated {saturated:.2f}; pointing game logits {hit_logit:.3f} vs probability {hit_probability:.3f}; "
          f"all-zero probability maps {all_zero:.2f}; median magnitude ratio {magnitude:.1e}")
    assert hit_logit >= 0.9
    assert hit_probability <= 0.5 and all_zero >= 0.5
    assert magnitude < 1e-3
    # The logit map does not care about the scale: it equals the unscaled model's map.
    np.testing.assert_allclose(
        by_logit.heatmaps, impl.cam.grad_cam(shapes.model, images, class_index=labels), atol=ATOL_NORMALISED_MAPS
    )


def test_taking_logits_leaves_the_users_model_alone(impl, shapes, confident):
    """The model still ends in softmax and predicts exactly as before after Grad-CAM took its logits."""
    images = shapes.images[:16]
    before = confident.predict(images, verbose=0)
    weights = [w.copy() for w in confident.get_weights()]
    layers = list(confident.layers)
    impl.cam.grad_cam(confident, images, score="logits")
    head = confident.get_layer("predictions")
    assert head.activation is keras.activations.softmax
    assert confident.layers == layers and layers[-1] is head
    np.testing.assert_array_equal(confident.predict(images, verbose=0), before)
    for a, b in zip(confident.get_weights(), weights):
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
