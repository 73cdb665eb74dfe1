"""Learning mode: exercises generated from the reference, checked by the same spec, with progress.

The unit tests compare a stub with the reference it came from (the oracle is the reference module
itself: same names, signatures, docstrings, constants). The proof tests run the spec in a
subprocess against freshly generated stubs, once per session, and share the result.
"""

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

pytestmark = pytest.mark.tooling

# A tooling test, not a claim test: it tests the reference's own tooling, so it imports it
# (claim tests reach the implementation through `impl` instead).
from grimoire.tooling import cli, layout
from grimoire.tooling.claims import Catalogue, is_validation
from grimoire.tooling.project import keras_backend
from grimoire.tooling.exercises import check, generate, path, stubs, watch

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "grimoire"

SAMPLE = '''\
"""A module like the reference's: constants, helpers, a decorator, a class, a factory table."""

import math

SCALE = 2.5  # a constant stays


def _registered(function):
    # A decorator runs at import: it keeps its body.
    REGISTRY.append(function.__name__)
    return function


REGISTRY = []


@_registered
def area(width, height=1.0, *, rounded=False):
    """Area of a rectangle (× SCALE).

    Example:

    >>> area(2, 3)
    15.0
    """
    value = width * height * SCALE  # the solution
    return round(value) if rounded else value


def _helper(x):
    return math.sqrt(x)


def one_liner(x): return _helper(x) + 1


def größe(breite): return f"{breite} × {SCALE}"  # non-ASCII before and inside the body


def documented_only():
    """Nothing to write."""


class Shape:
    """A shape with a name."""

    sides = 0

    def __init__(self, name):
        self.name = name

    @property
    def label(self):
        return f"{self.name} ({self.sides})"


def _make(k):
    def formula(x):
        return k * x

    return formula


TABLE = {k: _make(k) for k in (1, 2)}  # built at import by a factory
'''


def load(source, name):
    module = type(sys)(name)
    exec(compile(source, name, "exec"), module.__dict__)
    return module


def test_a_stub_replaces_only_the_lessons_bodies():
    """A lesson keeps its interface and raises; everything else (the support) stays as written."""
    reference = load(SAMPLE, "reference")
    source = stubs.stub_source(SAMPLE, module="shapes", lessons=["area", "one_liner", "Shape.label"])
    stub = load(source, "stub")

    for name in ("area", "one_liner", "größe", "documented_only", "Shape"):
        ref, mine = getattr(reference, name), getattr(stub, name)
        assert inspect.signature(ref) == inspect.signature(mine), name
        assert inspect.getdoc(ref) == inspect.getdoc(mine), name
    assert (stub.SCALE, stub.Shape.sides, stub.REGISTRY) == (reference.SCALE, reference.Shape.sides, ["area"])
    for call, message in [
        (lambda: stub.area(2, 3), "shapes.area"),
        (lambda: stub.one_liner(4), "shapes.one_liner"),
        (lambda: stub.Shape("square").label, "shapes.Shape.label"),
    ]:
        with pytest.raises(NotImplementedError, match=rf"^exercise: {message}$"):
            call()
    # The support is the reference's own code, solved.
    assert (stub.größe(4), stub.Shape("square").name, stub.TABLE[2](3)) == ("4 × 2.5", "square", 6)
    assert stub.documented_only() is None
    assert not hasattr(stub, "_helper"), "a private helper only a lesson used is one way to shape a solution: it goes"
    assert "the solution" not in source


def test_a_private_helper_the_support_uses_stays():
    """`_helper` is removed with its only caller's body, and kept while a support function calls it."""
    assert "def _helper" not in stubs.stub_source(SAMPLE, module="shapes", lessons=["one_liner"])
    assert "def _helper" in stubs.stub_source(SAMPLE, module="shapes", lessons=["area"])


CHECKED = '''\
from ._checks import guard, positive_int


@guard(lambda input_size, output_size, use_bias: {"input_size": positive_int("input_size", input_size)})
def dense_params(input_size, output_size, *, use_bias=True):
    """Parameters of a Dense layer.

    Formula:
        input_size * output_size + output_size if use_bias

    The kernel has one weight per pair.

    Args:
        input_size: size of the last axis.

    Example:

    >>> dense_params(3, 32)
    128
    """
    # one weight per (input, unit) pair
    return input_size * output_size + (output_size if use_bias else 0)
'''


