"""The study text as notebooks: generated from docs/, executed top to bottom in a real kernel, never drifting.

Each section page of `docs/` is also `notebooks/<page>.ipynb` (`grimoire notebooks`). These tests run
each notebook in a Jupyter kernel (nbclient, ipykernel), check that the pictures the page draws are
in its outputs, and that no committed notebook differs from what its page gives. The exercise
notebooks (`grimoire exercises init --notebooks`) are written safely and run too.
"""

import base64
from pathlib import Path

import pytest

from grimoire.tooling import layout, notebooks
from grimoire.tooling.exercises import path

from grimoire.tooling.project import keras_backend

pytestmark = [
    pytest.mark.tooling,
    pytest.mark.skipif(keras_backend() == "torch", reason="the study text's examples are written for TensorFlow and JAX: "
                       "they hand model outputs to numpy directly, which torch refuses for a tensor that requires grad"),
]

nbformat = pytest.importorskip("nbformat", reason="the notebook tools are in the test extra: pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook tools are in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
# The pages that draw a picture in a cell, and how many pictures each shows.
PICTURES = {"interpretability.md": 1}


def test_the_notebooks_are_their_pages():
    """`notebooks/` holds one notebook per section page, each exactly what its page gives (no drift)."""
    assert sorted(p.name for p in (ROOT / notebooks.FOLDER).glob("*.ipynb")) == sorted(
        page.replace(".md", ".ipynb") for page in notebooks.PAGES.values())
    assert notebooks.write_notebooks(ROOT, check=True) == [], "run `grimoire notebooks` and commit notebooks/"


def test_a_notebook_keeps_the_pages_code_in_order_and_its_shell_blocks_as_text():
    """Every ```python block of the page is a code cell, in order; a ```bash block is Markdown, not run."""
    page = (ROOT / "docs" / "learning.md").read_text(encoding="utf-8")
    notebook = notebooks.notebook_of("learning.md", ROOT)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    blocks = [block.split("```", 1)[0].rstrip("\n") for block in page.split("```python\n")[1:]]
    assert code == blocks
    assert not any(source.startswith("%%") for source in code)
    assert any("```bash\ngrimoire exercises init mine/" in cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def _execute(notebook, folder):
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


@pytest.mark.skipif(keras_backend() != "tensorflow", reason="a learner runs a section's notebook whole, with TensorFlow: "
                    "its pages show TensorFlow's own API on purpose (a tf.GradientTape), which JAX does not run")
@pytest.mark.parametrize("page", list(notebooks.PAGES.values()))
def test_each_section_notebook_runs_top_to_bottom_in_a_kernel(page, tmp_path):
    """Every cell runs without an error in a fresh kernel; the pictures the page draws are PNGs in its outputs."""
    notebook = _execute(nbformat.read(ROOT / notebooks.FOLDER / page.replace(".md", ".ipynb"), as_version=4), tmp_path)
    pictures = [base64.b64decode(output["data"]["image/png"]) for cell in notebook.cells if cell.cell_type == "code"
                for output in cell.outputs if "image/png" in output.get("data", {})]
    assert len(pictures) == PICTURES.get(page, 0)
    assert all(picture.startswith(PNG) and len(picture) > 1000 for picture in pictures)


def test_exercise_notebooks_give_each_lesson_a_stub_and_a_check_in_path_order(tmp_path):
    """One notebook per section: the setup cell first, then the study text, then per lesson its stub and its check."""
    written = notebooks.write_exercise_notebooks(tmp_path / "notebooks", source="https://example.invalid/grimoire.git")
    assert [p.name for p in written] == [f"{k}-{page.replace('.md', '.ipynb')}" for k, page in notebooks.PAGES.items()]
    steps = path.exercise_path()
    for (key, _), name in zip(notebooks.PAGES.items(), written):
        cells = nbformat.read(tmp_path / "notebooks" / name, as_version=4).cells
        assert "%load_ext grimoire.tooling" in cells[0].source and "example.invalid" in cells[0].source
        stubs = [c.source for c in cells if c.cell_type == "code" and 'raise NotImplementedError("exercise: ' in c.source]
        checks = [c.source for c in cells if c.cell_type == "code" and c.source.startswith("%grimoire check ")]
        expected = [s["function"] for s in steps if _section(s["claim"]) == key]
        found = [line.split('exercise: ', 1)[1].split('"')[0] for stub in stubs for line in stub.splitlines() if "exercise: " in line]
        assert found == expected, key
        assert len(checks) == len(stubs)
    with pytest.raises(ValueError, match="must be a new or empty directory"):
        notebooks.write_exercise_notebooks(tmp_path / "notebooks")


def _section(claim):
    from grimoire.tooling.claims import Catalogue

    return Catalogue.load(ROOT / "spec" / "claims.toml").claims[claim].section


def test_an_exercise_notebook_runs_and_its_checks_say_what_to_write(tmp_path):
    """Section A's exercise notebook in a kernel: the stubs define, each check says pending and names the lesson."""
    notebooks.write_exercise_notebooks(tmp_path / "notebooks", source="https://example.invalid/grimoire.git")
    notebook = _execute(nbformat.read(tmp_path / "notebooks" / "A-parameters.ipynb", as_version=4), tmp_path)
    answers = ["".join(output.get("data", {}).get("text/plain", "") for output in cell.outputs)
               for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith("%grimoire check ")]
    lessons = [lesson for lesson in layout.lessons() if lesson.startswith("params.")]
    assert len(answers) == len(lessons)
    assert all("pending" in answer and "waits on params." in answer for answer in answers), answers
