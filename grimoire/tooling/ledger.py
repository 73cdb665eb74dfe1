"""The ledger that says which claims of the catalogue (`claims.py`) the spec has proven.

After a run, each claim gets one status:

    failing   any of its tests failed or errored
    pending   none failed, and the implementation raised NotImplementedError in one of them
    verified  none failed or pending, and at least one passed
    skipped   all of its tests were skipped (e.g. GPU-only on a CPU machine)
    not run   it has tests in the spec, but none were selected in this run (``-k``, a path)
    untested  no test in the spec names it
"""

from collections import Counter
from dataclasses import dataclass, field

from .claims import Catalogue
from .files import write_json_atomically

STATUSES = ("verified", "failing", "pending", "skipped", "untested", "not run")
OUTCOMES = ("passed", "failed", "skipped", "pending")


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