def test_a_stub_keeps_the_guard_and_drops_what_teaches_the_answer():
    """The argument checks (the `guard` decorator) stay; formulas, prose and body comments go; Args and examples stay."""
    stub = stubs.stub_source(CHECKED, module="params", lessons=["dense_params"])
    node = ast.parse(stub).body[1]
    doc = ast.get_docstring(node)

    assert [ast.unparse(d) for d in node.decorator_list] == [ast.unparse(d) for d in ast.parse(CHECKED).body[1].decorator_list]
    assert [ast.unparse(s) for s in node.body[1:]] == ["raise NotImplementedError('exercise: params.dense_params')"]
    assert "Formula" not in doc and "input_size * output_size" not in doc and "one weight per pair" not in doc
    assert "input_size: size of the last axis." in doc and ">>> dense_params(3, 32)\n128" in doc
    assert "one weight per (input, unit)" not in stub


def test_an_unknown_lesson_is_refused():
    """Naming a lesson or a kept function the module does not define is an error that lists what it defines."""
    with pytest.raises(ValueError, match=r"Arguments `lessons` and `keep` name functions that are not in module 'shapes': \['perimeter'\]"):
        stubs.stub_source(SAMPLE, module="shapes", lessons=["perimeter"])


@pytest.mark.parametrize("source", [
    pytest.param("def f():\n    raise NotImplementedError('exercise: m.f')\n", id="bare-stub"),
    pytest.param("def f():\n    x = 1\n    raise NotImplementedError('exercise: m.f')\n", id="statements-above"),
    pytest.param("def f():\n    if True:\n        return 1\n    raise NotImplementedError('exercise: m.f')\n", id="return-before"),
    pytest.param("def f():\n    return 2\n", id="written"),
])
def test_the_generator_and_the_plugin_agree_on_what_is_a_stub(source, tmp_path):
    """`stubs.is_stub` (the path, `next`) and `unwritten.stub_name` (pending before fixtures) give one answer."""
    from grimoire.tooling import unwritten

    (tmp_path / "learner_stub_probe.py").write_text(source, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        import learner_stub_probe
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("learner_stub_probe", None)
    stub = stubs.is_stub(source, "f")
    assert stub == (unwritten.stub_name(learner_stub_probe.f) is not None)
    assert stub == ("return" not in source)


def module_files(root, name):
    """The .py files of module `name` under `root`: one file, or every file of a package (the test's own walk)."""
    if (root / name).is_dir() and (root / name / "__init__.py").is_file():
        return sorted(p for p in (root / name).rglob("*.py") if "__pycache__" not in p.parts)
    if (root / f"{name}.py").is_file():
        return [root / f"{name}.py"]
    return []


def dotted(relative):
    parts = list(relative.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def reference_files():
    return [path for name in layout.CONCEPTS for path in module_files(REFERENCE, name)]


def definitions(tree):
    """qualified name -> node for every function and method, walked independently of the generator."""
    out = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out[prefix + child.name] = child
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, (ast.stmt, ast.excepthandler)):
                visit(child, prefix)

    visit(tree, "")
    return out


def test_every_lesson_in_the_table_is_defined_in_the_reference():
    """`layout.LESSONS` names real functions: a renamed lesson must not silently leave the curriculum."""
    for module, names in layout.LESSONS.items():
        path = (REFERENCE / module.replace(".", "/")).with_suffix(".py")
        assert path.is_file(), module
        assert set(names) <= definitions(ast.parse(path.read_text(encoding="utf-8"))).keys(), module


@pytest.mark.parametrize("path", reference_files(), ids=lambda p: p.relative_to(REFERENCE).as_posix())
def test_each_lesson_becomes_a_stub_and_the_support_stays_solved(path):
    """A lesson keeps its signature, decorators and summary and raises; every support definition is unchanged."""
    module = dotted(path.relative_to(REFERENCE))
    lessons = layout.LESSONS.get(module, ())
    source = path.read_text(encoding="utf-8")
    reference, stub = definitions(ast.parse(source)), definitions(ast.parse(stubs.stub_source(source, module=module, lessons=lessons)))

    private_gone = reference.keys() - stub.keys()
    assert all(n.startswith("_") for n in private_gone), f"{module}: only private helpers of lessons may go: {private_gone}"
    for name, node in stub.items():
        ref_node = reference[name]
        if name in lessons:
            assert ast.dump(node.args) == ast.dump(ref_node.args), name
            assert [ast.dump(d) for d in node.decorator_list] == [ast.dump(d) for d in ref_node.decorator_list], name
            doc = ast.get_docstring(node) or ""
            assert "Formula" not in doc, f"{module}.{name} states its formula"
            assert doc.split("\n")[0] == (ast.get_docstring(ref_node) or "").split("\n")[0], name
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            assert [ast.unparse(s) for s in body] == [f"raise NotImplementedError('exercise: {module}.{name}')"], name
        else:
            strip = lambda n: ast.dump(ast.parse(ast.unparse(n)))  # noqa: E731 (docstrings of holders may be trimmed)
            if not any(name.startswith(lesson.rsplit(".", 1)[0] + ".") for lesson in lessons if "." in lesson):
                assert strip(node) == strip(ref_node), f"{module}.{name} is support: it must stay as written"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    root = tmp_path_factory.mktemp("learner") / "mine"
    return root, generate.write_exercises(root)


def test_init_writes_stubs_support_modules_and_the_guide(package):
    """Modules with lessons are stubbed, every other module copied as it is, tooling left out."""
    root, written = package
    names = {p.as_posix() for p in written}

    for path in reference_files():
        relative = path.relative_to(REFERENCE)
        assert relative.as_posix() in names
        if dotted(relative) in layout.LESSONS:
            assert (root / relative).read_text(encoding="utf-8").startswith(generate.HEADER)
        else:
            assert (root / relative).read_bytes() == path.read_bytes(), relative
    for name in layout.SUPPORTS:
        for path in module_files(REFERENCE, name):
            relative = path.relative_to(REFERENCE)
            assert (root / relative).read_bytes() == path.read_bytes(), relative
    assert "tooling" not in {Path(p).parts[0] for p in written}
    guide = (root / "EXERCISES.md").read_text(encoding="utf-8")
    catalogue = Catalogue.load()
    for claim in catalogue.claims.values():
        assert f"### `{claim.id}`" in guide
        assert claim.hint not in guide or not claim.hint, "hints come on request (`grimoire exercises hint`)"
    # Every relative import of a written module resolves inside the learner's package.
    for relative in names - {"EXERCISES.md"}:
        text = (root / relative).read_text(encoding="utf-8")
        for imported in relative_imports(Path(relative), text):
            assert module_files(root, imported), f"{relative} imports .{imported}, which init did not write"
        absolute = [
            alias.name if isinstance(node, ast.Import) else node.module
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and not node.level)
            for alias in node.names
        ]
        assert [m for m in absolute if m and m.split(".")[0] == "grimoire"] == [], f"{relative} imports the reference"


