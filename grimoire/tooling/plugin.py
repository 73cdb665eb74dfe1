"""The pytest plugin behind the spec: claim markers, the `impl` fixture and the claim ledger.

Installed as a pytest entry point (``[project.entry-points.pytest11]``), so its options are known
before pytest picks a rootdir: ``pytest --impl ~/learning/mine spec/a_dense`` works from anywhere.
The ledger is kept only where a claim catalogue exists (``claims_catalogue`` in the ini file,
``spec/claims.toml`` by default); elsewhere the plugin stays out of the way.

Options:
    --impl MODULE_OR_PATH  the implementation the spec checks (default: grimoire)
    --ledger-json PATH     also write the ledger as JSON (atomically)
    --claims IDS           run only the tests that name one of these claim ids (comma-separated)
    --outcomes-json PATH   write one JSON record per claim test: claims, outcome, message, traceback
    --benchmark-quick      one round per benchmark, the slowest cases left out (checks the plumbing)

Options are checked once, at start-up: an `--impl` that cannot be imported or a JSON path that
cannot be written is a usage error (exit code 4) before any test runs.
"""

import os
import re
import tempfile
from pathlib import Path

import pytest

from .files import write_json_atomically
from .implementation import DEFAULT, Implementation
from .claims import Catalogue, installed_versions, is_validation, older_than, scan_claim_markers, skip_reason_for
from .ledger import Ledger
from .project import keras_backend
from .exercises.stubs import MARKER as STUB_MARKER  # the message prefix of a stub's raise
from .unwritten import first_unwritten, lessons_of

PENDING = "grimoire_pending"  # user property marking a test that reached an unwritten stub

# A later phase can only make a test's outcome worse: a teardown error fails a passed test.
RANK = {None: 0, "passed": 1, "skipped": 2, "pending": 3, "failed": 4}


def pytest_addoption(parser):
    group = parser.getgroup("grimoire", "Grimoire claim ledger")
    group.addoption(
        "--impl",
        default=DEFAULT,
        metavar="MODULE_OR_PATH",
        help="implementation to check: an importable package name or a package directory (default: grimoire)",
    )
    group.addoption("--ledger-json", metavar="PATH", default=None, help="write the claim ledger as JSON to PATH")
    group.addoption("--claims", metavar="IDS", default=None,
                    help="run only the tests that name one of these claim ids (comma-separated)")
    group.addoption("--outcomes-json", metavar="PATH", default=None,
                    help="write one JSON record per claim test (claims, outcome, message, traceback) to PATH")
    group.addoption("--benchmark-quick", action="store_true", default=False,
                    help="benchmarks: one round each, the slowest cases left out (checks the plumbing, not the numbers)")
    parser.addini("claims_catalogue", "path of the claim catalogue TOML, relative to rootdir", default="spec/claims.toml")


def pytest_configure(config):
    for marker in (
        "claim(*ids): the catalogue claims this test proves (ids from the claims catalogue)",
        "tooling: a test of the project's own tooling (ledger, CLI, exercises, report); proves no claim",
        "runs_on(*backends, why=''): the Keras backends this test runs under, in place of its claim's "
        "`backends` in the catalogue (a JAX rung of a TensorFlow-only benchmark claim)",
        "since(why='', **releases): what this test checks holds only from these releases on "
        "(`since(keras='3.15.0', why=...)`); older releases skip it with the reason",
    ):
        config.addinivalue_line("markers", marker)
    _check_impl(config.getoption("impl"))
    for option in ("ledger_json", "outcomes_json"):
        _check_writable(option, config.getoption(option))
    catalogue = Path(config.rootpath, config.getini("claims_catalogue"))
    if catalogue.is_file():
        config.pluginmanager.register(LedgerPlugin(config, catalogue), "grimoire-ledger")
    elif config.getoption("ledger_json") or config.getoption("claims"):
        raise pytest.UsageError(
            f"--ledger-json and --claims need a claim catalogue, and there is none at {str(catalogue)!r}. "
            "Run pytest from the Grimoire checkout (or set `claims_catalogue` in its ini file)."
        )


def _check_impl(spec):
    try:
        Implementation.load(spec)
    except Exception as error:  # whatever it raises, the run cannot check this implementation
        message = " ".join(str(error).split()) or type(error).__name__
        raise pytest.UsageError(f"--impl {spec}: cannot import it ({type(error).__name__}: {message})") from None


