"""Classic mistakes, caught: plant a known bug in a copy of the reference and watch the spec turn red.

A specification is only as strong as the wrong implementations it rejects. `spec/mistakes.toml`
lists classic mistakes (Grad-CAM gradients averaged over the batch, a Dense count without its bias,
He initialisation on fan_out, ...). Each one is a replacement for one function or method of the
reference, named by module and qualified name, never by line, so it survives refactoring:

    copy grimoire/ (without grimoire/tooling) to a temporary folder
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
import ast
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

# The pytest command line this module relies on, in one place: the only coupling to the plugin.
PYTEST_OPTIONS = {
    "impl": "--impl",  # the package the spec checks
    "ledger": "--ledger-json",  # per-claim statuses as JSON
    "select": "--exercise-claims",  # run only the tests naming these claims (comma-separated) ...
    "select_plugins": ("grimoire.tooling.exercises", "grimoire.exercises"),  # ... from the first plugin found
    "junit": "--junitxml",  # per-test failure messages
    "fixed": ("-p", "no:cacheprovider", "-p", "no:randomly", "-q", "-n", "0"),
}

PACKAGE = Path(__file__).resolve().parents[1]  # the reference package, grimoire/
ROOT = PACKAGE.parent  # the project root: pytest runs from here
CATALOGUE = ROOT / "spec" / "mistakes.toml"
CLAIMS = ROOT / "spec" / "claims.toml"
SKIP = ("tooling", "__pycache__")  # not part of the curriculum: never copied
TIMEOUT = 900.0  # seconds per mistake; the CAM claims train a small convnet first

FIELDS = ("id", "section", "claims", "explanation", "source", "module", "target", "replacement")
OPTIONAL = ("equivalent",)


class CatalogueError(ValueError):
    """The mistake catalogue is malformed: unknown claim, missing target, bad replacement, ..."""


@dataclass(frozen=True)
class Mistake:
    """One planted bug: which reference function it replaces, and which claims must catch it."""

    id: str
    section: str
    claims: tuple
    explanation: str
    source: str
    module: str  # dotted, below the package: "params", "cam.gradcam"
    target: str  # "dense_params" or "GradCAM.combine"
    replacement: str  # the source of one function definition
    equivalent: str = ""  # why the spec cannot observe it ("" for a real mistake)


@dataclass
class Result:
    mistake: Mistake
    status: str  # caught | survived | equivalent | error | timeout
    claim: str = ""  # the first named claim found failing
    assertion: str = ""  # the first failing assertion, one line
    seconds: float = 0.0

    @property
    def ok(self):
        """Whether this outcome is what the catalogue expects."""
        return self.status == "caught" or (self.mistake.equivalent and self.status in ("survived", "equivalent"))


# --- the catalogue ------------------------------------------------------------------------------


def load(path=CATALOGUE, claims_path=CLAIMS, package=PACKAGE):
    """Reads and validates the mistake catalogue.

    Every problem found is reported at once: missing fields, duplicate ids, unknown sections or
    claim ids, a module or target function that does not exist in the reference, and a
    replacement that is not exactly one function definition.

    Returns:
        A list of `Mistake`, in catalogue order.

    Raises:
        CatalogueError: naming every mistake at fault and what is wrong with it.
    """
    path, claims_path = Path(path), Path(claims_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        claims = tomllib.loads(claims_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CatalogueError(f"Cannot read the mistake catalogue: {error}") from None
    sections = set(claims.get("sections", {}))
    known = {entry["id"] for entry in claims.get("claim", [])}
    problems, mistakes, seen = [], [], set()
    for index, entry in enumerate(data.get("mistake", [])):
        name = entry.get("id", f"#{index + 1}")
        missing = [f for f in FIELDS if f not in entry]
        extra = [f for f in entry if f not in FIELDS + OPTIONAL]
        if missing or extra:
            problems.append(f"{name}: missing field(s) {missing}" if missing else f"{name}: unknown field(s) {extra}")
            continue
        if name in seen:
            problems.append(f"{name}: the id appears twice")
        seen.add(name)
        ids = entry["claims"] if isinstance(entry["claims"], list) else [entry["claims"]]
        unknown = [c for c in ids if c not in known]
        if not ids or unknown:
            problems.append(f"{name}: unknown claim id(s) {unknown or '(none given)'}; use ids from {claims_path.name}")
        if entry["section"] not in sections:
            problems.append(f"{name}: section {entry['section']!r} is not one of {sorted(sections)}")
        mistake = Mistake(**{**entry, "claims": tuple(ids)})
        try:
            _check_target(mistake, package)
            _function_of(mistake)
        except CatalogueError as error:
            problems.append(str(error))
        mistakes.append(mistake)
    if problems:
        raise CatalogueError(f"{len(problems)} problem(s) in {path}:\n  " + "\n  ".join(problems))
    return mistakes


def module_path(package, module):
    """The file of `module` ("cam.gradcam") inside `package`: a .py file or a package's __init__.py."""
    base = Path(package, *module.split("."))
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"


