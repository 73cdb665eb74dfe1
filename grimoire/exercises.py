"""Learning mode: the reference turned into exercises, checked by the same spec.

`write_exercises` copies the reference package with the body of every function and method replaced
by ``raise NotImplementedError("<module>.<name>")``; imports, constants, signatures, docstrings and
class structure stay, so the stubs import cleanly and read like the reference's table of contents.
Generated from the reference's syntax tree, the exercises cannot drift from it.

`check` runs the spec against a learner's package (``pytest --impl DIR``). A test whose stub raises is
`pending`, so a learner can write one function at a time. The run ends with the first failing
claim (statement, hint, failed assertion) and the progress line ("12 of 45 claims verified").

Loaded with ``pytest -p grimoire.exercises`` this module is also a small pytest plugin:

    --exercise-claims IDS   run only the tests that name one of these claim ids (comma-separated)
    --exercise-report PATH  write one JSON record per test: claims, outcome, message, traceback

Example:

>>> stub = stub_source('''
... def area(width, height):
...     \"\"\"Area of a rectangle.\"\"\"
...     return width * height
... ''', module="shapes")
>>> print(stub.strip())
def area(width, height):
    \"\"\"Area of a rectangle.\"\"\"
    raise NotImplementedError("shapes.area")
"""

import ast
import io
import json
import tempfile
from collections import Counter
from pathlib import Path

from .ledger import Catalogue, scan_claim_markers

REFERENCE = Path(__file__).resolve().parent

# The modules a learner writes: one concept each (`cam` is a package).
CONCEPTS = ("params", "models", "metrics", "conv", "filters", "cam", "flops")

# Modules the spec's fixtures use that teach no claim: copied unchanged. Whatever else a copied or
# stubbed module imports from the package (relatively) is copied unchanged too.
SUPPORT = ("_checks", "digits", "synthetic", "implementation")

HEADER = (
    "# Exercise generated from the Grimoire reference by `grimoire exercises init`.\n"
    "# Replace each `raise NotImplementedError(...)` with your code; EXERCISES.md lists the claims.\n"
)


# --- stubs from the reference's syntax tree ------------------------------------------------------


def stub_source(source, *, module="module", keep=()):
    """Replaces the body of every function and method in `source` with `raise NotImplementedError`.

    Everything else is kept as written: imports, constants, comments outside bodies, signatures,
    decorators, docstrings and classes. A body that is only a docstring, `pass` or `...` gives
    nothing away and stays. Functions that module-level code calls while importing (a decorator, a
    table built by a factory) keep their bodies, so the stub imports cleanly.

    Args:
        source: the text of a Python module.
        module: the dotted name used in the messages (`"params"` gives
            `NotImplementedError("params.dense_params")`).
        keep: qualified names (`"dense_params"`, `"MyMetric.result"`) whose bodies stay, with the
            private module-level helpers they use: a solved exercise.

    Returns:
        The stubbed source, a str.

    Example:

    >>> print(stub_source("def f(x): return 2 * x", module="m"))
    def f(x): raise NotImplementedError("m.f")
    """
    if not isinstance(source, str):
        raise TypeError(f"Argument `source` must be Python source text. Received: source of type {type(source).__name__}")
    tree = ast.parse(source)
    definitions = list(_functions(tree.body))
    functions = dict(definitions)  # a name defined twice (if/else) counts once here
    unknown = [name for name in keep if name not in functions]
    if unknown:
        raise ValueError(
            f"Argument `keep` names functions that are not in module {module!r}: {unknown}. "
            f"Known: {sorted(functions)}"
        )
    top_level = {name for name in functions if "." not in name}
    import_time = _import_time_calls(tree, functions, top_level)
    solved = _uses(set(keep), functions, {name for name in top_level if name.startswith("_")})
    for name in sorted(import_time - solved):
        # What it defines inside runs later (a factory's inner function): that is an exercise again.
        definitions += [(f"{name}.{inner}", node) for inner, node in _functions(functions[name].body)]
    kept = import_time | solved

    # Lines as the tokenizer counts them (str.splitlines also splits on form feeds and the like).
    lines = io.StringIO(source, newline="").readlines()
    edits = []
    for name, node in definitions:
        body = node.body[1:] if _docstring(node) else node.body
        if name in kept or not body or _trivial(body):
            continue
        start = _offset(lines, body[0].lineno, body[0].col_offset)
        end = _offset(lines, body[-1].end_lineno, body[-1].end_col_offset)
        rest = lines[body[-1].end_lineno - 1][_column(lines, body[-1].end_lineno, body[-1].end_col_offset):]
        if not rest.strip() or rest.strip().startswith("#"):
            end += len(rest.rstrip("\r\n"))  # a trailing comment goes with the body
        edits.append((start, end, f'raise NotImplementedError("{module}.{name}")'))
    text = "".join(lines)
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    compile(text, f"<stub of {module}>", "exec")  # a bug here must not reach a learner
    return text


