"""A small convnet trained for seconds on scikit-learn's 8x8 digits reaches >= 95% held-out accuracy; its filters stay distinct."""

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score
from sklearn.metrics import pairwise_distances as sklearn_distances

from ..conftest import DIGITS_SEED
from ..tolerances import ATOL_SKLEARN_DISTANCES, HALF_A_SAMPLE

pytestmark = pytest.mark.claim("convnet-learns")


def test_digits_are_the_real_bundled_images(impl):
    """load() splits all 1,797 bundled images (pixels/16, in [0, 1]) into disjoint, stratified train and test sets."""
    x_train, y_train, x_test, y_test = impl.digits.load(seed=DIGITS_SEED)
    assert x_train.shape[1:] == x_test.shape[1:] == (8, 8, 1)
    assert x_train.dtype == x_test.dtype == np.float32
    assert len(x_train) + len(x_test) == 1797 and len(x_test) == 450
    digits = load_digits()
    ours = np.concatenate([x_train, x_test]).reshape(1797, 64).astype(np.float64) * 16
    labels = np.concatenate([y_train, y_test])
    # Same multiset of (image, label) pairs as scikit-learn's: sort both the same way and compare.
    key = lambda images, target: np.lexsort(np.column_stack([images, target]).T)  # noqa: E731
    theirs = digits.data
    np.testing.assert_array_equal(ours[key(ours, labels)], theirs[key(theirs, digits.target)])
    np.testing.assert_array_equal(labels[key(ours, labels)], digits.target[key(theirs, digits.target)])
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    # Stratified: every class is in the test set in proportion (within one image).
    counts, totals = np.bincount(y_test, minlength=10), np.bincount(digits.target, minlength=10)
    assert np.all(np.abs(counts - totals * 450 / 1797) <= 1)


def test_convnet_reaches_95_percent_on_held_out_digits(impl, digits_convnet):
    """The trained convnet classifies at least 95% of the 450 unseen digits correctly (recounted with scikit-learn)."""
    model, accuracy = digits_convnet
    _, _, x_test, y_test = impl.digits.load(seed=DIGITS_SEED)
    recounted = accuracy_score(y_test, np.argmax(model.predict(x_test, verbose=0), axis=-1))
    assert accuracy == pytest.approx(recounted, abs=HALF_A_SAMPLE / len(y_test))
    assert recounted >= 0.95
    # Chance is 10%: the number means learning, not a lucky split.
    assert model.count_params() < 50_000


def _raw_indices(images, raw):
    """The index in scikit-learn's raw pixel rows (0..16) of each image (pixels/16); -1 if it is none of them."""
    lookup = {row.tobytes(): i for i, row in enumerate(raw)}
    rows = np.rint(np.asarray(images, np.float64).reshape(len(images), -1) * 16)
    return np.array([lookup.get(row.tobytes(), -1) for row in rows])


def _fitted_images(x):
    """The images one `fit(x, ...)` call trained on: an array or tensor, or the first element of a tf.data batch."""
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        return np.concatenate([np.asarray(batch[0] if isinstance(batch, tuple) else batch) for batch in x])
    assert x is not None and hasattr(x, "shape"), f"fit received x of type {type(x).__name__}: no images to check"
    return np.asarray(x)


def test_convnet_is_never_fitted_on_the_held_out_digits(impl, digits_convnet):
    """Training sees only training images: none of the 450 held-out digits reaches `fit` (matched by pixels to scikit-learn's raw images)."""
    model, _ = digits_convnet
    assert model.fit_inputs, "train_convnet must train with keras.Model.fit: the fixture records what fit receives"
    fitted = np.concatenate([_fitted_images(x) for x in model.fit_inputs])
    _, _, x_test, _ = impl.digits.load(seed=DIGITS_SEED)
    raw = np.asarray(load_digits().data, np.float64)
    # Both sides are identified as rows of scikit-learn's raw data (no two of its 1,797 images are equal).
    assert len(np.unique(raw, axis=0)) == len(raw)
    test_ids, fitted_ids = _raw_indices(x_test, raw), _raw_indices(fitted, raw)
    assert np.all(test_ids >= 0) and len(set(test_ids)) == len(x_test) == 450
    assert np.all(fitted_ids >= 0), "fit received images that are not scikit-learn digits (pixels/16)"
    assert not set(fitted_ids) & set(test_ids)
    # And it did learn from the rest: every one of the other 1,347 images was fitted.
    assert set(fitted_ids) == set(range(len(raw))) - set(test_ids)


def test_trained_filters_stay_pairwise_distinct(impl, digits_convnet):
    """After training every conv layer's filters are pairwise different, and the first layer's moved away from their init."""
    model, _ = digits_convnet
    conv_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(conv_layers) >= 2
    for layer in conv_layers:
        kernel = layer.kernel.numpy().astype(np.float64)
        rows = kernel.reshape(-1, kernel.shape[-1]).T
        oracle = sklearn_distances(rows)
        np.testing.assert_allclose(impl.filters.pairwise_distances(kernel), oracle, atol=ATOL_SKLEARN_DISTANCES)
        assert oracle[~np.eye(len(rows), dtype=bool)].min() > 1e-3, layer.name
    # The recorded starting filters are the seed's initial ones (init-reproducible), and training moved them.
    np.testing.assert_array_equal(model.initial_first_kernel, impl.digits.initial_first_kernel(seed=DIGITS_SEED))
    assert not np.allclose(conv_layers[0].kernel.numpy(), model.initial_first_kernel)


def test_convnet_ends_in_gap_and_softmax_after_a_conv_map(digits_convnet):
    """The head is GlobalAveragePooling2D -> Dense(10, softmax) after a conv layer, so class activation maps apply."""
    model, _ = digits_convnet
    *_, last_map, gap, dense = model.layers
    assert isinstance(last_map, keras.layers.Conv2D) and len(last_map.output.shape) == 4
    assert isinstance(gap, keras.layers.GlobalAveragePooling2D)
    assert isinstance(dense, keras.layers.Dense) and dense.units == 10
    assert dense.activation is keras.activations.softmax
    assert tuple(model.input_shape) == (None, 8, 8, 1)