def relative_imports(relative, text):
    """The package paths (`"cam/base"`) that a module at `relative` imports with relative imports."""
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(relative.parent.parts)[: len(relative.parent.parts) - (node.level - 1)]
            if node.module:
                out.append("/".join(base + node.module.split(".")))
            else:
                out += ["/".join(base + [alias.name]) for alias in node.names]
    return out


def test_init_refuses_a_directory_that_holds_files(package):
    """No learner's work is overwritten."""
    root, _ = package

    with pytest.raises(ValueError, match=r"must be a new or empty directory.*Choose another directory"):
        generate.write_exercises(root)


def test_init_leaves_nothing_half_written_when_a_write_fails(tmp_path, monkeypatch):
    """A full disk half-way: no package at DEST, no staging folder left, and DEST can be used again."""
    calls, write = [], Path.write_text

    def failing_write(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return write(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing_write)
    with pytest.raises(OSError, match="No space left"):
        generate.write_exercises(tmp_path / "mine")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert "params.py" in {p.as_posix() for p in generate.write_exercises(tmp_path / "mine")}


def test_the_default_learner_folder_is_git_ignored():
    """`mine/`, the folder the commands default to, never ends up in a commit of this repository."""
    assert "/mine/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_the_guide_names_the_functions_each_claim_calls(tmp_path):
    """spec_index reads `impl.<module>.<name>` per test and attributes it to that test's claims."""
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "test_x.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.claim('first')\ndef test_a(impl):\n    impl.params.dense_params(1, 2)\n\n"
        "@pytest.mark.claim('second')\n@pytest.mark.parametrize('call', [lambda c: c.conv_output_length(5, 3)])\n"
        "def test_b(impl, call):\n    call(impl.conv)\n    impl.digits.load()\n    impl.conv.PADDINGS\n"
    )

    index = generate.spec_index(tmp_path / "spec")

    assert index == {
        "first": {"files": ["spec/test_x.py"], "functions": ["params.dense_params"]},
        # through a lambda too; a support module (digits) and a constant are no exercise
        "second": {"files": ["spec/test_x.py"], "functions": ["conv.conv_output_length"]},
    }