def _functions(statements, prefix=""):
    """Yields (qualified name, node) for the functions and methods that run when called."""
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node.body, f"{prefix}{node.name}.")
        else:
            # Definitions inside module-level if/try/with blocks.
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _functions(getattr(node, field, []) or [], prefix)


def _import_time_calls(tree, functions, top_level):
    """Module-level functions called while the module is imported, and what those call in turn."""
    called = set(_calls(tree, top_level))
    todo = list(called)
    while todo:
        for name in _calls(functions[todo.pop()], top_level, inside=True):
            if name not in called:
                called.add(name)
                todo.append(name)
    return called


def _calls(node, names, *, inside=False):
    """Names from `names` that running `node` calls: bodies of nested definitions run later."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        decorators = getattr(node, "decorator_list", [])
        defaults = node.args.defaults + [d for d in node.args.kw_defaults if d]
        yield from (d.id for d in decorators if isinstance(d, ast.Name) and d.id in names)
        for expr in decorators + defaults:
            yield from _calls(expr, names)
        if not inside:
            return
        children = node.body if isinstance(node.body, list) else [node.body]
    else:
        if isinstance(node, ast.ClassDef):
            yield from (d.id for d in node.decorator_list if isinstance(d, ast.Name) and d.id in names)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
            yield node.func.id
        children = ast.iter_child_nodes(node)
    for child in children:
        yield from _calls(child, names)


def _uses(names, functions, candidates):
    """`names` plus, transitively, the `candidates` their bodies refer to."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Name) and node.id in candidates and node.id not in found:
                todo.append(node.id)
    return found


def _docstring(node):
    first = node.body[0]
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def _trivial(body):
    only = body[0]
    return len(body) == 1 and (
        isinstance(only, ast.Pass) or (isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant) and only.value.value is ...)
    )


def _column(lines, lineno, col_offset):
    # ast counts columns in UTF-8 bytes; Python strings count characters.
    return len(lines[lineno - 1].encode("utf-8")[:col_offset].decode("utf-8"))


def _offset(lines, lineno, col_offset):
    return sum(len(line) for line in lines[: lineno - 1]) + _column(lines, lineno, col_offset)


# --- the learner's package ---------------------------------------------------------------------


def _module_files(root, name):
    """The .py files of module `name` under `root`: one file, or every file of a package."""
    if (root / name).is_dir() and (root / name / "__init__.py").is_file():
        return sorted(p for p in (root / name).rglob("*.py") if "__pycache__" not in p.parts)
    if (root / f"{name}.py").is_file():
        return [root / f"{name}.py"]
    return []


