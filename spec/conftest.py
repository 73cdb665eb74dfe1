"""Fixtures every claim test shares: determinism and the heavy models built once per session."""

import os
import random
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, settings

from grimoire.tooling.project import keras_backend, split_cpu
from spec.fixture_cache import cached_training

SEED = 1234

# Property tests draw the same examples on every run and every xdist worker (derandomize), and
# never time out on a loaded machine: TensorFlow's first call in a process can take seconds.
settings.register_profile("spec", derandomize=True, deadline=None, max_examples=30, print_blob=True)
settings.load_profile("spec")
# Against a learner's package (--impl DIR) an unwritten function raises NotImplementedError on every
# example; shrinking that repeats costly model builds for nothing, so stop at the first failure.
settings.register_profile("learner", parent=settings.get_profile("spec"), phases=[Phase.explicit, Phase.reuse, Phase.generate])


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "runs_on(*backends, why=''): the Keras backends this test runs under, in place of its claim's "
        "`backends` in claims.toml (a JAX rung of a TensorFlow-only benchmark claim)",
    )
    config.addinivalue_line(
        "markers", "since(why='', **releases): what this test checks holds only from these releases on "
        "(`since(keras='3.15.0', why=...)`); older releases skip it with the reason",
    )
    # Runs before the test modules are imported, so their @given picks up the profile.
    if config.getoption("impl") != "grimoire":
        settings.load_profile("learner")
    _split_cpu(config)


DISTRIBUTED_TEST = Path(__file__).parent / "c_metrics" / "test_metric_distributed.py"


def _may_run(config, path, claim):
    """Whether this run may collect `path`: its claim is selected and a path argument covers it."""
    claims = config.getoption("claims", None)
    if claims and claim not in claims.split(","):
        return False
    arguments = [Path(config.invocation_params.dir, a.split("::")[0]).resolve()
                 for a in config.args if not a.startswith("-")]
    return not arguments or any(a == path or a in path.parents for a in arguments)


def claim_requirements(config):
    """The `[requires.<claim id>]` tables of the claim catalogue: backends, since, why, note."""
    path = Path(config.rootpath) / config.getini("claims_catalogue")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")).get("requires", {})
    except OSError:
        return {}


def requirement_unmet(requirement, backend, versions):
    """Why a claim cannot run here (a skip reason), or None when it can.

    Args:
        requirement: one `[requires.<id>]` table, e.g. `{"backends": ["tensorflow"], "why": "..."}`.
        backend: the Keras backend of this run.
        versions: installed versions, e.g. `{"keras": "3.15.1"}`, for `since = {keras = "3.x"}`.
    """
    backends = requirement.get("backends")
    if backends and backend not in backends:
        only = "TensorFlow" if backends == ["tensorflow"] else "/".join(backends)
        return f"{only}-only claim: {requirement.get('why', 'see spec/claims.toml')}"
    return _older_than(requirement.get("since", {}), versions, requirement.get("note", ""), "claim holds")


def _older_than(since, versions, why, what):
    for package, release in since.items():
        installed = versions.get(package)
        if installed and _version(installed) < _version(release):
            return f"{what} since {package} {release}; {installed} is installed: {why}".rstrip(": ")
    return None


def _version(text):
    return tuple(int(p) for p in text.split("+")[0].split(".")[:3] if p.isdigit())


def pytest_collection_modifyitems(config, items):
    """Skips the tests of claims this backend or these releases cannot run (see claims.toml)."""
    requires = claim_requirements(config)
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in {p for r in requires.values() for p in r.get("since", {})} | {"keras", "tensorflow"}:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    backend = keras_backend()
    for item in items:
        own = item.get_closest_marker("runs_on")
        ids = [i for marker in item.iter_markers("claim") for i in marker.args]
        reason = skip_reason_for([requires.get(i, {}) for i in ids], own and (own.args, own.kwargs.get("why", "")),
                                 backend, versions)
        since = item.get_closest_marker("since")
        if since is not None and not reason:
            releases = {k: v for k, v in since.kwargs.items() if k != "why"}
            reason = _older_than(releases, versions, since.kwargs.get("why", ""), "what this test checks holds")
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def skip_reason_for(requirements, runs_on, backend, versions):
    """Why a test cannot run here, or None: its own `runs_on` backends, else its claims' requirements.

    Args:
        requirements: the `[requires.<id>]` tables of the test's claims.
        runs_on: `(backends, why)` from the test's `runs_on` marker, or None. A test that names its
            backends replaces its claims' `backends` (a JAX rung of a TensorFlow-only claim); their
            `since` still applies.
        backend, versions: as for `requirement_unmet`.
    """
    if runs_on:
        backends, why = runs_on
        if backend not in backends:
            return f"runs under KERAS_BACKEND={'/'.join(backends)}: {why}".rstrip(": ")
        requirements = [{k: v for k, v in r.items() if k != "backends"} for r in requirements]
    return next((r for r in (requirement_unmet(q, backend, versions) for q in requirements) if r), None)


def _split_cpu(config, logical_cpus=2):
    """Splits the CPU into two logical devices before TensorFlow initialises its devices.

    `metric-distributed` runs MirroredStrategy over /CPU:0 and /CPU:1. TensorFlow fixes its devices
    at its first op, so this must run before any test module is imported. Ops without an explicit
    device still run on /CPU:0, so no other test changes. On another Keras backend the claim is
    skipped and TensorFlow is not imported here.
    """
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no tests; each worker configures itself
    if not _may_run(config, DISTRIBUTED_TEST, "metric-distributed"):
        return  # importing TensorFlow costs seconds: only for a run that may need the split
    split_cpu(logical_cpus)


@pytest.fixture(scope="session", autouse=True)
def no_warm_checker():
    """No test starts or asks a learner's warm checker by accident (the checker's own tests ask for
    one explicitly); restored when the session ends, so a check run in-process by
    `grimoire exercises check` still starts one afterwards."""
    before = os.environ.get("GRIMOIRE_CHECK_SERVER")
    os.environ["GRIMOIRE_CHECK_SERVER"] = "0"
    yield
    if before is None:
        os.environ.pop("GRIMOIRE_CHECK_SERVER", None)
    else:
        os.environ["GRIMOIRE_CHECK_SERVER"] = before


def clear_session(keras):
    """Resets the Keras session, skipping the full gc.collect() where Keras lets us.

    free_memory=False skips a full gc.collect() (~0.2 s CPU per test with TensorFlow loaded); the
    session state is still reset, and Python's own GC frees the old objects later. Keras before
    3.3.0 has no `free_memory` argument (and always collects).
    """
    import inspect

    if "free_memory" in inspect.signature(keras.backend.clear_session).parameters:
        keras.backend.clear_session(free_memory=False)
    else:
        keras.backend.clear_session()


@pytest.fixture(autouse=True)
def _deterministic():
    """Seeds Python, numpy and TensorFlow and starts each test from a clear Keras session."""
    import keras

    clear_session(keras)
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
