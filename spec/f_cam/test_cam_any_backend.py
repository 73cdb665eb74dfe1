"""Keras' JAX and torch backends give the same class activation maps as TensorFlow on the same weights.

Run from a TensorFlow session: the net's weights and images are saved, a fresh Python with
KERAS_BACKEND=jax (or torch) rebuilds the net (`other_backend.py`), loads them and writes its maps.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from ..tolerances import ATOL_CONV, RTOL_CONV
from . import other_backend

pytestmark = pytest.mark.claim("cam-any-model")

ROOT = Path(__file__).resolve().parents[2]


# The other backends, and how to get each.
OTHERS = {"jax": "pip install -e '.[jax]'", "torch": "pip install -e '.[torch]'"}


@pytest.fixture(scope="module", params=list(OTHERS))
def other_maps(request, impl, tmp_path_factory):
    """`(backend, this backend's maps, its maps)` of `other_backend.build()` on the same weights and images.

    Module-scoped: one process per other backend (about 20 s of imports) serves every method's test.
    """
    backend = request.param
    if keras.config.backend() != "tensorflow":
        pytest.skip(f"compares TensorFlow with {backend}: runs in a KERAS_BACKEND=tensorflow session")
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed ({OTHERS[backend]}): no second backend to compare with")
    keras.utils.set_random_seed(7)
    model = other_backend.build()
    tmp_path = tmp_path_factory.mktemp(f"{backend}_maps")
    images = np.random.default_rng(7).normal(size=(6, *other_backend.SHAPE)).astype(np.float32)
    # This backend's maps first: an unwritten function of a learner's package stops here, pending,
    # rather than as a failed process on the other backend.
    ours = other_backend.maps_of(impl, model, images)
    weights, batch, out = tmp_path / "net.weights.h5", tmp_path / "images.npz", tmp_path / "maps.npz"
    model.save_weights(weights)
    np.savez(batch, images=images)
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run(
        [sys.executable, "-m", "spec.f_cam.other_backend", str(impl.origin), str(weights), str(batch), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, f"the {backend} process failed:\n{run.stderr[-4000:]}"
    with np.load(out) as data:
        theirs = {key: data[key] for key in data.files}
    assert str(theirs.pop("backend")) == backend
    return backend, ours, theirs


@pytest.mark.parametrize("method", list(other_backend.METHODS))
def test_other_backends_maps_equal_tensorflow_maps_on_the_same_weights(other_maps, method):
    """Grad-CAM, Grad-CAM++, LayerCAM, HiResCAM and CAM: JAX's and torch's maps equal TensorFlow's to float32 conv rounding."""
    _, ours, theirs = other_maps
    np.testing.assert_array_equal(theirs[f"{method}/class_index"], ours[f"{method}/class_index"])
    raw = ours[f"{method}/maps"].astype(np.float64)
    scale = np.abs(raw).max(axis=(1, 2), keepdims=True)
    assert np.all(scale > 0), "degenerate test net: an all-zero map compares nothing"
    # Two convolution implementations (oneDNN, XLA or ATen) reorder the sums: RTOL_CONV of each map's scale.
    np.testing.assert_allclose(theirs[f"{method}/maps"] / scale, raw / scale, rtol=RTOL_CONV, atol=ATOL_CONV)
    np.testing.assert_allclose(theirs[f"{method}/heatmaps"], ours[f"{method}/heatmaps"], rtol=RTOL_CONV, atol=ATOL_CONV)
