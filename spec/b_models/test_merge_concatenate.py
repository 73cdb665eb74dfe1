"""Claim `merge-concatenate`: concatenation joins features end to end, (a,) + (b,) -> (a+b,), no parameters."""

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.claim("merge-concatenate")


@pytest.mark.parametrize(
    "sizes",
    [pytest.param((3, 5), id="3+5"), pytest.param((1, 1), id="1+1"), pytest.param((4, 2, 7), id="4+2+7")],
)
def test_concatenation_joins_vectors_end_to_end(impl, rng, sizes):
    """Vectors of sizes a, b, ... become one vector of size a + b + ..., equal to numpy.concatenate."""
    arrays = [rng.normal(size=(6, size)).astype("float32") for size in sizes]
    merged = keras.ops.convert_to_numpy(impl.models.merge(arrays, "concatenate"))
    assert merged.shape == (6, sum(sizes))
    np.testing.assert_array_equal(merged, np.concatenate(arrays, axis=-1))


def test_concatenation_joins_feature_maps_on_the_channel_axis(impl, rng):
    """Feature maps (h, w, c1) and (h, w, c2) become (h, w, c1 + c2)."""
    a = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    b = rng.normal(size=(2, 4, 4, 5)).astype("float32")
    merged = keras.ops.convert_to_numpy(impl.models.merge([a, b], "concatenate"))
    np.testing.assert_array_equal(merged, np.concatenate([a, b], axis=-1))


def test_concatenation_has_no_parameters(impl):
    """A functional model that only concatenates its inputs has zero parameters and output (a + b,)."""
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(5,))
    merged = impl.models.merge([a, b], "concatenate")
    model = keras.Model([a, b], merged)
    assert tuple(merged.shape) == (None, 8)
    assert model.count_params() == 0 and model.weights == []
