"""The exercise path: one function at a time, in the order of the study text.

Like rustlings' `info.toml`, each step names a function, the claims it moves, the docs section to
read and the hint; unlike it, the path is not written by hand but read from three sources that
already exist, so it cannot drift:

    spec/claims.toml   the claims in the order of the study text, with their hints
    spec/              which concept functions the tests of each claim call (`spec_index`)
    grimoire/          which public functions and methods those call in turn (the reference)

A claim needs the functions its tests call and, transitively, the public functions and methods of
the reference that those call (a class brings its public methods and its base classes'). A step is
the first claim, in catalogue order, that needs a function: the function is written when that claim
comes up. Validation claims (ids ending in `-errors`) are not on the path: the stubs keep the
reference's argument checks, already written.
"""

import ast
import re
from pathlib import Path

from ..layout import CONCEPTS
from ..ledger import Catalogue
from ..project import project_root
from .index import REFERENCE, _dotted, _module_files, spec_index
from .stubs import is_stub

VALIDATION_SUFFIX = "-errors"


def is_validation(claim_id):
    """Whether a claim proves argument checks (`params-errors`): solved in the stubs, not an exercise."""
    return claim_id.endswith(VALIDATION_SUFFIX)


def definitions(reference=REFERENCE):
    """`dotted definition -> (file, node)` for every top-level function and class of the concept modules.

    The dotted name is the defining module's (`cam.gradcam.grad_cam`).
    """
    out = {}
    for name in CONCEPTS:
        for path in _module_files(reference, name):
            module = _dotted(path.relative_to(reference))
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    out[f"{module}.{node.name}"] = (path, node)
    return out


def _resolve(name, defined):
    """`cam.grad_cam` -> `cam.gradcam.grad_cam`: the definition a package re-exports."""
    if name in defined:
        return name
    module, _, short = name.rpartition(".")
    matches = [d for d in defined if d.startswith(module + ".") and d.rsplit(".", 1)[1] == short]
    return matches[0] if len(matches) == 1 else None


def _exercises_of(definition, defined):
    """The stubbed bodies a definition stands for: a function itself, a class its public methods."""
    _, node = defined[definition]
    if not isinstance(node, ast.ClassDef):
        return [definition]
    methods = [f"{definition}.{n.name}" for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
               and (not n.name.startswith("_") or n.name.startswith("__")) and not _trivial(n)]
    return methods


def _trivial(node):
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    return not body or (len(body) == 1 and isinstance(body[0], ast.Pass))


def _referenced(definition, defined):
    """Public definitions of the package that the reference's `definition` refers to."""
    path, node = defined[definition]
    module = definition.rsplit(".", 1)[0] if not isinstance(node, ast.ClassDef) else definition.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {}
    package = list(path.relative_to(REFERENCE).parent.parts)
    for item in tree.body:
        if isinstance(item, ast.ImportFrom) and item.level and item.module:
            base = ".".join(package[: len(package) - (item.level - 1)] + item.module.split("."))
            imported.update({(a.asname or a.name): f"{base}.{a.name}" for a in item.names})
    constants = {t.id: item.value for item in tree.body if isinstance(item, ast.Assign)
                 for t in item.targets if isinstance(t, ast.Name)}
    out, todo, seen = set(), [node], set()
    while todo:  # module-level tables (`FORMULAS = {Dense: _dense}`) are followed into
        for child in ast.walk(todo.pop()):
            name = child.id if isinstance(child, ast.Name) else None
            if not name or name in seen:
                continue
            seen.add(name)
            target = imported.get(name, f"{module}.{name}")
            if target in defined and target != definition:
                out.add(target)
            elif name in constants:
                todo.append(constants[name])
    if isinstance(node, ast.ClassDef):
        out |= {imported.get(b.id, f"{module}.{b.id}") for b in node.bases if isinstance(b, ast.Name)} & set(defined)
    return out


def claim_functions(index=None, reference=REFERENCE):
    """`claim id -> the exercises (stubbed functions and methods) it needs`, in definition order."""
    index = spec_index() if index is None else index
    defined = definitions(reference)
    order = {name: i for i, name in enumerate(defined)}
    out = {}
    for claim_id, entry in index.items():
        todo = [d for d in (_resolve(f, defined) for f in entry["functions"]) if d]
        seen = set()
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += sorted(_referenced(name, defined) - seen)
        exercises = [e for d in sorted(seen, key=order.get) for e in _exercises_of(d, defined)]
        out[claim_id] = [e for e in exercises if not _solved_in_stubs(e)]
    return out


