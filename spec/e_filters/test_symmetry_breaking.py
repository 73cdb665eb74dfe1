"""Random initialisation lets filters learn different features: filters that start equal (with equal outgoing weights) stay equal."""

import keras
import numpy as np
import pytest
from sklearn.metrics import pairwise_distances as sklearn_distances

from .. import gradients
from ..tolerances import ATOL_SKLEARN_DISTANCES, RTOL_SAME_GRAPH

pytestmark = pytest.mark.claim("symmetry-breaking")


@pytest.fixture(scope="module")
def experiment(impl):
    """Three trainings of the same net, differing only in the initial weights (seeded inside)."""
    return impl.filters.symmetry_experiment(seed=0)


def off_diagonal(distances):
    return distances[~np.eye(distances.shape[0], dtype=bool)]


def spread(kernel):
    """Largest distance of any filter from filter 0, relative to filter 0's norm (numpy oracle)."""
    rows = kernel.reshape(-1, kernel.shape[-1]).T
    return np.abs(rows - rows[0]).max() / np.linalg.norm(rows[0])


def test_equal_filters_stay_equal_through_training(experiment):
    """Filters that start as copies (head weights copied too) are still copies after training, though they moved."""
    equal = experiment["equal"]
    assert spread(equal["kernel_before"]) == 0.0
    # Equal up to same-graph rounding relative to the filters' size (measured: exactly equal).
    scale = np.linalg.norm(equal["kernel_after"][..., 0])
    assert spread(equal["kernel_after"]) <= RTOL_SAME_GRAPH  # spread is already relative to that size
    assert equal["after"].max() <= RTOL_SAME_GRAPH * scale
    # Training did change them: staying equal is not staying put.
    assert np.abs(equal["kernel_after"] - equal["kernel_before"]).max() > 1e-2


def test_random_filters_are_distinct_and_move_apart(experiment):
    """Randomly initialised filters stay pairwise distinct and end further apart on average than they started."""
    random = experiment["random"]
    rows = lambda k: k.reshape(-1, k.shape[-1]).T  # noqa: E731
    np.testing.assert_allclose(random["after"], sklearn_distances(rows(random["kernel_after"])), atol=ATOL_SKLEARN_DISTANCES)
    np.testing.assert_allclose(random["before"], sklearn_distances(rows(random["kernel_before"])), atol=ATOL_SKLEARN_DISTANCES)
    assert off_diagonal(random["after"]).min() > 1e-2
    assert off_diagonal(random["after"]).mean() > off_diagonal(random["before"]).mean()


def test_equal_filters_under_a_random_head_split_up(experiment):
    """Equal filters alone are not enough to stay stuck: a random head gives them different gradients and they separate."""
    split = experiment["equal_filters_random_head"]
    assert spread(split["kernel_before"]) == 0.0
    assert off_diagonal(split["after"]).min() > 1e-3


@pytest.mark.parametrize("head", [pytest.param("equal", id="equal-head"), pytest.param("random", id="random-head")])
def test_equal_filters_receive_equal_gradients_only_with_an_equal_head(impl, head):
    """One backward pass: equal filters and equal head rows give identical filter gradients; a random head does not."""
    x, y, _, _ = impl.digits.load()
    x, y = x[:64], y[:64]
    inputs = keras.Input((8, 8, 1))
    conv = keras.layers.Conv2D(6, 3, padding="same", activation="relu")
    dense = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(conv(inputs))))
    kernel = conv.kernel.numpy()
    kernel[...] = kernel[..., :1]
    conv.kernel.assign(kernel)
    if head == "equal":
        rows = dense.kernel.numpy()
        rows[...] = rows[:1]
        dense.kernel.assign(rows)
    def loss():
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, model(x)))

    (gradient,) = gradients.gradient(loss, [conv.kernel])
    columns = gradient.reshape(-1, 6).T
    difference = np.abs(columns - columns[0]).max() / np.abs(columns[0]).max()
    if head == "equal":
        assert difference <= RTOL_SAME_GRAPH
    else:
        assert difference > 1e-2
