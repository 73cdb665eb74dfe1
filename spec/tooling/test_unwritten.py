"""A test that calls an unwritten stub is pending before its fixtures run."""

import json
import types
import uuid

import pytest

from grimoire.tooling import unwritten

pytestmark = pytest.mark.tooling


@pytest.fixture
def module_file(tmp_path, monkeypatch):
    """Writes `source` to an importable module (inspect.getsource needs a file)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    counter = iter(range(100))

    def write(source):
        name = f"unwritten_{uuid.uuid4().hex}_{next(counter)}"
        tmp_path.joinpath(f"{name}.py").write_text(source, encoding="utf-8")
        return __import__(name)

    return write


STUBS = '''
def stub(width, height):
    """Area."""
    if width < 0:
        raise ValueError("`width` must be >= 0")
    raise NotImplementedError("exercise: shapes.stub")

def written(width, height):
    return width * height

def forgot_the_raise(width, height):
    area = width * height
    return area
    raise NotImplementedError("exercise: shapes.forgot_the_raise")

def other_message(width, height):
    raise NotImplementedError("later")

class Shape:
    def area(self):
        raise NotImplementedError("exercise: shapes.Shape.area")
'''


def test_a_stub_is_known_by_its_marked_raise(module_file):
    """Kept argument checks above the marked raise leave it a stub."""
    shapes = module_file(STUBS)
    assert unwritten.stub_name(shapes.stub) == "shapes.stub"


@pytest.mark.parametrize("name", ["written", "forgot_the_raise", "other_message", "Shape"])
def test_anything_else_is_not_a_stub(module_file, name):
    """A written body (even above a leftover raise), another message, or a class is not settled early."""
    shapes = module_file(STUBS)
    assert unwritten.stub_name(getattr(shapes, name)) is None


def test_the_functions_a_test_calls_are_read_from_its_source(module_file):
    tests = module_file(
        "def test_it(impl):\n"
        "    check = lambda: impl.conv.same_padding(3)\n"
        "    assert impl.params.dense_params(3, 32) == impl.params.dense_params(3, 32)\n"
        "    check()\n"
    )
    # Each function once, however often the test calls it; lambdas and helpers inside the test count.
    assert sorted(unwritten.called_functions(tests.test_it)) == [("conv", "same_padding"), ("params", "dense_params")]


def test_the_first_stub_a_test_reaches_is_named(module_file):
    shapes = module_file(STUBS)
    tests = module_file("def test_it(impl):\n    impl.shapes.written(1, 2)\n    impl.shapes.stub(1, 2)\n")
    impl = types.SimpleNamespace(shapes=shapes)
    assert unwritten.first_unwritten(tests.test_it, impl) == "shapes.stub"

    written_only = module_file("def test_it(impl):\n    impl.shapes.written(1, 2)\n")
    assert unwritten.first_unwritten(written_only.test_it, impl) is None


def test_a_parametrized_test_reaches_the_functions_its_parameters_name(module_file):
    """`getattr(impl.cam, method)` with `method="grad_cam"`, or a lambda handed `impl`: the parameters say what it calls."""
    tests = module_file("def test_it(impl, method, make):\n    getattr(impl.cam, method)\n    make(impl)\n")
    item = types.SimpleNamespace(function=tests.test_it, callspec=types.SimpleNamespace(
        params={"method": "grad_cam", "make": lambda impl: impl.metrics.RootMeanSquaredError(), "padding": "valid"}))

    assert unwritten.reached_functions(item) == [("cam", "grad_cam"), ("metrics", "RootMeanSquaredError")]
    lessons = unwritten.lessons_of(item)
    assert "cam.gradcam.GradCAM.combine" in lessons and "metrics.RootMeanSquaredError.result" in lessons
    assert "cam.layercam.LayerCAM.combine" not in lessons and "params.dense_params" not in lessons


CATALOGUE = """
[sections]
A = "Only"

[[claim]]
id = "dense"
section = "A"
statement = "A Dense layer has in*out + out parameters."
"""

TESTS = """
import pytest

@pytest.fixture
def costly(tmp_path_factory):
    # Stands for a model trained for a minute: it must not run for a test that is pending anyway.
    raise RuntimeError("the costly fixture ran")

@pytest.mark.claim("dense")
def test_dense_with_a_costly_fixture(impl, costly):
    assert impl.params.dense_params(3, 32) == 128

@pytest.mark.claim("dense")
def test_dense(impl):
    assert impl.params.dense_params(3, 32) == 128
"""


def _learner(pytester, body):
    package = pytester.mkpydir("mine")
    package.joinpath("params.py").write_text(f"def dense_params(input_size, output_size):\n{body}\n", encoding="utf-8")
    return package


def _records(pytester, package):
    pytester.makeini("[pytest]\nclaims_catalogue = claims.toml\n")
    pytester.path.joinpath("claims.toml").write_text(CATALOGUE)
    pytester.makepyfile(test_area=TESTS)
    pytester.runpytest_subprocess(f"--impl={package}", "--outcomes-json=out.json", "-p", "no:cacheprovider")
    return {r["nodeid"].split("::")[-1]: r for r in json.loads(pytester.path.joinpath("out.json").read_text())}


def test_a_test_reaching_a_stub_is_pending_without_running_its_fixtures(pytester):
    records = _records(pytester, _learner(pytester, '    raise NotImplementedError("exercise: params.dense_params")'))

    costly = records["test_dense_with_a_costly_fixture"]
    assert (costly["outcome"], costly["message"]) == ("pending", "pending: write params.dense_params")
    assert records["test_dense"]["outcome"] == "pending"


def test_once_written_the_test_runs_with_its_fixtures(pytester):
    records = _records(pytester, _learner(pytester, "    return input_size * output_size + output_size"))

    costly = records["test_dense_with_a_costly_fixture"]
    assert costly["outcome"] == "failed" and "the costly fixture ran" in costly["traceback"]
    assert records["test_dense"]["outcome"] == "passed"
