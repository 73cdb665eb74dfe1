"""Classic mistakes, caught: plant a known bug in a copy of the reference and watch the spec turn red.

A specification is only as strong as the wrong implementations it rejects. `spec/mistakes.toml`
lists classic mistakes (Grad-CAM gradients averaged over the batch, a Dense count without its bias,
He initialisation on fan_out, ...). Each one is a replacement for one function or method of the
reference, named by module and qualified name, never by line, so it survives refactoring:

    copy grimoire/ (without grimoire/tooling) to a temporary folder   (grimoire.tooling.plant)
    append to the copied module:  def <target>(...): <wrong body>        # a module-level function
                              or:  def _mistake(...): ...; Class.method = _mistake   # a method
    python -m pytest --impl <copy> <only the tests of the claims that must catch it>
    caught  <=>  one of those claims is failing in the ledger (--ledger-json)

A mistake marked `equivalent = "reason"` cannot be observed by the spec (e.g. a positive scale that
per-image normalisation removes); it is run too, and expected to survive.

Example:

>>> mistakes = load()
>>> sorted({m.section for m in mistakes})
['A', 'B', 'C', 'D', 'E', 'F', 'G']
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .files import write_json_atomically
from . import variant
from .project import pytest_command
from .plant import (  # noqa: F401  (re-exported: the catalogue API lives here too)
    CATALOGUE,
    PACKAGE,
    ROOT,
    CatalogueError,
    Mistake,
    apply,
    load,
    module_path,
)

TIMEOUT = 900.0  # seconds per mistake; the CAM claims train a small convnet first


@dataclass
class Result:
    """What happened to one mistake, for the table."""

    mistake: Mistake
    status: str  # caught | survived | equivalent | error | timeout
    claim: str = ""  # the first named claim found failing
    assertion: str = ""  # the first failing assertion, one line
    seconds: float = 0.0

    @property
    def ok(self):
        """Whether this outcome is what the catalogue expects."""
        return self.status == "caught" or (self.mistake.equivalent and self.status in ("survived", "equivalent"))


# --- running the spec against it ----------------------------------------------------------------


def spec_files(claims, root=ROOT):
    """The spec files that name one of `claims` (string literal), relative to `root`, sorted."""
    pattern = re.compile("|".join(rf"[\"']{re.escape(c)}[\"']" for c in claims))
    files = []
    for path in sorted(Path(root, "spec").rglob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        if "tooling" not in path.parts and "mark.claim" in text and pattern.search(text):
            files.append(path.relative_to(root).as_posix())
    return files


def command(package, claims, workdir, root=ROOT, keyword=None):
    """The pytest command line checking `package` on the tests of `claims` only (and `-k keyword`)."""
    return pytest_command(
        [*(["-k", keyword] if keyword else []), f"--junitxml={Path(workdir, 'junit.xml')}", *spec_files(claims, root)],
        workers=0, ledger=Path(workdir, "ledger.json"), impl=package, claims=claims,
    )


class Runner:
    """Runs mistakes in parallel subprocesses and can stop them all (Ctrl-C)."""

    def __init__(self, *, timeout=TIMEOUT, root=ROOT):
        self.timeout = timeout
        self.root = Path(root)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.processes = set()

    def check(self, mistake, claims=None):
        """Plants `mistake` in a temporary copy and runs the tests of its claims; returns a `Result`."""
        named = [c for c in mistake.claims if not claims or c in claims]
        start = time.monotonic()
        workdir = tempfile.mkdtemp(prefix=f"grimoire-mistake-{mistake.id}-")
        try:
            if self.stopping.is_set():
                return Result(mistake, "error", assertion="interrupted before it started")
            package = apply(mistake, workdir)
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            started = []

            def running(process):
                started.append(process)
                with self.lock:
                    self.processes.add(process)

            try:
                ran = variant.run(command(package, named, workdir, self.root), cwd=self.root, env=env,
                                  timeout=self.timeout, started=running, ledger=Path(workdir, "ledger.json"))
            finally:
                with self.lock:
                    self.processes.difference_update(started)
            if ran.code == "timeout":
                return Result(mistake, "timeout", assertion=f"no verdict after {self.timeout:.0f} s", seconds=time.monotonic() - start)
            return _verdict(mistake, named, workdir, ran, time.monotonic() - start)
        except CatalogueError as error:
            return Result(mistake, "error", assertion=str(error), seconds=time.monotonic() - start)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def stop(self):
        """Stops every running check; returns how many were running."""
        self.stopping.set()
        with self.lock:
            running = list(self.processes)
        for process in running:
            variant.stop(process)
        return len(running)


def _verdict(mistake, claims, workdir, ran, seconds):
    if ran.ledger is None:
        tail = [line for line in ran.output.strip().splitlines() if line.strip()][-1:] or [f"exit code {ran.code}"]
        return Result(mistake, "error", assertion=f"no ledger written: {tail[0][:160]}", seconds=seconds)
    statuses = {row["id"]: row["status"] for row in ran.ledger["claims"]}
    failing = [c for c in claims if statuses.get(c) == "failing"]
    if failing:
        claim, message = _first_failure(Path(workdir, "junit.xml"), ran.output, failing)
        return Result(mistake, "caught", claim, message, seconds)
    if not any(statuses.get(c) in ("verified", "failing") for c in claims):
        return Result(mistake, "error", assertion=f"no test of {claims} ran: {[statuses.get(c) for c in claims]}", seconds=seconds)
    return Result(mistake, "equivalent" if mistake.equivalent else "survived", seconds=seconds)


def _first_failure(junit, output, failing):
    """`(claim, "test name: message")` of the first failing test that names one of the `failing` claims.

    The ledger plugin records each test's claims as a user property, which --junitxml keeps. A
    concept test is preferred to a bad-input test (`test_*_errors.py`): it says what went wrong.
    """
    found = []
    try:
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            failure = case.find("failure") if case.find("failure") is not None else case.find("error")
            if failure is None:
                continue
            named = " ".join(p.get("value", "") for p in case.iter("property") if p.get("name") == "claims")
            claim = next((c for c in failing if f"'{c}'" in named), None if named else failing[0])
            if claim is not None:
                message = (failure.get("message") or failure.text or "").strip()
                said = [line.strip() for line in message.splitlines() if line.strip()]
                # "AssertionError:" alone (numpy's assert_allclose) says nothing: add the next line.
                first = " ".join(said[:2]) if said and said[0].endswith(":") else (said[0] if said else "")
                errors_test = (case.get("classname") or "").endswith("_errors")
                found.append((errors_test, claim, one_line(f"{case.get('name')}: {first}")))
    except (OSError, ElementTree.ParseError):
        pass
    if found:
        _, claim, message = min(found, key=lambda entry: entry[0])  # stable: the first concept test
        return claim, message
    line = next((line[1:].strip() for line in output.splitlines() if line.startswith("E ")), "")
    return failing[0], one_line(line)


def one_line(text, width=110):
    """`text` on one line, its whitespace collapsed, cut to `width` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run(mistakes, claims=None, jobs=None, *, timeout=TIMEOUT, root=ROOT):
    """Checks each mistake against the tests of its claims, `jobs` subprocesses at a time.

    Args:
        mistakes: `Mistake`s (from `load`).
        claims: optional claim ids; only the tests of these claims run.
        jobs: parallel subprocesses (default: the CPU count).
        timeout: seconds per mistake.

    Returns:
        A list of `Result`, in the order of `mistakes`.
    """
    runner = Runner(timeout=timeout, root=root)
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    results = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(runner.check, m, claims): m.id for m in mistakes}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            runner.stop()
            raise
    return [results[m.id] for m in mistakes]


