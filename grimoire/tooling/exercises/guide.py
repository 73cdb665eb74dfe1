"""What to do next, a hint on request, the reference's solution after success.

    grimoire exercises [next] [DIR]     the next function to write, its claim, the docs, the command
    grimoire exercises hint [ID]        the hint of a claim (default: the next step's)
    grimoire exercises solution FN      the reference's code of FN, once its claims verify in DIR
"""

import ast
from pathlib import Path

from ..ledger import Catalogue
from ..project import project_root
from .check import run_check
from .generate import REFERENCE
from .path import docs_section, exercise_path, next_step

DEFAULT_DIR = "mine"


def describe_next(impl, *, steps=None, catalogue=None):
    """The text `grimoire exercises next` prints for the package at `impl`."""
    catalogue = catalogue or Catalogue.load(project_root() / "spec" / "claims.toml")
    steps = exercise_path(catalogue) if steps is None else steps
    step = next_step(impl, steps)
    if step is None:
        return (f"Every function on the path is written in {impl}. Check them all with:\n"
                f"  grimoire exercises check {impl}")
    claim = catalogue.claims[step["claim"]]
    done = sum(1 for s in steps[: steps.index(step)])
    module, name = _split(step["function"])
    lines = [
        f"Step {done + 1} of {len(steps)}: write `{name}` in {Path(impl) / (module.replace('.', '/') + '.py')}",
        "",
        f"It makes this claim true ({claim.id}, section {claim.section}):",
        f"  {claim.statement}",
    ]
    others = [c for c in step["claims"] if c != claim.id]
    if others:
        lines.append(f"and moves these claims too: {', '.join(others)}")
    section = docs_section(claim.id)
    if section:
        lines += ["", f"Read: {section}"]
    lines += ["", "Check it:", f"  grimoire exercises check {impl} --claim {claim.id}",
              f"Stuck? grimoire exercises hint {claim.id}"]
    return "\n".join(lines)


def _split(function):
    """`cam.gradcam.GradCAM.combine` -> (`cam.gradcam`, `GradCAM.combine`), from the reference's files."""
    parts = function.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        if (REFERENCE / Path(*parts[:cut])).with_suffix(".py").is_file():
            return ".".join(parts[:cut]), ".".join(parts[cut:])
    return parts[0], ".".join(parts[1:])


def hint(claim_id=None, *, impl=DEFAULT_DIR):
    """The hint text of `claim_id` (default: the claim of the next step in the package at `impl`)."""
    catalogue = Catalogue.load(project_root() / "spec" / "claims.toml")
    if claim_id is None:
        step = next_step(impl, exercise_path(catalogue))
        if step is None:
            return "Nothing left to write: no hint needed."
        claim_id = step["claim"]
    if claim_id not in catalogue.claims:
        raise ValueError(f"Argument `ID` must be a claim id from spec/claims.toml. Received: {claim_id!r}")
    claim = catalogue.claims[claim_id]
    return f"{claim.id}: {claim.hint or 'no hint for this claim: read its statement and its docs section.'}"


def reference_source(function):
    """The reference's source of `function` (`params.dense_params`, `metrics.RootMeanSquaredError.result`)."""
    module, name = _split(function)
    path = (REFERENCE / Path(*module.split("."))).with_suffix(".py")
    if not path.is_file():
        raise ValueError(f"Argument `function` must name a function of the reference. Received: {function!r}")
    source = path.read_text(encoding="utf-8")
    nodes, scope = None, ast.parse(source).body
    for part in name.split("."):
        nodes = [n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part]
        if not nodes:
            raise ValueError(f"Argument `function` must name a function of the reference. Received: {function!r}")
        scope = nodes[0].body
    return ast.get_source_segment(source, nodes[0], padded=True)


def solution(function, *, impl=DEFAULT_DIR):
    """`(exit code, text)`: the reference's code of `function` once its claims verify in `impl`, else why not."""
    steps = {s["function"]: s for s in exercise_path()}
    if function not in steps:
        known = ", ".join(list(steps)[:5])
        raise ValueError(f"Argument `function` must be a function on the exercise path (e.g. {known}). Received: {function!r}")
    claims = [steps[function]["claim"]]  # the claim where the function comes up on the path
    code, ledger, _, _ = run_check(impl, claims)
    status = {row["id"]: row["status"] for row in (ledger or {"claims": []})["claims"]}
    missing = [c for c in claims if status.get(c) != "verified"]
    if missing:
        return 1, (f"The solution of {function} opens once its claims verify in {impl}; not yet: "
                   + ", ".join(f"{c} ({status.get(c, 'not run')})" for c in missing))
    return 0, f"# The reference's {function}, next to yours:\n\n" + reference_source(function)
