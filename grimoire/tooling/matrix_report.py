"""The claims matrix as files: `matrix.json` and a Markdown table, claims that differ first.

Pure functions (no TensorFlow, no Keras, no subprocess), so the unit tests need no installs.
"""

import json
import time
from pathlib import Path

from .files import refuse_foreign, write_json_atomically, write_text_atomically, written_by
from .ledger import STATUSES

MARKER = "<!-- grimoire matrix: written by `grimoire matrix`, rewritten on every run -->"
GENERATOR = "grimoire matrix"
SHORT_BACKEND = {"tensorflow": "tf"}


def check_writable(out):
    """Refuses an output directory whose matrix.json or README.md some other tool wrote."""
    refuse_foreign(out, ("matrix.json", "README.md"), GENERATOR, MARKER, "the matrix", "grimoire matrix")


def read_records(out):
    """The cells of an earlier DIR/matrix.json (none if there is no such file)."""
    path = Path(out) / "matrix.json"
    if not path.is_file() or not written_by(path, GENERATOR, MARKER):
        return []
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def differing(records, claim_ids):
    """The claims whose status is not the same in every cell that ran, in catalogue order."""
    ran = [r for r in records if r["status"] == "ran"]
    # 'not run' (outside a cell's --select) says nothing about the claim on that cell.
    return [c for c in claim_ids if len({r["claims"].get(c, "absent") for r in ran} - {"not run"}) > 1]


def column(record):
    return f"{record['tensorflow']} / {record['keras']} / {SHORT_BACKEND.get(record['backend'], record['backend'])}"


def explain(claim_id, records, requires):
    """Why a claim's status differs between cells: its `[requires.<id>]` in the catalogue, or where to look."""
    note = requires.get(claim_id, {})
    parts = []
    if note.get("backends"):
        parts.append(f"runs only on {', '.join(note['backends'])}: {note.get('why', 'no reason given')}")
    if note.get("since"):
        since = ", ".join(f"{k} {v}" for k, v in note["since"].items())
        parts.append(f"holds since {since}")
    if note.get("note"):
        parts.append(note["note"])
    if not parts:
        failing = [r["cell"] for r in records if r["claims"].get(claim_id) == "failing"]
        where = f" (run logs: {', '.join(f'logs/{c}.run.log' for c in failing)})" if failing else ""
        parts.append(f"no note in spec/claims.toml yet{where}")
    return "; ".join(parts)


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return lines


def render(records, catalogue, when=None):
    """The Markdown page: the cells, the claims that differ (explained), then the others."""
    when = when or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    claim_ids = list(catalogue.claims)
    lines = [MARKER, "", "# Claims matrix", "", f"Run on {when}: {len(records)} cells, {len(claim_ids)} claims.", ""]
    lines += _table(
        ["cell (TensorFlow / Keras / backend)", "tests", "status", "install s", "run s", *STATUSES],
        [
            [column(r), ", ".join(r.get("selection", ["whole spec"])), r["status"], _secs(r, "install"), _secs(r, "run"),
             *(r["summary"].get(s, "") for s in STATUSES)]
            for r in records
        ],
    )
    ran = [r for r in records if r["status"] == "ran"]
    header = ["claim", "section", *(column(r) for r in ran)]
    diff = differing(records, claim_ids)
    lines += ["", "## Claims whose status differs between cells", ""]
    if not ran:
        lines.append("No cell ran.")
    elif diff:
        lines += _table(header, [[f"`{c}`", catalogue.claims[c].section, *(r["claims"].get(c, "absent") for r in ran)] for c in diff])
        lines += [""] + [f"- `{c}`: {explain(c, ran, catalogue.requires)}" for c in diff]
    else:
        lines.append("None: every claim has the same status in every cell that ran.")
    same = [c for c in claim_ids if c not in diff]
    if ran and same:
        lines += ["", "## Claims with one status wherever they ran", ""]
        lines += _table(header, [[f"`{c}`", catalogue.claims[c].section, *(r["claims"].get(c, "absent") for r in ran)] for c in same])
    return "\n".join(lines) + "\n"


def _secs(record, phase):
    value = record["seconds"].get(phase)
    return f"{value:.0f}" if isinstance(value, (int, float)) else ""


def write_matrix(out, records, catalogue, when=None):
    """Writes DIR/matrix.json and DIR/README.md atomically, refusing files it did not write."""
    out = Path(out)
    check_writable(out)
    write_json_atomically(out / "matrix.json", {"generator": GENERATOR, "cells": records})
    write_text_atomically(out / "README.md", render(records, catalogue, when))
