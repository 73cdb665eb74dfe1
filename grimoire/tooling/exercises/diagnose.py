"""Naming a learner's mistake: the catalogue's classic mistakes replayed on the tests that failed.

`spec/mistakes.toml` holds classic mistakes, each a replacement for one function of the reference.
When a claim fails in a learner's package, each mistake catalogued under that claim whose target is
a lesson the failing tests reach is planted in a copy of the reference (`plant.apply`), and the
tests that ran in the learner's check run again on the copy. A mistake whose copy fails exactly the
same tests, with the same values in its messages, is what the learner wrote:

    candidates = mistakes with claim in m.claims and m's target among the failing tests' lessons
    match      = failed(copy) == failed(learner) and messages agree, number by number

Numbers agree within `RTOL` (the learner's formula may sum in another order than the mistake's);
everything else in the messages must be equal.
"""

import re
import tempfile
from pathlib import Path

from .. import plant
from ..layout import is_lesson
from .records import readable

# Two float32 computations of one formula in another order differ in the last digits: 1e-4 relative
# is ten times the float32 error of a few-thousand-term sum, and far below any real difference.
RTOL, ATOL = 1e-4, 1e-6
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_PLACES = re.compile(r"Implementation\('[^']*'\)")


def candidates(claim_id, records, mistakes):
    """The mistakes worth replaying: catalogued under `claim_id`, targeting a lesson a failed test reaches."""
    reached = {lesson for r in records if claim_id in r["claims"] and r["outcome"] == "failed" for lesson in r.get("lessons", [])}
    return [m for m in mistakes if claim_id in m.claims and is_lesson(f"{m.module}.{m.target}")
            and f"{m.module}.{m.target}" in reached and not m.equivalent]


def same_failure(mine, theirs):
    """Whether two failure messages say the same: equal text, numbers equal within RTOL/ATOL.

    Where each package lives (`Implementation('/tmp/.../mine')`, in Hypothesis' falsifying example),
    pytest's `+ where <function ... at 0x...>` explanations and Hypothesis' reproduce advice are not
    part of what failed.
    """
    mine, theirs = _PLACES.sub("", readable(mine)), _PLACES.sub("", readable(theirs))
    a, b = _NUMBER.split(mine), _NUMBER.split(theirs)
    if [s.strip() for s in a] != [s.strip() for s in b]:
        return False
    x, y = [float(n) for n in _NUMBER.findall(mine)], [float(n) for n in _NUMBER.findall(theirs)]
    return all(abs(p - q) <= ATOL + RTOL * max(abs(p), abs(q)) for p, q in zip(x, y, strict=True))


def likely_mistake(claim_id, records, *, run, mistakes=None):
    """The catalogued mistake that reproduces the learner's failure of `claim_id`, or None.

    Args:
        claim_id: a failing claim of the learner's check.
        records: the `--outcomes-json` records of that check (with each test's `lessons`).
        run: runs tests, `run(impl, claims, nodes=[...]) -> (code, ledger, records, output)` (`check.run_check`).
        mistakes: the catalogue (default: `plant.load()`).
    """
    mine = [r for r in records if claim_id in r["claims"] and r["outcome"] in ("passed", "failed")]
    failed = {r["nodeid"]: r["message"] for r in mine if r["outcome"] == "failed"}
    if not failed:
        return None
    found = candidates(claim_id, records, plant.load() if mistakes is None else mistakes)
    with tempfile.TemporaryDirectory(prefix="grimoire-diagnose-") as tmp:
        for mistake in found:
            copy = plant.apply(mistake, Path(tmp, mistake.id))
            _, _, theirs, _ = run(copy, [claim_id], nodes=[r["nodeid"] for r in mine])
            replayed = {r["nodeid"]: r["message"] for r in theirs if r["outcome"] == "failed"}
            if replayed.keys() == failed.keys() and all(same_failure(failed[n], replayed[n]) for n in failed):
                return mistake
    return None