def _check_target(mistake, package):
    """Returns the target's kind ("function", "method", "staticmethod") in the module's source, or raises."""
    path = module_path(package, mistake.module)
    if mistake.module.split(".")[0] in SKIP or not path.is_file():
        raise CatalogueError(f"{mistake.id}: no module {mistake.module!r} in {package} (the curriculum only)")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = mistake.target.split(".")
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    if len(parts) == 1:
        if any(isinstance(n, functions) and n.name == parts[0] for n in tree.body):
            return "function"
    elif len(parts) == 2:
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == parts[0]):
            for node in cls.body:
                if isinstance(node, functions) and node.name == parts[1]:
                    decorators = {getattr(d, "id", "") for d in node.decorator_list}
                    return "staticmethod" if "staticmethod" in decorators else "method"
    raise CatalogueError(
        f"{mistake.id}: no function {mistake.target!r} in {mistake.module!r}; a target is a module-level "
        "function or a method (Class.method) defined in that module's source"
    )


def _function_of(mistake):
    """The single function definition in the replacement source, or raises."""
    try:
        tree = ast.parse(mistake.replacement)
    except SyntaxError as error:
        raise CatalogueError(f"{mistake.id}: the replacement does not parse: {error}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise CatalogueError(f"{mistake.id}: the replacement must be exactly one function definition")
    return tree.body[0]


# --- planting a mistake -------------------------------------------------------------------------


# A dispatch table filled at import time (`_FORMULAS = {Dense: _dense}`) holds the reference function
# itself, not its name: point such entries at the mistake too, or the mistake would never run.
_RETABLE = """


for _table in [_value for _value in list(globals().values()) if isinstance(_value, dict)]:
    for _key, _value in list(_table.items()):
        if _value is _reference_{name}:
            _table[_key] = {name}
"""


def apply(mistake, dest):
    """Copies the reference curriculum into `dest` and plants `mistake` in the copy.

    The replacement is appended to the copied module, so it runs after the module's own code and
    before any other module imports from it:

        _reference_target = target                        # the reference, for a mistake that wraps it
        def target(...): ...                              # a module-level function: redefined,
                                                          # in module-level dicts too (dispatch tables)
        def _mistake_method(...): ...; Class.method = _mistake_method   # a method: rebound

    Args:
        mistake: a `Mistake` (from `load`), or a list of them with distinct targets, all planted
            in one copy (a quick combined check).
        dest: a folder; the package is written to `dest/grimoire`, which must not exist yet.

    Returns:
        The path of the copied package, to pass as `pytest --impl`.

    Raises:
        CatalogueError: a target function does not exist in the reference, or two mistakes
            replace the same function.
    """
    planted = list(mistake) if isinstance(mistake, (list, tuple)) else [mistake]
    targets = [(m.module, m.target) for m in planted]
    if len(set(targets)) != len(targets):
        raise CatalogueError(f"Mistakes {[m.id for m in planted]} replace the same function twice; plant them one at a time.")
    plants = [(m, _check_target(m, PACKAGE), _function_of(m)) for m in planted]  # all checked before copying
    copy = Path(dest) / PACKAGE.name
    shutil.copytree(PACKAGE, copy, ignore=lambda folder, names: [n for n in names if n in SKIP or n.endswith(".pyc")])
    for m, kind, node in plants:
        _plant(m, kind, node, copy)
    return copy


def _plant(mistake, kind, node, copy):
    name = mistake.target.split(".")[-1]
    new_name = name if kind == "function" else f"_mistake_{name}"
    lines = mistake.replacement.strip("\n").splitlines()
    lines[node.lineno - 1] = re.sub(rf"\bdef\s+{re.escape(node.name)}\b", f"def {new_name}", lines[node.lineno - 1], count=1)
    # The reference stays reachable as `_reference_<name>`, so a mistake can wrap it.
    code = f"_reference_{name} = {mistake.target}\n\n\n" + "\n".join(lines)
    if kind != "function":
        bound = f"staticmethod({new_name})" if kind == "staticmethod" else new_name
        code += f"\n\n\n{mistake.target} = {bound}"
    else:
        code += _RETABLE.format(name=name)
    path = module_path(copy, mistake.module)
    source = path.read_text(encoding="utf-8")
    source += f"\n\n# --- planted mistake {mistake.id!r} (grimoire.tooling.mistakes) ---\n\n{code}\n"
    compile(source, str(path), "exec")  # a broken plant is an error here, not a "caught" mistake later
    path.write_text(source, encoding="utf-8")


# --- running the spec against it ----------------------------------------------------------------


def select_plugin():
    """The pytest plugin that provides the claim selection option (the first of the candidates found)."""
    for name in PYTEST_OPTIONS["select_plugins"]:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except ModuleNotFoundError:
            continue
    raise RuntimeError(f"None of the plugins {PYTEST_OPTIONS['select_plugins']} is importable.")


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
    o = PYTEST_OPTIONS
    return [
        sys.executable, "-m", "pytest", *o["fixed"], *(["-k", keyword] if keyword else []),
        o["impl"], str(package),
        "-p", select_plugin(), o["select"], ",".join(claims),
        o["ledger"], str(Path(workdir, "ledger.json")),
        f"{o['junit']}={Path(workdir, 'junit.xml')}",
        *spec_files(claims, root),
    ]  # fmt: skip


class Runner:
    """Runs mistakes in parallel subprocesses and can stop them all (Ctrl-C)."""

    def __init__(self, *, timeout=TIMEOUT, root=ROOT):
        self.timeout = timeout
        self.root = Path(root)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.processes = set()

    def check(self, mistake, claims=None, keyword=None):
        """Plants `mistake` in a temporary copy and runs the tests of its claims; returns a `Result`.

        `keyword` (a pytest `-k` expression) narrows the tests further, for a quick check.
        """
        named = [c for c in mistake.claims if not claims or c in claims]
        start = time.monotonic()
        workdir = tempfile.mkdtemp(prefix=f"grimoire-mistake-{mistake.id}-")
        try:
            if self.stopping.is_set():
                return Result(mistake, "error", assertion="interrupted before it started")
            package = apply(mistake, workdir)
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            process = subprocess.Popen(
                command(package, named, workdir, self.root, keyword), cwd=self.root, env=env, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            with self.lock:
                self.processes.add(process)
            try:
                output, _ = process.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill(process)
                process.communicate()
                return Result(mistake, "timeout", assertion=f"no verdict after {self.timeout:.0f} s", seconds=time.monotonic() - start)
            finally:
                with self.lock:
                    self.processes.discard(process)
            return _verdict(mistake, named, workdir, output, process.returncode, time.monotonic() - start)
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
            _kill(process)
        return len(running)


def _kill(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)  # pytest and anything it started
    except (ProcessLookupError, PermissionError):
        pass


def _verdict(mistake, claims, workdir, output, returncode, seconds):
    ledger_path = Path(workdir, "ledger.json")
    if not ledger_path.is_file():
        tail = [line for line in output.strip().splitlines() if line.strip()][-1:] or [f"exit code {returncode}"]
        return Result(mistake, "error", assertion=f"no ledger written: {tail[0][:160]}", seconds=seconds)
    statuses = {row["id"]: row["status"] for row in json.loads(ledger_path.read_text())["claims"]}
    failing = [c for c in claims if statuses.get(c) == "failing"]
    if failing:
        claim, message = _first_failure(Path(workdir, "junit.xml"), output, failing)
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
                first = next((line.strip() for line in message.splitlines() if line.strip()), "")
                errors_test = (case.get("classname") or "").endswith("_errors")
                found.append((errors_test, claim, _one_line(f"{case.get('name')}: {first}")))
    except (OSError, ElementTree.ParseError):
        pass
    if found:
        _, claim, message = min(found, key=lambda entry: entry[0])  # stable: the first concept test
        return claim, message
    line = next((line[1:].strip() for line in output.splitlines() if line.startswith("E ")), "")
    return failing[0], _one_line(line)


def _one_line(text, width=110):
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run(mistakes, claims=None, jobs=None, *, timeout=TIMEOUT, root=ROOT, runner=None, keywords=None):
    """Checks each mistake against the tests of its claims, `jobs` subprocesses at a time.

    Args:
        mistakes: `Mistake`s (from `load`).
        claims: optional claim ids; only the tests of these claims run.
        jobs: parallel subprocesses (default: the CPU count).
        timeout: seconds per mistake.
        keywords: optional dict, mistake id -> pytest `-k` expression narrowing its tests.

    Returns:
        A list of `Result`, in the order of `mistakes`.
    """
    runner = runner or Runner(timeout=timeout, root=root)
    jobs = max(1, int(jobs or os.cpu_count() or 1))
    results = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(runner.check, m, claims, (keywords or {}).get(m.id)): m.id for m in mistakes}
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
        (r.mistake.id, r.status, r.claim or "-", f"{r.seconds:5.1f}s", r.assertion or (r.mistake.equivalent and f"(equivalent: {_one_line(r.mistake.equivalent, 80)})") or "-")
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
    runner = Runner(timeout=args.timeout)
    try:
        results = run(chosen, args.claim or None, args.jobs, runner=runner)
    except KeyboardInterrupt:
        print(f"\nInterrupted: stopped the running checks; temporary copies removed.", file=sys.stderr)
        return 130
    print(format_table(results))
    bad = [r for r in results if not r.ok]
    real = [r for r in results if not r.mistake.equivalent]
    caught = sum(r.status == "caught" for r in real)
    print(f"\n{caught} of {len(real)} mistakes caught, {len(results) - len(real)} equivalent; "
          f"total {time.monotonic() - start:.0f} s with {args.jobs or os.cpu_count()} job(s)")
    if bad:
        print("Not caught: " + ", ".join(f"{r.mistake.id} ({r.status})" for r in bad))
    return 1 if bad else 0
