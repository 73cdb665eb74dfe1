"""Checking a learner's package: the spec run through `--impl`, then the first failure and the progress."""

import json
import tempfile
from collections import Counter
from pathlib import Path

from ..ledger import Catalogue, scan_claim_markers
from ..project import project_root, run_spec


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


def check_arguments(impl, claims, ledger_json, report_json, *, spec_dir):
    """The pytest arguments that check `impl` on `claims` and write the two JSON files."""
    args = [f"--impl={Path(impl).resolve()}", f"--ledger-json={ledger_json}", f"--outcomes-json={report_json}",
            "-m", "not tooling", "-q", "--tb=short", "-rN"]
    catalogue_ids = set(Catalogue.load(Path(spec_dir) / "claims.toml").claims)
    if set(claims) != catalogue_ids:
        files = sorted({
            path.relative_to(Path(spec_dir).parent).as_posix()
            for path, ids in scan_claim_markers(spec_dir).items()
            if set(ids) & set(claims)
        })
        if not files:
            raise ValueError(f"No test in {Path(spec_dir).name}/ names {', '.join(claims)} yet: there is nothing to check.")
        args += [f"--claims={','.join(claims)}", *files]
    else:
        args.append(Path(spec_dir).name)
    return args


def progress(ledger, records, claims, catalogue):
    """The end of a check: the first failing claim in catalogue order, then the progress line."""
    status = {row["id"]: row["status"] for row in ledger["claims"]}
    lines = []
    failing = [c for c in claims if status.get(c) == "failing"]
    if failing:
        first = catalogue.claims[failing[0]]
        lines += ["", f"First failing claim: {first.id} ({first.section}. {catalogue.sections[first.section]})",
                  f"  {first.statement}"]
        if first.hint:
            lines.append(f"  hint: {first.hint}")
        # The claim's own test module (test_<id>.py) first: it states the claim most directly.
        own = f"test_{first.id.replace('-', '_')}.py"
        failed = sorted(
            (r for r in records if first.id in r["claims"] and r["outcome"] == "failed"),
            key=lambda r: (Path(r["nodeid"].split("::")[0]).name != own, r["nodeid"]),
        )
        if failed:
            traceback = [line for line in (failed[0]["traceback"] or failed[0]["message"]).splitlines()
                         if not line.startswith("[gw")]  # xdist's worker banner
            lines += [f"  test: {failed[0]['nodeid']}", "", _indent("\n".join(traceback))]
    counts = Counter(status.get(c, "untested") for c in claims)
    rest = ", ".join(f"{n} {s}" for s, n in counts.items() if s != "verified")
    lines += ["", f"{counts.get('verified', 0)} of {len(claims)} claims verified" + (f" ({rest})" if rest else "")]
    return "\n".join(lines)


def _indent(text, prefix="  "):
    return "\n".join(prefix + line if line else line for line in text.rstrip().splitlines())


def check(impl, *, section=None, claim=None, parallel=True):
    """Runs the spec against the package at `impl` and prints the first failure and the progress.

    Args:
        impl: the learner's package directory (the one `init` wrote).
        section: a section key (`"A"`) to check only its claims.
        claim: a claim id to check only that claim.
        parallel: use pytest-xdist when the machine has more than one core.

    Returns:
        pytest's exit code (0 when every selected test passed or is pending).
    """
    root = project_root()
    catalogue = Catalogue.load(root / "spec" / "claims.toml")
    claims = select_claims(catalogue, section=section, claim=claim)
    if not (Path(impl) / "__init__.py").is_file():
        raise ValueError(
            f"Argument `impl` must be a package directory (with __init__.py). Received: impl={str(impl)!r}. "
            "Create one with `grimoire exercises init DIR`."
        )
    with tempfile.TemporaryDirectory(prefix="grimoire-check-") as tmp:
        ledger_json, report_json = Path(tmp, "ledger.json"), Path(tmp, "tests.json")
        code = run_spec(check_arguments(impl, claims, ledger_json, report_json, spec_dir=root / "spec"), parallel=parallel)
        if not ledger_json.is_file():
            print("grimoire: the spec did not run to the end (see pytest's output above).")
            return code or 1
        ledger = json.loads(ledger_json.read_text(encoding="utf-8"))
        records = json.loads(report_json.read_text(encoding="utf-8")) if report_json.is_file() else []
    print(progress(ledger, records, claims, catalogue))
    return code
