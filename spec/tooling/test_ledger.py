"""The claim ledger: markers checked against the catalogue, statuses, JSON, xdist, partial runs."""

import json

import pytest

pytestmark = pytest.mark.tooling

CATALOGUE = """
[sections]
A = "First"
B = "Second"

[[claim]]
id = "passes"
section = "A"
statement = "It passes."

[[claim]]
id = "fails"
section = "A"
statement = "It fails."
hint = "Look again."

[[claim]]
id = "pending"
section = "B"
statement = "Its implementation is a stub."

[[claim]]
id = "skipped"
section = "B"
statement = "It is skipped here."

[[claim]]
id = "untested"
section = "B"
statement = "No test names it."
"""

TESTS = """
import pytest

@pytest.mark.claim("passes")
def test_one():
    assert True

@pytest.mark.claim("passes", "fails")
def test_two():
    assert 1 == 2

@pytest.mark.claim("pending")
def test_three():
    raise NotImplementedError("exercise: shapes.area")

@pytest.mark.claim("skipped")
def test_four():
    pytest.skip("no GPU")

@pytest.mark.claim("passes")
@pytest.mark.parametrize("n", range(4))
def test_many(n):
    assert n >= 0
"""


@pytest.fixture
def project(pytester):
    pytester.makeini("[pytest]\nclaims_catalogue = claims.toml\n")
    pytester.path.joinpath("claims.toml").write_text(CATALOGUE)
    pytester.makepyfile(test_claims=TESTS)
    return pytester


def ledger(pytester, *args):
    run = pytester.runpytest_subprocess if "-n" in args else pytester.runpytest
    result = run("--ledger-json", "ledger.json", "-p", "no:cacheprovider", *args)
    data = json.loads(pytester.path.joinpath("ledger.json").read_text())
    return result, {row["id"]: row for row in data["claims"]}, data["summary"]


def test_each_claim_gets_the_status_of_its_tests(project):
    """verified, failing, pending, skipped and untested follow from the tests' outcomes."""
    result, rows, summary = ledger(project)

    assert {i: r["status"] for i, r in rows.items()} == {
        "passes": "failing",  # test_two names both claims and fails
        "fails": "failing",
        "pending": "pending",
        "skipped": "skipped",
        "untested": "untested",
    }
    assert (rows["passes"]["passed"], rows["passes"]["failed"]) == (5, 1)
    assert rows["pending"]["pending"] == 1
    assert summary == {"verified": 0, "failing": 2, "pending": 1, "skipped": 1, "untested": 1, "not run": 0}
    result.stdout.fnmatch_lines(["*claim ledger*", "A. First", "  failing*passes*5 passed, 1 failed*",
                                 "claims: 0 verified, 2 failing, 1 pending, 1 skipped, 1 untested"])


def test_a_failure_shows_the_claim_and_its_hint(project):
    """The failure report carries the claim's statement and hint."""
    result, _, _ = ledger(project)

    result.stdout.fnmatch_lines(["*claim fails*", "It fails.", "hint: Look again."])


def test_pending_is_reported_as_a_skip_not_an_error(project):
    """A stub's marked NotImplementedError makes the test pending, shown as a skip naming the function."""
    result, _, _ = ledger(project, "-rs")

    result.stdout.fnmatch_lines(["SKIPPED*pending: write shapes.area"])
    result.assert_outcomes(passed=5, failed=1, skipped=2)


@pytest.mark.parametrize("message", [
    pytest.param("numpy() is only available when eager execution is enabled.", id="tensorflow"),
    pytest.param("", id="bare"),
    pytest.param("exercise: written by hand, not a stub", id="not-a-name"),
])
def test_any_other_not_implemented_error_is_a_failure_with_its_message(project, message):
    """Only the stub marker means "not written yet"; TensorFlow's NotImplementedError is a real failure."""
    project.makepyfile(test_claims=TESTS.replace('"exercise: shapes.area"', repr(message)))
    result, rows, _ = ledger(project)

    assert rows["pending"]["status"] == "failing"
    if message:
        result.stdout.fnmatch_lines([f"*NotImplementedError: {message}*"])


def test_a_passing_selection_is_verified_and_the_rest_is_not_run(project):
    """With -k only some claims run; the others say 'not run', not 'untested'."""
    _, rows, summary = ledger(project, "-k", "one or many")

    assert rows["passes"]["status"] == "verified"
    assert [rows[i]["status"] for i in ("fails", "pending", "skipped")] == ["not run"] * 3
    assert rows["untested"]["status"] == "untested"
    assert summary["not run"] == 3


def test_the_ledger_is_identical_under_xdist(project):
    """pytest -n 2 gives the same ledger as a serial run."""
    _, serial, _ = ledger(project)
    _, parallel, _ = ledger(project, "-n", "2")

    assert parallel == serial


def test_an_unknown_claim_id_is_a_collection_error_naming_it(project):
    """A misspelt id stops the run and names the id and the catalogue."""
    project.makepyfile(test_typo='import pytest\n\n@pytest.mark.claim("pases")\ndef test_x():\n    pass\n')

    result = project.runpytest("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.re_match_lines([r".*test_typo.py::test_x: unknown claim id\(s\) \['pases'\].*'claims.toml'.*"])


def test_a_module_that_fails_to_import_fails_its_claims(project):
    """A collection error is not silence: the claims its source names are failing."""
    project.makepyfile(test_broken='import pytest\nimport no_such_module\n\n@pytest.mark.claim("untested")\ndef test_x():\n    pass\n')

    _, rows, _ = ledger(project)

    assert rows["untested"]["status"] == "failing"


def test_the_ledger_says_which_tests_did_not_run_here_and_why(project):
    project.makepyfile(test_gpu='''
import pytest

@pytest.mark.claim("passes")
@pytest.mark.skip(reason="no GPU visible to TensorFlow on this machine")
def test_on_gpu():
    pass
''')
    result, rows, _ = ledger(project)
    data = json.loads(project.path.joinpath("ledger.json").read_text())
    assert {"reason": "no GPU visible to TensorFlow on this machine", "tests": 1, "claims": ["passes"]} in data["skipped_because"]
    result.stdout.fnmatch_lines(["Not run here, and why:", "  1 test(s) of passes: no GPU visible to TensorFlow on this machine"])
