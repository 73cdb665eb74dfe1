"""A claim checked from a notebook cell, in a real Jupyter kernel (nbclient), as a learner does it.

The notebook defines `dense_params` wrongly in a cell, checks its claim with the `%grimoire` magic and
reads `failing` with its value against the expected one; defines it again correctly and reads
`verified`; then makes the mistakes a learner makes with the tool itself (an unknown claim, the wrong
arguments), each answered by one line in the cell.
"""

import pytest

pytestmark = pytest.mark.tooling

nbformat = pytest.importorskip("nbformat", reason="the notebook tools are in the test extra: pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook tools are in the test extra: pip install -e '.[test]'")

CELLS = [
    "%load_ext grimoire.tooling",
    "def dense_params(input_size, output_size, *, use_bias=True):\n    return input_size * output_size  # the bias forgotten",
    "%grimoire check dense-params-formula",
    "def dense_params(input_size, output_size, *, use_bias=True):\n    return input_size * output_size + (output_size if use_bias else 0)",
    "%grimoire check dense-params-formula",
    "%grimoire check no-such-claim",
    "from grimoire.tooling import check\ncheck('dense-params-formula').status",
    "%%grimoire check dense-params-formula\ndef dense_params(inputs, units):\n    return inputs * units + units",
]


def _outputs(cell):
    """A cell's outputs as `{mime type or 'stream': text}`."""
    out = {}
    for output in cell.outputs:
        if output.output_type == "stream":
            out["stream"] = out.get("stream", "") + output.text
        else:
            out.update({mime: value for mime, value in output.get("data", {}).items()})
    return out


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path_factory.mktemp("kernel"))}}).execute()
    return [_outputs(cell) for cell in notebook.cells]


def test_a_wrong_lesson_in_a_cell_fails_with_its_value_against_the_expected(executed):
    """The kernel's check: failing, actual against expected, the hint behind a disclosure, the classic mistake named."""
    text, page = executed[2]["text/plain"], executed[2]["text/html"]
    assert "failing   dense-params-formula" in text and "actual (your code):" in text, text
    assert "dense-forgets-bias" in text
    assert "<details><summary>Hint</summary>" in page and "failing" in page


def test_the_corrected_lesson_verifies_in_the_same_kernel(executed):
    """Redefined in a cell, the function is read afresh: the same claim is verified."""
    assert "verified  dense-params-formula" in executed[4]["text/plain"], executed[4]
    assert executed[6]["text/plain"] == "{'dense-params-formula': 'verified'}"


@pytest.mark.parametrize(
    "cell, line",
    [
        pytest.param(5, "grimoire: Argument `claim` must be a claim id", id="unknown-claim"),
        pytest.param(7, "grimoire: params.dense_params must take the stub's arguments (input_size, output_size, *, use_bias=True)",
                     id="wrong-arguments"),
    ],
)
def test_a_mistake_with_the_tool_is_one_line_in_the_cell(executed, cell, line):
    """No traceback of the tooling: one line that says what was wrong."""
    stream = executed[cell].get("stream", "")
    assert stream.startswith(line) and len(stream.strip().splitlines()) == 1, executed[cell]
    assert "Traceback" not in str(executed[cell])
