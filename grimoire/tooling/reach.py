"""Which lessons a function of the reference reaches: the support's calls, read from its source.

A claim's tests call public functions of the implementation (`impl.cam.grad_cam`); most of them are
support, which calls the lessons (`layout.LESSONS`) on the way. Reading the reference's syntax tree
tells which, without running anything:

    a function      reaches the definitions its body names: `name`, `module.name` for an imported
                    module, names in module-level tables it uses (`{Dense: _dense}`), and so on
    a class         its bases and every method
    a lesson        is reached, and what its reference body names is followed too (a learner may
                    call the other lessons the same way)

The result over-approximates what one run calls (a table of formulas brings every formula in it),
which is what a learner wants to know: the functions a claim can need.

Example:

>>> "cam.steps.normalize" in lessons_reached("cam.gradcam.grad_cam")
True
>>> lessons_reached("params.dense_params")
['params.dense_params']
"""

import ast
import functools
from pathlib import Path

from .layout import CONCEPTS, lessons

REFERENCE = Path(__file__).resolve().parents[1]


def module_files():
    """`dotted module -> path` for every module of the curriculum (the tooling left out)."""
    out = {}
    for path in sorted(REFERENCE.rglob("*.py")):
        relative = path.relative_to(REFERENCE)
        if relative.parts[0] == "tooling" or "__pycache__" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


@functools.lru_cache(maxsize=None)
def graph():
    """`dotted definition -> set of dotted definitions it refers to`, for the whole curriculum."""
    edges = {}
    for module, path in module_files().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        names = _imports(tree, package, module)
        tables = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name)}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[node.name] = f"{module}.{node.name}"
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                edges[f"{module}.{node.name}"] = _refers(node, names, tables)
            elif isinstance(node, ast.ClassDef):
                owner = f"{module}.{node.name}"
                methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
                edges[owner] = {f"{owner}.{m.name}" for m in methods} | _refers(ast.Module(node.bases, []), names, tables)
                for method in methods:
                    edges[f"{owner}.{method.name}"] = _refers(method, names, tables)
    known = set(edges)
    return {name: {t for t in targets if t in known and t != name} for name, targets in edges.items()}


def _imports(tree, package, module):
    """`local name -> dotted name` of what `tree` imports from the package (relative imports)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = package.split(".") if package else []
            base = parts[: len(parts) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            for alias in node.names:
                names[alias.asname or alias.name] = ".".join(base + [alias.name])
    return names


def _refers(node, names, tables):
    """Dotted names a definition refers to: plain names, `module.attribute`, and into module-level tables."""
    found, todo, seen = set(), [node], set()
    while todo:
        for child in ast.walk(todo.pop()):
            if isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name) and child.value.id in names:
                found.add(f"{names[child.value.id]}.{child.attr}")  # `backend_gradients.feature_gradients`
            if isinstance(child, ast.Name) and child.id not in seen:
                seen.add(child.id)
                if child.id in names:
                    found.add(names[child.id])
                elif child.id in tables:
                    todo.append(tables[child.id])
    return found


def resolve(name):
    """`cam.grad_cam` -> `cam.gradcam.grad_cam`: the definition behind a package's re-export, or None."""
    edges = graph()
    if name in edges:
        return name
    module, _, short = name.rpartition(".")
    matches = [d for d in edges if d.startswith(module + ".") and d.rsplit(".", 1)[1] == short]
    return matches[0] if len(matches) == 1 else None


def lessons_reached(name):
    """The lessons `name` (a dotted definition or re-export) reaches, in the order of `layout.LESSONS`."""
    edges, start = graph(), resolve(name)
    seen, todo = set(), [start] if start else []
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += sorted(edges.get(current, ()) - seen)
    return [lesson for lesson in lessons() if lesson in seen]


@functools.lru_cache(maxsize=None)
def public_names():
    """`concept module -> the public names its files define at top level` (`"cam"` -> {"grad_cam", ...})."""
    out = {name: set() for name in CONCEPTS}
    for module, path in module_files().items():
        top = module.split(".")[0]
        if top in out:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            out[top] |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}
    return out


def owner(name):
    """The one concept module whose files define public `name` at top level, or None (none, or several)."""
    owners = [module for module, defined in public_names().items() if name in defined]
    return owners[0] if len(owners) == 1 else None