def test_a_selection_names_a_section_or_a_claim():
    """--section and --claim pick claims from the catalogue; anything else is refused."""
    catalogue = Catalogue.load()
    section_a = [c.id for c in catalogue.claims.values() if c.section == "A"]

    assert check.select_claims(catalogue, section="a") == section_a
    assert check.select_claims(catalogue, claim=section_a[0]) == section_a[:1]
    assert check.select_claims(catalogue) == list(catalogue.claims)
    with pytest.raises(ValueError, match=r"`section` must be one of \['A', "):
        check.select_claims(catalogue, section="Z")
    with pytest.raises(ValueError, match=r"`claim` must be a claim id .* Received: claim='nope'"):
        check.select_claims(catalogue, claim="nope")


def test_a_selection_without_tests_is_refused_not_run_as_everything(tmp_path):
    """--claim for a claim no test names yet says so instead of running the whole spec."""
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "claims.toml").write_text(
        '[sections]\nA = "First"\n\n[[claim]]\nid = "one"\nsection = "A"\nstatement = "One."\n\n'
        '[[claim]]\nid = "two"\nsection = "A"\nstatement = "Two."\n'
    )
    (spec / "test_one.py").write_text("import pytest\n\n@pytest.mark.claim('one')\ndef test_it(impl):\n    pass\n")

    args = check.check_arguments(tmp_path, ["one"], "l.json", "r.json", spec_dir=spec)
    assert args[-2:] == ["--claims=one", "spec/test_one.py"]
    with pytest.raises(ValueError, match=r"No test in spec/ names two yet: there is nothing to check"):
        check.check_arguments(tmp_path, ["two"], "l.json", "r.json", spec_dir=spec)


def test_the_cli_reports_a_bad_selection_without_running_the_spec(package):
    """A wrong --section is a one-line error, before any test runs."""
    root, _ = package

    with pytest.raises(SystemExit, match=r"grimoire exercises check: Argument `section` must be one of"):
        cli.main(["exercises", "check", str(root), "--section", "Z"])
    with pytest.raises(SystemExit):
        cli.main(["exercises", "check", str(root), "--section", "A", "--claim", "x"])  # mutually exclusive
    with pytest.raises(SystemExit, match=r"`impl` must be a package directory .*`grimoire exercises init DIR`"):
        cli.main(["exercises", "check", str(root / "cam" / "no-such-dir")])


def test_progress_shows_the_first_failing_claim_and_the_count():
    """The selected claims only, the first failure (actual vs expected), the hint offered, then the count."""
    catalogue = Catalogue.load()
    a, b, c = list(catalogue.claims)[:3]
    status = {a: "verified", b: "failing", c: "pending"}
    run = {"claims": [{"id": i, "status": s} for i, s in status.items()]}
    own = f"spec/x/test_{b.replace('-', '_')}.py::test_it"
    records = [
        {"nodeid": "spec/x/test_errors.py::test_e", "claims": [b], "outcome": "failed", "message": "m", "traceback": "E   other"},
        {"nodeid": own, "claims": [b], "outcome": "failed", "message": "m", "traceback": "[gw0] linux\nE   assert 1 == 2"},
    ]

    text = check.progress(run, records, [a, b, c], catalogue)

    claim = catalogue.claims[b]
    assert f"First failing claim: {b} ({claim.section}. {catalogue.sections[claim.section]})" in text
    assert claim.statement in text and claim.hint not in text and f"grimoire exercises hint {b}" in text
    assert f"test: {own}" in text and "E   assert 1 == 2" in text and "[gw0]" not in text
    assert "actual (your code):      1" in text and "expected (the claim's):  2" in text
    assert [line.split()[:2] for line in text.splitlines()[:3]] == [["verified", a], ["failing", b], ["pending", c]]
    assert text.splitlines()[1].endswith("0 of 2 tests pass")
    assert text.endswith("1 of 3 claims verified (1 failing, 1 pending)")


