"""Checking a learner's package: the spec run through `--impl`, then a summary a learner can read.

A check of one claim or one section runs in this process, without xdist (see `runner`); a check of
everything uses the workers. Pytest's own output is kept out of the way: the summary shows each
selected claim with how many of its tests pass and the function it waits on, the first failure with
its assertion (actual against expected) and, when a catalogued classic mistake fails the same tests
with the same values, its name (`diagnose`), then the command that prints the hint.

Validation claims (`*-errors`) are left out of a check of a section or of everything: their checks are
support, shipped solved (`grimoire/arguments.py`, `refusals.py`), so they hold whatever the lessons'
bodies are. `--claim` runs one anyway.
"""

import json
import re
import tempfile
import textwrap
from collections import Counter
from pathlib import Path

from ..claims import Catalogue, is_validation, scan_claim_markers
from ..project import project_root
from . import runner
from .records import claim_line, readable, waits_on

SMALL = 12  # up to this many claims, one line each; more, and only the counts

# Plugins a learner's check does without. `unraisableexception` runs five full garbage collections
# when pytest ends (about 2.7 s with TensorFlow's objects in memory, on every check); `cacheprovider`
# writes .pytest_cache into the checkout, which the check does not read back.
LEAN = ("-p", "no:unraisableexception", "-p", "no:cacheprovider")


def select_claims(catalogue, *, section=None, claim=None):
    """The claim ids a check covers: one section's, one claim, or all (in catalogue order)."""
    if section is not None and claim is not None:
        raise ValueError("Pass at most one of `section` and `claim`. Received: both.")
    if section is not None:
        key = str(section).upper()
        if key not in catalogue.sections:
            raise ValueError(f"Argument `section` must be one of {list(catalogue.sections)}. Received: section={section!r}")
        return [c.id for c in catalogue.claims.values() if c.section == key]
    if claim is not None:
        if claim not in catalogue.claims:
            raise ValueError(
                f"Argument `claim` must be a claim id from spec/claims.toml (e.g. {next(iter(catalogue.claims))!r}). "
                f"Received: claim={claim!r}"
            )
        return [claim]
    return list(catalogue.claims)


def checked_claims(catalogue, *, section=None, claim=None):
    """`(claims to run, validation claims left out)`: a named claim always runs; a section or everything
    leaves the validation claims out, since the support holds them."""
    selected = select_claims(catalogue, section=section, claim=claim)
    claims = [c for c in selected if claim is not None or not is_validation(c)]
    return claims, [c for c in selected if c not in claims]


def check_arguments(impl, claims, ledger_json, report_json, *, spec_dir, nodes=None):
    """The pytest arguments that check `impl` on `claims` and write the two JSON files.

    `nodes`: test node ids to run instead of the claims' whole files (a replay of some tests).
    """
    args = [f"--impl={Path(impl).resolve()}", f"--ledger-json={ledger_json}", f"--outcomes-json={report_json}",
            "-m", "not tooling", "-q", "--tb=short", "-rN", "-p", "no:randomly", *LEAN]
    files = nodes or sorted({
        path.relative_to(Path(spec_dir).parent).as_posix()
        for path, ids in scan_claim_markers(spec_dir).items()
        if set(ids) & set(claims)
    })
    if not files:
        raise ValueError(f"No test in {Path(spec_dir).name}/ names {', '.join(claims)} yet: there is nothing to check.")
    return args + [f"--claims={','.join(claims)}", *files]


def run_check(impl, claims, *, in_process=True, nodes=None):
    """Runs the spec on `claims` against `impl`; returns `(exit code, ledger, records, pytest output)`."""
    with tempfile.TemporaryDirectory(prefix="grimoire-check-") as tmp:
        ledger_json, report_json = Path(tmp, "ledger.json"), Path(tmp, "tests.json")
        args = check_arguments(impl, claims, ledger_json, report_json, spec_dir=project_root() / "spec", nodes=nodes)
        if in_process:
            code, output = runner.run_in_process(args, impl=impl)
        else:
            code, output = runner.run_in_workers(args)
        ledger = json.loads(ledger_json.read_text(encoding="utf-8")) if ledger_json.is_file() else None
        records = json.loads(report_json.read_text(encoding="utf-8")) if report_json.is_file() else []
    return code, ledger, records, output


