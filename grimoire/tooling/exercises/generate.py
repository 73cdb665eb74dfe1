"""A learner's package: the reference with its lessons stubbed, the support solved, and EXERCISES.md."""

import os
import shutil
import tempfile
from pathlib import Path

from ..files import umask
from ..layout import LESSONS, is_lesson, lessons
from .index import REFERENCE, _dotted, _module_files, spec_index  # noqa: F401 (re-exported)
from .path import exercises_guide
from .stubs import stub_source


HEADER = (
    "# Exercise generated from the Grimoire reference by `grimoire exercises init`.\n"
    "# Replace each `raise NotImplementedError(...)` with your code (the lessons); the rest is support,\n"
    "# shipped solved: it checks the arguments and calls your lessons. EXERCISES.md lists the claims.\n"
)


def write_exercises(dest, *, reference=REFERENCE, keep=()):
    """Writes a learner's package to `dest`: the lessons stubbed, everything else (the support) solved.

    Args:
        dest: a directory that does not exist yet or is empty; it becomes the package
            (`pytest --impl DEST`, `grimoire exercises check DEST`).
        reference: the reference package directory (the installed `grimoire` by default).
        keep: dotted lessons (`"params.dense_params"`) whose reference bodies stay: solved exercises.

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
    unknown = [name for name in keep if not is_lesson(name)]
    if unknown:
        raise ValueError(f"Argument `keep` names functions that are not lessons: {unknown}. Known: {lessons()}")
    written = {}  # relative path -> text
    for path in sorted(reference.rglob("*.py")):
        relative = path.relative_to(reference)
        if relative.parts[0] == "tooling" or "__pycache__" in relative.parts:
            continue
        module, text = _dotted(relative), path.read_text(encoding="utf-8")
        if module in LESSONS:
            solved = [name[len(module) + 1:] for name in keep if name.startswith(module + ".")
                      and name[len(module) + 1:] in LESSONS[module]]
            text = HEADER + stub_source(text, module=module, lessons=LESSONS[module], keep=solved)
        written[relative] = text
    written[Path("EXERCISES.md")] = exercises_guide()
    write_tree(dest, written)
    return sorted(written)


def write_tree(dest, files):
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
        os.chmod(staging, 0o777 & ~umask())
        if dest.exists():
            dest.rmdir()  # empty (checked above): the rename below needs the name free
        os.rename(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
