"""The study text as notebooks, and a learner's exercise notebooks, both generated from `docs/`.

    grimoire notebooks [--check]                  notebooks/<page>.ipynb from each section page of docs/
    grimoire exercises init --notebooks DIR       one exercise notebook per section, in DIR

One source: each section page of `docs/` (Markdown whose ```python blocks run with the tests) is
converted by jupytext; shell and text blocks stay Markdown. `--check` (and a test) fails when a
committed notebook differs from what its page gives, so the two cannot drift.

An exercise notebook is the section's notebook, then, for each lesson of the section in the order of
the exercise path, a stub cell (the signature, the docstring's Args/Returns/Example, a marked raise)
and a cell that checks its claim with `%grimoire check`. Methods come inside a class of the same
name: only the lessons are taken from it (`exercises.overlay`).
"""

import argparse
import subprocess
import sys
from pathlib import Path

from .claims import Catalogue
from .files import write_text_atomically
from .layout import LESSONS, split
from .project import CATALOGUE, project_root

# The section pages, in the order of the study text.
PAGES = {"A": "parameters.md", "B": "models.md", "C": "metrics.md", "D": "convolution.md",
         "E": "initialisation.md", "F": "interpretability.md", "G": "performance.md"}
FOLDER = "notebooks"


def notebook_of(page, root=None):
    """The notebook of `docs/<page>`: its Markdown and its ```python blocks as cells, in order."""
    import jupytext
    import nbformat

    root = Path(root or project_root())
    notebook = jupytext.reads((root / "docs" / page).read_text(encoding="utf-8"), fmt="md")
    cells = [nbformat.v4.new_markdown_cell(
        f"*Generated from [`docs/{page}`](../docs/{page}) by `grimoire notebooks`; edit the page, not this notebook. "
        "Each heading names its claim, whose tests are in [`spec/`](../spec/) and whose catalogue is "
        "[`spec/claims.toml`](../spec/claims.toml).*")]
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("%%"):  # a ```bash block: shown, not run
            language, _, body = cell.source.partition("\n")
            cell = nbformat.v4.new_markdown_cell(f"```{language[2:].strip()}\n{body}\n```")
        if cell.cell_type == "markdown" and cells[-1].cell_type == "markdown" and len(cells) > 1:
            cells[-1].source += "\n\n" + cell.source
        else:
            cells.append(nbformat.v4.new_code_cell(cell.source) if cell.cell_type == "code" else nbformat.v4.new_markdown_cell(cell.source))
    return _notebook(cells)


def _notebook(cells):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}}
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"  # stable ids: the same page gives the same file
    return notebook


def text_of(notebook):
    import nbformat

    return nbformat.writes(notebook) + "\n"


def write_notebooks(root=None, *, check=False):
    """Writes (or with `check`, compares) `notebooks/<page>.ipynb` for every section page; returns the drifted ones."""
    root = Path(root or project_root())
    drifted = []
    for page in PAGES.values():
        path = root / FOLDER / page.replace(".md", ".ipynb")
        text = text_of(notebook_of(page, root))
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            drifted.append(path)
            if not check:
                path.parent.mkdir(exist_ok=True)
                write_text_atomically(path, text)
    return drifted


# --- exercise notebooks -----------------------------------------------------------------------


SETUP = '''# Grimoire's spec ships with its source: a fresh kernel (Colab) installs it once from the repository.
import importlib.util

if importlib.util.find_spec("grimoire") is None:
    %pip install --quiet -e "git+{repository}#egg=grimoire"
%load_ext grimoire.tooling

import math

import keras
import numpy as np
from keras import ops'''


def repository(root=None):
    """Where a fresh kernel installs Grimoire from: the checkout's `origin`, else a placeholder to fill in."""
    try:
        url = subprocess.run(["git", "remote", "get-url", "origin"], cwd=root or project_root(), capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        url = ""
    return url or "https://example.invalid/your/grimoire.git"


def exercise_notebook(section, *, steps, root=None, source=None):
    """The exercise notebook of one section: setup, the study text, then per lesson a stub cell and a check cell."""
    import nbformat

    from .exercises.generate import REFERENCE
    from .exercises.standing import lesson_file
    from .exercises.stubs import function_bodies, stub_source

    root = Path(root or project_root())
    catalogue = Catalogue.load(root / CATALOGUE)
    cells = [nbformat.v4.new_code_cell(SETUP.format(repository=source or repository(root)))]
    cells += notebook_of(PAGES[section], root).cells[1:]
    mine = [s for s in steps if catalogue.claims[s["claim"]].section == section]
    if mine:
        cells.append(nbformat.v4.new_markdown_cell(
            f"## Your turn: {len(mine)} lesson(s)\n\nWrite each stub below, run its cell, then run the check under it. "
            "`pending` means a lesson it needs is still a stub; `failing` shows your value next to the expected one."))
    done = set()
    for step in mine:
        module, qualified = split(step["function"])
        if step["function"] in done:
            continue
        reference, _ = lesson_file(REFERENCE, step["function"])
        stubs = function_bodies(stub_source(reference.read_text(encoding="utf-8"), module=module, lessons=LESSONS[module]))
        owner = qualified.rpartition(".")[0]
        if owner:  # methods: every lesson of the class, in one class cell
            names = [s["function"] for s in mine if split(s["function"])[1].startswith(owner + ".")]
            body = "\n\n".join(stubs[split(n)[1]].rstrip() for n in names)
            code = f"class {owner}:  # only its lessons are taken; the class around them is your package's\n{body}"
            title = f"`{owner}`: " + ", ".join(f"`{split(n)[1].rpartition('.')[2]}`" for n in names)
        else:
            names, code, title = [step["function"]], stubs[qualified].rstrip(), f"`{qualified}`"
        done.update(names)
        claim = catalogue.claims[step["claim"]]
        cells.append(nbformat.v4.new_markdown_cell(f"### {title} ({module})\n\nIts claim, `{claim.id}`: {claim.statement}"))
        cells.append(nbformat.v4.new_code_cell(code))
        cells.append(nbformat.v4.new_code_cell(f"%grimoire check {claim.id}"))
    return _notebook(cells)


def write_exercise_notebooks(dest, *, source=None):
    """Writes one exercise notebook per section to `dest` (new or empty), all at once; returns their names."""
    from .exercises.generate import write_tree
    from .exercises.path import exercise_path

    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"Argument `dest` must be a new or empty directory, so no work of yours is overwritten. "
                         f"Received: dest={str(dest)!r}, which already holds files. Choose another directory.")
    steps = exercise_path()
    files = {Path(f"{key}-{page.replace('.md', '.ipynb')}"): text_of(exercise_notebook(key, steps=steps, source=source))
             for key, page in PAGES.items()}
    write_tree(dest, files)
    return sorted(files)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="grimoire notebooks", description="Write notebooks/ from the section pages of docs/.")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a notebook differs from its page")
    args = parser.parse_args(argv)
    drifted = write_notebooks(check=args.check)
    for path in drifted:
        print(f"{'differs from its page' if args.check else 'written'}: {path.relative_to(project_root())}")
    if not drifted:
        print("Every notebook is its page.")
    return 1 if args.check and drifted else 0


if __name__ == "__main__":
    sys.exit(main())