# --- the report and the command -----------------------------------------------------------------


def format_table(results):
    """The results as an aligned text table, one mistake per line."""
    header = ("mistake", "status", "caught by", "time", "first failing assertion")
    rows = [
        (r.mistake.id, r.status, r.claim or "-", f"{r.seconds:5.1f}s", r.assertion or (r.mistake.equivalent and f"(equivalent: {one_line(r.mistake.equivalent, 80)})") or "-")
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4] for row in [header, *rows]]
    lines.insert(1, "-" * min(160, len(lines[0]) + 20))
    return "\n".join(line.rstrip() for line in lines)


def main(argv=None):
    """`grimoire mistakes [--claim ID] [--mistake ID] [--jobs N]`: plant each mistake, run its claims' tests.

    Prints one line per mistake and the total time. Returns 0 when every real mistake is caught,
    1 when one survives (or its check errs or times out), 2 for a bad catalogue or argument,
    130 when interrupted.
    """
    parser = argparse.ArgumentParser(
        prog="grimoire mistakes",
        description="Plant classic mistakes in copies of the reference and check that the spec catches each one.",
    )
    parser.add_argument("--claim", action="append", default=[], metavar="ID", help="only mistakes this claim must catch, and only its tests (repeatable)")
    parser.add_argument("--mistake", action="append", default=[], metavar="ID", help="only this mistake (repeatable)")
    parser.add_argument("--jobs", type=int, default=None, metavar="N", help="parallel checks (default: CPU count)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, metavar="S", help=f"seconds per mistake (default: {TIMEOUT:.0f})")
    parser.add_argument("--json", metavar="PATH", default=None, help="also write the results as JSON (for the report)")
    args = parser.parse_args(argv)
    try:
        mistakes = load()
    except CatalogueError as error:
        print(error, file=sys.stderr)
        return 2
    known = {m.id for m in mistakes}
    unknown = [m for m in args.mistake if m not in known]
    if unknown:
        print(f"Unknown mistake id(s) {unknown}. Known: {sorted(known)}", file=sys.stderr)
        return 2
    chosen = [
        m for m in mistakes
        if (not args.mistake or m.id in args.mistake) and (not args.claim or set(m.claims) & set(args.claim))
    ]  # fmt: skip
    if not chosen:
        print(f"No mistake is caught by claim(s) {args.claim}.", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        results = run(chosen, args.claim or None, args.jobs, timeout=args.timeout)
    except KeyboardInterrupt:
        print("\nInterrupted: stopped the running checks; temporary copies removed.", file=sys.stderr)
        return 130
    print(format_table(results))
    bad = [r for r in results if not r.ok]
    real = [r for r in results if not r.mistake.equivalent]
    caught = sum(r.status == "caught" for r in real)
    print(f"\n{caught} of {len(real)} mistakes caught, {len(results) - len(real)} equivalent; "
          f"total {time.monotonic() - start:.0f} s with {args.jobs or os.cpu_count()} job(s)")
    if bad:
        print("Not caught: " + ", ".join(f"{r.mistake.id} ({r.status})" for r in bad))
    if args.json:
        write_json_atomically(args.json, [as_json(r) for r in results])
    return 1 if bad else 0


def as_json(result):
    """One result as the report reads it."""
    m = result.mistake
    return {"id": m.id, "section": m.section, "claims": list(m.claims), "equivalent": bool(m.equivalent),
            "status": result.status, "ok": result.ok, "caught_by": result.claim, "assertion": result.assertion,
            "seconds": round(result.seconds, 1)}
