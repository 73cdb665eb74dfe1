"""A learner's package with the lessons a notebook defines written into it: what a cell's check runs on.

A notebook learner writes lessons in cells, not in files. Before each check the package is written
afresh in a private folder: the learner's own package when one is given (else fresh stubs, the
support solved), then every lesson the notebook's namespace defines spliced into its module in place
of the package's definition. The support's decorators (the `guard` that checks arguments) stay; the
`def` and body are the notebook's. The spec then checks that folder as it checks any package, so a
check from a cell gives the same verdicts as `grimoire exercises check`.

Which namespace entries are lessons:

    a function defined in the notebook, named like a lesson (`dense_params`)      that lesson
    a class defined in the notebook, named like a lesson's class                 its methods that
      (`RootMeanSquaredError`, `GradCAM`)                                        are lessons

A name several lessons share (`combine`, `result`) is taken from a class only.
"""

import ast
import inspect
import shutil
import tempfile
import textwrap
from pathlib import Path

from ..layout import lessons
from .generate import write_exercises
from .path import lesson_file
from .stubs import definitions


class LessonError(ValueError):
    """A notebook definition the support cannot call: its one-line message says why and what to do."""


def notebook_lessons(namespace):
    """`lesson -> function` for the lessons the notebook's `namespace` (its globals) defines."""
    module = namespace.get("__name__", "__main__")
    by_name, by_class = {}, {}
    for lesson in lessons():
        parts = lesson.split(".")
        by_name.setdefault(parts[-1], []).append(lesson)
        if len(parts) >= 3 and parts[-2][:1].isupper():
            by_class.setdefault(parts[-2], []).append(lesson)
    found = {}
    for name, value in namespace.items():
        if getattr(value, "__module__", None) != module:
            continue  # imported, not written here
        if inspect.isfunction(value) and len(by_name.get(name, [])) == 1:
            found[by_name[name][0]] = value
        elif inspect.isclass(value) and name in by_class:
            for lesson in by_class[name]:
                method = vars(value).get(lesson.rsplit(".", 1)[1])
                if inspect.isfunction(method):
                    found[lesson] = method
    return found


def write_overlay(dest, namespace, base=None):
    """Writes the package to check at `dest` (a new folder): `base` or fresh stubs, with the notebook's lessons.

    Args:
        dest: where to write; must not exist.
        namespace: the notebook's globals.
        base: a learner's package directory to start from, or None for fresh stubs.

    Returns:
        The lessons taken from the notebook, in study order.

    Raises:
        LessonError: a notebook definition whose source cannot be read or whose arguments are not the stub's.
    """
    dest = Path(dest)
    if base is None:
        write_exercises(dest)
    else:
        shutil.copytree(base, dest, ignore=shutil.ignore_patterns("__pycache__", ".grimoire"))
    taken = notebook_lessons(namespace)
    for lesson, function in taken.items():
        _splice(dest, lesson, function)
    return [lesson for lesson in lessons() if lesson in taken]


def _splice(package, lesson, function):
    path, name = lesson_file(package, lesson)
    text = path.read_text(encoding="utf-8")
    node = dict(definitions(ast.parse(text).body)).get(name)
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        raise LessonError(f"The source of `{function.__qualname__}` cannot be read; define it in a cell of its own.") from None
    mine = _only_function(source, function)
    _same_arguments(lesson, node, mine)
    lines = text.splitlines(keepends=True)
    indent = " " * node.col_offset
    body = "".join(indent + line if line.strip() else line for line in ast.get_source_segment(source, mine).splitlines(True))
    lines[node.lineno - 1:node.end_lineno] = [body.rstrip("\n") + "\n"]  # the support's decorators stay above it
    path.write_text("".join(lines), encoding="utf-8")


def _only_function(source, function):
    tree = ast.parse(source)
    found = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(found) != 1:
        raise LessonError(f"`{function.__qualname__}` must be a plain function definition in its cell.")
    node = found[0]
    node.decorator_list = []  # the support's decorators stay in the package; the learner's are dropped
    return node


def _arguments(node):
    args = node.args
    return ([a.arg for a in args.posonlyargs + args.args], args.vararg and args.vararg.arg,
            [a.arg for a in args.kwonlyargs], args.kwarg and args.kwarg.arg)


def _same_arguments(lesson, stub, mine):
    if _arguments(stub) != _arguments(mine):
        expected = ast.unparse(stub.args)
        raise LessonError(
            f"{lesson} must take the stub's arguments ({expected}), as the support calls it. "
            f"Received: {mine.name}({ast.unparse(mine.args)})."
        )


def fresh_folder():
    """A private folder for one check's package (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix="grimoire-notebook-"))
