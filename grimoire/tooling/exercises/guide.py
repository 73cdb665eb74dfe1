"""What to do next, a hint on request, the reference's solution after success, a stub put back.

    grimoire exercises [next] [DIR]     the next function to write, its claim, the docs, the command
    grimoire exercises hint [ID]        the hint of a claim (default: the next step's)
    grimoire exercises solution FN      yours next to the reference's FN, once the tests that check FN pass
    grimoire exercises reset FN         FN back to its stub (yours is kept in DIR/.grimoire/reset/)
    grimoire exercises list [DIR]       every claim by section (see `standing`)
"""

import textwrap
import time
from pathlib import Path

from ..claims import Catalogue
from ..files import write_text_atomically
from ..layout import LESSONS, is_lesson, lessons, split
from . import standing
from .check import require_package, run_check
from .generate import REFERENCE
from .path import docs_section, exercise_path, lesson_file, next_step
from .stubs import definition_lines, function_bodies, is_stub, stub_source

DEFAULT_DIR = "mine"


def describe_next(impl):
    """The text `grimoire exercises next` prints for the package at `impl`."""
    catalogue = Catalogue.load()
    steps = exercise_path(catalogue)
    step = next_step(impl, steps)
    if step is None:
        return (f"Every function on the path is written in {impl}. Check them all with:\n"
                f"  grimoire exercises check {impl}")
    claim = catalogue.claims[step["claim"]]
    done = steps.index(step)
    module, name = split(step["function"])
    lines = [
        f"Step {done + 1} of {len(steps)}: write `{name}` in {Path(impl) / (module.replace('.', '/') + '.py')}",
        "",
        f"It makes this claim true ({claim.id}, section {claim.section}):",
        f"  {claim.statement}",
    ]
    others = [c for c in step["claims"] if c != claim.id]
    if others:
        lines.append(f"and moves these claims too: {', '.join(others)}")
    section = docs_section(claim.id)
    if section:
        lines += ["", f"Read: {section}"]
    lines += ["", "Check it:", f"  grimoire exercises check {impl} --claim {claim.id}",
              f"Stuck? grimoire exercises hint {claim.id}"]
    return "\n".join(lines)


def hint(claim_id=None, *, impl=DEFAULT_DIR):
    """The hint text of `claim_id` (default: the claim of the next step in the package at `impl`)."""
    catalogue = Catalogue.load()
    if claim_id is None:
        step = next_step(impl, exercise_path(catalogue))
        if step is None:
            return "Nothing left to write: no hint needed."
        claim_id = step["claim"]
    if claim_id not in catalogue.claims:
        raise ValueError(f"Argument `ID` must be a claim id from spec/claims.toml. Received: {claim_id!r}")
    claim = catalogue.claims[claim_id]
    return f"{claim.id}: {claim.hint or 'no hint for this claim: read its statement and its docs section.'}"


def solution(function, *, impl=DEFAULT_DIR, run=run_check):
    """`(exit code, text)`: the learner's `function` next to the reference's, once its own tests pass.

    Its own tests are those that reach it (each test's `lessons`), in the claims it moves, taken in
    study order: the first claim where such a test passes opens the solution, unless one of them fails.
    A test that waits on another stub does not count either way.
    """
    steps = {s["function"]: s for s in exercise_path()}
    if function not in steps:
        known = ", ".join(list(steps)[:5])
        raise ValueError(f"Argument `function` must be a lesson on the exercise path (e.g. {known}). Received: {function!r}")
    path, name = lesson_file(impl, function)
    text = path.read_text(encoding="utf-8") if path else ""
    mine = function_bodies(text).get(name)
    if mine is None or is_stub(text, name):
        return 1, f"The solution of {function} opens once you have written it and its tests pass; it is still a stub in {impl}."
    waiting = set()
    for claim in steps[function]["claims"]:
        _, _, records, _ = run(impl, [claim])
        own = [r for r in records if function in r.get("lessons", ())]
        failed = [r for r in own if r["outcome"] == "failed"]
        if failed:
            return 1, (f"The solution of {function} opens once its tests pass; not yet: {failed[0]['nodeid']} fails "
                       f"(claim {claim}). See why: grimoire exercises check {impl} --claim {claim}")
        if any(r["outcome"] == "passed" for r in own):
            return 0, _side_by_side(function, path, mine)
        waiting |= {r["message"].removeprefix("pending: write ") for r in own if r["outcome"] == "pending"}
    return 1, (f"The solution of {function} opens once a test that checks it passes; every one of them waits on "
               f"another function first: {', '.join(sorted(waiting)) or 'none ran'}.")


def _side_by_side(function, path, mine):
    reference, name = lesson_file(REFERENCE, function)  # on the path, so the reference defines it
    theirs = function_bodies(reference.read_text(encoding="utf-8"))[name]
    return "\n".join([f"# Yours ({path}):", "", _dedent(mine), "", f"# The reference's ({reference}):", "",
                      _dedent(theirs)])


def _dedent(source):
    return textwrap.dedent(source).rstrip()


def reset(function, *, impl=DEFAULT_DIR):
    """Puts `function`'s stub back in the package at `impl`; returns where the learner's version was kept.

    The learner's definition is saved first, to `.grimoire/reset/<function>.<time>.py`; the module is
    then rewritten atomically with the generator's stub in its place (signature, guard, docstring, raise).
    """
    if not is_lesson(function):
        raise ValueError(f"Argument `function` must be a lesson (e.g. {lessons()[0]}). Received: {function!r}")
    path, name = lesson_file(impl, function)
    if path is None:
        raise ValueError(f"Argument `impl` must hold the module of {function}. Received: impl={str(impl)!r}")
    text = path.read_text(encoding="utf-8")
    mine, lines = definition_lines(text, name), text.splitlines(keepends=True)
    if mine is None:
        raise ValueError(f"{path} has no definition of {name}; nothing to reset.")
    module, _ = split(function)
    reference, _ = lesson_file(REFERENCE, function)
    stub = stub_source(reference.read_text(encoding="utf-8"), module=module, lessons=LESSONS[module])
    first, last = definition_lines(stub, name)
    replacement = stub.splitlines(keepends=True)[first:last]
    saved = Path(impl, ".grimoire", "reset", f"{function}.{time.strftime('%Y%m%d-%H%M%S')}.py")
    saved.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(saved, "".join(lines[mine[0]:mine[1]]))
    write_text_atomically(path, "".join(lines[: mine[0]] + replacement + lines[mine[1]:]))
    return saved


def list_claims(impl, *, run=run_check):
    """`grimoire exercises list DIR`: every claim by section, and what to do next."""
    require_package(impl)
    catalogue = Catalogue.load()
    rows, checked = standing.standing(impl, run=run, catalogue=catalogue)
    return standing.render(rows, catalogue, impl, checked)
