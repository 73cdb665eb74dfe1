"""The exercise path: one function at a time, in the order of the study text.

Like rustlings' `info.toml`, each step names a function, the claims it moves, the docs section to
read and the hint; unlike it, the path is not written by hand but read from four sources that
already exist, so it cannot drift:

    spec/claims.toml   the claims in the order of the study text, with their hints
    spec/              which functions the tests of each claim call (`spec_index`)
    grimoire/          which lessons those reach through the support (`reach`)
    layout.LESSONS     which functions are lessons, in the order of the study text

A step is the first claim, in catalogue order, that needs a lesson: the lesson is written when that
claim comes up. Validation claims (ids ending in `-errors`) are not on the path: their checks live in
the support, shipped solved.
"""

import re
from pathlib import Path

from ..claims import Catalogue, is_validation
from ..layout import lessons
from ..project import project_root
from ..reach import lessons_reached
from .index import spec_index
from .stubs import is_stub


def claim_functions(index=None):
    """`claim id -> the lessons it needs`: those its tests' calls reach (see `reach`), in study order."""
    index = spec_index() if index is None else index
    order = {name: i for i, name in enumerate(lessons())}
    out = {}
    for claim_id, entry in index.items():
        needed = {lesson for function in entry["functions"] for lesson in lessons_reached(function)}
        out[claim_id] = sorted(needed, key=order.get)
    return out


def docs_section(claim_id):
    """`docs/<file>.md#<anchor>` of the heading that names the claim, or None."""
    for path in sorted((project_root() / "docs").glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") and f"`{claim_id}`" in line:
                title = line.lstrip("#").strip()
                anchor = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
                return f"docs/{path.name}#{anchor}"
    return None


def exercise_path(catalogue=None, needs=None):
    """The ordered steps: dicts with `function`, `claims` (all it moves), `claim` (where it comes up)."""
    catalogue = catalogue or Catalogue.load()
    needs = claim_functions() if needs is None else needs
    steps = {}  # function -> its step, in the order the functions come up
    for claim_id in catalogue.claims:
        if is_validation(claim_id):
            continue
        for function in needs.get(claim_id, []):
            step = steps.setdefault(function, {"function": function, "claim": claim_id, "claims": []})
            step["claims"].append(claim_id)
    return list(steps.values())


def lesson_file(impl, lesson):
    """`(path of the module in the package at impl, qualified name in it)` for a dotted lesson, or (None, None)."""
    parts = lesson.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        path = Path(impl, *parts[:cut]).with_suffix(".py")
        if path.is_file():
            return path, ".".join(parts[cut:])
    return None, None


def unwritten(impl, function):
    """Whether `function` (`params.dense_params`) is still a stub in the learner's package at `impl`."""
    path, name = lesson_file(impl, function)
    return path is None or is_stub(path.read_text(encoding="utf-8"), name)  # no such module yet: nothing written


def next_step(impl, steps=None):
    """The first step of the path whose function is still a stub in the package at `impl`, or None."""
    steps = exercise_path() if steps is None else steps
    return next((step for step in steps if unwritten(impl, step["function"])), None)


def exercises_guide():
    """The EXERCISES.md written next to the stubs: the path, then per claim its statement and functions."""
    catalogue, index = Catalogue.load(), spec_index()
    needs = claim_functions(index)
    out = [
        "# Exercises",
        "",
        "The lessons of this package end in `raise NotImplementedError(\"exercise: ...\")`: write them one",
        "at a time. Everything else is support, shipped solved: it checks arguments and calls your lessons.",
        "`grimoire exercises next` names the next lesson, its claim and the docs section to read;",
        "`grimoire exercises check . --claim <id>` checks it in about a second (`--watch` keeps checking);",
        "`grimoire exercises list .` shows every claim. A claim whose lessons you have not written yet is",
        "`pending`; anything that runs and is wrong is `failing`, with the assertion shown (and the classic",
        "mistake it matches, when one does). The study text is in the repository's `docs/`.",
        "",
        "Validation claims (`*-errors`) come solved: their checks are support, run before your lessons.",
        "",
        "## The path",
        "",
    ]
    out += [f"{i}. `{step['function']}` ({', '.join(step['claims'])})" for i, step in enumerate(exercise_path(catalogue, needs), 1)]
    for key, title in catalogue.sections.items():
        out += ["", f"## {key}. {title}"]
        for claim in (c for c in catalogue.claims.values() if c.section == key):
            entry = index.get(claim.id, {"files": [], "functions": []})
            out += ["", f"### `{claim.id}`", "", claim.statement]
            if is_validation(claim.id):
                out += ["", "Comes solved: these checks are support, run before your lessons."]
            elif needs.get(claim.id):
                out += ["", "Functions: " + ", ".join(f"`{f}`" for f in needs[claim.id])]
            section = docs_section(claim.id)
            if section:
                out += ["", f"Read: `{section}`"]
            out += ["", "Spec: " + (", ".join(f"`{f}`" for f in entry["files"]) or "no test yet")]
    return "\n".join(out) + "\n"
