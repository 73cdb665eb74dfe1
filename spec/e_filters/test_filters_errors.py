"""Bad input to grimoire.filters and grimoire.digits gets a Keras-style error naming the argument."""

import keras
import numpy as np
import pytest


@pytest.mark.claim("filters-errors")
@pytest.mark.parametrize(
    ("kernel", "error", "message"),
    [
        pytest.param(np.zeros(5), ValueError, r"`kernel` must have a filter axis last.*Received: kernel with shape \(5,\)", id="rank-1"),
        pytest.param(np.zeros((3, 3, 1, 0)), ValueError, r"`kernel` has no filters", id="no-filters"),
        pytest.param("abc", TypeError, r"`kernel` must be array-like of numbers", id="string"),
    ],
)
def test_pairwise_distances_rejects_bad_kernels(impl, kernel, error, message):
    """A kernel needs a last axis of filters and numbers in it."""
    with pytest.raises(error, match=message):
        impl.filters.pairwise_distances(kernel)


@pytest.mark.claim("filters-distinct-at-init")
def test_single_filter_has_no_pair(impl):
    """One filter has nothing to differ from: its smallest pairwise distance is inf, not an error or NaN."""
    assert impl.filters.min_pairwise_distance(np.ones((3, 3, 1, 1))) == np.inf
    np.testing.assert_array_equal(impl.filters.pairwise_distances(np.ones((3, 3, 1, 1))), [[0.0]])


@pytest.mark.claim("filters-errors")
@pytest.mark.parametrize(
    ("initializer", "shape", "error", "message"),
    [
        pytest.param("xavier", (3, 3, 1, 2), ValueError, r"`initializer` must be one of \[.*'glorot_uniform'.*\] or a keras.initializers.VarianceScaling instance. Received: initializer='xavier'", id="unknown-name"),
        pytest.param(keras.initializers.Zeros(), (3, 3, 1, 2), TypeError, r"keras.initializers.VarianceScaling instance.*Received: initializer of type Zeros", id="not-variance-scaling"),
        pytest.param("he_normal", (5,), ValueError, r"`shape` must be a weight shape with at least 2 axes.*Received: shape=\(5,\)", id="rank-1"),
        pytest.param("he_normal", (3, 3, 0, 2), ValueError, r"`shape` must be a positive integer. Received: shape=0", id="zero-channels"),
    ],
)
def test_expected_statistics_rejects_bad_arguments(impl, initializer, shape, error, message):
    """Only variance-scaling initializers have fan-based statistics; shapes need (..., in, out) positive sizes."""
    with pytest.raises(error, match=message):
        impl.filters.expected_statistics(initializer, shape)


@pytest.mark.claim("filters-errors")
@pytest.mark.parametrize(
    ("initializer", "shape", "kwargs", "error", "message"),
    [
        pytest.param("no_such_init", (3, 3), {}, ValueError, r"`initializer` is not a Keras initializer name.*Received: initializer='no_such_init'", id="unknown"),
        pytest.param("zeros", (3, 3), {"seed": 1}, ValueError, r"takes no `seed`\). Received: initializer='zeros', seed=1", id="seed-for-zeros"),
        pytest.param(42, (3, 3), {}, TypeError, r"`initializer` must be a Keras initializer or its name. Received: initializer of type int", id="int"),
        pytest.param("he_normal", (), {}, ValueError, r"`shape` must be a non-empty tuple", id="empty-shape"),
        pytest.param("he_normal", (3, -3), {}, ValueError, r"`shape` must be a positive integer. Received: shape=-3", id="negative"),
        pytest.param("he_normal", (3, 3), {"seed": -1}, ValueError, r"`seed` must be a non-negative integer. Received: seed=-1", id="seed"),
    ],
)
def test_init_statistics_rejects_bad_arguments(impl, initializer, shape, kwargs, error, message):
    """Unknown initializers, bad shapes and bad seeds raise, naming the argument."""
    with pytest.raises(error, match=message):
        impl.filters.init_statistics(initializer, shape, **kwargs)


@pytest.mark.claim("init-distribution")
def test_non_variance_scaling_initializer_still_summarised(impl):
    """Any Keras initializer can be summarised; only variance-scaling ones carry an expected variance."""
    stats = impl.filters.init_statistics(keras.initializers.Constant(0.5), (2, 3))
    assert stats["mean"] == 0.5 and stats["max_abs"] == 0.5 and "expected_variance" not in stats
    assert impl.filters.init_statistics("zeros", (2, 3))["max_abs"] == 0.0


@pytest.mark.claim("filters-errors")
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param({"filters": 1}, ValueError, r"`filters` must be at least 2 to compare filters. Received: filters=1", id="one-filter"),
        pytest.param({"equal": "zeros"}, ValueError, r"`equal` must be one of \['constant', 'copy'\]. Received: equal='zeros'", id="equal-mode"),
        pytest.param({"epochs": 0}, ValueError, r"`epochs` must be a positive integer. Received: epochs=0", id="epochs"),
        pytest.param({"learning_rate": -1.0}, ValueError, r"`learning_rate` must be a positive number. Received: learning_rate=-1.0", id="lr"),
    ],
)
def test_symmetry_experiment_rejects_bad_arguments(impl, kwargs, error, message):
    """The experiment validates its arguments before training anything."""
    with pytest.raises(error, match=message):
        impl.filters.symmetry_experiment(**kwargs)


@pytest.mark.claim("filters-errors")
@pytest.mark.parametrize(
    ("function", "kwargs", "error", "message"),
    [
        pytest.param("load", {"test_size": 1.5}, ValueError, r"`test_size` must be a fraction strictly between 0 and 1. Received: test_size=1.5", id="test-size"),
        pytest.param("load", {"seed": -2}, ValueError, r"`seed` must be a non-negative integer. Received: seed=-2", id="load-seed"),
        pytest.param("build_convnet", {"filters": (8, 16)}, ValueError, r"`filters` must be an integer or a tuple of 3 integers. Received: filters=\(8, 16\)", id="filters"),
        pytest.param("build_convnet", {"kernel_size": 0}, ValueError, r"`kernel_size` must be a positive integer", id="kernel-size"),
        pytest.param("train_convnet", {"epochs": 0}, ValueError, r"`epochs` must be a positive integer. Received: epochs=0", id="epochs"),
        pytest.param("train_convnet", {"learning_rate": 0}, ValueError, r"`learning_rate` must be a positive number", id="lr"),
        pytest.param("train_convnet", {"seed": 1.0}, TypeError, r"`seed` must be an integer. Received: seed=1.0", id="seed-float"),
    ],
)
def test_digits_functions_reject_bad_arguments(impl, function, kwargs, error, message):
    """The digits loader and convnet builders refuse bad sizes, seeds and rates before any training."""
    with pytest.raises(error, match=message):
        getattr(impl.digits, function)(**kwargs)
