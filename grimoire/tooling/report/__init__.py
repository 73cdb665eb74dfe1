"""`grimoire report`: run the specification and the benchmarks, and write what they found.

    grimoire report [--out DIR] [--quick] [--phases spec,benchmarks,pictures]

Phases, each shown as it runs; a phase that fails is reported in the output and at the top of the
README, and the rest of the report is still written:

    spec        pytest on spec/ with the claim ledger written as JSON (DIR/ledger.json)
    benchmarks  pytest spec/benchmarks --benchmark-only, one process (DIR/benchmarks.json)
    mistakes    every classic mistake planted in a copy of the reference; the spec must catch each
                (`grimoire mistakes`, DIR/mistakes.json)
    pictures    PNGs: benchmarks against the measured roof, Grad-CAM overlays on the synthetic
                shapes (true boxes drawn) and on digits, the digits convnet's first-layer filters
    README      DIR/README.md: the ledger by section, the benchmark table, the target ratios,
                machine and library versions, the pictures

The report never loses a file: the run writes into a fresh folder beside DIR and swaps it in when
it ends, so DIR holds the previous report, whole, until then (and after Ctrl-C). DIR must be new,
empty, or a previous report (it holds the marker file `.grimoire-report`); a lock keeps two runs
out of one folder.

`--quick` checks the plumbing in a few minutes: one round per benchmark, the slowest cases left
out, shorter training for the pictures. Its numbers are not the ones to quote.
"""

import fcntl
import json
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import benchschema as schema, variant
from ..files import write_text_atomically
from ..claims import Catalogue, installed_versions
from ..project import CATALOGUE, pytest_command
from . import markdown, pictures
from ..conformance import table as conformance_table

PHASES = ("spec", "benchmarks", "mistakes", "pictures")
MARKER = ".grimoire-report"


class ReportError(Exception):
    """A report that cannot start: the output folder is not ours, or another run holds it."""


@dataclass
class Phase:
    """One phase's outcome: `status` is "ok", "failed" or "skipped"; `detail` says why."""

    name: str
    status: str = "skipped"
    detail: str = ""
    seconds: float = 0.0


def run(out="report", *, quick=False, phases=PHASES, root, log=print, gpu=None):
    """Runs the chosen phases and swaps the new report into `out`; returns the process exit code.

    Args:
        out: the report directory: new, empty, or a previous report.
        quick: fewer benchmark rounds, the slowest cases and long trainings left out.
        phases: which of `PHASES` to run; the README is always written.
        root: the project checkout holding `spec/`.
        log: where progress lines go.
        gpu: the JSON `grimoire gpu run` wrote on a GPU machine, or None: its numbers become the
            README's GPU section (and the file is kept as DIR/gpu.json).

    Returns:
        0 if every phase succeeded, 1 if one failed, 130 after Ctrl-C (the previous report kept).
    """
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        raise ValueError(f"Argument `phases` must name phases among {list(PHASES)}. Received: {unknown}")
    out = Path(out).expanduser().resolve()
    check_out(out)
    gpu_run = None if gpu is None else _read_json(gpu)
    if gpu is not None and gpu_run is None:
        raise ReportError(f"Argument `gpu` must be the JSON file `grimoire gpu run` wrote. Received: {gpu} (missing or "
                          "not JSON). Copy gpu.json from the GPU machine, or leave --gpu out.")
    with locked(out):
        work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
        try:
            results = _phases(work, root, quick, phases, log)
            if gpu_run is not None:
                write_text_atomically(work / "gpu.json", json.dumps(gpu_run, indent=1) + "\n")
            text = markdown.readme(results, catalogue=Catalogue.load(Path(root) / CATALOGUE),
                                   ledger=_read_json(work / "ledger.json"), bench=_read_json(work / "benchmarks.json"),
                                   mistakes=_read_json(work / "mistakes.json"),
                                   pictures=[p.name for p in work.glob("*.png")], quick=quick,
                                   versions=installed_versions(("tensorflow", "keras", "numpy")),
                                   conformance=conformance_table.read(Path(root) / "conformance"), gpu=gpu_run)
            write_text_atomically(work / "README.md", text)
            (work / MARKER).write_text("A folder written by `grimoire report`; the next report replaces it whole.\n")
            swap_in(work, out)
        except KeyboardInterrupt:
            log(f"[report] interrupted: nothing written; {out} is as it was.")
            return 130
        finally:
            shutil.rmtree(work, ignore_errors=True)
    log(f"[report] wrote {out / 'README.md'}")
    failed = [p.name for p in results if p.status == "failed"]
    if failed:
        log(f"[report] failed phases: {', '.join(failed)} (see the top of {out / 'README.md'})")
    return 1 if failed else 0