def _dotted(relative):
    parts = list(relative.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _relative_imports(relative, source, root):
    """Top-level module names of the package that `source` (at `relative`) imports relatively."""
    package = list(relative.parent.parts)
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            targets = [base + node.module.split(".")] if node.module else [base + [a.name] for a in node.names]
            names.update(t[0] for t in targets if t and _module_files(root, t[0]))
    return names


def write_exercises(dest, *, reference=REFERENCE, keep=()):
    """Writes a learner's package to `dest`: the concept modules stubbed, the support modules copied.

    Args:
        dest: a directory that does not exist yet or is empty; it becomes the package
            (`pytest --impl DEST`, `grimoire exercises check DEST`).
        reference: the reference package directory (the installed `grimoire` by default).
        keep: dotted names (`"params.dense_params"`) whose reference bodies stay: solved exercises.

    Returns:
        The list of written paths, relative to `dest`.

    Example:

    >>> import tempfile
    >>> written = write_exercises(Path(tempfile.mkdtemp()) / "mine")
    >>> "params.py" in [p.as_posix() for p in written]
    True
    """
    dest, reference = Path(dest), Path(reference)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(
            f"Argument `dest` must be a new or empty directory, so no work of yours is overwritten. "
            f"Received: dest={str(dest)!r}, which already holds files. Choose another directory."
        )
    concepts = {name: _module_files(reference, name) for name in CONCEPTS}
    solved = {}
    for name in keep:
        module, _, function = name.rpartition(".")
        solved.setdefault(module, []).append(function)

    written = {}  # relative path -> text
    for name, files in concepts.items():
        for path in files:
            relative = path.relative_to(reference)
            module = _dotted(relative)
            text = stub_source(path.read_text(encoding="utf-8"), module=module, keep=solved.pop(module, ()))
            written[relative] = HEADER + text
    if solved:
        raise ValueError(f"Argument `keep` names modules that are not exercises: {sorted(solved)}. Known: {list(CONCEPTS)}")

    # Support modules, and whatever the written modules import from the package, unchanged.
    todo = ["__init__", *SUPPORT]
    for relative, text in written.items():
        todo += _relative_imports(relative, text, reference)
    while todo:
        name = todo.pop()
        for path in _module_files(reference, name) if name != "__init__" else [reference / "__init__.py"]:
            relative = path.relative_to(reference)
            if relative in written or name in concepts:
                continue
            written[relative] = path.read_text(encoding="utf-8")
            todo += _relative_imports(relative, written[relative], reference)

    written[Path("EXERCISES.md")] = exercises_guide()
    for relative, text in written.items():
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        (dest / relative).write_text(text, encoding="utf-8")
    return sorted(written)


def spec_index(spec_dir=None):
    """For each claim id: the spec files that name it and the `impl.<module>.<name>` its tests call.

    Read from the spec's source, like the ledger's `scan_claim_markers`: a test function's calls go
    to the claims its markers name (or the module's `pytestmark`); calls outside test functions go
    to every claim of the file.

    Returns:
        A dict `claim id -> {"files": [relative paths], "functions": [dotted names]}`.
    """
    spec_dir = Path(spec_dir) if spec_dir else _project_root() / "spec"
    index = {}
    for path, file_ids in scan_claim_markers(spec_dir).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses = {}  # claim id -> functions
        tests = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")]
        module_ids = [i for n in tree.body if _assigns(n, "pytestmark") for i in _claim_ids(n)]
        in_tests = set()
        for test in tests:
            calls = _impl_calls(test)
            in_tests |= {id(n) for n in ast.walk(test)}
            for claim_id in [i for d in test.decorator_list for i in _claim_ids(d)] or module_ids or file_ids:
                uses.setdefault(claim_id, set()).update(calls)
        elsewhere = _impl_calls(tree, skip=in_tests)
        for claim_id in file_ids:
            entry = index.setdefault(claim_id, {"files": [], "functions": set()})
            entry["files"].append(path.relative_to(spec_dir.parent).as_posix())
            entry["functions"] |= uses.get(claim_id, set()) | elsewhere
    return {k: {"files": v["files"], "functions": sorted(v["functions"])} for k, v in index.items()}


def _impl_calls(tree, skip=()):
    """The `impl.<module>.<name>` chains under `tree`, as dotted names."""
    return {
        f"{node.value.attr}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "impl"
        and id(node) not in skip
    }


def _claim_ids(tree):
    return [
        a.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "claim"
        for a in node.args
        if isinstance(a, ast.Constant) and isinstance(a.value, str)
    ]


def _assigns(node, name):
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)


def exercises_guide(catalogue=None, index=None):
    """The EXERCISES.md written next to the stubs: per claim its statement, hint, functions and tests."""
    root = _project_root()
    catalogue = catalogue or Catalogue.load(root / "spec" / "claims.toml")
    index = spec_index(root / "spec") if index is None else index
    out = [
        "# Exercises",
        "",
        "Each function in this package raises `NotImplementedError`: write it, then run",
        "`grimoire exercises check .` (or `--section A`, `--claim <id>`, `--watch`). A claim whose",
        "functions you have not written yet stays `pending`; write one function at a time.",
        "The study text is in the repository's `docs/`; the tests are in `spec/`.",
    ]
    for key, title in catalogue.sections.items():
        out += ["", f"## {key}. {title}"]
        for claim in (c for c in catalogue.claims.values() if c.section == key):
            entry = index.get(claim.id, {"files": [], "functions": []})
            out += ["", f"### `{claim.id}`", "", claim.statement]
            if claim.hint:
                out += ["", f"Hint: {claim.hint}"]
            if entry["functions"]:
                out += ["", "Functions: " + ", ".join(f"`{f}`" for f in entry["functions"])]
            out += ["", "Spec: " + (", ".join(f"`{f}`" for f in entry["files"]) or "no test yet")]
    return "\n".join(out) + "\n"