def _check_writable(option, path):
    if path is None:
        return
    folder = Path(path).expanduser().resolve().parent
    flag = "--" + option.replace("_", "-")
    if not folder.is_dir():
        raise pytest.UsageError(f"{flag} {path}: folder {str(folder)!r} does not exist; create it first.")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".grimoire-probe-"):
            pass
    except OSError as error:
        raise pytest.UsageError(f"{flag} {path}: cannot write in {str(folder)!r} ({error.strerror or error}).") from None


def claims_of(item):
    """The claim ids named by an item's `claim` markers, in order, without repeats."""
    ids = []
    for mark in item.iter_markers("claim"):
        if not mark.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.claim needs at least one claim id.")
        ids += [i for i in mark.args if i not in ids]
    return ids


_LEARNER = pytest.StashKey()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Against a learner's package, a test that calls an unwritten stub is pending before its fixtures run."""
    config = item.config
    if config.getoption("impl") == DEFAULT or "impl" not in getattr(item, "fixturenames", ()):
        return
    claims = claims_of(item)
    if claims and all(is_validation(claim) for claim in claims):
        return  # a validation claim tests the support, which refuses before any lesson runs
    if _LEARNER not in config.stash:
        config.stash[_LEARNER] = Implementation.load(config.getoption("impl"))
    name = first_unwritten(item, config.stash[_LEARNER])
    if name:
        raise NotImplementedError(STUB_MARKER + name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    ledger = item.config.pluginmanager.get_plugin("grimoire-ledger")
    if ledger is None:
        return report
    unwritten = unwritten_function(call.excinfo) if report.when in ("setup", "call") else None
    if unwritten:
        # A stub of the learner's package raised: the claim is pending, not broken. Report it like a skip.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"pending: write {unwritten}")
        report.user_properties = list(report.user_properties) + [(PENDING, True)]
    elif report.failed:
        for claim_id in claims_of(item):
            claim = ledger.ledger.catalogue.claims[claim_id]
            text = f"{claim.statement}\nhint: {claim.hint}" if claim.hint else claim.statement
            report.sections.append((f"claim {claim_id}", text))
    return report


def unwritten_function(excinfo):
    """The function a stub names (`"params.dense_params"`) if `excinfo` is a stub's marked raise, else None.

    Only `NotImplementedError("exercise: <module>.<function>")`, the message the exercise generator
    writes, means "not written yet". Any other NotImplementedError (TensorFlow raises one for
    `.numpy()` inside a graph) is a real failure and is shown as one.
    """
    if excinfo is None or excinfo.type is not NotImplementedError:
        return None
    # Raised while tf.function traces a step, the message comes back with TensorFlow's "in user code:"
    # frames in front of the stub's own `NotImplementedError: exercise: <name>`.
    match = _STUB_RAISE.search(str(excinfo.value))
    return match.group(1) if match else None


_STUB_RAISE = re.compile(r"(?:\A|NotImplementedError: )" + re.escape(STUB_MARKER) + r"([\w.]+)\s*\Z")


def outcome_of(report):
    """A claim test report's outcome for the ledger ('passed', 'failed', 'skipped', 'pending') or None."""
    properties = dict(report.user_properties)
    if "claims" not in properties:
        return None
    if properties.get(PENDING):
        return "pending"
    if report.failed:
        return "failed"
    if report.skipped:
        return "skipped"
    return "passed" if report.when == "call" else None


class LedgerPlugin:
    """Collects each test's final outcome per claim and prints the ledger at the end of the run."""

    def __init__(self, config, catalogue_path):
        self.config = config
        self.ledger = Ledger(Catalogue.load(catalogue_path))
        self.file_claims = {
            path.relative_to(config.rootpath).as_posix(): ids
            for path, ids in scan_claim_markers(catalogue_path.parent).items()
        }
        for ids in self.file_claims.values():
            self.ledger.known_tested.update(i for i in ids if i in self.ledger.catalogue.claims)
        self.backend = keras_backend()
        self.versions = installed_versions({p for r in self.ledger.catalogue.requires.values() for p in r.get("since", {})})
        self.outcomes = {}  # nodeid -> (claim ids, outcome, skip reason)
        self.records = {}  # nodeid -> the --outcomes-json record
        wanted = config.getoption("claims")
        self.wanted = set(wanted.split(",")) if wanted else None
        unknown = self.ledger.catalogue.unknown(sorted(self.wanted or ()))
        if unknown:
            raise pytest.UsageError(f"--claims: unknown claim id(s) {unknown}; see {config.getini('claims_catalogue')}.")

    def pytest_collection_modifyitems(self, config, items):
        for item in items:
            ids = claims_of(item)
            unknown = self.ledger.catalogue.unknown(ids)
            if unknown:
                raise pytest.UsageError(
                    f"{item.nodeid}: unknown claim id(s) {unknown}. Every id in @pytest.mark.claim must be in "
                    f"the catalogue {self.config.getini('claims_catalogue')!r}; fix the spelling or add the claim there."
                )
            item.user_properties.append(("claims", ids))
            reason = self.skip_reason(item, ids)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
            uses_impl = "impl" in getattr(item, "fixturenames", ())
            item.user_properties.append(("uses_impl", uses_impl))
            if self.config.getoption("outcomes_json"):  # which lessons each test checks, for a learner's progress
                item.user_properties.append(("lessons", lessons_of(item) if uses_impl else []))
        if self.wanted is not None:
            keep = [item for item in items if self.wanted & set(claims_of(item))]
            config.hook.pytest_deselected(items=[item for item in items if item not in keep])
            items[:] = keep

    def skip_reason(self, item, ids):
        """Why this backend or these releases cannot run the test (the catalogue's `[requires.<id>]`
        of its claims, its own `runs_on` and `since` markers), or None."""
        requires = self.ledger.catalogue.requires
        own = item.get_closest_marker("runs_on")
        reason = skip_reason_for([requires.get(i, {}) for i in ids], own and (own.args, own.kwargs.get("why", "")),
                                 self.backend, self.versions)
        since = item.get_closest_marker("since")
        if since is not None and not reason:
            releases = {k: v for k, v in since.kwargs.items() if k != "why"}
            reason = older_than(releases, installed_versions(releases), since.kwargs.get("why", ""),
                                "what this test checks holds")
        return reason

    def pytest_collectreport(self, report):
        if report.failed:
            # The module could not be collected: every claim its source names is failing.
            for claim_id in self.file_claims.get(report.nodeid.split("::")[0], []):
                self.outcomes[f"{report.nodeid}::<collect {claim_id}>"] = ([claim_id], "failed", "")

    def pytest_runtest_logreport(self, report):
        # Under xdist this runs in the controlling process with the workers' reports.
        outcome = outcome_of(report)
        if outcome is None:
            return
        claims = dict(report.user_properties)["claims"]
        previous = self.outcomes.get(report.nodeid, (None, None, ""))[1]
        if RANK[outcome] >= RANK[previous]:
            record = _record(report, claims, outcome)
            self.outcomes[report.nodeid] = (claims, outcome, record["message"] if outcome == "skipped" else "")
            self.records[report.nodeid] = record

    def final_ledger(self):
        self.ledger.counts.clear()
        self.ledger.skips.clear()
        for claim_ids, outcome, reason in self.outcomes.values():
            self.ledger.record(claim_ids, outcome, reason)
        return self.ledger

    def pytest_sessionstart(self):
        # No test of the spec starts or asks a learner's warm checker by accident (the checker's own tests
        # ask for one explicitly); restored at the end, so a check run in-process still starts one afterwards.
        self.check_server = os.environ.get("GRIMOIRE_CHECK_SERVER")
        os.environ["GRIMOIRE_CHECK_SERVER"] = "0"

    def pytest_terminal_summary(self, terminalreporter):
        if hasattr(self.config, "workerinput"):
            return
        terminalreporter.section("claim ledger")
        for line in self.final_ledger().render().splitlines():
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self):
        if self.check_server is None:
            os.environ.pop("GRIMOIRE_CHECK_SERVER", None)
        else:
            os.environ["GRIMOIRE_CHECK_SERVER"] = self.check_server
        if hasattr(self.config, "workerinput"):
            return
        if path := self.config.getoption("ledger_json"):
            self.final_ledger().write_json(path)
        if path := self.config.getoption("outcomes_json"):
            write_json_atomically(path, list(self.records.values()))


def _record(report, claims, outcome):
    properties = dict(report.user_properties)
    message = traceback = ""
    if outcome == "pending":
        message = report.longrepr[2]
    elif outcome == "failed":
        crash = getattr(report.longrepr, "reprcrash", None)
        message, traceback = (crash.message if crash else str(report.longrepr)), report.longreprtext
    elif outcome == "skipped" and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2]).removeprefix("Skipped: ")
    return {"nodeid": report.nodeid, "claims": list(claims), "uses_impl": bool(properties.get("uses_impl")),
            "outcome": outcome, "message": message, "traceback": traceback,
            "lessons": list(properties.get("lessons", []))}


@pytest.fixture(scope="session")
def impl(request):
    """The implementation under test (``--impl``; the reference ``grimoire`` by default).

    Claim tests reach every function through it (``impl.params.dense_params(3, 32)``), never by
    importing ``grimoire``, so the same spec checks a learner's package.
    """
    return Implementation.load(request.config.getoption("impl"))
