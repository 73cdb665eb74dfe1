"""On held-out synthetic images with known boxes, the heatmap's peak lands on the object (pointing game)."""

import numpy as np
import pytest

from spec.f_cam import oracles

pytestmark = pytest.mark.claim("gradcam-localizes")

POINTING_GAME = 0.9  # the catalogue's bar, per class

# A map that ignores the image must score far below the bar, or the bar proves nothing. Boxes
# cover about a tenth of the 32x32 image (side 8 to 14 pixels), so a random map hits ~0.1 and the
# best fixed pixel (the one most boxes cover) ~0.3; 0.5 leaves room and is still far under 0.9.
TRIVIAL_CEILING = 0.5


def test_the_shapes_model_has_learned_the_task(shapes):
    """Precondition: the trained convnet classifies held-out images (>= 95% for every class)."""
    predicted = shapes.model.predict(shapes.images, verbose=0).argmax(axis=1)
    for k, name in enumerate(shapes.classes):
        assert np.mean(predicted[shapes.labels == k] == k) >= 0.95, name


@pytest.mark.parametrize("method", ["grad_cam", "hires_cam", "cam"])
def test_pointing_game_at_least_90_percent_for_every_class(impl, shapes, method):
    """The upsampled map's maximum falls inside the true box on >= 90% of each class's held-out images."""
    explain = getattr(impl.cam, method)
    heatmaps = explain(shapes.model, shapes.images, class_index=shapes.labels)
    hits = oracles.peak_in_box(heatmaps, shapes.boxes, shapes.images.shape[1:3])
    rates = _rates(hits, shapes)
    print(method, {k: round(v, 3) for k, v in rates.items()})
    assert min(rates.values()) >= POINTING_GAME, rates


def _assert_boxes_are_tight(images, boxes):
    """Every object pixel (>= 0.7) lies in its box and touches all four box edges; background <= 0.3."""
    for image, (top, left, bottom, right) in zip(images[..., 0], boxes):
        bright = image >= 0.7
        assert not np.any((image > 0.3) & ~bright)
        rows, cols = np.nonzero(bright)
        assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (top, left, bottom, right)


def _rates(hits, shapes):
    return {name: float(hits[shapes.labels == k].mean()) for k, name in enumerate(shapes.classes)}


def test_the_pointing_game_boxes_are_tight_on_the_held_out_images(shapes):
    """The very images and boxes of the pointing game: each box is exactly the extent of its object's pixels."""
    assert shapes.images.shape[1:] == (32, 32, 1) and len(shapes.boxes) == len(shapes.images)
    _assert_boxes_are_tight(shapes.images, shapes.boxes)
    # Test power: a box one pixel too tall on one side is rejected.
    with pytest.raises(AssertionError):
        _assert_boxes_are_tight(shapes.images[:1], shapes.boxes[:1] + np.array([0, 0, 1, 0]))


def test_maps_that_ignore_the_image_score_well_under_the_bar(shapes, rng):
    """Baselines on the same boxes: a centre peak, the best fixed pixel and random maps all stay under 0.5."""
    n, size = len(shapes.images), shapes.images.shape[1:3]
    centre = np.zeros((n, *size))
    centre[:, size[0] // 2, size[1] // 2] = 1.0
    inside = np.zeros((n, *size), dtype=bool)
    for covered, (top, left, bottom, right) in zip(inside, shapes.boxes):
        covered[top:bottom, left:right] = True
    # Any input-independent map (uniform, centred, ...) peaks at one fixed pixel: the best such
    # pixel per class bounds them all.
    best_fixed = {name: float(inside[shapes.labels == k].mean(axis=0).max()) for k, name in enumerate(shapes.classes)}
    baselines = {
        "centre": _rates(oracles.peak_in_box(centre, shapes.boxes, size), shapes),
        "best-fixed-pixel": best_fixed,
        "random": _rates(oracles.peak_in_box(rng.uniform(size=(n, 8, 8)), shapes.boxes, size), shapes),
    }
    print(baselines)
    for name, rates in baselines.items():
        assert max(rates.values()) < TRIVIAL_CEILING, (name, rates)


def test_boxes_are_the_tight_ground_truth(impl):
    """make_shapes: every object pixel (>= 0.7) lies in its box and touches all four box edges; background <= 0.3."""
    images, labels, boxes = impl.synthetic.make_shapes(64, size=32, seed=5)
    assert images.shape == (64, 32, 32, 1) and images.dtype == np.float32
    assert np.bincount(labels).tolist() == [16] * 4
    _assert_boxes_are_tight(images, boxes)
    again = impl.synthetic.make_shapes(64, size=32, seed=5)
    np.testing.assert_array_equal(again[0], images)
    assert not np.array_equal(impl.synthetic.make_shapes(64, size=32, seed=6)[0], images)
