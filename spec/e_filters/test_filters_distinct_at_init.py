"""A fresh Conv2D's filters are separate kh x kw x C tensors, pairwise different."""

import keras
import numpy as np
import pytest
from sklearn.metrics import pairwise_distances as sklearn_distances

from ..tolerances import ATOL_SKLEARN_DISTANCES, RTOL_FLOAT64_REORDER

pytestmark = pytest.mark.claim("filters-distinct-at-init")


@pytest.mark.parametrize(
    ("in_channels", "filters", "kernel_size"),
    [pytest.param(1, 32, 3, id="gray-32-3x3"), pytest.param(3, 32, 3, id="rgb-32-3x3"), pytest.param(16, 64, 5, id="16-64-5x5")],
)
def test_fresh_conv2d_filters_are_pairwise_distinct(impl, in_channels, filters, kernel_size):
    """Each of the F filters is a (k, k, C) slice kernel[..., f], and no two of them are equal."""
    layer = keras.layers.Conv2D(filters, kernel_size)
    layer.build((None, 16, 16, in_channels))
    kernel = layer.kernel.numpy().astype(np.float64)
    assert kernel[..., 0].shape == (kernel_size, kernel_size, in_channels)

    distances = impl.filters.pairwise_distances(kernel)
    # Oracle: scikit-learn on one row per filter.
    rows = kernel.reshape(-1, filters).T
    np.testing.assert_allclose(distances, sklearn_distances(rows), rtol=RTOL_FLOAT64_REORDER, atol=ATOL_SKLEARN_DISTANCES)
    off_diagonal = distances[~np.eye(filters, dtype=bool)]
    assert off_diagonal.min() > 0
    assert impl.filters.min_pairwise_distance(kernel) == pytest.approx(off_diagonal.min(), rel=RTOL_FLOAT64_REORDER)
    # No two filters share even one number in practice: the draws are independent.
    assert len(np.unique(rows, axis=0)) == filters


def test_equal_filters_are_at_distance_exactly_zero(impl, rng):
    """Copies of one filter are at distance 0 (exactly, not ~1e-8), so 'distinct' is a real test."""
    kernel = np.repeat(rng.normal(size=(3, 3, 3, 1)), 4, axis=-1)
    kernel[..., 3] += 1.0
    distances = impl.filters.pairwise_distances(kernel)
    assert np.all(distances[:3, :3] == 0.0)
    assert distances[0, 3] == pytest.approx(np.sqrt(27), rel=RTOL_FLOAT64_REORDER)  # 27 numbers each moved by 1
    assert impl.filters.min_pairwise_distance(kernel) == 0.0