def _project_root():
    from .cli import project_root

    return project_root()


# --- checking a learner's package --------------------------------------------------------------


def select_claims(catalogue, *, section=None, claim=None):
    """The claim ids a check covers: one section's, one claim, or all (in catalogue order)."""
    if section is not None and claim is not None:
        raise ValueError("Pass at most one of `section` and `claim`. Received: both.")
    if section is not None:
        key = str(section).upper()
        if key not in catalogue.sections:
            raise ValueError(f"Argument `section` must be one of {list(catalogue.sections)}. Received: section={section!r}")
        return [c.id for c in catalogue.claims.values() if c.section == key]
    if claim is not None:
        if claim not in catalogue.claims:
            raise ValueError(
                f"Argument `claim` must be a claim id from spec/claims.toml (e.g. {next(iter(catalogue.claims))!r}). "
                f"Received: claim={claim!r}"
            )
        return [claim]
    return list(catalogue.claims)


def check_arguments(impl, claims, ledger_json, report_json, *, spec_dir):
    """The pytest arguments that check `impl` on `claims` and write the two JSON files."""
    args = ["-p", "grimoire.exercises", f"--impl={Path(impl).resolve()}", f"--ledger-json={ledger_json}",
            f"--exercise-report={report_json}", "-m", "not tooling", "-q", "--tb=short", "-rN"]
    catalogue_ids = set(Catalogue.load(Path(spec_dir) / "claims.toml").claims)
    if set(claims) != catalogue_ids:
        files = sorted({
            path.relative_to(Path(spec_dir).parent).as_posix()
            for path, ids in scan_claim_markers(spec_dir).items()
            if set(ids) & set(claims)
        })
        if not files:
            raise ValueError(f"No test in {Path(spec_dir).name}/ names {', '.join(claims)} yet: there is nothing to check.")
        args += [f"--exercise-claims={','.join(claims)}", *files]
    else:
        args.append(Path(spec_dir).name)
    return args


def progress(ledger, records, claims, catalogue):
    """The end of a check: the first failing claim in catalogue order, then the progress line."""
    status = {row["id"]: row["status"] for row in ledger["claims"]}
    lines = []
    failing = [c for c in claims if status.get(c) == "failing"]
    if failing:
        first = catalogue.claims[failing[0]]
        lines += ["", f"First failing claim: {first.id} ({first.section}. {catalogue.sections[first.section]})",
                  f"  {first.statement}"]
        if first.hint:
            lines.append(f"  hint: {first.hint}")
        # The claim's own test module (test_<id>.py) first: it states the claim most directly.
        own = f"test_{first.id.replace('-', '_')}.py"
        failed = sorted(
            (r for r in records if first.id in r["claims"] and r["outcome"] == "failed"),
            key=lambda r: (Path(r["nodeid"].split("::")[0]).name != own, r["nodeid"]),
        )
        if failed:
            traceback = [line for line in (failed[0]["traceback"] or failed[0]["message"]).splitlines()
                         if not line.startswith("[gw")]  # xdist's worker banner
            lines += [f"  test: {failed[0]['nodeid']}", "", _indent("\n".join(traceback))]
    counts = Counter(status.get(c, "untested") for c in claims)
    rest = ", ".join(f"{n} {s}" for s, n in counts.items() if s != "verified")
    lines += ["", f"{counts.get('verified', 0)} of {len(claims)} claims verified" + (f" ({rest})" if rest else "")]
    return "\n".join(lines)


def _indent(text, prefix="  "):
    return "\n".join(prefix + line if line else line for line in text.rstrip().splitlines())


