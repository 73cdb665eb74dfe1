"""Fixtures every claim test shares: determinism and the heavy models built once per session.

What the run sets up before tests are imported (hypothesis profiles, the CPU split) is in
`spec/machinery.py`; which claims a backend skips is the Grimoire plugin's (`grimoire.tooling.claims`).
"""

import numpy as np
import pytest

from spec import machinery
from spec.fixture_cache import cached_training
from spec.seeding import SEED, reset


def pytest_configure(config):
    machinery.configure(config)  # runs before the test modules are imported, so their @given picks up the profile


@pytest.fixture(autouse=True)
def _deterministic():
    """Seeds Python, numpy and the Keras backend and starts each test from a clear Keras session."""
    import keras

    reset(keras)
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


DIGITS_SEED = 0


@pytest.fixture(scope="session")
def digits_convnet(impl):
    """The digits convnet trained once per session: `(model, held-out accuracy)` (sections E, F, report).

    `train_convnet` seeds itself with DIGITS_SEED, so every process trains the same model. What
    `keras.Model.fit` receives as `x` is kept as `model.fit_inputs` (a tuple, one per call), so the
    held-out check in section E sees the training data of this very model.
    """
    import keras

    fit, fit_inputs = keras.Model.fit, []

    def recording_fit(self, x=None, *args, **kwargs):
        fit_inputs.append(x)
        return fit(self, x, *args, **kwargs)

    def train():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(keras.Model, "fit", recording_fit)
            model, accuracy = impl.digits.train_convnet(seed=DIGITS_SEED)
        arrays = {f"fit_input_{i}": np.asarray(x) for i, x in enumerate(fit_inputs)}
        return model, {"accuracy": np.float64(accuracy), "initial_first_kernel": model.initial_first_kernel, **arrays}

    # Cached on disk, keyed by the source of the digits module and the seed (spec/fixture_cache.py).
    model, arrays = cached_training("digits_convnet", impl.digits, DIGITS_SEED, train)
    model.initial_first_kernel = arrays["initial_first_kernel"]
    count = sum(1 for key in arrays if key.startswith("fit_input_"))
    model.fit_inputs = tuple(arrays[f"fit_input_{i}"] for i in range(count))  # a tuple: Keras would track a list
    return model, float(arrays["accuracy"])
