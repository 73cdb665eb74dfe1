"""`import grimoire` works without TensorFlow when Keras runs on JAX or torch.

Each check runs in a fresh Python whose import system refuses `tensorflow` (a `sys.meta_path`
finder raising ImportError), with KERAS_BACKEND=jax or torch, so the TensorFlow this machine has
cannot hide an import that would fail on a JAX-only or torch-only install (a rented GPU machine).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parents[2]

# Modules that must import with TensorFlow absent (concept modules on keras.ops, and the tooling).
NEUTRAL = [
    "grimoire", "grimoire._checks", "grimoire.params", "grimoire.models", "grimoire.digits",
    "grimoire.synthetic", "grimoire.conv", "grimoire.filters", "grimoire.flops", "grimoire.metrics", "grimoire.cam",
    "grimoire.tooling.gpu",
]
# Every probe starts with this: an import system that refuses TensorFlow as a missing package would
# (grimoire.tooling.gpu's hider, the one its GPU dry run uses).
HIDE_TENSORFLOW = r"""
import sys
from grimoire.tooling.gpu import hide_tensorflow
hide_tensorflow()
"""
PROBE = HIDE_TENSORFLOW + r"""
import importlib, json
result = {"imported": [], "failed": {}}
for module in sys.argv[1:]:
    try:
        importlib.import_module(module)
        result["imported"].append(module)
    except Exception as e:
        result["failed"][module] = f"{type(e).__name__}: {e}"
import keras
result["backend"] = keras.backend.backend()
# One Grad-CAM on a small convnet: the backend's gradient path runs, not only the imports.
import numpy as np
from grimoire import cam
model = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                          keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
heatmaps = cam.grad_cam(model, np.random.default_rng(0).normal(size=(2, 12, 12, 3)).astype("float32"))
result["heatmap_shape"] = list(heatmaps.shape)
result["tensorflow_loaded"] = "tensorflow" in sys.modules
print("RESULT " + json.dumps(result))
"""

# The backends a TensorFlow-free machine may run, and how to get each.
BACKENDS = {"jax": "pip install -e .[jax]", "torch": "pip install -e .[torch]"}


@pytest.fixture(scope="module", params=list(BACKENDS))
def probe(request):
    """One fresh Python per backend (imports are slow on a loaded machine) trying every module in turn."""
    backend = request.param
    pytest.importorskip(backend, reason=f"KERAS_BACKEND={backend} needs {backend}: {BACKENDS[backend]}")
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    modules = ["tensorflow", *NEUTRAL]
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the probe did not finish:\n{out.stderr[-3000:]}"
    return {"expected_backend": backend, **json.loads(lines[-1][len("RESULT "):])}


def test_the_probe_really_hides_tensorflow(probe):
    assert "hidden" in probe["failed"]["tensorflow"]


def test_the_backend_neutral_modules_import_without_tensorflow(probe):
    assert {m: e for m, e in probe["failed"].items() if m in NEUTRAL} == {}
    assert [m for m in probe["imported"] if m in NEUTRAL] == NEUTRAL
    assert probe["backend"] == probe["expected_backend"]
    assert probe["heatmap_shape"] == [2, 10, 10]  # a Grad-CAM computed on that backend
    # A module that swallowed the ImportError and half-loaded TensorFlow would show here.
    assert not probe["tensorflow_loaded"]


PYTEST_WITHOUT_TENSORFLOW = HIDE_TENSORFLOW + r"""
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_the_jax_benchmarks_run_without_tensorflow(tmp_path):
    """With TensorFlow hidden and KERAS_BACKEND=jax, every benchmark module collects and a JAX benchmark runs.

    What a machine with JAX and a GPU but no TensorFlow does with `pytest spec/benchmarks --benchmark-only`
    (one small case here; the TensorFlow modules skip themselves with the reason).
    """
    pytest.importorskip("jax", reason="KERAS_BACKEND=jax needs jax: pip install -e .[jax]")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}  # benchmarks refuse xdist workers
    env.update(KERAS_BACKEND="jax", PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    ledger = tmp_path / "ledger.json"
    out = subprocess.run(
        [sys.executable, "-c", PYTEST_WITHOUT_TENSORFLOW, "spec/benchmarks", "--benchmark-only", "--benchmark-quick",
         "-n", "0", "-p", "no:cacheprovider", "-q", "-rs", "-k", "test_forward and 1x1 and jax-cpu",
         f"--ledger-json={ledger}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )

    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "1 passed" in out.stdout and "error" not in out.stdout.lower().split("claim ledger")[0]
    assert "TensorFlow is not installed" in out.stdout  # the TensorFlow modules skipped, saying why
    status = {row["id"]: row["status"] for row in json.loads(ledger.read_text())["claims"]}
    assert status["bench-conv"] == "verified"
