"""Which unwritten lesson a test would reach, known before the test sets anything up.

Against a learner's package, a test that reaches a stub ends pending the moment it calls it. Its
fixtures, though, run first: a model built from `keras.applications`, a convnet trained for a
minute. Reading the test's source for the `impl.<module>.<name>` it calls, the reference for the
lessons those reach through the support (`reach`), and the learner's code for which of those are
still stubs (`stubs.stub_marker`), settles the outcome before any fixture runs. It is the same
reading as the exercise path's, so a claim is pending exactly while a lesson the path lists for it
is unwritten.
"""

import ast
import importlib
import inspect
import textwrap

from .exercises.index import impl_attribute
from .exercises.stubs import MARKER, stub_marker
from .layout import lessons, split
from .reach import lessons_reached, owner


def called_functions(test):
    """The `(module, name)` pairs a test function reaches as `impl.<module>.<name>`, in source order."""
    tree = _parse(inspect.unwrap(test))
    found = []
    for node in ast.walk(tree) if tree else ():
        pair = impl_attribute(node)
        if pair and pair not in found:
            found.append(pair)
    return found


def stub_name(function):
    """The name in a stub's marked raise (`"params.dense_params"`), or None for anything else.

    A lesson behind a support decorator (`guard`, `refusing`) is read through it (`inspect.unwrap`).
    """
    function = inspect.unwrap(function) if callable(function) else function
    if not inspect.isfunction(function):
        return None
    tree = _parse(function)
    if tree is None or not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    return stub_marker(tree.body[0])


def reached_functions(item):
    """The `(module, name)` pairs a collected test reaches: its body's `impl.<module>.<name>`, then the
    concept functions its parameters name (`"grad_cam"` for `getattr(impl.cam, method)`, or a
    `lambda impl: impl.metrics.RootMeanSquaredError()`)."""
    found = list(called_functions(getattr(item, "function", item)))  # a test item, or a bare test function
    callspec = getattr(item, "callspec", None)
    for value in (callspec.params.values() if callspec else ()):
        for name in _names_in(value):
            module = owner(name)
            if module and (module, name) not in found:
                found.append((module, name))
    return found


def _names_in(value):
    if isinstance(value, str):
        return [value]
    code = getattr(value, "__code__", None)
    return list(code.co_names) if code is not None else []


def lessons_of(item):
    """The lessons a collected test reaches (`reach`), in study order: what it tests of the learner's code."""
    reached = {lesson for module, name in reached_functions(item) for lesson in lessons_reached(f"{module}.{name}")}
    return [lesson for lesson in lessons() if lesson in reached]


def first_unwritten(item, impl):
    """The first stub among the lessons a collected test reaches on `impl`, as `"module.name"`, or None.

    A module the learner's package lacks counts as unwritten (`"module"`), as the `impl` fixture
    says when the test asks for it; a name the module lacks is left for the test to report.
    """
    for module_name, name in reached_functions(item):
        try:
            module = getattr(impl, module_name)
        except NotImplementedError as error:
            return str(error).removeprefix(MARKER)
        except AttributeError:
            continue
        stub = stub_name(getattr(module, name, None))  # the function itself, then what it reaches
        if stub:
            return stub
        for lesson in lessons_reached(f"{module_name}.{name}"):
            stub = stub_name(_learners(impl, lesson))
            if stub:
                return stub
    return None


def _learners(impl, lesson):
    """The learner's definition of `lesson` (`"cam.gradcam.GradCAM.combine"`), or None if it has none."""
    module, qualified = split(lesson)
    top, _, below = module.partition(".")
    try:
        value = getattr(impl, top)
        if below:
            value = importlib.import_module(f"{value.__name__}.{below}")
    except (AttributeError, ImportError, NotImplementedError):
        return None
    for part in qualified.split("."):
        value = getattr(value, part, None)
    return value


def _parse(function):
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None