def test_watch_checks_again_when_a_file_is_saved(tmp_path):
    """--watch runs once, then once more per saved .py file (watchfiles), until stopped."""
    stop, runs = threading.Event(), []

    def run():
        runs.append(time.monotonic())
        if len(runs) == 2:
            stop.set()
        return len(runs)

    def save():
        time.sleep(0.5)
        (tmp_path / "notes.txt").write_text("not Python: ignored")
        (tmp_path / "params.py").write_text("x = 1\n")

    threading.Thread(target=save, daemon=True).start()
    result = watch.watch(tmp_path, run, stop_event=stop, debounce=100)

    assert result == 2 and len(runs) == 2


# --- proof: the spec against stubs (two subprocesses per session, shared by the tests below) -------

# Bounds the runs against stubs (see `runs`): tests that never request `impl` cannot depend on the
# stubs, so they are left out. Every claim with a test that uses `impl` runs whole, trained fixtures
# included: a test that calls a stub is pending before its fixtures are set up.
BOUNDED = """
def pytest_collection_modifyitems(config, items):
    keep = [item for item in items if "impl" in item.fixturenames]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep
"""


def start_spec(impl, claims, tmp):
    """Starts the spec as `grimoire exercises check` would (serially, bounded), in a subprocess."""
    (tmp / "bounded_stub_run.py").write_text(BOUNDED, encoding="utf-8")
    args = check.check_arguments(impl, claims, tmp / "ledger.json", tmp / "tests.json", spec_dir=ROOT / "spec")
    path = os.pathsep.join(filter(None, [str(tmp), os.environ.get("PYTHONPATH")]))
    with open(tmp / "output.txt", "w") as output:  # a file, not a pipe: two runs never wait on a reader
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", *args, "-n", "0", "-p", "no:cacheprovider", "-p", "bounded_stub_run"],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": path},
        )


def finish_spec(process, tmp):
    """Waits for a run; returns (exit code, output, ledger, per-test records by node id)."""
    code = process.wait()
    output = (tmp / "output.txt").read_text(encoding="utf-8")
    assert (tmp / "ledger.json").is_file(), output[-3000:]
    records = json.loads((tmp / "tests.json").read_text(encoding="utf-8"))
    return code, output, json.loads((tmp / "ledger.json").read_text(encoding="utf-8")), {r["nodeid"]: r for r in records}


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue.load()


@pytest.fixture(scope="module")
def runs(package, catalogue, tmp_path_factory):
    """Two runs side by side (one per core): fresh stubs, and stubs with one exercise solved.

    The exercise is the only function the spec calls for the first claim (catalogue order) that
    calls just one; the second run covers every claim whose tests call it.
    """
    needs = path.claim_functions()
    functions = {c: needs.get(c, []) for c in catalogue.claims if not is_validation(c)}
    first = next(c for c, f in functions.items() if len(f) == 1)
    target = functions[first][0]
    touched = [c for c, f in functions.items() if target in f]

    stubs_tmp, solved_tmp = tmp_path_factory.mktemp("stub-run"), tmp_path_factory.mktemp("one-exercise")
    generate.write_exercises(solved_tmp / "mine", keep=[target])
    stubs = start_spec(package[0], list(catalogue.claims), stubs_tmp)  # validation claims too: the support holds them
    solved = start_spec(solved_tmp / "mine", touched, solved_tmp)
    return types.SimpleNamespace(
        stubs=finish_spec(stubs, stubs_tmp), solved=finish_spec(solved, solved_tmp),
        first=first, target=target, touched=touched,
    )


