"""The checkout the spec lives in, and running pytest on it.

The spec (`spec/`, `docs/`) ships with the repository, not with the wheel: every command that runs
it needs the source checkout the package was installed from (`python -m pip install -e .`).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Path("spec", "claims.toml")  # the claim catalogue, inside the checkout


def project_root():
    """The source checkout holding `spec/claims.toml`; a clear exit when the package is not in one."""
    if not (ROOT / CATALOGUE).is_file():
        raise SystemExit(
            f"grimoire: no spec/ found next to the installed package ({ROOT}). "
            "Install from a clone of the repository: `python -m pip install -e \".[test]\"`."
        )
    return ROOT


def catalogue_path():
    """The claim catalogue of the checkout."""
    return project_root() / CATALOGUE


# A run whose ledger is read back (matrix, numerics, mistakes, conformance) is quiet, leaves no
# cache behind and keeps pytest's collection order; decided here, once, for all of them.
RECORDING = ("-q", "-p", "no:cacheprovider", "-p", "no:randomly")


def pytest_command(pytest_args=(), *, parallel=True, python=None, workers=None, ledger=None, impl=None, claims=None,
                   default=("spec",)):
    """The pytest command line every front end runs (check, report, exercises, matrix, numerics, mistakes, conformance).

    Args:
        pytest_args: pytest's own arguments (paths, `-k`, ...), passed on last.
        parallel: `-n auto` when the machine has several cores, unless `workers` or `pytest_args` choose.
        python: the interpreter (default: this one; a matrix cell's or a peer's environment).
        workers: pytest-xdist's `-n` (an int or "auto"), when the caller decides it.
        ledger: where the run writes its claim ledger as JSON; such a run is `RECORDING`.
        impl: the implementation the spec checks (`--impl`: a package name or folder).
        claims: the claim ids to run (`--claims`), or None for all.
        default: what runs when `pytest_args` is empty (the spec; `()`: pytest's rootdir, the study
            text's pages too).

    Returns:
        The command, a list of strings.
    """
    pytest_args = [str(a) for a in pytest_args]
    command = [str(python or sys.executable), "-m", "pytest"]
    if workers is not None:
        command += ["-n", str(workers)]
    elif parallel and (os.cpu_count() or 1) > 1 and not any(a == "-n" or a.startswith("-n") for a in pytest_args):
        command += ["-n", "auto"]
    if ledger is not None:
        command += [*RECORDING, "--ledger-json", str(ledger)]
    if impl is not None:
        command += ["--impl", str(impl)]
    if claims:
        command += ["--claims", ",".join(claims)]
    return command + (pytest_args or list(default))


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
