"""`grimoire matrix`: cell selection, the table, differing claims first, atomic writes (no installs)."""

import json
import subprocess

import pytest

from grimoire.tooling import files, matrix, matrix_report
from grimoire.tooling.claims import Catalogue, Claim
from grimoire.tooling.matrix import Cell

pytestmark = pytest.mark.tooling

TF = ["2.15.0", "2.16.1", "2.16.2", "2.17.0rc1", "2.17.0", "2.17.1", "2.22.0"]
KERAS = ["2.15.0", "3.0.0", "3.0.1", "3.2.0", "3.3.0", "3.10.0", "3.9.2", "3.11.0rc0"]
FLOORS = {"2.16.2": "3.0.0", "2.17.1": "3.2.1"}


def test_newest_patches_keep_the_last_patch_of_each_release_in_range():
    # 2.15 and 2.22 fall outside 2.16..2.21; rc releases never count.
    assert matrix.newest_patches(TF) == ["2.16.2", "2.17.1"]


def test_versions_sort_numerically_not_as_text():
    assert matrix.releases(["3.10.0", "3.9.2", "3.2.0"]) == ["3.2.0", "3.9.2", "3.10.0"]
    assert matrix.newest_keras(KERAS) == "3.10.0"


@pytest.mark.parametrize(
    "requires, floor",
    [
        pytest.param(["numpy<2.0.0,>=1.26.0", "keras>=3.2.0"], "3.2.0", id="pip-style"),
        pytest.param(["keras (>=3.5.0)", "h5py"], "3.5.0", id="parenthesised"),
        pytest.param(["keras-nlp; extra == 'x'", "keras >=3.0.0 ; python_version>'3.8'"], "3.0.0", id="markers"),
        pytest.param(["numpy"], "3.0.0", id="none-stated"),
    ],
)
def test_keras_floor_reads_the_requires_dist_line(requires, floor):
    assert matrix.keras_floor(requires) == floor


def test_the_project_floor_raises_a_lower_tensorflow_floor_only(tmp_path):
    assert matrix.raise_floors({"2.16.2": "3.0.0", "2.21.0": "3.12.0"}, "3.3.0") == {"2.16.2": "3.3.0", "2.21.0": "3.12.0"}
    assert matrix.raise_floors(FLOORS, None) == FLOORS
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["numpy", "keras>=3.3.0"]\n')
    assert matrix.project_keras_floor(tmp_path) == "3.3.0"
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["numpy"]\n')
    assert matrix.project_keras_floor(tmp_path) is None


def test_oldest_keras_is_the_first_release_at_or_above_the_floor():
    assert matrix.oldest_keras(KERAS, "3.2.1") == "3.3.0"
    assert matrix.oldest_keras(KERAS, "2.0") == "3.0.0"  # never Keras 2
    with pytest.raises(ValueError, match="No Keras release"):
        matrix.oldest_keras(KERAS, "4.0")


def test_default_cells_pair_each_release_with_its_oldest_and_newest_keras_and_add_jax_and_torch_once():
    cells = matrix.select_cells(TF, KERAS, FLOORS)
    assert cells == [
        Cell("2.17.1", "3.10.0", "jax"),
        Cell("2.17.1", "3.10.0", "torch"),
        Cell("2.16.2", "3.0.0", "tensorflow"),
        Cell("2.16.2", "3.10.0", "tensorflow"),
        Cell("2.17.1", "3.3.0", "tensorflow"),
        Cell("2.17.1", "3.10.0", "tensorflow"),
    ]


def test_explicit_choices_give_their_product_and_newest_equal_to_oldest_counts_once():
    cells = matrix.select_cells(TF, KERAS, FLOORS, tensorflow=["2.16.2"], backends=["tensorflow"], keras=["3.2.0", "3.2.0"])
    assert cells == [Cell("2.16.2", "3.2.0", "tensorflow")]
    only = matrix.select_cells(TF, ["3.0.0"], FLOORS, tensorflow=["2.16.2"], backends=["tensorflow"])
    assert only == [Cell("2.16.2", "3.0.0", "tensorflow")]


def test_an_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match=r"`backend`.*Received: \['mxnet'\]"):
        matrix.select_cells(TF, KERAS, FLOORS, backends=["mxnet"])


