"""One run of the spec on a variant, done the same way for every front end.

A variant is a pytest command (`project.pytest_command` builds it: the interpreter, `--impl`,
`--claims`, the recording flags) and the environment it runs in. Out come the exit code, the
seconds it took, its output (kept in a log file when asked) and the claim ledger it wrote.
`grimoire matrix`, `numerics`, `mistakes`, `report`, `conformance` and the exercise checks run through here.
"""

import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    code: object  # pytest's exit code, or "timeout"
    seconds: float
    output: str  # stdout and stderr together
    ledger: dict | None  # the `--ledger-json` it wrote, or None


def run(command, *, cwd, env=None, log=None, timeout=None, ledger=None, started=None, show=False, own_group=True):
    """Runs `command` (in a process group of its own, unless `own_group=False`) and waits for it.

    Args:
        command: the command line (a list), usually from `project.pytest_command`.
        cwd, env: where and with what environment it runs (default: this process's).
        log: a file to keep its output in, the command line first; None keeps it in memory only.
        timeout: seconds before the whole group (pytest, its xdist workers, what they started) is killed.
        ledger: the `--ledger-json` path to read back; a stale file there is removed first.
        started: called with the `subprocess.Popen` once it runs (to stop it from another thread).
        show: the output goes to this process' terminal as it comes (`grimoire report`), and is not kept.
        own_group: start a process group (what the timeout and Ctrl-C stop). False inside a run that
            is itself one (a matrix cell's pytest under its nox session), so that stopping the outer
            group stops this command too, instead of leaving it running on its own.

    Returns:
        A `Run`. Ctrl-C stops the group (when it has its own), then goes up.
    """
    if ledger is not None:
        Path(ledger).unlink(missing_ok=True)  # a stale ledger must not pass for this run's
    start = time.monotonic()
    with open(log, "w+", encoding="utf-8") if log else tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        out.write("$ " + " ".join(map(str, command)) + "\n")
        out.flush()
        sink = {} if show else {"stdout": out, "stderr": subprocess.STDOUT}
        process = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=own_group, **sink)
        if started is not None:
            started(process)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _end(process)
            code = "timeout"
        except KeyboardInterrupt:
            if own_group:
                _end(process)
            else:  # in the caller's group, which the Ctrl-C (or the caller's stop) reached as well
                process.wait()
            raise
        out.seek(0)
        output = out.read().split("\n", 1)[-1]
    written = Path(ledger) if ledger is not None else None
    data = json.loads(written.read_text(encoding="utf-8")) if written is not None and written.is_file() else None
    return Run(code, round(time.monotonic() - start, 1), output, data)


def stop(process, sig=signal.SIGTERM):
    """Sends `sig` to the process group of `process` (pytest and anything it started)."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _end(process):
    stop(process, signal.SIGKILL)
    process.wait()
    # A child forked while the first signal went round the group escapes it: the group id stays
    # valid while any member lives, and no member can fork any more.
    stop(process, signal.SIGKILL)
