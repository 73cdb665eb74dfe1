"""On held-out synthetic images with known boxes, the heatmap's peak lands on the object (pointing game)."""

import numpy as np
import pytest

from spec.f_cam import oracles

pytestmark = pytest.mark.claim("gradcam-localizes")

POINTING_GAME = 0.9  # the catalogue's bar, per class


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
    rates = {name: hits[shapes.labels == k].mean() for k, name in enumerate(shapes.classes)}
    print(method, {k: round(float(v), 3) for k, v in rates.items()})
    assert min(rates.values()) >= POINTING_GAME, rates


def test_boxes_are_the_tight_ground_truth(impl):
    """make_shapes: every object pixel (>= 0.7) lies in its box and touches all four box edges; background <= 0.3."""
    images, labels, boxes = impl.synthetic.make_shapes(64, size=32, seed=5)
    assert images.shape == (64, 32, 32, 1) and images.dtype == np.float32
    assert np.bincount(labels).tolist() == [16] * 4
    for image, (top, left, bottom, right) in zip(images[..., 0], boxes):
        bright = image >= 0.7
        assert not np.any((image > 0.3) & ~bright)
        rows, cols = np.nonzero(bright)
        assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (top, left, bottom, right)
    again = impl.synthetic.make_shapes(64, size=32, seed=5)
    np.testing.assert_array_equal(again[0], images)
    assert not np.array_equal(impl.synthetic.make_shapes(64, size=32, seed=6)[0], images)