def test_a_cell_pins_its_releases_and_jax_adds_jax():
    tf_cell, jax_cell = Cell("2.16.2", "3.0.0", "tensorflow"), Cell("2.21.0", "3.15.1", "jax")
    assert tf_cell.name == "tf2.16.2-keras3.0.0-tensorflow"
    assert matrix.install_requirements(tf_cell, "/r") == ["-e", "/r[test]", "tensorflow==2.16.2", "keras==3.0.0"]
    assert "jax[cpu]" in matrix.install_requirements(jax_cell) and "jax[cpu]" not in matrix.install_requirements(tf_cell)
    assert Cell.parse(jax_cell.name) == jax_cell
    with pytest.raises(ValueError, match=r"tf<TensorFlow>-keras<Keras>-<backend>.*Received: 'tf2.16.2-mxnet'"):
        Cell.parse("tf2.16.2-mxnet")


def test_a_torch_cell_installs_the_cpu_wheel_or_the_one_named(monkeypatch):
    torch_cell = Cell("2.21.0", "3.15.1", "torch")
    monkeypatch.delenv("GRIMOIRE_TORCH", raising=False)
    reqs = matrix.install_requirements(torch_cell, "/r")
    assert reqs[:4] == ["-e", "/r[test]", "tensorflow==2.21.0", "keras==3.15.1"]
    assert "torch" in reqs and "https://download.pytorch.org/whl/cpu" in reqs  # never PyPI's CUDA build alone
    monkeypatch.setenv("GRIMOIRE_TORCH", "/wheels/torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl")
    assert matrix.install_requirements(torch_cell, "/r")[4:] == ["/wheels/torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl"]


def record(tf, keras, backend, claims, status="ran"):
    summary = {}
    for s in claims.values():
        summary[s] = summary.get(s, 0) + 1
    name = Cell(tf, keras, backend).name
    return {"tensorflow": tf, "keras": keras, "backend": backend, "cell": name, "status": status,
            "seconds": {"install": 12.0, **({"run": 345.6} if status == "ran" else {})}, "summary": summary,
            "claims": claims}


CLAIMS = {"same": "A", "by-backend": "C", "by-release": "D"}
CATALOGUE = Catalogue(
    sections={s: s for s in CLAIMS.values()},
    claims={i: Claim(i, section, statement=i) for i, section in CLAIMS.items()},
    requires={"by-backend": {"backends": ["tensorflow"], "why": "MirroredStrategy is TensorFlow's"}},
)
RECORDS = [
    record("2.21.0", "3.15.1", "tensorflow", {"same": "verified", "by-backend": "verified", "by-release": "verified"}),
    record("2.21.0", "3.15.1", "jax", {"same": "verified", "by-backend": "skipped", "by-release": "verified"}),
    record("2.16.2", "3.0.0", "tensorflow", {"same": "verified", "by-backend": "verified", "by-release": "failing"}),
    record("2.16.2", "3.15.1", "tensorflow", {}, status="install-failed"),
]


def test_the_claims_that_differ_between_cells_are_found_in_catalogue_order():
    assert matrix_report.differing(RECORDS, list(CLAIMS)) == ["by-backend", "by-release"]


def test_a_cell_that_did_not_run_makes_no_claim_differ():
    # The install-failed cell has no statuses; counting it would flag every claim.
    ran_alike = [RECORDS[0], RECORDS[3]]
    assert matrix_report.differing(ran_alike, list(CLAIMS)) == []


def test_a_claim_outside_a_partial_run_does_not_differ():
    partial = record("2.16.2", "3.0.0", "tensorflow", {"same": "verified", "by-backend": "not run", "by-release": "failing"})
    partial["selection"] = ["spec/a_dense"]
    assert matrix_report.differing([RECORDS[0], partial], list(CLAIMS)) == ["by-release"]
    assert "| 2.16.2 / 3.0.0 / tf | spec/a_dense | ran |" in matrix_report.render([partial], CATALOGUE)


def test_keep_existing_reads_back_the_cells_of_an_earlier_run(tmp_path):
    assert matrix_report.read_records(tmp_path) == []
    matrix_report.write_matrix(tmp_path, RECORDS, CATALOGUE)
    assert matrix_report.read_records(tmp_path) == RECORDS


