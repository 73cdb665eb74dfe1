"""The pytest plugin behind the spec: claim markers, the `impl` fixture and the claim ledger.

Loaded by the project's top-level ``conftest.py`` (``pytest_plugins = ["grimoire.pytest_plugin"]``).

Options:
    --impl MODULE_OR_PATH  the implementation the spec checks (default: grimoire)
    --ledger-json PATH     also write the ledger as JSON
"""

from pathlib import Path

import pytest

from .implementation import DEFAULT, Implementation
from .ledger import Catalogue, Ledger, scan_claim_markers

PENDING = "grimoire_pending"  # user property marking a NotImplementedError


def pytest_addoption(parser):
    group = parser.getgroup("grimoire", "Grimoire claim ledger")
    group.addoption(
        "--impl",
        default=DEFAULT,
        metavar="MODULE_OR_PATH",
        help="implementation to check: an importable package name or a package directory (default: grimoire)",
    )
    group.addoption("--ledger-json", metavar="PATH", default=None, help="write the claim ledger as JSON to PATH")
    parser.addini("claims_catalogue", "path of the claim catalogue TOML, relative to rootdir", default="spec/claims.toml")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "claim(*ids): the catalogue claims this test proves (ids from the claims catalogue)"
    )
    config.addinivalue_line(
        "markers", "tooling: a test of the project's own tooling (ledger, CLI, exercises, report); proves no claim"
    )
    config.pluginmanager.register(LedgerPlugin(config), "grimoire-ledger")


def claims_of(item):
    """The claim ids named by an item's `claim` markers, in order, without repeats."""
    ids = []
    for mark in item.iter_markers("claim"):
        if not mark.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.claim needs at least one claim id.")
        ids += [i for i in mark.args if i not in ids]
    return ids


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(NotImplementedError) and report.when in ("setup", "call"):
        # A stub raised: the claim is pending, not broken. Report it like a skip.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"pending: {excinfo.value or 'not implemented'}")
        report.user_properties = list(report.user_properties) + [(PENDING, True)]
    elif report.failed:
        catalogue = item.config.pluginmanager.get_plugin("grimoire-ledger").ledger.catalogue
        for claim_id in claims_of(item):
            claim = catalogue.claims[claim_id]
            text = f"{claim.statement}\nhint: {claim.hint}" if claim.hint else claim.statement
            report.sections.append((f"claim {claim_id}", text))
    return report


# A later phase can only make a test's outcome worse: a teardown error fails a passed test.
_RANK = {None: 0, "passed": 1, "skipped": 2, "pending": 3, "failed": 4}


class LedgerPlugin:
    """Collects each test's final outcome per claim and prints the ledger at the end of the run."""

    def __init__(self, config):
        self.config = config
        catalogue_path = Path(config.rootpath, config.getini("claims_catalogue"))
        self.ledger = Ledger(Catalogue.load(catalogue_path))
        self.file_claims = {
            path.relative_to(config.rootpath).as_posix(): ids
            for path, ids in scan_claim_markers(catalogue_path.parent).items()
        }
        for ids in self.file_claims.values():
            self.ledger.known_tested.update(i for i in ids if i in self.ledger.catalogue.claims)
        self.outcomes = {}  # nodeid -> (claim ids, outcome)

    def pytest_collection_modifyitems(self, items):
        for item in items:
            ids = claims_of(item)
            unknown = self.ledger.catalogue.unknown(ids)
            if unknown:
                raise pytest.UsageError(
                    f"{item.nodeid}: unknown claim id(s) {unknown}. Every id in @pytest.mark.claim must be in "
                    f"the catalogue {self.config.getini('claims_catalogue')!r}; fix the spelling or add the claim there."
                )
            item.user_properties.append(("claims", ids))

    def pytest_collectreport(self, report):
        if report.failed:
            # The module could not be collected: every claim its source names is failing.
            for claim_id in self.file_claims.get(report.nodeid.split("::")[0], []):
                self.outcomes[f"{report.nodeid}::<collect {claim_id}>"] = ([claim_id], "failed")

    def pytest_runtest_logreport(self, report):
        # Under xdist this runs in the controlling process with the workers' reports.
        properties = dict(report.user_properties)
        if "claims" not in properties:
            return
        if properties.get(PENDING):
            outcome = "pending"
        elif report.failed:
            outcome = "failed"
        elif report.skipped:
            outcome = "skipped"
        elif report.when == "call":
            outcome = "passed"
        else:
            return
        previous = self.outcomes.get(report.nodeid, (None, None))[1]
        if _RANK[outcome] >= _RANK[previous]:
            self.outcomes[report.nodeid] = (properties["claims"], outcome)

    def final_ledger(self):
        self.ledger.counts.clear()
        for claim_ids, outcome in self.outcomes.values():
            self.ledger.record(claim_ids, outcome)
        return self.ledger

    def pytest_terminal_summary(self, terminalreporter):
        if hasattr(self.config, "workerinput"):
            return
        terminalreporter.section("claim ledger")
        for line in self.final_ledger().render().splitlines():
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self):
        path = self.config.getoption("ledger_json")
        if path and not hasattr(self.config, "workerinput"):
            self.final_ledger().write_json(path)


@pytest.fixture(scope="session")
def impl(request):
    """The implementation under test (``--impl``; the reference ``grimoire`` by default).

    Claim tests reach every function through it (``impl.params.dense_params(3, 32)``), never by
    importing ``grimoire``, so the same spec checks a learner's package.
    """
    return Implementation.load(request.config.getoption("impl"))
