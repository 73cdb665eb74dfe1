"""The conformance table as data and as Markdown: claims by peer, each cell holds, differs or not applicable.

Pure functions over what a run wrote (the plugin's `--outcomes-json` records, the adapters' calls
file, the measured causes), so the unit tests need no peer.

A cell counts only the tests that reached the peer (`shared.asked`):

    holds           every such test passed
    differs         one of them failed; the cell carries the measured discrepancy and its cause
    not applicable  none reached the peer: the reason is what the tests needed that the peer does
                    not expose (the adapters' `not_asked` names), or that they call only the
                    reference's support
"""

import json
import time
from pathlib import Path

from ..files import write_text_atomically

GENERATOR = "grimoire conformance"
MARKDOWN_MARKER = "<!-- grimoire conformance: written by `grimoire conformance`, rewritten on every run -->"
HOLDS, DIFFERS, NOT_APPLICABLE, NOT_INSTALLED = "holds", "differs", "not applicable", "not installed"


def cells(records, asked_tests, claim_ids, causes=None, peer=""):
    """`{claim: cell}` for one peer from its run's outcome records.

    Args:
        records: the `--outcomes-json` list (`nodeid`, `claims`, `outcome`, `message`).
        asked_tests: the test ids that reached the peer.
        claim_ids: the claims the peer was asked, in catalogue order.
        causes: `{claim: {"kind", "cause", "measured"}}` diagnosed for differing claims.
        peer: the peer's name (its `not_asked` names start with it).

    Returns:
        `{claim: {"verdict", "asked", "passed", "failed", "detail", ...}}`.
    """
    causes = causes or {}
    out = {}
    for claim in claim_ids:
        mine = [r for r in records if claim in r["claims"]]
        asked = [r for r in mine if r["nodeid"] in asked_tests and r["outcome"] in ("passed", "failed")]
        failed = [r for r in asked if r["outcome"] == "failed"]
        broken = [r for r in mine if r["outcome"] == "failed" and r["nodeid"] not in asked_tests]
        cell = {"asked": len(asked), "tests": len(mine), "failed": len(failed),
                "adapter_errors": [_first_line(r["message"]) for r in broken]}
        if failed:
            cause = causes.get(claim)
            cell.update(verdict=DIFFERS, first_failure=_first_line(failed[0]["message"]),
                        test=failed[0]["nodeid"], **(cause or {"kind": "undiagnosed", "cause": "", "measured": ""}))
        elif asked:
            cell.update(verdict=HOLDS)
        else:
            cell.update(verdict=NOT_APPLICABLE, reason=_why_not(mine, peer))
        out[claim] = cell
    return out


def _why_not(records, peer):
    prefix = f"{peer.replace('-', '_')}."  # the plugin records a stub's raise as "pending: write <peer>.<what>"
    hidden = sorted({r["message"].split(prefix, 1)[1].split()[0] for r in records
                     if r["outcome"] == "pending" and f"write {prefix}" in r["message"]})
    if hidden:
        return f"its tests need {', '.join(hidden)}, which {peer} does not expose"
    if not records:
        return "no test of this claim ran"
    return "its tests call only the reference's support (layer discovery, checks, data), not a method of " + peer


def _first_line(text):
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line[:200]


def cell_text(cell):
    """One table cell: `holds (3/5)`, `differs: <measured>; <cause> (<kind>)`, `n/a: <reason>`."""
    verdict = cell["verdict"]
    if verdict == HOLDS:
        return f"holds ({cell['asked']} of {cell['tests']} tests asked)"
    if verdict == DIFFERS:
        if cell.get("cause"):
            return f"differs ({cell['kind']}): {cell['measured']}; {cell['cause']}"
        return f"differs (undiagnosed): {cell['first_failure']}"
    if verdict == NOT_INSTALLED:
        return f"not installed: {cell['reason']}"
    return f"not applicable: {cell['reason']}"


def render(document, when=None):
    """The Markdown page: one table per catalogue section, claims by peer release."""
    when = when or document.get("when") or time.strftime("%Y-%m-%d", time.gmtime())
    lines = [MARKDOWN_MARKER, "", "# Conformance: the spec's claims against other libraries", "",
             f"Run on {when}. Versions: " + ", ".join(f"{k} {v}" for k, v in document["versions"].items()) + ".", ""]
    by_section = {}
    for peer in document["peers"]:
        by_section.setdefault(peer["section"], []).append(peer)
    for section, peers in by_section.items():
        claims = document["claims"][section]
        lines += [f"## Section {section}", "", "| claim | " + " | ".join(_column(p) for p in peers) + " |",
                  "|---|" + "---|" * len(peers)]
        for claim in claims:
            row = [cell_text(p["cells"][claim]) if p["status"] == "ran" else f"{p['status']}: {p.get('reason', '')}"
                   for p in peers]
            lines.append(f"| `{claim}` | " + " | ".join(x.replace("|", "\\|") for x in row) + " |")
        lines.append("")
        for p in peers:
            if p.get("note"):
                lines.append(f"- {_column(p)}: {p['note']}.")
            errors = [(c, e) for c, cell in p.get("cells", {}).items() for e in cell.get("adapter_errors", [])]
            for claim, error in errors:
                lines.append(f"- {_column(p)}, `{claim}`: a test that never reached the peer failed (adapter error): {error}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _column(peer):
    return f"{peer['name']} {peer.get('version') or ''}".strip()


def is_ours(path):
    """True when `path` is missing or was written by `grimoire conformance` (and so may be rewritten)."""
    path = Path(path)
    if not path.exists():
        return True
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    if path.suffix == ".json":
        try:
            return json.loads(text).get("generator") == GENERATOR
        except (ValueError, AttributeError):
            return False
    return text.startswith(MARKDOWN_MARKER)


def write(out, document):
    """Writes DIR/conformance.json and DIR/README.md atomically; refuses files another tool wrote."""
    out = Path(out)
    for name in ("conformance.json", "README.md"):
        if not is_ours(out / name):
            raise FileExistsError(
                f"Argument `--out` must be a directory for the conformance table; {str(out / name)!r} exists and was "
                "not written by `grimoire conformance`. Choose another directory, or move that file."
            )
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / "conformance.json", json.dumps({"generator": GENERATOR, **document}, indent=2) + "\n")
    write_text_atomically(out / "README.md", render(document))
    return out / "README.md"


def read(out):
    """The document an earlier run wrote to DIR/conformance.json, or None."""
    path = Path(out) / "conformance.json"
    if not path.is_file() or not is_ours(path):
        return None
    return json.loads(path.read_text(encoding="utf-8"))
