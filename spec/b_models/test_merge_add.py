"""Claim `merge-add`: addition needs equal shapes, keeps the shape and adds elementwise."""

import keras
import numpy as np
import pytest

from ..tolerances import RTOL_FLOAT32_ELEMENTWISE

pytestmark = pytest.mark.claim("merge-add")


@pytest.mark.parametrize(
    "shape", [pytest.param((6, 4), id="vectors"), pytest.param((2, 3, 3, 5), id="feature-maps")]
)
@pytest.mark.parametrize("count", [pytest.param(2, id="two"), pytest.param(3, id="three")])
def test_addition_keeps_the_shape_and_adds_elementwise(impl, rng, shape, count):
    """The sum has the inputs' shape and equals the float64 numpy sum elementwise."""
    arrays = [rng.normal(size=shape).astype("float32") for _ in range(count)]
    merged = keras.ops.convert_to_numpy(impl.models.merge(arrays, "add"))
    assert merged.shape == shape
    np.testing.assert_allclose(merged, np.sum(np.array(arrays, dtype=np.float64), axis=0), rtol=RTOL_FLOAT32_ELEMENTWISE)


def test_addition_has_no_parameters(impl):
    """A functional model that only adds its inputs has zero parameters and keeps the shape."""
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    merged = impl.models.merge([a, b], "add")
    assert tuple(merged.shape) == (None, 4)
    assert keras.Model([a, b], merged).count_params() == 0


@pytest.mark.parametrize(
    "shapes",
    [
        pytest.param([(2, 3), (2, 4)], id="3-vs-4"),
        pytest.param([(2, 4, 4, 3), (2, 4, 4, 3), (2, 4, 4, 1)], id="channels-differ"),
    ],
)
def test_unequal_shapes_are_refused_with_the_shapes_named(impl, shapes):
    """Adding tensors of unequal shapes raises a ValueError that lists the received shapes."""
    arrays = [np.zeros(shape, "float32") for shape in shapes]
    with pytest.raises(ValueError, match=r"mode='add' needs tensors of equal shapes\. Received shapes: ") as error:
        impl.models.merge(arrays, "add")
    assert str(shapes) in str(error.value)


def test_unequal_symbolic_shapes_are_refused_too(impl):
    """The check also holds while building a functional model, before any data exists."""
    with pytest.raises(ValueError, match=r"Received shapes: \[\(None, 3\), \(None, 4\)\]"):
        impl.models.merge([keras.Input(shape=(3,)), keras.Input(shape=(4,))], "add")
