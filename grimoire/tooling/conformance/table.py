"""The conformance table as data and as Markdown: claims by peer, each cell holds, differs or not applicable.

Pure functions over what a run wrote (the plugin's `--outcomes-json` records, the adapters' calls
file, the measured causes), so the unit tests need no peer.

A cell counts only the tests that reached the peer (`shared.asked`):

    holds           every such test passed
    differs         one of them failed; the cell carries the measured discrepancy and its cause
    not applicable  none reached the peer: the reason is what the tests needed that the peer does
                    not expose (the adapters' `not_asked` names), or that they call only the
                    reference's support, or that they speak only of the learner's own code

A differing cell says how it differs (`failure`): `computed differently` (an `AssertionError`: the
peer answered, and its answer is not the claim's), `peer raised` (`shared.PeerRaised`: the peer's
own call raised), or `test or adapter error` (anything else: not evidence about the peer).
"""

import json
import time
from pathlib import Path

from ..files import refuse_foreign, write_text_atomically, written_by

GENERATOR = "grimoire conformance"
MARKDOWN_MARKER = "<!-- grimoire conformance: written by `grimoire conformance`, rewritten on every run -->"
HOLDS, DIFFERS, NOT_APPLICABLE, NOT_INSTALLED = "holds", "differs", "not applicable", "not installed"


COMPUTED, RAISED, BROKEN = "computed differently", "peer raised", "test or adapter error"


def failure_of(message):
    """How a failed test's first line says it failed: `COMPUTED`, `RAISED` or `BROKEN`."""
    if "PeerRaised" in message:
        return RAISED
    if message.startswith(("AssertionError", "assert ", "Failed: DID NOT RAISE")) or "AssertionError" in message.split(":")[0]:
        return COMPUTED
    return BROKEN


def peer_message(message):
    """The peer's own words from a `PeerRaised` line (everything after the exception's name)."""
    return message.split("PeerRaised: ", 1)[-1]


def cells(records, asked_tests, claim_ids, peer="", learners_own=None):
    """`{claim: cell}` for one peer from its run's outcome records.

    Args:
        records: the `--outcomes-json` list (`nodeid`, `claims`, `outcome`, `message`).
        asked_tests: the test ids that reached the peer.
        claim_ids: the claims the peer was asked, in catalogue order.
        peer: the peer's name (its `not_asked` names start with it).
        learners_own: `{test function name: reason}` for tests that check the learner's own code
            (its registered name, its message wording), which the peer never promised: they are
            left out of the cell, and listed with their reason.

    Returns:
        `{claim: {"verdict", "asked", "passed", "failed", "detail", ...}}`.
    """
    learners_own = learners_own or {}
    out = {}
    for claim in claim_ids:
        everything = [r for r in records if claim in r["claims"]]
        left_out = sorted({learners_own[_function(r)] for r in everything if _function(r) in learners_own})
        mine = [r for r in everything if _function(r) not in learners_own]
        asked = [r for r in mine if r["nodeid"] in asked_tests and r["outcome"] in ("passed", "failed")]
        failed = [r for r in asked if r["outcome"] == "failed"]
        broken = [r for r in mine if r["outcome"] == "failed" and r["nodeid"] not in asked_tests]
        cell = {"asked": len(asked), "tests": len(mine), "failed": len(failed), "learners_own": left_out,
                "adapter_errors": [_first_line(r["message"]) for r in broken]}
        # A test that reached the peer and broke for another reason says nothing about the peer.
        evidence = [r for r in failed if failure_of(_first_line(r["message"])) != BROKEN]
        cell["adapter_errors"] += [_first_line(r["message"]) for r in failed if r not in evidence]
        if evidence:
            first = evidence[0]
            cell.update(verdict=DIFFERS, first_failure=_first_line(first["message"]), test=first["nodeid"],
                        failure=failure_of(_first_line(first["message"])),
                        kind="undiagnosed", cause="", measured="")  # `diagnose` fills in a measured cause
        elif any(r["outcome"] == "passed" for r in asked):
            cell.update(verdict=HOLDS, asked=sum(r["outcome"] == "passed" for r in asked))
        elif failed:
            cell.update(verdict=NOT_APPLICABLE,
                        reason="its tests that reached the peer broke before comparing (see the errors below)")
        elif mine or not left_out:
            cell.update(verdict=NOT_APPLICABLE, reason=_why_not(mine, peer))
        else:
            cell.update(verdict=NOT_APPLICABLE, reason="its tests check only the learner's own code: " + "; ".join(left_out))
        out[claim] = cell
    return out


