"""A claim checked from a notebook cell: `grimoire.tooling.check(...)` and the `%grimoire` magics.

In Jupyter, Colab or a terminal IPython:

    %load_ext grimoire.tooling
    %grimoire check dense-params-formula            # the lessons defined in this notebook
    %grimoire check --section A --impl mine          # your package folder, with the notebook's lessons on top

    %%grimoire check dense-params-formula            # runs the cell, then checks
    def dense_params(input_size, output_size, *, use_bias=True):
        return input_size * output_size + (output_size if use_bias else 0)

The check runs in the kernel, in process, on the same spec and plugin as `grimoire exercises check`:
same verdicts, same pending rules, the same first failure with your value next to the expected one,
and the classic mistake it matches, if one does. The kernel keeps TensorFlow and the spec loaded, so
a re-check after editing a cell takes about a second; the package is written afresh for every check
(`exercises.overlay`), so it never runs a stale definition. The verdict renders as HTML in a notebook
and as text in a terminal.
"""

import html
import inspect
import shlex
import shutil
from pathlib import Path

from .claims import Catalogue
from .exercises.check import checked_claims, diagnosed, first_failure, progress, run_check
from .exercises.overlay import LessonError, fresh_folder, write_overlay
from .exercises.records import claim_line

COLOURS = {"verified": "#1a7f37", "failing": "#cf222e", "pending": "#9a6700", "skipped": "#57606a"}


class Verdict:
    """The outcome of a check from a notebook: per-claim status, the summary text, HTML for a cell."""

    def __init__(self, claims, status, text, rows, failure=None, hint=None, taken=()):
        self.claims, self.status, self.text, self.rows = claims, status, text, rows
        self.failure, self.hint, self.taken = failure, hint, list(taken)

    @property
    def ok(self):
        """Whether no selected claim is failing."""
        return "failing" not in self.status.values()

    def __repr__(self):
        return self.text

    def _repr_pretty_(self, printer, cycle):  # terminal IPython
        printer.text(self.text)

    def _repr_html_(self):
        rows = "".join(
            f"<tr><td style='color:{COLOURS.get(self.status[c], '#57606a')};font-weight:bold'>{html.escape(self.status[c])}</td>"
            f"<td><code>{html.escape(c)}</code></td><td>{html.escape(self.rows.get(c, ''))}</td></tr>"
            for c in self.claims
        )
        parts = [f"<table>{rows}</table>"]
        if self.failure:
            parts.append(f"<pre>{html.escape(self.failure)}</pre>")
        if self.hint:
            parts.append(f"<details><summary>Hint</summary>{html.escape(self.hint)}</details>")
        return "\n".join(parts)


def check(claim=None, *, section=None, impl=None, namespace=None):
    """Checks claims against the lessons defined in a notebook (and a package folder), in this process.

    Args:
        claim: a claim id (`"dense-params-formula"`), or None with `section`.
        section: a section key (`"A"`) to check all its claims.
        impl: a learner's package directory (from `grimoire exercises init`); the notebook's lessons
            are written over its own. None: fresh stubs, the support solved.
        namespace: the notebook's globals (default: the caller's, which in a cell are the notebook's).

    Returns:
        A `Verdict`, which a notebook shows as HTML.

    Raises:
        ValueError: an unknown claim or section, a folder that is not a package, a lesson whose
            arguments differ from the stub's; the message is one line.

    Example, in a notebook cell (the check needs the project's spec, so it is not a doctest):

        verdict = check("dense-params-formula")
        verdict.status       # {'dense-params-formula': 'verified'} once dense_params is right
    """
    catalogue = Catalogue.load()
    claims, _ = checked_claims(catalogue, section=section, claim=claim)
    if namespace is None:
        namespace = inspect.stack()[1].frame.f_globals
    if impl is not None and not (Path(impl) / "__init__.py").is_file():
        raise ValueError(f"Argument `impl` must be a package directory (with __init__.py). Received: impl={str(impl)!r}. "
                         "Create one with `grimoire exercises init DIR`.")
    folder = fresh_folder()
    try:
        package = folder / "notebook"
        taken = write_overlay(package, namespace, base=impl)
        _, ledger, records, output = run_check(package, claims)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if ledger is None:
        raise RuntimeError(f"the spec did not run to the end:\n{output[-3000:]}")
    status = {row["id"]: row["status"] for row in ledger["claims"] if row["id"] in claims}
    rows = {c: claim_line(c, status.get(c), records) for c in claims}
    mistake = diagnosed(ledger, claims, records, True)
    text = progress(ledger, records, claims, catalogue, mistake=mistake)
    failing = [c for c in claims if status.get(c) == "failing"]
    if not failing:
        return Verdict(claims, status, text, rows, taken=taken)
    claim = catalogue.claims[failing[0]]
    block = [line for line in first_failure(claim, records, catalogue, mistake) if "Stuck?" not in line]
    return Verdict(claims, status, text, rows, failure="\n".join(block).strip("\n"), hint=claim.hint, taken=taken)


# --- IPython ----------------------------------------------------------------------------------


def load_ipython_extension(ipython):
    """`%load_ext grimoire.tooling`: registers `%grimoire` and `%%grimoire` (which runs the cell, then checks)."""

    def line_magic(line):
        return _run(ipython, line)

    def cell_magic(line, cell):
        return _run(ipython, line) if ipython.run_cell(cell).success else None

    ipython.register_magic_function(line_magic, magic_kind="line", magic_name="grimoire")
    ipython.register_magic_function(cell_magic, magic_kind="cell", magic_name="grimoire")


USAGE = "usage: %grimoire check CLAIM | %grimoire check --section S [--impl DIR]"


def _arguments(line):
    words = shlex.split(line)
    if not words or words[0] != "check":
        raise ValueError(USAGE)
    options = {"claim": None, "section": None, "impl": None}
    rest = words[1:]
    while rest:
        word = rest.pop(0)
        if word in ("--section", "--impl", "--claim") and rest:
            options[word[2:]] = rest.pop(0)
        elif word.startswith("-") or options["claim"] is not None:
            raise ValueError(f"{USAGE}. Received: {line!r}")
        else:
            options["claim"] = word
    if options["claim"] is None and options["section"] is None:
        raise ValueError(f"{USAGE}. Received: {line!r}")
    return options


def _run(ipython, line):
    try:
        return check(namespace=ipython.user_ns, **_arguments(line))
    except (ValueError, LessonError) as error:  # one line in the cell, never the tooling's traceback
        print(f"grimoire: {error}")
        return None