def progress(ledger, records, claims, catalogue, *, solved=(), mistake=None):
    """The summary of a check: claim lines, the first failure, the next function, the count.

    Args:
        ledger: the ledger JSON (`{"claims": [{"id", "status"}, ...]}`).
        records: the `--outcomes-json` records of the run.
        claims: the claim ids the learner asked about, in catalogue order.
        catalogue: the claim catalogue.
        solved: validation claims left out of the run (the support holds their checks).
        mistake: a `plant.Mistake` that fails the first failing claim's tests the same way, or None.
    """
    status = {row["id"]: row["status"] for row in ledger["claims"]}
    lines = []
    if len(claims) <= SMALL:
        width = max(len(c) for c in claims)
        lines += [f"  {status.get(c, 'untested'):9} {c:{width}}  {claim_line(c, status.get(c), records)}".rstrip()
                  for c in claims]
    failing = [c for c in claims if status.get(c) == "failing"]
    if failing:
        lines += first_failure(catalogue.claims[failing[0]], records, catalogue, mistake)
    pending = [c for c in claims if status.get(c) == "pending"]
    if pending and not failing:
        first = waits_on(pending[0], records)
        lines += ["", f"Next: write {first} (claim {pending[0]} waits on it)." if first else f"Next: claim {pending[0]}."]
    counts = Counter(status.get(c, "untested") for c in claims)
    rest = ", ".join(f"{n} {s}" for s, n in counts.items() if s != "verified")
    lines += ["", f"{counts.get('verified', 0)} of {len(claims)} claims verified" + (f" ({rest})" if rest else "")]
    if solved:
        some = f"{len(solved)} validation claims ({', '.join(solved)}) come" if len(solved) > 1 else f"1 validation claim ({solved[0]}) comes"
        lines.append(f"{some} solved: their checks are support, run before your lessons.")
    return "\n".join(lines)


def first_failure(claim, records, catalogue, mistake=None):
    """The lines that show a failing claim: its statement, the first failed test, actual and expected, the mistake."""
    lines = ["", f"First failing claim: {claim.id} ({claim.section}. {catalogue.sections[claim.section]})",
             f"  {claim.statement}"]
    # The claim's own test module (test_<id>.py) first: it states the claim most directly.
    own = f"test_{claim.id.replace('-', '_')}.py"
    failed = sorted(
        (r for r in records if claim.id in r["claims"] and r["outcome"] == "failed"),
        key=lambda r: (Path(r["nodeid"].split("::")[0]).name != own, r["nodeid"]),
    )
    if failed:
        text = failed[0]["traceback"] or failed[0]["message"]
        lines += [f"  test: {failed[0]['nodeid']}", "", _indent(readable(text)), *_actual_expected(text)]
    if mistake is not None:
        lines += ["", f"  This is what the classic mistake `{mistake.id}` gives (the same tests fail with the same values):",
                  textwrap.fill(" ".join(mistake.explanation.split()), 100, initial_indent="    ", subsequent_indent="    ")]
    if claim.hint:
        lines += ["", f"  Stuck? `grimoire exercises hint {claim.id}` prints a hint."]
    return lines


_COMPARISON = re.compile(r"^E\s+(?:AssertionError: )?assert (.+?) (==|!=|<=|>=|<|>|is) (.+)$")


def _actual_expected(traceback):
    """`actual:` and `expected:` lines from pytest's first `E   assert X == Y` line.

    The spec writes its assertions as `assert <your value> == <the oracle's>`, so the left side is
    what your code gave and the right side what the claim says it should be.
    """
    for line in traceback.splitlines():
        match = _COMPARISON.match(line.strip())
        if match and match.group(2) == "==":
            return ["", f"  actual (your code):      {match.group(1)}", f"  expected (the claim's):  {match.group(3)}"]
    return []


def diagnosed(ledger, claims, records, in_process):
    """The classic mistake behind the first failing claim, when a few claims ran here; else None."""
    status = {row["id"]: row["status"] for row in ledger["claims"]}
    failing = [c for c in claims if status.get(c) == "failing"]
    if not failing or not in_process or len(claims) > SMALL:
        return None
    from .diagnose import likely_mistake

    return likely_mistake(failing[0], records, run=run_check)


def _indent(text):
    return "\n".join("  " + line if line else line for line in text.rstrip().splitlines())


def require_package(impl):
    """Raises ValueError unless `impl` is a package directory, as `init` writes one."""
    if not (Path(impl) / "__init__.py").is_file():
        raise ValueError(
            f"Argument `impl` must be a package directory (with __init__.py). Received: impl={str(impl)!r}. "
            "Create one with `grimoire exercises init DIR`."
        )


def check(impl, *, section=None, claim=None, tip=True):
    """Runs the spec against the package at `impl` and prints the summary.

    Args:
        impl: the learner's package directory (the one `init` wrote).
        section: a section key (`"A"`) to check only its claims.
        claim: a claim id to check only that claim.
        tip: end a one-claim or one-section check with the faster ways to check again.

    Returns:
        0 when every selected test passed or is pending, else pytest's exit code.
    """
    catalogue = Catalogue.load()
    claims, solved = checked_claims(catalogue, section=section, claim=claim)
    require_package(impl)
    in_process = section is not None or claim is not None
    code, ledger, records, output = run_check(impl, claims, in_process=in_process)
    if ledger is None:
        print(output[-5000:])
        print("grimoire: the spec did not run to the end (see pytest's output above).")
        return code or 1
    from . import standing

    standing.remember(impl, ledger, records)  # for `grimoire exercises list`
    print(progress(ledger, records, claims, catalogue, solved=solved, mistake=diagnosed(ledger, claims, records, in_process)))
    if in_process and tip:
        # Most of a one-claim check is starting Python and importing TensorFlow (about 10 s on 2 cores).
        only = f"--claim {claim}" if claim is not None else f"--section {section}"
        print(f"\nFaster: `grimoire exercises check {impl} {only} --watch` keeps TensorFlow loaded and checks again "
              "on every save, in about a second; a warm checker in the background answers the next check too.")
    return code
