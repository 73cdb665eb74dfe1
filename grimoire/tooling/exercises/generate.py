"""A learner's package: the concept modules stubbed, the support modules copied, and EXERCISES.md."""

import ast
import os
import shutil
import tempfile
from pathlib import Path

from ..layout import CONCEPTS, SUPPORTS
from .index import REFERENCE, _dotted, _module_files, spec_index  # noqa: F401 (spec_index: re-exported)
from .path import exercises_guide
from .stubs import stub_source


HEADER = (
    "# Exercise generated from the Grimoire reference by `grimoire exercises init`.\n"
    "# Replace each `raise NotImplementedError(...)` with your code; EXERCISES.md lists the claims.\n"
)


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
