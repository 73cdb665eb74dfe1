"""The claim catalogue and the ledger that says which claims the spec has proven.

The catalogue (``spec/claims.toml``) lists every claim with a stable id. A test names the claims it
proves with ``@pytest.mark.claim("<id>", ...)``. After a run, each claim gets one status:

    failing   any of its tests failed or errored
    pending   none failed, and the implementation raised NotImplementedError in one of them
    verified  none failed or pending, and at least one passed
    skipped   all of its tests were skipped (e.g. GPU-only on a CPU machine)
    not run   it has tests in the spec, but none were selected in this run (``-k``, a path)
    untested  no test in the spec names it
"""

import ast
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .files import write_json_atomically

STATUSES = ("verified", "failing", "pending", "skipped", "untested", "not run")
OUTCOMES = ("passed", "failed", "skipped", "pending")


@dataclass(frozen=True)
class Claim:
    id: str
    section: str
    statement: str
    seed: str = ""
    hint: str = ""


VALIDATION_SUFFIX = "-errors"  # a validation claim: the support's refusals (`params-errors`)


def is_validation(claim_id):
    """Whether a claim proves argument checks (`params-errors`): support, shipped solved, not an exercise."""
    return claim_id.endswith(VALIDATION_SUFFIX)


@dataclass
class Catalogue:
    sections: dict
    claims: dict  # id -> Claim, in catalogue order

    @classmethod
    def load(cls, path):
        """Reads a claims TOML file; duplicate ids or unknown sections are errors."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"Claim catalogue not found at {str(path)!r}.")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        sections = dict(data.get("sections", {}))
        claims = {}
        for entry in data.get("claim", []):
            claim = Claim(**entry)
            if claim.id in claims:
                raise ValueError(f"Claim id {claim.id!r} appears twice in {str(path)!r}.")
            if claim.section not in sections:
                raise ValueError(
                    f"Claim {claim.id!r} names section {claim.section!r}, which is not one of "
                    f"{sorted(sections)} in {str(path)!r}."
                )
            claims[claim.id] = claim
        return cls(sections, claims)

    def unknown(self, ids):
        """Returns the ids that are not in the catalogue, in the order given."""
        return [i for i in ids if i not in self.claims]


def scan_claim_markers(directory):
    """Maps each Python file under `directory` to the claim ids its `claim(...)` markers name.

    Reading the source (not collecting it) lets a partial run tell 'not run' from 'untested'.
    """
    found = {}
    for path in sorted(Path(directory).rglob("*.py")):
        ids = _claim_ids_in(path)
        if ids:
            found[path] = ids
    return found


# path -> ((mtime_ns, size), ids). A warm process (`exercises check --watch`) and a check that scans
# before pytest does parse each file once, and again only after it changes.
_SCANNED = {}


def _claim_ids_in(path):
    """The sorted claim ids named by `claim(...)` calls in one Python file (none if it does not parse)."""
    stat = path.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _SCANNED.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    ids = sorted({
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "claim"
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    })
    _SCANNED[path] = (key, ids)
    return ids


@dataclass
class Ledger:
    catalogue: Catalogue
    known_tested: set = field(default_factory=set)  # ids some test in the spec names
    counts: dict = field(default_factory=dict)  # id -> Counter of outcomes
    skips: dict = field(default_factory=dict)  # skip reason -> {"tests": n, "claims": set of ids}

    def record(self, claim_ids, outcome, reason=""):
        """Counts one test's final outcome ('passed', 'failed', 'skipped' or 'pending').

        A skip's `reason` is kept, so the ledger can say which paths did not run here and why.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"Argument `outcome` must be one of {OUTCOMES}. Received: outcome={outcome!r}")
        for claim_id in claim_ids:
            self.counts.setdefault(claim_id, Counter())[outcome] += 1
        if outcome == "skipped" and reason:
            entry = self.skips.setdefault(reason, {"tests": 0, "claims": set()})
            entry["tests"] += 1
            entry["claims"].update(claim_ids)

    def skipped_because(self):
        """The reasons tests were skipped, most frequent first: `[{"reason", "tests", "claims"}]`."""
        order = list(self.catalogue.claims)
        return [
            {"reason": reason, "tests": entry["tests"], "claims": sorted(entry["claims"], key=order.index)}
            for reason, entry in sorted(self.skips.items(), key=lambda item: (-item[1]["tests"], item[0]))
        ]

    def status(self, claim_id):
        c = self.counts.get(claim_id, Counter())
        if c["failed"]:
            return "failing"
        if c["pending"]:
            return "pending"
        if c["passed"]:
            return "verified"
        if c["skipped"]:
            return "skipped"
        return "not run" if claim_id in self.known_tested else "untested"

    def rows(self):
        for claim in self.catalogue.claims.values():
            c = self.counts.get(claim.id, Counter())
            yield {
                "id": claim.id,
                "section": claim.section,
                "status": self.status(claim.id),
                **{outcome: c[outcome] for outcome in OUTCOMES},
            }

    def summary(self):
        totals = Counter(row["status"] for row in self.rows())
        return {status: totals[status] for status in STATUSES}

    def summary_line(self):
        s = self.summary()
        line = "claims: " + ", ".join(f"{s[k]} {k}" for k in STATUSES[:5])
        if s["not run"]:
            line += f", {s['not run']} not run (not selected in this run)"
        return line

    def to_json(self):
        return {"claims": list(self.rows()), "summary": self.summary(), "skipped_because": self.skipped_because()}

    def write_json(self, path):
        write_json_atomically(path, self.to_json())

    def render(self):
        """The ledger as text: claims grouped by section, then the one-line total."""
        lines = []
        by_section = {}
        for row in self.rows():
            by_section.setdefault(row["section"], []).append(row)
        width = max(len(i) for i in self.catalogue.claims)
        for key, title in self.catalogue.sections.items():
            if key not in by_section:
                continue
            lines.append(f"{key}. {title}")
            for row in by_section[key]:
                tests = ", ".join(f"{row[o]} {o}" for o in OUTCOMES if row[o])
                lines.append(f"  {row['status']:<9} {row['id']:<{width}}  {tests}".rstrip())
        skipped = self.skipped_because()
        if skipped:
            lines.append("Not run here, and why:")
            lines += [f"  {s['tests']} test(s) of {', '.join(s['claims'])}: {s['reason']}" for s in skipped]
        lines.append(self.summary_line())
        return "\n".join(lines)