def test_against_fresh_stubs_every_claim_needing_code_is_pending(runs):
    """Nothing fails or errors, and every claim a test of which uses the implementation is pending."""
    code, output, run, records = runs.stubs
    status = {row["id"]: row["status"] for row in run["claims"]}
    needs_code = {c for r in records.values() if r["uses_impl"] for c in r["claims"]}

    assert code == 0, output[-3000:]
    assert [i for i, s in status.items() if s == "failing"] == []
    assert len(needs_code) >= len(status) // 2, f"the bounded run covers only {sorted(needs_code)}"
    assert {c.split("-")[0] for c in needs_code} and {
        key for key in Catalogue.load().sections
    } == {Catalogue.load().claims[c].section for c in needs_code}, "a section was left out"
    validation = {i for i in status if is_validation(i)}
    assert {i: status[i] for i in needs_code - validation if status[i] not in ("pending", "skipped")} == {}
    assert [i for i, s in status.items() if s == "verified" and i not in validation] == []


# A metric's refusals need a metric, and only the learner's `__init__` (a lesson) makes one: with stubs,
# metrics-errors waits on it. Every other validation claim tests support that needs no lesson.
NEEDS_A_LESSON_TO_BUILD_ITS_SUBJECT = {
    "metrics-errors": {"metrics.RootMeanSquaredError.__init__", "metrics.BalancedAccuracy.__init__"},
}


def test_fresh_stubs_verify_every_validation_claim_whose_subject_needs_no_lesson(runs):
    """The argument checks are support, shipped solved: with every lesson a stub, the `-errors` claims are verified."""
    status = {row["id"]: row["status"] for row in runs.stubs[2]["claims"]}
    validation = [i for i in status if is_validation(i)]
    assert {i: status[i] for i in validation if status[i] != "verified"} == {i: "pending" for i in NEEDS_A_LESSON_TO_BUILD_ITS_SUBJECT}
    for claim, lessons in NEEDS_A_LESSON_TO_BUILD_ITS_SUBJECT.items():
        waits = {r["message"].removeprefix("pending: write ") for r in runs.stubs[3].values()
                 if claim in r["claims"] and r["outcome"] == "pending"}
        assert waits <= lessons, f"{claim} waits on {waits - lessons} too: its refusals must not need them"


def test_every_pending_test_names_the_stub_it_reached(runs):
    """The pending message is the stub's own `module.function`, so a learner knows what to write."""
    records = runs.stubs[3]
    pattern = rf"^pending: write ({'|'.join(layout.CONCEPTS)})(\.[\w.]+)?$"

    assert [r["message"] for r in records.values() if r["outcome"] == "pending" and not re.search(pattern, r["message"])] == []


def test_filling_in_one_exercise_turns_exactly_its_claims_verified(runs, catalogue):
    """The reference body of one function makes the claims that waited only on it verified; nothing else moves."""
    before, (code, output, run, after) = runs.stubs[3], runs.solved
    stub_message = f"pending: write {runs.target}"
    waits_on = {}  # claim -> the stubs its pending tests reached against fresh stubs
    for record in before.values():
        for claim in record["claims"]:
            if record["outcome"] == "pending":
                waits_on.setdefault(claim, set()).add(record["message"])
    status = {row["id"]: row["status"] for row in run["claims"]}

    assert waits_on[runs.first] == {stub_message}
    assert {c for c, stubs in waits_on.items() if stub_message in stubs} <= set(runs.touched)  # each run whole
    assert code == 0, output[-3000:]
    assert status[runs.first] == "verified"
    # .get: a claim this backend skips (TensorFlow-only, on JAX) waited on nothing.
    assert {c for c in runs.touched if status[c] == "verified"} <= {c for c in runs.touched if waits_on.get(c) == {stub_message}}
    for nodeid, record in after.items():
        was = before[nodeid]
        if was["message"] == stub_message:
            assert record["outcome"] in ("passed", "pending") and record["message"] != stub_message, nodeid
        else:
            assert (record["outcome"], record["message"]) == (was["outcome"], was["message"]), nodeid
    text = check.progress(run, list(after.values()), runs.touched, catalogue)
    verified = sum(status[c] == "verified" for c in runs.touched)
    assert text.splitlines()[-1].startswith(f"{verified} of {len(runs.touched)} claims verified")


