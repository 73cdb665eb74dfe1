"""The numerics matrix (`grimoire numerics`) finds every difference between two ledgers, and only those."""

import json
import sys
from pathlib import Path

import pytest

from grimoire.tooling import numerics as numerics_module
from grimoire.tooling import variant

pytestmark = pytest.mark.tooling



@pytest.fixture(scope="module")
def numerics():
    return numerics_module


def _ledger(path, rows):
    """Writes a ledger like `--ledger-json` does: `rows` maps id -> (status, passed, failed, skipped)."""
    claims = [
        {"id": i, "section": "A", "status": s, "passed": p, "failed": f, "skipped": k, "pending": 0}
        for i, (s, p, f, k) in rows.items()
    ]
    summary = {}
    for s, *_ in rows.values():
        summary[s] = summary.get(s, 0) + 1
    path.write_text(json.dumps({"claims": claims, "summary": summary}))
    return path


BASE = {"a": ("verified", 3, 0, 0), "b": ("failing", 1, 1, 0), "c": ("skipped", 0, 0, 2)}


def test_identical_ledgers_have_no_differences(numerics, tmp_path):
    a, b = _ledger(tmp_path / "a.json", BASE), _ledger(tmp_path / "b.json", dict(BASE))
    assert numerics.diff_ledgers(numerics.load_ledger(a)[0], numerics.load_ledger(b)[0]) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        pytest.param({"a": ("failing", 2, 1, 0)}, "a: verified (3 passed) -> failing (2 passed, 1 failed)", id="status"),
        pytest.param({"b": ("failing", 0, 2, 0)}, "b: failing (1 passed, 1 failed) -> failing (2 failed)", id="counts-within-a-status"),
        pytest.param({"c": ("verified", 2, 0, 0)}, "c: skipped (2 skipped) -> verified (2 passed)", id="skip-became-pass"),
    ],
)
def test_a_changed_claim_is_reported(numerics, tmp_path, change, expected):
    a = _ledger(tmp_path / "a.json", BASE)
    b = _ledger(tmp_path / "b.json", {**BASE, **change})
    assert numerics.diff_ledgers(numerics.load_ledger(a)[0], numerics.load_ledger(b)[0]) == [expected]


def test_a_claim_missing_from_one_ledger_is_reported(numerics, tmp_path):
    a = _ledger(tmp_path / "a.json", BASE)
    b = _ledger(tmp_path / "b.json", {k: v for k, v in BASE.items() if k != "b"})
    assert numerics.diff_ledgers(numerics.load_ledger(a)[0], numerics.load_ledger(b)[0]) == ["b: only in baseline"]


def test_main_runs_each_configuration_and_fails_on_a_difference(numerics, tmp_path, capsys):
    """main() runs pytest once per configuration with its environment, prints the table and exits 1 on a difference."""
    calls = []

    def fake_run(command, cwd, env, **kwargs):
        ledger = Path(command[command.index("--ledger-json") + 1])
        assert kwargs["ledger"] == ledger and kwargs["log"] == ledger.with_suffix(".log")
        calls.append((ledger.stem, env.get("TF_ENABLE_ONEDNN_OPTS"), "-n" in command))
        changed = {"a": ("failing", 2, 1, 0)} if ledger.stem == "onednn-off" else {}
        _ledger(ledger, {**BASE, **changed})
        return variant.Run(0, 1.0, "", None)

    code = numerics.main(["--config", "default", "--config", "onednn-on", "--config", "onednn-off", "--config", "xdist-2",
                          "--out", str(tmp_path)], runner=fake_run)
    table = capsys.readouterr().out
    assert code == 1
    # oneDNN forced on and off, whatever this CPU's default; the default run inherits nothing about it.
    assert calls == [("default", None, False), ("onednn-on", "1", False), ("onednn-off", "0", False), ("xdist-2", None, True)]
    assert "! a: verified (3 passed) -> failing (2 passed, 1 failed)" in table
    assert table.count("same verdict on every claim") == 2  # onednn-on and xdist-2


def test_main_passes_when_every_configuration_agrees(numerics, tmp_path, capsys):
    def fake_run(command, cwd, env, **kwargs):
        _ledger(Path(command[command.index("--ledger-json") + 1]), BASE)
        return variant.Run(0, 1.0, "", None)

    assert numerics.main(["--out", str(tmp_path)], runner=fake_run) == 0
    assert capsys.readouterr().out.count("same verdict on every claim") == len(numerics.CONFIGS) - 1


def test_a_run_without_a_ledger_is_a_failure(numerics, tmp_path, capsys):
    def fake_run(command, cwd, env, **kwargs):
        ledger = Path(command[command.index("--ledger-json") + 1])
        if ledger.stem == "default":
            _ledger(ledger, BASE)
        return variant.Run(2, 1.0, "", None)

    assert numerics.main(["--config", "default", "--config", "isa-sse41", "--out", str(tmp_path)], runner=fake_run) == 1
    assert "no ledger written" in capsys.readouterr().out


def test_the_output_folder_is_made_and_keeps_each_runs_output(numerics, tmp_path):
    """`--out` may name a folder that does not exist yet; each configuration's pytest output is kept beside its ledger."""
    def fake_pytest(command, **kwargs):
        ledger = Path(command[command.index("--ledger-json") + 1])
        assert ledger.parent.is_dir(), "pytest refuses a --ledger-json in a missing folder"
        ran = variant.run([sys.executable, "-c", "print('the words of the run')"], **kwargs)
        _ledger(ledger, BASE)
        return ran

    out = tmp_path / "new" / "numerics"
    assert numerics.main(["--config", "default", "--out", str(out)], runner=fake_pytest) == 0
    assert (out / "default.log").read_text().endswith("the words of the run\n")