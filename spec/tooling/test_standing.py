"""A learner's progress: `list` (every claim), `solution` (gated on a function's own tests), `reset`, diagnosis.

The runs of the spec are replaced by fakes that return records, so these tests check the
bookkeeping: which claims are run, what is remembered, what opens and what is kept.
"""

import json

import pytest

from grimoire.tooling import plant
from grimoire.tooling.claims import Catalogue
from grimoire.tooling.exercises import diagnose, generate, guide, standing

pytestmark = pytest.mark.tooling

CATALOGUE = Catalogue.load()


@pytest.fixture
def mine(tmp_path):
    root = tmp_path / "mine"
    generate.write_exercises(root, keep=["params.dense_params"])
    return root


class FakeRun:
    """Stands for `check.run_check`: every test of each asked claim gets `outcome`, reaching `lessons`."""

    def __init__(self, outcome="passed", lessons=("params.dense_params",)):
        self.calls, self.outcome, self.lessons = [], outcome, list(lessons)

    def __call__(self, impl, claims, **kwargs):
        self.calls.append(list(claims))
        records = [{"nodeid": f"spec/test_{c}.py::test_it", "claims": [c], "outcome": self.outcome,
                    "message": "pending: write params.conv_params" if self.outcome == "pending" else "assert 1 == 2",
                    "traceback": "", "lessons": self.lessons} for c in claims]
        status = {"passed": "verified", "failed": "failing", "pending": "pending"}[self.outcome]
        return 0, {"claims": [{"id": c, "status": status} for c in claims]}, records, ""


def test_list_runs_only_what_it_cannot_tell_and_remembers_it(mine):
    """Claims whose lessons are all stubs are pending without a run; the rest run once, then are remembered."""
    run = FakeRun()
    rows, checked = standing.standing(mine, run=run, catalogue=CATALOGUE)

    assert run.calls == [checked] and "dense-params-formula" in checked
    assert rows["merge-add"] == {"status": "pending", "detail": "waits on models.merge", "source": "stubs"}
    assert rows["params-errors"]["status"] == "solved"
    assert rows["dense-params-formula"]["status"] == "verified"
    again, checked_again = standing.standing(mine, run=run, catalogue=CATALOGUE)
    assert checked_again == [] and len(run.calls) == 1 and again["dense-params-formula"]["source"] == "remembered"


def test_editing_a_lesson_forgets_the_verdicts_of_its_claims_only(mine):
    """A new body of dense_params makes its claims run again; a claim that does not need it stays remembered."""
    standing.standing(mine, run=FakeRun(), catalogue=CATALOGUE)
    params = mine / "params.py"
    params.write_text(params.read_text().replace("return input_size * output_size + (output_size if use_bias else 0)",
                                                 "return input_size * output_size"))
    run = FakeRun("failed")
    rows, checked = standing.standing(mine, run=run, catalogue=CATALOGUE)

    assert "dense-params-formula" in checked and rows["dense-params-formula"]["status"] == "failing"
    text = standing.render(rows, CATALOGUE, mine, checked)
    assert "First failing: grimoire exercises check" in text and "--claim dense-params-formula" in text
    assert json.loads((mine / standing.STATE).read_text())["dense-params-formula"]["status"] == "failing"


def test_the_solution_opens_once_a_test_of_the_function_passes(mine):
    """Yours next to the reference's, once a test that reaches the function passes and none of them fails."""
    code, text = guide.solution("params.dense_params", impl=mine, run=FakeRun("passed"))
    assert code == 0 and text.index("# Yours") < text.index("# The reference's")
    assert text.count("def dense_params(input_size, output_size, *, use_bias=True):") == 2

    code, text = guide.solution("params.dense_params", impl=mine, run=FakeRun("failed"))
    assert code == 1 and "def dense_params" not in text and "fails" in text

    code, text = guide.solution("params.dense_params", impl=mine, run=FakeRun("passed", lessons=["params.conv_params"]))
    assert code == 1 and "def dense_params" not in text, "a passing test that never reaches the function proves nothing"


