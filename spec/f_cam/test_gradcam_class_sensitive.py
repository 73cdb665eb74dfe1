"""Maps for two classes whose weights differ are different: the class index picks what is explained."""

import keras
import numpy as np
import pytest

from spec.f_cam import oracles
from spec.tolerances import ATOL_NORMALISED_MAPS, ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT, RTOL_SAME_GRAPH, Z_STATISTICAL

pytestmark = pytest.mark.claim("gradcam-class-sensitive")


def _two_object_images(shapes, count=60, gap=2):
    """Pairs of held-out images of different classes whose boxes are `gap` pixels apart, overlaid (pixelwise max)."""
    x, y, b = shapes.images, shapes.labels, shapes.boxes
    first, second = [], []
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            apart = (b[i, 2] + gap <= b[j, 0] or b[j, 2] + gap <= b[i, 0]
                     or b[i, 3] + gap <= b[j, 1] or b[j, 3] + gap <= b[i, 1])
            if y[i] != y[j] and apart:
                first.append(i)
                second.append(j)
                break
        if len(first) == count:
            break
    first, second = np.array(first), np.array(second)
    return np.maximum(x[first], x[second]), (y[first], b[first]), (y[second], b[second])


def test_each_class_map_points_at_its_own_object(impl, shapes):
    """In an image with two objects, each class's map peaks on its own object far more often than on the other one.

    A sign test, not a tuned rate: among the maps that peak in one of the two boxes, a map blind to
    the class index would pick its own object half the time. The own-object count must exceed the
    other-object count by Z_STATISTICAL standard errors of that coin (sqrt of the number of peaks in
    a box), whatever the trained model's accuracy on this machine and backend.
    """
    images, (labels_a, boxes_a), (labels_b, boxes_b) = _two_object_images(shapes)
    size = images.shape[1:3]
    map_a = impl.cam.grad_cam(shapes.model, images, class_index=labels_a)
    map_b = impl.cam.grad_cam(shapes.model, images, class_index=labels_b)
    own = oracles.peak_in_box(map_a, boxes_a, size).sum() + oracles.peak_in_box(map_b, boxes_b, size).sum()
    other = oracles.peak_in_box(map_a, boxes_b, size).sum() + oracles.peak_in_box(map_b, boxes_a, size).sum()
    assert own - other >= Z_STATISTICAL * np.sqrt(own + other), (own, other)
    # And on every image the two maps differ by more than the spec's tolerance for "the same map".
    assert np.abs(map_a - map_b).max(axis=(1, 2)).min() > ATOL_NORMALISED_MAPS


def test_every_class_gets_its_own_weights(impl, shapes):
    """For each class k, the raw map is the features weighted by column k of the head, / (H*W) (numpy oracle)."""
    model, images = shapes.model, shapes.images[:6]
    kernel = model.get_layer("predictions").get_weights()[0].astype(np.float64)
    # Oracle features: a plain Keras sub-model up to the target layer, no CAM code involved.
    tap = keras.Model(model.inputs[0], model.get_layer("features").output)
    features = keras.ops.convert_to_numpy(tap(images)).astype(np.float64)
    hw = features.shape[1] * features.shape[2]
    # float32 rounding of a C-term dot product, relative to its largest sum of |terms| (see RTOL_FLOAT32_DOT).
    atol = RTOL_FLOAT32_DOT * np.einsum("bijc,ck->bijk", np.abs(features), np.abs(kernel)).max() / hw
    maps = [impl.cam.grad_cam_details(model, images, class_index=k) for k in range(kernel.shape[1])]
    for k, details in enumerate(maps):
        expected = oracles.gap_dense_cam(features, kernel, [k] * len(images)) / hw
        np.testing.assert_allclose(details.maps, expected, rtol=RTOL_FLOAT32_DOT, atol=atol)
    # Test power: the classes' normalised maps differ by far more than rounding.
    for k in range(1, len(maps)):
        assert not np.allclose(maps[k].heatmaps, maps[0].heatmaps, atol=0.1)


def test_two_classes_with_the_same_weights_get_the_same_map(impl, shapes):
    """Control: copy class 0's weights and bias into class 1 and their maps coincide (the weights are what differ)."""
    model = keras.models.clone_model(shapes.model)
    model.set_weights(shapes.model.get_weights())
    head = model.get_layer("predictions")
    kernel, bias = head.get_weights()
    kernel[:, 1], bias[1] = kernel[:, 0], bias[0]
    head.set_weights([kernel, bias])
    images = shapes.images[:8]
    np.testing.assert_allclose(
        impl.cam.grad_cam_details(model, images, class_index=0).maps,
        impl.cam.grad_cam_details(model, images, class_index=1).maps,
        rtol=RTOL_SAME_GRAPH,
        atol=ATOL_SAME_GRAPH,
    )
