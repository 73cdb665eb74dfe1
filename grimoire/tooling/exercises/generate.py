"""A learner's package: the concept modules stubbed, the support modules copied, and EXERCISES.md."""

import ast
import os
import shutil
import tempfile
from pathlib import Path

from ..layout import CONCEPTS, SUPPORTS
from ..ledger import Catalogue, scan_claim_markers
from ..project import project_root
from .stubs import stub_source

REFERENCE = Path(__file__).resolve().parents[2]

HEADER = (
    "# Exercise generated from the Grimoire reference by `grimoire exercises init`.\n"
    "# Replace each `raise NotImplementedError(...)` with your code; EXERCISES.md lists the claims.\n"
)


def _module_files(root, name):
    """The .py files of module `name` under `root`: one file, or every file of a package."""
    if (root / name).is_dir() and (root / name / "__init__.py").is_file():
        return sorted(p for p in (root / name).rglob("*.py") if "__pycache__" not in p.parts)
    if (root / f"{name}.py").is_file():
        return [root / f"{name}.py"]
    return []


def _dotted(relative):
    parts = list(relative.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _relative_imports(relative, source, root):
    """Top-level module names of the package that `source` (at `relative`) imports relatively."""
    package = list(relative.parent.parts)
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            targets = [base + node.module.split(".")] if node.module else [base + [a.name] for a in node.names]
            names.update(t[0] for t in targets if t and _module_files(root, t[0]))
    return names


def write_exercises(dest, *, reference=REFERENCE, keep=()):
    """Writes a learner's package to `dest`: the concept modules stubbed, the support modules copied.

    Args:
        dest: a directory that does not exist yet or is empty; it becomes the package
            (`pytest --impl DEST`, `grimoire exercises check DEST`).
        reference: the reference package directory (the installed `grimoire` by default).
        keep: dotted names (`"params.dense_params"`) whose reference bodies stay: solved exercises.

    Returns:
        The list of written paths, relative to `dest`.

    Example:

    >>> import tempfile
    >>> written = write_exercises(Path(tempfile.mkdtemp()) / "mine")
    >>> "params.py" in [p.as_posix() for p in written]
    True
    """
    dest, reference = Path(dest), Path(reference)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(
            f"Argument `dest` must be a new or empty directory, so no work of yours is overwritten. "
            f"Received: dest={str(dest)!r}, which already holds files. Choose another directory."
        )
    concepts = {name: _module_files(reference, name) for name in CONCEPTS}
    solved = {}
    for name in keep:
        parts = name.split(".")
        cut = next((i for i in range(len(parts) - 1, 0, -1)
                    if (reference / Path(*parts[:i])).with_suffix(".py").is_file()), len(parts) - 1)
        solved.setdefault(".".join(parts[:cut]), []).append(".".join(parts[cut:]))

    exported = _private_imports(reference)
    written = {}  # relative path -> text
    for name, files in concepts.items():
        for path in files:
            relative = path.relative_to(reference)
            module = _dotted(relative)
            text = stub_source(path.read_text(encoding="utf-8"), module=module, keep=solved.pop(module, ()),
                               exported=exported.get(module, ()))
            written[relative] = HEADER + text
    if solved:
        raise ValueError(f"Argument `keep` names modules that are not exercises: {sorted(solved)}. Known: {list(CONCEPTS)}")

    # Support modules, and whatever the written modules import from the package, unchanged.
    todo = ["__init__", *SUPPORTS]
    for relative, text in written.items():
        todo += _relative_imports(relative, text, reference)
    while todo:
        name = todo.pop()
        for path in _module_files(reference, name) if name != "__init__" else [reference / "__init__.py"]:
            relative = path.relative_to(reference)
            if relative in written or name in concepts:
                continue
            written[relative] = path.read_text(encoding="utf-8")
            todo += _relative_imports(relative, written[relative], reference)

    written[Path("EXERCISES.md")] = exercises_guide()
    _write_tree(dest, written)
    return sorted(written)


def _write_tree(dest, files):
    """Writes `files` into a temporary folder next to `dest`, then renames it into place.

    A full disk or an interrupted run leaves no half-written package at `dest`, only a hidden
    `.NAME-*` folder that is removed on the way out.
    """
    dest = dest.absolute()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}-"))
    try:
        for relative, text in files.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(text, encoding="utf-8")
        os.chmod(staging, 0o777 & ~_umask())
        if dest.exists():
            dest.rmdir()  # empty (checked above): the rename below needs the name free
        os.rename(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _private_imports(reference):
    """`module -> private names` that other modules of the package import from it by name."""
    out = {}
    for path in sorted(reference.rglob("*.py")):
        if "__pycache__" in path.parts or "tooling" in path.relative_to(reference).parts:
            continue
        relative = path.relative_to(reference)
        package = list(relative.parent.parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level and node.module:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + node.module.split("."))
                out.setdefault(module, set()).update(a.name for a in node.names if a.name.startswith("_"))
    return out


def spec_index(spec_dir=None):
    """For each claim id: the spec files that name it and the `impl.<module>.<name>` its tests call.

    Read from the spec's source, like the ledger's `scan_claim_markers`: a test function's calls go
    to the claims its markers name (or the module's `pytestmark`); calls outside test functions go
    to every claim of the file.

    Returns:
        A dict `claim id -> {"files": [relative paths], "functions": [dotted names]}`.
    """
    spec_dir = Path(spec_dir) if spec_dir else project_root() / "spec"
    index = {}
    for path, file_ids in scan_claim_markers(spec_dir).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses = {}  # claim id -> functions
        tests = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")]
        module_ids = [i for n in tree.body if _assigns(n, "pytestmark") for i in _claim_ids(n)]
        in_tests = set()
        for test in tests:
            calls = _impl_calls(test)
            in_tests |= {id(n) for n in ast.walk(test)}
            for claim_id in [i for d in test.decorator_list for i in _claim_ids(d)] or module_ids or file_ids:
                uses.setdefault(claim_id, set()).update(calls)
        elsewhere = _impl_calls(tree, skip=in_tests)
        for claim_id in file_ids:
            entry = index.setdefault(claim_id, {"files": [], "functions": set()})
            entry["files"].append(path.relative_to(spec_dir.parent).as_posix())
            entry["functions"] |= uses.get(claim_id, set()) | elsewhere
    return {k: {"files": v["files"], "functions": sorted(v["functions"])} for k, v in index.items()}


def _impl_calls(tree, skip=()):
    """The concept functions reached under `tree`, as dotted names (`"params.dense_params"`).

    Two shapes: `impl.<module>.<name>`, and `lambda p: p.<name>(...)` handed `impl.<module>` by the
    test (a parametrized call); a lambda's name is matched to the concept module defining it.
    Support modules (`impl.digits.load`) are not exercises, so they are left out.
    """
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Name) and node.value.value.id == "impl"
                and node.value.attr in CONCEPTS and node.attr in _public_names()[node.value.attr]):
            found.add(f"{node.value.attr}.{node.attr}")  # a constant (`filters.SOME_STD`) is no exercise
        elif isinstance(node, ast.Lambda):
            names = {a.arg for a in node.args.args}
            for inner in ast.walk(node.body):
                if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id in names:
                    owners = [m for m, defined in _public_names().items() if inner.attr in defined]
                    if len(owners) == 1:
                        found.add(f"{owners[0]}.{inner.attr}")
    return found


_PUBLIC = {}


def _public_names(reference=REFERENCE):
    """`concept module -> the public names its stubs define` (top-level functions and classes)."""
    if not _PUBLIC:
        for name in CONCEPTS:
            defined = set()
            for path in _module_files(reference, name):
                tree = ast.parse(path.read_text(encoding="utf-8"))
                defined |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                            and not n.name.startswith("_")}
            _PUBLIC[name] = defined
    return _PUBLIC


def _claim_ids(tree):
    return [
        a.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "claim"
        for a in node.args
        if isinstance(a, ast.Constant) and isinstance(a.value, str)
    ]


def _assigns(node, name):
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)


def exercises_guide(catalogue=None, index=None):
    """The EXERCISES.md written next to the stubs: the path, then per claim its statement and functions."""
    from .path import claim_functions, docs_section, exercise_path, is_validation  # path imports this module

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
