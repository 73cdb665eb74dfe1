"""A learner's package: the reference with its lessons stubbed, the support solved, and EXERCISES.md."""

import os
import shutil
import tempfile
from pathlib import Path

from .. import reach
from ..files import umask
from ..layout import LESSONS, is_lesson, lessons, split
from ..reach import REFERENCE
from .index import spec_index  # noqa: F401 (re-exported)
from .path import exercises_guide
from .stubs import stub_source

HEADER = (
    "# Exercise generated from the Grimoire reference by `grimoire exercises init`.\n"
    "# Replace each `raise NotImplementedError(...)` with your code (the lessons); the rest is support,\n"
    "# shipped solved: it checks the arguments and calls your lessons. EXERCISES.md lists the claims.\n"
)


def write_exercises(dest, *, keep=()):
    """Writes a learner's package to `dest`: the lessons stubbed, everything else (the support) solved.

    Args:
        dest: a directory that does not exist yet or is empty; it becomes the package
            (`pytest --impl DEST`, `grimoire exercises check DEST`).
        keep: dotted lessons (`"params.dense_params"`) whose reference bodies stay: solved exercises.

    Returns:
        The list of written paths, relative to `dest`.

    Example:

    >>> import tempfile
    >>> written = write_exercises(Path(tempfile.mkdtemp()) / "mine")
    >>> "params.py" in [p.as_posix() for p in written]
    True
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(
            f"Argument `dest` must be a new or empty directory, so no work of yours is overwritten. "
            f"Received: dest={str(dest)!r}, which already holds files. Choose another directory."
        )
    unknown = [name for name in keep if not is_lesson(name)]
    if unknown:
        raise ValueError(f"Argument `keep` names functions that are not lessons: {unknown}. Known: {lessons()}")
    written = {}  # relative path -> text
    for module, path in reach.module_files().items():  # the curriculum, the tooling left out
        relative, text = path.relative_to(REFERENCE), path.read_text(encoding="utf-8")
        if module in LESSONS:
            solved = [split(name)[1] for name in keep if split(name)[0] == module]
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
