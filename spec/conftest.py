"""Fixtures every claim test shares: determinism and the heavy models built once per session."""

import random

import numpy as np
import pytest
from hypothesis import settings

SEED = 1234

# Property tests draw the same examples on every run and every xdist worker (derandomize), and
# never time out on a loaded machine: TensorFlow's first call in a process can take seconds.
settings.register_profile("spec", derandomize=True, deadline=None, max_examples=30, print_blob=True)
settings.load_profile("spec")


@pytest.fixture(autouse=True)
def _deterministic():
    """Seeds Python, numpy and TensorFlow and starts each test from a clear Keras session."""
    import keras

    # free_memory=False skips a full gc.collect() (~0.2 s CPU per test with TensorFlow loaded);
    # the session state is still reset, and Python's own GC frees the old objects later.
    keras.backend.clear_session(free_memory=False)
    random.seed(SEED)
    np.random.seed(SEED)
    keras.utils.set_random_seed(SEED)
    yield


@pytest.fixture
def rng():
    """A numpy Generator with the spec's seed, for test data."""
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def xception():
    """Keras' Xception at 299x299 with random weights (no download), built once per session."""
    import keras

    keras.utils.set_random_seed(SEED)
    return keras.applications.Xception(weights=None)
