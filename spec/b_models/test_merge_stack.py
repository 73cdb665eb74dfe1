"""Claim `merge-stack`: stacking puts n tensors of shape (d,) along a new axis, giving (n, d)."""

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.claim("merge-stack")


@pytest.mark.parametrize("count", [pytest.param(2, id="two"), pytest.param(3, id="three"), pytest.param(5, id="five")])
def test_n_vectors_become_an_n_by_d_matrix(impl, rng, count):
    """n per-sample vectors of size d become one (n, d) matrix per sample, equal to numpy.stack(axis=1)."""
    arrays = [rng.normal(size=(4, 7)).astype("float32") for _ in range(count)]
    merged = keras.ops.convert_to_numpy(impl.models.merge(arrays, "stack"))
    assert merged.shape == (4, count, 7)
    np.testing.assert_array_equal(merged, np.stack(arrays, axis=1))


def test_stacking_is_the_third_way_and_differs_from_the_other_two(impl, rng):
    """Stacking keeps each input intact in its own slot: no growth of the last axis, no sum."""
    a, b = (rng.normal(size=(3, 4)).astype("float32") for _ in range(2))
    stacked = keras.ops.convert_to_numpy(impl.models.merge([a, b], "stack"))
    np.testing.assert_array_equal(stacked[:, 0], a)
    np.testing.assert_array_equal(stacked[:, 1], b)
    assert stacked.shape != keras.ops.convert_to_numpy(impl.models.merge([a, b], "concatenate")).shape
    assert stacked.shape != keras.ops.convert_to_numpy(impl.models.merge([a, b], "add")).shape


def test_stacking_works_in_a_functional_model_without_parameters(impl, rng):
    """Inside a functional model, stacking gives per-sample shape (n, d) and adds no parameters."""
    inputs = [keras.Input(shape=(5,)) for _ in range(3)]
    merged = impl.models.merge(inputs, "stack")
    model = keras.Model(inputs, merged)
    assert tuple(merged.shape) == (None, 3, 5) and model.count_params() == 0
    arrays = [rng.normal(size=(2, 5)).astype("float32") for _ in range(3)]
    np.testing.assert_array_equal(model(arrays), np.stack(arrays, axis=1))


def test_unequal_shapes_cannot_be_stacked(impl):
    """Stacking tensors of unequal shapes raises a ValueError that lists them."""
    with pytest.raises(ValueError, match=r"mode='stack' needs tensors of equal shapes\. Received shapes: \[\(2, 3\), \(2, 4\)\]"):
        impl.models.merge([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")], "stack")