def _solved_in_stubs(name):
    """Private helpers are no exercise, and argument checks (`check_*`) come written."""
    short = name.split(".")[-1]
    owner = name.split(".")[-2]
    return (short.startswith("_") and not short.startswith("__")) or owner.startswith("_") or short.startswith("check_")


def docs_section(claim_id, docs=None):
    """`docs/<file>.md#<anchor>` of the heading that names the claim, or None."""
    docs = Path(docs) if docs else project_root() / "docs"
    for path in sorted(docs.glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") and f"`{claim_id}`" in line:
                title = line.lstrip("#").strip()
                anchor = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
                return f"docs/{path.name}#{anchor}"
    return None


def exercise_path(catalogue=None, needs=None):
    """The ordered steps: dicts with `function`, `claims` (all it moves), `claim` (where it comes up)."""
    catalogue = catalogue or Catalogue.load(project_root() / "spec" / "claims.toml")
    needs = claim_functions() if needs is None else needs
    steps, seen = [], {}
    for claim_id in catalogue.claims:
        if is_validation(claim_id):
            continue
        for function in needs.get(claim_id, []):
            if function not in seen:
                seen[function] = {"function": function, "claim": claim_id, "claims": []}
                steps.append(seen[function])
            seen[function]["claims"].append(claim_id)
    return steps


def unwritten(impl, function):
    """Whether `function` (`params.dense_params`) is still a stub in the learner's package at `impl`."""
    module, _, name = function.partition(".")
    parts = function.split(".")
    for split in range(len(parts) - 1, 0, -1):
        path = Path(impl, *parts[:split]).with_suffix(".py")
        if path.is_file():
            return is_stub(path.read_text(encoding="utf-8"), ".".join(parts[split:]))
    return True  # no such module yet: nothing written


def next_step(impl, steps=None):
    """The first step of the path whose function is still a stub in the package at `impl`, or None."""
    steps = exercise_path() if steps is None else steps
    return next((step for step in steps if unwritten(impl, step["function"])), None)


def exercises_guide(catalogue=None, index=None):
    """The EXERCISES.md written next to the stubs: the path, then per claim its statement and functions."""
    root = project_root()
    catalogue = catalogue or Catalogue.load(root / "spec" / "claims.toml")
    index = spec_index(root / "spec") if index is None else index
    needs = claim_functions(index)
    out = [
        "# Exercises",
        "",
        "Each public function of this package ends in `raise NotImplementedError(\"exercise: ...\")`: write",
        "them one at a time. `grimoire exercises next` names the next one, its claim and the docs section",
        "to read; `grimoire exercises check . --claim <id>` checks it in seconds (`--watch` keeps checking).",
        "A claim whose functions you have not written yet is `pending`; anything that runs and is wrong",
        "is `failing`, with the assertion shown. The study text is in the repository's `docs/`.",
        "",
        "Validation claims (`*-errors`) come solved: the stubs keep the argument checks of the reference.",
        "",
        "## The path",
        "",
    ]
    out += [f"{i}. `{step['function']}` ({', '.join(step['claims'])})" for i, step in enumerate(exercise_path(catalogue, needs), 1)]
    for key, title in catalogue.sections.items():
        out += ["", f"## {key}. {title}"]
        for claim in (c for c in catalogue.claims.values() if c.section == key):
            entry = index.get(claim.id, {"files": [], "functions": []})
            out += ["", f"### `{claim.id}`", "", claim.statement]
            if is_validation(claim.id):
                out += ["", "Comes solved: your stubs keep these argument checks."]
            elif needs.get(claim.id):
                out += ["", "Functions: " + ", ".join(f"`{f}`" for f in needs[claim.id])]
            section = docs_section(claim.id)
            if section:
                out += ["", f"Read: `{section}`"]
            out += ["", "Spec: " + (", ".join(f"`{f}`" for f in entry["files"]) or "no test yet")]
    return "\n".join(out) + "\n"