def check_out(out):
    """Refuses an output folder that is not ours: a file, or a non-empty folder without the marker."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out}: is a file, not a folder. Choose a folder for the report.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ReportError(
            f"--out {out}: holds files that no Grimoire report wrote, and the report replaces its folder whole. "
            "Choose a new or empty folder."
        )
    if not out.parent.is_dir():
        raise ReportError(f"--out {out}: folder {str(out.parent)!r} does not exist; create it first.")


@contextmanager
def locked(out):
    """Holds an exclusive lock beside `out` for the run; a second run into `out` is refused at once."""
    lock = out.parent / f".{out.name}.lock"
    with open(lock, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReportError(f"--out {out}: another `grimoire report` is writing it; wait for it to end.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def swap_in(new, out):
    """Puts the folder `new` in place of `out`, keeping the old one until the new one is there."""
    if not out.exists():
        new.rename(out)
        return
    old = out.parent / f".{out.name}.old-{time.time_ns()}"
    out.rename(old)
    try:
        new.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _phases(work, root, quick, phases, log):
    steps = {"spec": lambda: spec_phase(root, work, log), "benchmarks": lambda: benchmark_phase(root, work, quick, log),
             "mistakes": lambda: mistakes_phase(root, work, log), "pictures": lambda: pictures_phase(work, quick, log)}
    results = []
    for index, name in enumerate(PHASES, 1):
        if name not in phases:
            results.append(Phase(name, "skipped", "not selected"))
            continue
        log(f"[report {index}/{len(PHASES)}] {name} ...")
        start = time.perf_counter()
        try:
            phase = steps[name]()
        except Exception as error:  # a broken phase must not stop the report
            phase = Phase(name, "failed", f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}")
        phase.seconds = time.perf_counter() - start
        log(f"[report {index}/{len(PHASES)}] {name}: {phase.status}" + (f" ({phase.detail})" if phase.detail else ""))
        results.append(phase)
    return results


def _command_phase(name, root, command, target, log, *, missing, failed):
    """Runs phase `name`'s `command` in `root`, its output on the terminal (Ctrl-C stops it, then goes up).

    The phase failed, said by `missing` or `failed` (formatted with the exit `code`), when the command
    wrote no `target` or exited with an error.
    """
    log("  $ " + " ".join(command[1:]))
    code = variant.run(command, cwd=root, show=True).code
    if not target.is_file():
        return Phase(name, "failed", missing.format(code=code))
    if code != 0:
        return Phase(name, "failed", failed.format(code=code))
    return Phase(name, "ok")


def spec_phase(root, work, log):
    """Runs the specification (in parallel when there are cores to spare) with the ledger as JSON."""
    target = work / "ledger.json"
    command = pytest_command(["spec", "-q", "-p", "no:cacheprovider", f"--ledger-json={target}"])
    return _command_phase("spec", root, command, target, log, missing="pytest exited with {code} and wrote no ledger",
                          failed="pytest exited with {code}: some tests failed (see the ledger)")


def benchmark_phase(root, work, quick, log):
    """Runs the benchmarks in one process (never under xdist) and keeps their JSON."""
    target = work / "benchmarks.json"
    args = ["spec/benchmarks", "--benchmark-only", "-n", "0", "-p", "no:cacheprovider", "-v",
            f"--benchmark-json={target}", "--benchmark-columns=min,median,rounds"]
    if quick:
        args += ["--benchmark-quick", *schema.QUICK_PYTEST_ARGS]
    return _command_phase("benchmarks", root, pytest_command(args), target, log,
                          missing="pytest exited with {code} and wrote no benchmark JSON",
                          failed="pytest exited with {code}: a benchmark's check failed")


def mistakes_phase(root, work, log):
    """Plants every catalogued mistake in a copy of the reference and runs its claims' tests."""
    target = work / "mistakes.json"
    command = [sys.executable, "-m", "grimoire.tooling.cli", "mistakes", f"--json={target}"]
    return _command_phase("mistakes", root, command, target, log,
                          missing="grimoire mistakes exited with {code} and wrote no results",
                          failed="a mistake survived the spec (see the table)")


def pictures_phase(work, quick, log):
    """Draws every picture it can; one that fails is reported and the others are still drawn."""
    errors = []
    for name, draw in pictures.PICTURES:
        log(f"  drawing {name} ...")
        try:
            draw(work, quick)
        except Exception as error:
            errors.append(f"{name}: {type(error).__name__}: {error}")
            log(f"  {name} failed: {type(error).__name__}: {error}")
    return Phase("pictures", "failed", "; ".join(errors)) if errors else Phase("pictures", "ok")


def _read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None