def check(impl, *, section=None, claim=None, parallel=True):
    """Runs the spec against the package at `impl` and prints the first failure and the progress.

    Args:
        impl: the learner's package directory (the one `init` wrote).
        section: a section key (`"A"`) to check only its claims.
        claim: a claim id to check only that claim.
        parallel: use pytest-xdist when the machine has more than one core.

    Returns:
        pytest's exit code (0 when every selected test passed or is pending).
    """
    from .cli import run_spec

    root = _project_root()
    catalogue = Catalogue.load(root / "spec" / "claims.toml")
    claims = select_claims(catalogue, section=section, claim=claim)
    if not (Path(impl) / "__init__.py").is_file():
        raise ValueError(
            f"Argument `impl` must be a package directory (with __init__.py). Received: impl={str(impl)!r}. "
            "Create one with `grimoire exercises init DIR`."
        )
    with tempfile.TemporaryDirectory(prefix="grimoire-check-") as tmp:
        ledger_json, report_json = Path(tmp, "ledger.json"), Path(tmp, "tests.json")
        code = run_spec(check_arguments(impl, claims, ledger_json, report_json, spec_dir=root / "spec"), parallel=parallel)
        if not ledger_json.is_file():
            print("grimoire: the spec did not run to the end (see pytest's output above).")
            return code or 1
        ledger = json.loads(ledger_json.read_text(encoding="utf-8"))
        records = json.loads(report_json.read_text(encoding="utf-8")) if report_json.is_file() else []
    print(progress(ledger, records, claims, catalogue))
    return code


def watch(impl, run, *, stop_event=None, debounce=1600):
    """Runs `run()` now and again after every batch of saved Python files under `impl`.

    Uses `watchfiles` (Rust `notify` underneath); Ctrl-C ends the loop quietly.

    Args:
        impl: the directory to watch.
        run: a callable with no arguments (one check).
        stop_event: an optional `threading.Event`; setting it ends the loop.
        debounce: milliseconds to wait for a burst of saves to settle.

    Returns:
        The last run's result.
    """
    import watchfiles

    result = None
    try:
        result = run()
        for batch in watchfiles.watch(impl, watch_filter=watchfiles.PythonFilter(), stop_event=stop_event,
                                      debounce=debounce, raise_interrupt=False):
            names = sorted({Path(path).name for _, path in batch})
            print(f"\n--- changed: {', '.join(names)}; checking again ---\n", flush=True)
            result = run()
    except KeyboardInterrupt:  # Ctrl-C during a check ends the watch as quietly as between checks
        print("\nStopped watching.")
    return result


# --- pytest plugin (`pytest -p grimoire.exercises`) ---------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("grimoire-exercises", "Grimoire exercises")
    group.addoption("--exercise-claims", default=None, metavar="IDS",
                    help="run only the tests that name one of these claim ids (comma-separated)")
    group.addoption("--exercise-report", default=None, metavar="PATH",
                    help="write one JSON record per test (claims, outcome, message, traceback) to PATH")


def pytest_configure(config):
    config.pluginmanager.register(ExerciseReport(config), "grimoire-exercise-report")


class ExerciseReport:
    """Selects tests by claim and records each test's outcome with what it needs from the implementation."""

    def __init__(self, config):
        self.config = config
        self.records = {}

    def pytest_collection_modifyitems(self, config, items):
        from .pytest_plugin import claims_of

        wanted = config.getoption("exercise_claims")
        for item in items:
            item.user_properties.append(("uses_impl", "impl" in getattr(item, "fixturenames", ())))
        if wanted:
            wanted = set(wanted.split(","))
            keep = [item for item in items if wanted & set(claims_of(item))]
            config.hook.pytest_deselected(items=[item for item in items if item not in keep])
            items[:] = keep

    def pytest_runtest_logreport(self, report):
        from .pytest_plugin import _RANK, PENDING

        properties = dict(report.user_properties)
        if "claims" not in properties or (report.passed and report.when != "call"):
            return
        if properties.get(PENDING):
            outcome, message, traceback = "pending", report.longrepr[2], ""
        elif report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            outcome, message, traceback = "failed", crash.message if crash else str(report.longrepr), report.longreprtext
        elif report.skipped:
            outcome, message, traceback = "skipped", str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else "", ""
        else:
            outcome, message, traceback = "passed", "", ""
        previous = self.records.get(report.nodeid, {}).get("outcome")
        if _RANK[outcome] >= _RANK[previous]:  # as the ledger: a later phase can only make it worse
            self.records[report.nodeid] = {
                "nodeid": report.nodeid,
                "claims": list(properties["claims"]),
                "uses_impl": bool(properties.get("uses_impl")),
                "outcome": outcome,
                "message": message,
                "traceback": traceback,
            }

    def pytest_sessionfinish(self):
        path = self.config.getoption("exercise_report")
        if path and not hasattr(self.config, "workerinput"):
            Path(path).write_text(json.dumps(list(self.records.values()), indent=2) + "\n", encoding="utf-8")