# --- a scripted learner: init, one function right, one wrong, a TensorFlow error (one warm process) ---

LEARNER = r"""
import json, sys
from pathlib import Path
from grimoire.tooling.exercises import check, generate
from grimoire.tooling.claims import Catalogue

mine = Path(sys.argv[1])
catalogue = Catalogue.load(Path(sys.argv[2]))
generate.write_exercises(mine, keep=[
    "metrics.RootMeanSquaredError.__init__", "metrics.RootMeanSquaredError.update_state",
    "metrics.RootMeanSquaredError.reset_state"])
out = {}

def edit(module, old, new):
    path = mine / module
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))

def run(name, claim):
    code, ledger, records, _ = check.run_check(mine, [claim])
    out[name] = {"code": code, "status": {r["id"]: r["status"] for r in ledger["claims"]}[claim],
                 "records": [r for r in records if claim in r["claims"]],
                 "text": check.progress(ledger, records, [claim], catalogue)}

run("stub", "dense-params-formula")
edit("params.py", 'raise NotImplementedError("exercise: params.dense_params")',
     "return input_size * output_size + (output_size if use_bias else 0)")
run("dense", "dense-params-formula")
edit("conv.py", 'raise NotImplementedError("exercise: conv.conv_output_length")',
     "return (length - kernel_size) // stride + 2  # off by one")
run("conv", "conv-output-size")
edit("metrics.py", 'raise NotImplementedError("exercise: metrics.RootMeanSquaredError.result")',
     "return np.sqrt(self.squared_error_sum.numpy() / self.total_weight.numpy())  # eager-only")
run("numpy", "metric-train-vs-test")
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def learner(tmp_path_factory):
    """One learner's session, scripted, in one process (the checks run in it, as --watch does)."""
    tmp = tmp_path_factory.mktemp("learner-session")
    script = tmp / "learner.py"
    script.write_text(LEARNER, encoding="utf-8")
    process = subprocess.run([sys.executable, str(script), str(tmp / "mine"), str(ROOT / "spec" / "claims.toml")],
                             cwd=tmp, capture_output=True, text=True)
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, process.stdout[-3000:] + process.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_a_fresh_claim_is_pending_and_names_the_function_to_write(learner):
    """Before any code: pending, waiting on params.dense_params, and nothing failing."""
    assert learner["stub"]["status"] == "pending"
    assert "Next: write params.dense_params" in learner["stub"]["text"]


def test_the_bare_formula_verifies_its_concept_claim(learner):
    """dense_params written as the formula alone (the stub's checks above it) verifies dense-params-formula."""
    assert (learner["dense"]["status"], learner["dense"]["code"]) == ("verified", 0)
    assert learner["dense"]["text"].endswith("1 of 1 claims verified")


def test_a_wrong_formula_fails_naming_the_wrong_value(learner):
    """An off-by-one conv_output_length fails, with your value and the expected one side by side."""
    conv = learner["conv"]
    assert conv["status"] == "failing"
    actual = re.search(r"actual \(your code\):\s+(\d+)", conv["text"])
    expected = re.search(r"expected \(the claim's\):\s+(\d+)", conv["text"])
    assert actual and expected and int(actual.group(1)) == int(expected.group(1)) + 1, conv["text"]
    assert "reproduce_failure" not in conv["text"] and "grimoire exercises hint conv-output-size" in conv["text"]


@pytest.mark.skipif(keras_backend() != "tensorflow",
                    reason="docs/learning.md shows what check prints in a TensorFlow session (Hypothesis' failing example and Keras' shapes come from there)")
def test_the_learning_page_shows_what_check_prints_for_an_off_by_one(learner):
    """docs/learning.md's failing `conv-output-size` block is this learner's check output."""
    from .docblocks import assert_shown, block

    assert_shown(block("learning.md", "check-off-by-one"), learner["conv"]["text"])


