"""The plugin's options work from anywhere and are checked once, before any test runs."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parents[2]
ONE_CLAIM = "spec/a_dense/test_dense_kernel_shape.py"


def pytest_in_checkout(*args):
    return subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def outside_package(tmp_path_factory):
    """A copy of the reference's curriculum in a folder far from the checkout, as a learner keeps it."""
    target = tmp_path_factory.mktemp("learning") / "mine"
    shutil.copytree(ROOT / "grimoire", target, ignore=shutil.ignore_patterns("tooling", "__pycache__"))
    return target


@pytest.mark.parametrize("form", ["space", "equals"])
def test_impl_outside_the_checkout_runs_in_both_option_forms(outside_package, form):
    args = ["--impl", str(outside_package)] if form == "space" else [f"--impl={outside_package}"]
    result = pytest_in_checkout(*args, ONE_CLAIM)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "verified  dense-kernel-shape" in result.stdout


def _usage_error(result, starts):
    assert result.returncode == 4, result.stdout[-1500:] + result.stderr[-1500:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: {starts}"), result.stderr
    assert "passed" not in result.stdout and "::" not in result.stdout  # no test ran


@pytest.mark.parametrize("impl", [pytest.param("/nonexistent/mine", id="missing-folder"),
                                  pytest.param("no_such_package_anywhere", id="unknown-name")])
def test_an_impl_that_cannot_be_imported_is_one_usage_error(impl):
    _usage_error(pytest_in_checkout("--impl", impl, ONE_CLAIM), f"--impl {impl}: cannot import it")


def test_an_impl_folder_without_init_is_one_usage_error(tmp_path):
    _usage_error(pytest_in_checkout("--impl", str(tmp_path), ONE_CLAIM), f"--impl {tmp_path}: cannot import it")


@pytest.mark.parametrize("where", [pytest.param("missing/dir/x.json", id="missing-folder"),
                                   pytest.param("a-file/x.json", id="under-a-file")])
def test_a_ledger_json_that_cannot_be_written_is_one_usage_error(tmp_path, where):
    (tmp_path / "a-file").write_text("not a folder")
    target = tmp_path / where
    _usage_error(pytest_in_checkout(f"--ledger-json={target}", ONE_CLAIM), f"--ledger-json {target}: folder")


def test_the_ledger_json_replaces_an_old_file_whole(tmp_path):
    target = tmp_path / "ledger.json"
    target.write_text("an older ledger")
    result = pytest_in_checkout("--ledger-json", str(target), ONE_CLAIM)
    assert result.returncode == 0, result.stdout[-2000:]
    data = json.loads(target.read_text())
    assert {row["id"]: row["status"] for row in data["claims"]}["dense-kernel-shape"] == "verified"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.json"]  # no temporary file left


def test_outside_a_grimoire_checkout_the_plugin_stays_out_of_the_way(pytester):
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "claim ledger" not in result.stdout.str()
    assert pytester.runpytest("--ledger-json", "x.json").ret == pytest.ExitCode.USAGE_ERROR
