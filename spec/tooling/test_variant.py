"""`variant.run`: one way every front end runs the spec on a variant and reads back what it did."""

import json
import sys
import time
from pathlib import Path

import pytest

from grimoire.tooling import variant

pytestmark = pytest.mark.tooling


def test_a_run_keeps_its_output_in_the_log_and_reads_back_its_ledger(tmp_path):
    ledger, log = tmp_path / "ledger.json", tmp_path / "run.log"
    ledger.write_text('{"stale": true}')
    script = f"import json; print('the run speaks'); json.dump({{'summary': {{'verified': 1}}}}, open({str(ledger)!r}, 'w'))"
    ran = variant.run([sys.executable, "-c", script], cwd=tmp_path, log=log, ledger=ledger)
    assert ran.code == 0 and ran.output == "the run speaks\n" and ran.ledger == {"summary": {"verified": 1}}
    assert log.read_text().startswith("$ ") and log.read_text().endswith("the run speaks\n")


def test_a_shown_run_speaks_on_the_terminal_as_it_goes_and_keeps_nothing(tmp_path, capfd):
    """`grimoire report`'s phases: the user watches pytest's progress instead of a log."""
    ran = variant.run([sys.executable, "-c", "print('the run speaks')"], cwd=tmp_path, show=True)
    assert ran.code == 0 and ran.output == ""
    assert capfd.readouterr().out == "the run speaks\n"


def test_a_run_that_writes_no_ledger_leaves_none_not_a_stale_one(tmp_path):
    ledger = tmp_path / "ledger.json"
    ledger.write_text(json.dumps({"summary": {"verified": 57}}))
    ran = variant.run([sys.executable, "-c", "import sys; sys.exit(3)"], cwd=tmp_path, ledger=ledger)
    assert ran.code == 3 and ran.ledger is None and not ledger.exists()


def test_a_hung_run_is_stopped_with_everything_it_started(tmp_path):
    """The time limit ends the run and the processes under it (the spec's pytest and its workers)."""
    marker = tmp_path / "child.pid"
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              f"open({str(marker)!r}, 'w').write(str(child.pid))\n"
              "time.sleep(60)\n")
    ran = variant.run([sys.executable, "-c", script], cwd=tmp_path, timeout=3)
    assert ran.code == "timeout" and ran.seconds < 30
    _assert_gone(marker.read_text())


def _assert_gone(pid):
    status = Path(f"/proc/{pid}/status")
    for _ in range(100):  # a killed process still needs the CPU once to exit: on a loaded machine, a moment
        if not status.exists() or "\tZ" in status.read_text():  # gone, or a zombie no one has reaped yet
            break
        time.sleep(0.1)
    assert not status.exists() or "\tZ" in status.read_text(), status.read_text()


def test_a_run_inside_a_run_is_stopped_with_the_outer_one(tmp_path):
    """A matrix cell: nox (the outer run) runs the spec's pytest (the inner one) inside nox's own
    group, so the cell's time limit or Ctrl-C stops the inner run too, instead of orphaning it."""
    marker = tmp_path / "inner.pid"
    inner = ("from grimoire.tooling import variant\n"
             "import sys\n"
             "variant.run([sys.executable, '-c', 'import time; time.sleep(60)'], cwd='.', own_group=False,\n"
             f"            started=lambda p: open({str(marker)!r}, 'w').write(str(p.pid)))\n")
    ran = variant.run([sys.executable, "-c", inner], cwd=tmp_path, timeout=10)
    assert ran.code == "timeout" and marker.exists(), ran.output
    _assert_gone(marker.read_text())