def test_tensorflows_not_implemented_error_is_a_failure_not_pending(learner):
    """result() returning numpy fails inside fit with the backend's own message; it is not 'not written yet'.

    TensorFlow raises a NotImplementedError (which a stub raises too), JAX a TracerArrayConversionError.
    """
    import keras

    if keras.config.backend() == "torch":
        pytest.skip("on torch fit runs the metric's Python eagerly, where result() may return numpy: nothing fails")
    message = {
        "tensorflow": "NotImplementedError: numpy() is only available when eager execution is enabled",
        "jax": "TracerArrayConversionError",
    }[keras.config.backend()]
    numpy = learner["numpy"]
    failed = [r for r in numpy["records"] if r["outcome"] == "failed"]
    assert numpy["status"] == "failing"
    assert any(message in r["traceback"] for r in failed), failed


# --- next, hint, solution ------------------------------------------------------------------------

from grimoire.tooling.exercises import guide  # noqa: E402 (with the tests that use it)


def test_next_names_the_first_unwritten_function_its_claim_docs_and_command(tmp_path, capsys):
    """`grimoire exercises next`: the first stub on the path; once written, the step after it."""
    mine = tmp_path / "mine"
    generate.write_exercises(mine)
    assert cli.main(["exercises", "next", str(mine)]) == 0
    first = capsys.readouterr().out
    generate.write_exercises(tmp_path / "two", keep=["params.dense_params"])
    second = guide.describe_next(tmp_path / "two")

    assert first.startswith(f"Step 1 of ") and "write `dense_params` in" in first
    assert "docs/parameters.md#" in first and f"grimoire exercises check {mine} --claim dense-params-formula" in first
    assert second.startswith("Step 2 of ") and "dense_params`" not in second.splitlines()[0]


def test_hint_is_printed_on_request_only(capsys):
    """`hint ID` prints the catalogue's hint; an unknown id is a one-line error."""
    catalogue = Catalogue.load()
    assert cli.main(["exercises", "hint", "dense-params-formula"]) == 0
    assert capsys.readouterr().out.strip() == f"dense-params-formula: {catalogue.claims['dense-params-formula'].hint}"
    with pytest.raises(SystemExit, match="must be a claim id"):
        cli.main(["exercises", "hint", "no-such-claim"])


def test_watch_reruns_only_the_claims_whose_functions_changed():
    """A changed function maps to its claims; a change the path cannot place runs everything."""
    needs = {"a": ["params.dense_params"], "b": ["conv.same_padding"], "c": ["params.dense_params", "conv.same_padding"]}
    before = {"params.dense_params": "x", "conv.same_padding": "y"}

    assert watch.changed_claims(before, {**before, "params.dense_params": "x2"}, needs, ["a", "b", "c"]) == ["a", "c"]
    assert watch.changed_claims(before, dict(before), needs, ["a", "b", "c"]) == []
    assert watch.changed_claims(before, {**before, "params.mine": "z"}, needs, ["a", "b"]) is None


MOST_LESSONS = 45  # the curriculum a learner writes: the concepts, not the library
MOST_NEW_PER_CLAIM = 5  # no claim asks for more than this many lessons beyond the earlier steps


def test_the_path_is_every_lesson_once_and_a_few_at_a_time():
    """Every generated stub is on the path; the path is short; no claim needs many new lessons at once."""
    catalogue = Catalogue.load()
    needs = path.claim_functions()
    steps = path.exercise_path(catalogue, needs)
    stubbed = {f"{m}.{n}" for m, names in layout.LESSONS.items() for n in names}

    assert sorted(s["function"] for s in steps) == sorted(stubbed) == sorted(layout.lessons())
    assert len(steps) <= MOST_LESSONS
    seen, most = set(), 0
    for claim in catalogue.claims:
        new = set(needs.get(claim, [])) - seen
        most, seen = max(most, len(new)), seen | new
    assert most <= MOST_NEW_PER_CLAIM


def test_the_readme_counts_the_lessons_and_the_concept_claims():
    """The numbers the README gives learners come from the path."""
    catalogue = Catalogue.load()
    concept = [c for c in catalogue.claims if not is_validation(c)]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{len(layout.lessons())} lessons cover the {len(concept)} concept claims" in readme
