"""Where a learner stands: every claim by section, verified, failing or pending (`exercises list`).

Each check remembers its verdicts in the learner's package, in `.grimoire/verdicts.json` (written
atomically), each under a key made of the code the claim depends on: the learner's definitions of
the lessons it needs, and everything else in the package (the support). `list` then runs as few
tests as it can:

    a remembered verdict for the same code         that verdict
    a validation claim, or one with no lesson      solved: the support holds it
    every lesson a claim needs is still a stub     pending, waiting on the first of them
    otherwise                                      checked now, all such claims in one run
"""

import hashlib
import json
from collections import Counter
from pathlib import Path

from ..claims import Catalogue, is_validation
from ..files import write_json_atomically
from ..layout import lessons
from .path import claim_functions, lesson_file
from .records import claim_line, tests_passing, waits_on
from .stubs import function_bodies, is_stub

STATE = Path(".grimoire", "verdicts.json")


def learner_lessons(impl):
    """`lesson -> (source of the learner's definition or None, whether it is still a stub)`."""
    out = {}
    for lesson in lessons():
        path, name = lesson_file(impl, lesson)
        if path is None:
            out[lesson] = (None, True)
            continue
        text = path.read_text(encoding="utf-8")
        source = function_bodies(text).get(name)
        out[lesson] = (source, source is None or is_stub(text, name))
    return out


def _support_digest(impl, sources):
    """A digest of the package's code with the lessons' definitions taken out: the support."""
    digest = hashlib.sha256()
    bodies = {source for source, _ in sources.values() if source}
    for path in sorted(Path(impl).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for body in bodies:
            text = text.replace(body, "")
        digest.update(path.relative_to(impl).as_posix().encode() + b"\0" + text.encode())
    return digest.hexdigest()


def _keys(impl, claims, needs):
    sources = learner_lessons(impl)
    support = _support_digest(impl, sources)
    keys = {c: hashlib.sha256(json.dumps([c, support, [sources[n][0] for n in needs.get(c, [])]]).encode()).hexdigest()
            for c in claims}
    return keys, sources


def remember(impl, ledger, records, *, needs=None):
    """Stores the verdicts of a check of the package at `impl`, keyed by the code each claim depends on."""
    needs = claim_functions() if needs is None else needs
    checked = {row["id"]: row["status"] for row in ledger["claims"] if any(row["id"] in r["claims"] for r in records)}
    keys, _ = _keys(impl, checked, needs)
    state = _load(impl)
    for claim, status in checked.items():
        passed, run = tests_passing(claim, records)
        state[claim] = {"key": keys[claim], "status": status, "passed": passed, "run": run, "waits_on": waits_on(claim, records)}
    path = Path(impl, STATE)
    path.parent.mkdir(exist_ok=True)
    write_json_atomically(path, state)


def _load(impl):
    try:
        return json.loads(Path(impl, STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def standing(impl, *, run, catalogue=None, needs=None):
    """Every claim's row `{status, detail, source}`, checking now only what nothing else can tell.

    Args:
        impl: the learner's package directory.
        run: runs a check, `run(impl, claims) -> (code, ledger, records, output)` (`check.run_check`).
        catalogue, needs: the claim catalogue and `claim -> lessons` (read from the project by default).

    Returns:
        `(rows, checked)`: a dict claim id -> row in catalogue order, and the claims run now.
    """
    catalogue = catalogue or Catalogue.load()
    needs = claim_functions() if needs is None else needs
    keys, sources = _keys(impl, catalogue.claims, needs)
    state, rows, todo = _load(impl), {}, []
    for claim in catalogue.claims:
        need = needs.get(claim, [])
        stubs = [lesson for lesson in need if sources[lesson][1]]
        known = state.get(claim, {})
        if known.get("key") == keys[claim]:
            detail = f"{known['passed']} of {known['run']} tests pass" if known["run"] else ""
            if known["status"] == "pending" and known.get("waits_on"):
                detail += f"; waits on {known['waits_on']}"
            rows[claim] = {"status": known["status"], "detail": detail, "source": "remembered"}
        elif is_validation(claim) or not need:
            rows[claim] = {"status": "solved", "detail": "support: shipped solved", "source": "support"}
        elif len(stubs) == len(need):
            rows[claim] = {"status": "pending", "detail": f"waits on {stubs[0]}", "source": "stubs"}
        else:
            todo.append(claim)
    if todo:
        _, ledger, records, output = run(impl, todo)
        if ledger is None:
            raise RuntimeError(f"the spec did not run to the end:\n{output[-3000:]}")
        remember(impl, ledger, records, needs=needs)
        status = {row["id"]: row["status"] for row in ledger["claims"]}
        for claim in todo:
            rows[claim] = {"status": status.get(claim, "untested"), "detail": claim_line(claim, status.get(claim), records),
                           "source": "checked"}
    return {c: rows[c] for c in catalogue.claims}, todo


def render(rows, catalogue, impl, checked=()):
    """The text of `grimoire exercises list`."""
    width = max(len(c) for c in rows)
    lines = []
    for key, title in catalogue.sections.items():
        lines.append(f"{key}. {title}")
        lines += [f"  {rows[c]['status']:9} {c:{width}}  {rows[c]['detail']}".rstrip()
                  for c, claim in catalogue.claims.items() if claim.section == key]
    counts = Counter(row["status"] for row in rows.values())
    order = ("verified", "failing", "pending", "solved", "skipped", "untested")
    summary = ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s))
    lines += ["", f"{len(rows)} claims: {summary}" + (f" ({len(checked)} checked now, the rest known)" if checked else "")]
    failing = [c for c, row in rows.items() if row["status"] == "failing"]
    if failing:
        lines.append(f"First failing: grimoire exercises check {impl} --claim {failing[0]}")
    else:
        pending = [row for row in rows.values() if row["status"] == "pending" and "waits on " in row["detail"]]
        if pending:
            lines.append(f"Next: write {pending[0]['detail'].split('waits on ', 1)[1]} (grimoire exercises next {impl})")
    return "\n".join(lines)
