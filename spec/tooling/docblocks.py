"""The text blocks of a docs page that show what a command prints, and the check that it still prints them.

A page marks such a block with an HTML comment on the line before its fence, `<!-- shown: NAME -->`.
A line `[...]` in the block stands for lines left out (a long assertion, numbers a CPU may round
differently); every other line must appear in the tool's output, in order, and lines not separated
by `[...]` must follow one another there too.
"""

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
GAP = "[...]"


def block(page, name):
    """The text of the block marked `<!-- shown: name -->` in `docs/<page>`."""
    text = (DOCS / page).read_text(encoding="utf-8")
    match = re.search(rf"<!-- shown: {re.escape(name)} -->\n```\w*\n(.*?)\n```", text, flags=re.S)
    assert match, f"docs/{page} has no block marked `<!-- shown: {name} -->`"
    return match.group(1)


def assert_shown(shown, output):
    """Every run of lines between `[...]` gaps appears in `output`, runs in order."""
    lines = [line.rstrip() for line in output.splitlines()]
    runs, current = [], []
    for line in shown.splitlines():
        if line.strip() == GAP:
            runs.append(current)
            current = []
        else:
            current.append(line.rstrip())
    runs.append(current)
    start = 0
    for run in (r for r in runs if r):
        found = next((i for i in range(start, len(lines) - len(run) + 1) if lines[i:i + len(run)] == run), None)
        assert found is not None, f"the docs show lines the tool does not print (from line {start} on):\n" + \
            "\n".join(run) + "\n--- the tool printed:\n" + output
        start = found + len(run)