def test_the_table_lists_cells_then_differing_claims_explained_then_the_rest():
    page = matrix_report.render(RECORDS, CATALOGUE, when="2026-11-29 05:00 UTC")
    assert page.startswith(matrix_report.MARKER)
    assert "| 2.16.2 / 3.15.1 / tf | whole spec | install-failed | 12 |  |" in page
    assert "| 2.21.0 / 3.15.1 / jax | whole spec | ran | 12 | 346 | 2 |  |  | 1 |" in page
    differ, same = page.index("## Claims whose status differs"), page.index("## Claims with one status wherever they ran")
    assert differ < page.index("| `by-backend` | C | verified | skipped | verified |") < page.index("| `by-release` |") < same
    assert same < page.index("| `same` | A |")
    assert "- `by-backend`: runs only on tensorflow: MirroredStrategy is TensorFlow's" in page
    assert "- `by-release`: no note in spec/claims.toml yet (run logs: logs/tf2.16.2-keras3.0.0-tensorflow.run.log)" in page
    assert "2.16.2 / 3.15.1 / tf |" not in page.split("## Claims whose")[1]  # no column for a cell that never ran


def test_write_matrix_is_atomic_and_refuses_a_file_it_did_not_write(tmp_path):
    matrix_report.write_matrix(tmp_path, RECORDS, CATALOGUE)
    document = json.loads((tmp_path / "matrix.json").read_text())
    assert [c["status"] for c in document["cells"]] == ["ran", "ran", "ran", "install-failed"]
    matrix_report.write_matrix(tmp_path, RECORDS[:1], CATALOGUE)  # its own files: rewritten
    assert len(json.loads((tmp_path / "matrix.json").read_text())["cells"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "matrix.json"]  # no temp file left

    (tmp_path / "README.md").write_text("# My notes\n")
    with pytest.raises(FileExistsError, match="not written by `grimoire matrix`"):
        matrix_report.write_matrix(tmp_path, RECORDS, CATALOGUE)
    assert (tmp_path / "README.md").read_text() == "# My notes\n"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "matrix.json"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        matrix_report.write_text_atomically(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["matrix.json"]  # the temp file is gone


def test_main_refuses_an_output_directory_with_foreign_files(tmp_path, capsys):
    (tmp_path / "matrix.json").write_text('{"mine": true}')
    assert matrix.main(["--offline", "--out", str(tmp_path)]) == 2
    assert "not written by `grimoire matrix`" in capsys.readouterr().err


def test_main_dry_run_lists_the_cells_without_installing(tmp_path, capsys):
    # The oldest cell is 3.8.0, not TensorFlow 2.16's 3.0.0: the project declares keras>=3.8.0.
    assert matrix.main(["--offline", "--dry-run", "--tensorflow", "2.16.2", "--backend", "tensorflow", "--out", str(tmp_path)]) == 0
    assert "2 cells: tf2.16.2-keras3.8.0-tensorflow, tf2.16.2-keras3.15.1-tensorflow" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_main_without_nox_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(matrix.importlib.util, "find_spec", lambda name: None)
    assert matrix.main(["--offline", "--tensorflow", "2.16.2", "--backend", "tensorflow", "--out", str(tmp_path)]) == 2
    assert '`python -m pip install -e ".[matrix]"`' in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_keeps_the_cells_already_run_and_says_so(tmp_path, capsys, monkeypatch):
    def run_cell(cell, *args):
        if cell.keras != "3.8.0":  # the second cell: the user presses Ctrl-C
            raise KeyboardInterrupt
        return {**matrix._record(cell, (), "ran", "logs/first.run.log"), "summary": {"verified": 1}}

    monkeypatch.setattr(matrix, "run_cell", run_cell)
    assert matrix.main(["--offline", "--tensorflow", "2.16.2", "--backend", "tensorflow", "--out", str(tmp_path)]) == 130
    assert "interrupted during tf2.16.2-keras3.15.1-tensorflow" in capsys.readouterr().err
    cells = json.loads((tmp_path / "matrix.json").read_text())["cells"]
    assert [r["cell"] for r in cells] == ["tf2.16.2-keras3.8.0-tensorflow"]


def test_a_table_that_cannot_be_written_is_said_in_one_line(tmp_path, capsys, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matrix, "run_cell", lambda cell, *args: matrix._record(cell, (), "ran", "logs/x.run.log"))
    monkeypatch.setattr(matrix_report, "write_matrix", full_disk)
    assert matrix.main(["--offline", "--tensorflow", "2.16.2", "--backend", "tensorflow", "--out", str(tmp_path)]) == 2
    assert "No space left on device); the previous one is kept" in capsys.readouterr().err


def test_a_cell_runs_the_spec_with_the_workers_asked_for(tmp_path):
    """A cell uses xdist's `-n` as given (serial with 0), and writes its ledger where asked."""
    ledger = tmp_path / "cell.json"
    assert matrix.pytest_args(ledger)[matrix.pytest_args(ledger).index("-n") + 1] == "auto"
    args = matrix.pytest_args(ledger, ["spec/a_dense"], workers=0)
    assert args[args.index("-n") + 1] == "0"
    assert args[args.index("--ledger-json") + 1] == str(ledger) and args[-1] == "spec/a_dense"


def test_a_python_without_pip_is_told_how_to_go_on(monkeypatch):
    """`uv venv` makes environments without pip: the error says what to do instead of only failing."""
    def no_pip(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "/venv/bin/python: No module named pip\n")

    monkeypatch.setattr(matrix.subprocess, "run", no_pip)
    with pytest.raises(RuntimeError, match=r"ensurepip.*--offline"):
        matrix.index_versions("tensorflow")


def test_every_front_end_builds_its_pytest_command_in_one_place(tmp_path):
    """matrix, numerics, mistakes and conformance record ledgers with the same flags: project.pytest_command's."""
    from grimoire.tooling import mistakes, project

    recording = list(project.RECORDING)
    cell = matrix.pytest_args(tmp_path / "cell.json", python="/cell/python")
    planted = mistakes.command(tmp_path / "grimoire", ["merge-add"], tmp_path)
    for command in (cell, planted):
        at = command.index("-q")
        assert command[1:3] == ["-m", "pytest"] and command[at:at + len(recording)] == recording
    assert cell[0] == "/cell/python" and not [a for a in cell if a.startswith("spec")]  # the whole checkout
    # A learner's check keeps pytest's cache (--lf works) and gets the spec when it names nothing.
    check = project.pytest_command([], parallel=False)
    assert "no:cacheprovider" not in check and check[-1] == "spec"
    assert project.pytest_command(["-k", "dense"], parallel=False)[-2:] == ["-k", "dense"]


def installed_cell(backend="tensorflow"):
    from importlib.metadata import version

    return Cell(version("tensorflow"), version("keras"), backend)


@pytest.mark.slow
def test_a_cell_runs_as_a_nox_session_and_leaves_its_record(tmp_path):
    """`grimoire matrix` runs each cell through noxfile.py's `cell` session and reads the record it writes.

    nox runs here without making an environment (`--force-venv-backend none`), so the cell is the
    releases installed; the install step is the only part of the session left out.
    """
    cell = installed_cell()
    record = matrix.run_cell(cell, tmp_path, select=["spec/a_dense/test_dense_params_formula.py"], workers=0,
                             nox_args=("--force-venv-backend", "none"))
    assert record["status"] == "ran", (tmp_path / "logs" / f"{cell.name}.nox.log").read_text()[-3000:]
    assert record["claims"]["dense-params-formula"] == "verified" and record["claims"]["cam-any-model"] == "not run"
    assert record["pytest_exit"] == 0 and record["selection"] == ["spec/a_dense/test_dense_params_formula.py"]
    assert record["log"] == f"logs/{cell.name}.run.log" and "dense-params-formula" in (tmp_path / record["log"]).read_text()
    assert json.loads((tmp_path / "cells" / f"{cell.name}.json").read_text()) == record
    assert not (tmp_path / "envs").exists()


def test_a_cell_whose_session_never_ran_is_an_install_failure_with_nox_log(tmp_path):
    """No record from the session (nox, the environment or the install failed): the cell says so and
    points at nox's log, and an old record from an earlier run does not pass for this one's."""
    cell = Cell("2.16.2", "3.8.0", "tensorflow")
    (tmp_path / "cells").mkdir()
    (tmp_path / "cells" / f"{cell.name}.json").write_text('{"status": "ran"}')
    record = matrix.run_cell(cell, tmp_path, nox_args=("--no-such-option",))
    assert record["status"] == "install-failed" and record["log"] == f"logs/{cell.name}.nox.log"
    assert "--no-such-option" in (tmp_path / record["log"]).read_text()