def _function(record):
    """A record's test function name, without its module or parameters."""
    return record["nodeid"].split("::")[-1].split("[")[0]


# What a peer's `not_asked` names mean, in words (the rest are read as "needs <name>").
UNEXPOSED = {
    "subclassed_models": "a subclassed model, which {peer} cannot take (it builds its gradient model from "
                         "`model.inputs`, which a subclassed model does not have)",
    "maps": "the map before the ReLU, which {peer} does not return (it applies the ReLU itself)",
    "compile_modes": "the XLA and eager modes of the reference's compiled step, which {peer} does not have",
    "compiled_step": "the reference's compiled step, which {peer} does not have",
    "trace_count": "the reference's trace count, which {peer} does not have",
    "compiled_steps": "a compiled step (tf.function or XLA), which {peer} cannot run",
}


def _why_not(records, peer):
    prefix = f"{peer.replace('-', '_')}."  # the plugin records a stub's raise as "pending: write <peer>.<what>"
    hidden = sorted({r["message"].split(prefix, 1)[1].split()[0] for r in records
                     if r["outcome"] == "pending" and f"write {prefix}" in r["message"]})
    if hidden:
        words = [UNEXPOSED[h].format(peer=peer) for h in hidden if h in UNEXPOSED]
        plain = [h for h in hidden if h not in UNEXPOSED]
        if plain:
            words.append(f"{', '.join(plain)}, which {peer} does not expose")
        return "its tests need " + "; ".join(words)
    if not records:
        return "no test of this claim ran"
    return "its tests call only the reference's support (layer discovery, checks, data), not a method of " + peer


def _first_line(text):
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line[:200]


def cell_text(cell):
    """One table cell: `holds (3/5)`, `differs: <measured>; <cause> (<kind>)`, `n/a: <reason>`."""
    verdict = cell["verdict"]
    own = f"; {len(cell['learners_own'])} left out as the learner's own" if cell.get("learners_own") else ""
    if verdict == HOLDS:
        return f"holds ({cell['asked']} of {cell['tests']} tests asked{own})"
    if verdict == DIFFERS:
        if cell.get("cause"):
            measured = f"{cell['measured']}; " if cell.get("measured") else ""
            return f"differs ({cell['kind']}): {measured}{cell['cause']}"
        return f"differs (undiagnosed, {cell.get('failure', COMPUTED)}): {cell['first_failure']}"
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
            for claim, cell in p.get("cells", {}).items():
                for reason in cell.get("learners_own", []):
                    lines.append(f"- {_column(p)}, `{claim}`: a test left out as the learner's own: {reason}")
                for error in sorted(set(cell.get("adapter_errors", []))):
                    lines.append(f"- {_column(p)}, `{claim}`: a test failed before it said anything about the peer "
                                 f"(test or adapter error): {error}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _column(peer):
    return f"{peer['name']} {peer.get('version') or ''}".strip()


def write(out, document):
    """Writes DIR/conformance.json and DIR/README.md atomically; refuses files another tool wrote."""
    out = Path(out)
    refuse_foreign(out, ("conformance.json", "README.md"), GENERATOR, MARKDOWN_MARKER, "the conformance table",
                   "grimoire conformance")
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / "conformance.json", json.dumps({"generator": GENERATOR, **document}, indent=2) + "\n")
    write_text_atomically(out / "README.md", render(document))
    return out / "README.md"


def read(out):
    """The document an earlier run wrote to DIR/conformance.json, or None."""
    path = Path(out) / "conformance.json"
    if not path.is_file() or not written_by(path, GENERATOR, MARKDOWN_MARKER):
        return None
    return json.loads(path.read_text(encoding="utf-8"))
