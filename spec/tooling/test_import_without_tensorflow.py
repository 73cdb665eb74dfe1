"""`import grimoire` works without TensorFlow when Keras runs on JAX.

Each check runs in a fresh Python whose import system refuses `tensorflow` (a `sys.meta_path`
finder raising ImportError), with KERAS_BACKEND=jax, so the TensorFlow this machine has cannot
hide an import that would fail on a JAX-only install.
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
]
# Every probe starts with this: an import system that refuses TensorFlow as a missing package would.
HIDE_TENSORFLOW = r"""
import importlib.abc, sys

class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            # What a missing package raises, so pytest.importorskip skips as it would on a JAX-only install.
            raise ModuleNotFoundError(f"TensorFlow is hidden from this process (import of {name!r})", name=name)

sys.meta_path.insert(0, NoTensorFlow())
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
result["tensorflow_loaded"] = "tensorflow" in sys.modules
print("RESULT " + json.dumps(result))
"""


@pytest.fixture(scope="module")
def probe():
    """One fresh Python (imports are slow on a loaded machine) trying every module in turn."""
    pytest.importorskip("jax", reason="KERAS_BACKEND=jax needs jax: pip install -e .[jax]")
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    modules = ["tensorflow", *NEUTRAL]
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *modules], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the probe did not finish:\n{out.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def test_the_probe_really_hides_tensorflow(probe):
    assert "hidden" in probe["failed"]["tensorflow"]


def test_the_backend_neutral_modules_import_without_tensorflow(probe):
    assert {m: e for m, e in probe["failed"].items() if m in NEUTRAL} == {}
    assert [m for m in probe["imported"] if m in NEUTRAL] == NEUTRAL
    assert probe["backend"] == "jax"
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
         "-n", "0", "-p", "no:cacheprovider", "-q", "-rs", "-k", "test_jax_forward and 1x1 and jax-cpu",
         f"--ledger-json={ledger}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )

    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "1 passed" in out.stdout and "error" not in out.stdout.lower().split("claim ledger")[0]
    assert "TensorFlow is not installed" in out.stdout  # the TensorFlow modules skipped, saying why
    status = {row["id"]: row["status"] for row in json.loads(ledger.read_text())["claims"]}
    assert status["bench-conv"] == "verified"