def test_the_solution_of_a_stub_stays_closed_without_running_anything(mine):
    run = FakeRun()
    code, text = guide.solution("params.conv_params", impl=mine, run=run)
    assert code == 1 and "still a stub" in text and run.calls == []
    with pytest.raises(ValueError, match=r"must be a lesson on the exercise path"):
        guide.solution("params.count_params", impl=mine, run=run)


def test_reset_puts_the_stub_back_and_keeps_the_learners_version(mine):
    """The module gets the generator's stub back; the learner's definition is saved, nothing else moves."""
    before = (mine / "params.py").read_text()
    saved = guide.reset("params.dense_params", impl=mine)
    after = (mine / "params.py").read_text()

    assert 'raise NotImplementedError("exercise: params.dense_params")' in after
    assert "return input_size * output_size + (output_size if use_bias else 0)" in saved.read_text()
    assert saved.parent == mine / ".grimoire" / "reset"
    fresh = generate.stub_source((generate.REFERENCE / "params.py").read_text(), module="params", lessons=["dense_params", "conv_params"])
    assert after == generate.HEADER + fresh
    assert before.replace(saved.read_text(), "") != before  # what was taken out is exactly what was kept
    with pytest.raises(ValueError, match=r"must be a lesson"):
        guide.reset("params.count_params", impl=mine)


def test_a_mistake_is_named_only_when_it_fails_the_same_tests_with_the_same_values():
    """The replay matches failing node ids and the numbers in their messages; anything else names nothing."""
    mistake = plant.Mistake(id="m", section="A", claims=("dense-params-formula",), explanation="x", source="s",
                            module="params", target="dense_params", replacement="def dense_params(): pass")
    mine = [{"nodeid": "t::a", "claims": ["dense-params-formula"], "outcome": "failed", "message": "assert 96 == 128",
             "lessons": ["params.dense_params"]},
            {"nodeid": "t::b", "claims": ["dense-params-formula"], "outcome": "passed", "message": "", "lessons": []}]

    def replay(messages):
        def run(copy, claims, nodes):
            assert nodes == ["t::a", "t::b"]
            return 0, None, [{"nodeid": n, "outcome": "failed" if n in messages else "passed", "message": messages.get(n, "")}
                             for n in nodes], ""
        return run

    assert diagnose.likely_mistake("dense-params-formula", mine, mistakes=[mistake], run=replay({"t::a": "assert 96 == 128"})) == mistake
    assert diagnose.likely_mistake("dense-params-formula", mine, mistakes=[mistake], run=replay({"t::a": "assert 97 == 128"})) is None
    assert diagnose.likely_mistake("dense-params-formula", mine, mistakes=[mistake],
                                   run=replay({"t::a": "assert 96 == 128", "t::b": "x"})) is None
    assert diagnose.same_failure("max 0.30000001 at [0, 1]", "max 0.3 at [0, 1]")
    assert diagnose.same_failure("assert 1 == 2\nFalsifying example: t(\n    impl=Implementation('/tmp/a/mine'),\n    n=1,\n)\n"
                                 " +  where 1 = <function f at 0x7f01>(1)",
                                 "assert 1 == 2\nFalsifying example: t(\n    impl=Implementation('/tmp/b/grimoire'),\n    n=1,\n)\n")
    assert not diagnose.same_failure("max 0.3 at [0, 1]", "max 0.3 at [0, 2]")


def test_the_learning_page_shows_what_next_and_list_print(tmp_path, monkeypatch):
    """docs/learning.md's `next` and `list` blocks are what the tools print for a fresh package named mine."""
    from .docblocks import assert_shown, block

    monkeypatch.chdir(tmp_path)
    generate.write_exercises(tmp_path / "mine")

    def no_run(impl, claims, **kwargs):
        raise AssertionError(f"a fresh package needs no test run to list; asked to run {claims}")

    assert_shown(block("learning.md", "next"), guide.describe_next("mine"))
    rows, checked = standing.standing("mine", run=no_run, catalogue=CATALOGUE)
    assert_shown(block("learning.md", "list"), standing.render(rows, CATALOGUE, "mine", checked))
