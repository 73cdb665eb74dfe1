"""The checkout the spec lives in, and running pytest on it.

The spec (`spec/`, `docs/`) ships with the repository, not with the wheel: every command that runs
it needs the source checkout the package was installed from (`python -m pip install -e .`).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project_root():
    """The source checkout holding `spec/claims.toml`; a clear exit when the package is not in one."""
    if not (ROOT / "spec" / "claims.toml").is_file():
        raise SystemExit(
            f"grimoire: no spec/ found next to the installed package ({ROOT}). "
            "Install from a clone of the repository: `python -m pip install -e \".[test]\"`."
        )
    return ROOT


def catalogue_path():
    """The claim catalogue of the checkout."""
    return project_root() / "spec" / "claims.toml"


def pytest_command(pytest_args, *, parallel=True):
    """`python -m pytest ...`, with `-n auto` when asked for, the machine has cores and none is chosen."""
    command = [sys.executable, "-m", "pytest"]
    if parallel and (os.cpu_count() or 1) > 1 and not any(a == "-n" or a.startswith("-n") for a in pytest_args):
        command += ["-n", "auto"]
    return command + (list(pytest_args) or ["spec"])


def run_spec(pytest_args, *, parallel=True):
    """Runs pytest on the spec from the project root; returns pytest's exit code."""
    return subprocess.call(pytest_command(pytest_args, parallel=parallel), cwd=project_root())


def keras_backend(environ=None):
    """The Keras backend a process will use, read the way Keras reads it, without importing Keras:
    $KERAS_BACKEND, else $KERAS_HOME/keras.json (default ~/.keras/keras.json), else TensorFlow."""
    environ = os.environ if environ is None else environ
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    import json

    config = Path(environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json"
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def split_cpu(logical_cpus=2):
    """Splits the CPU into `logical_cpus` TensorFlow devices, before TensorFlow starts (`metric-distributed`
    runs MirroredStrategy over /CPU:0 and /CPU:1); the spec's conftest and the warm checker call it."""
    if keras_backend() != "tensorflow":
        return  # the claim is TensorFlow-only and skipped; TensorFlow may not even be installed
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) >= logical_cpus:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    except RuntimeError:
        pass  # TensorFlow already started in this process (a nested run): the distributed test skips, saying why
