"""Which unwritten stub a test would reach, known before the test sets anything up.

Against a learner's package, a test that calls a stub ends pending the moment it calls it. Its
fixtures, though, run first: a model built from `keras.applications`, a convnet trained for a
minute. Reading the test's source for the `impl.<module>.<name>` it calls, and the learner's code
for which of those still is the generator's stub, settles the outcome before any fixture runs.

A stub is a function whose body ends with the generator's marked raise,
`raise NotImplementedError("exercise: <name>")`, with no `return` or `yield` before it (a body the
learner wrote above a raise they forgot to delete still counts as written). Classes are never
settled this way: a test may need only the methods already written.
"""

import ast
import inspect
import textwrap

from .exercises.stubs import MARKER


def called_functions(test):
    """The `(module, name)` pairs a test function reaches as `impl.<module>.<name>`, in source order."""
    tree = _parse(inspect.unwrap(test))
    found = []
    for node in ast.walk(tree) if tree else ():
        pair = impl_attribute(node)
        if pair and pair not in found:
            found.append(pair)
    return found


def impl_attribute(node):
    """`(module, name)` when the AST `node` reads `impl.<module>.<name>`, else None."""
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "impl"):
        return node.value.attr, node.attr
    return None


def stub_name(function):
    """The name in a stub's marked raise (`"params.dense_params"`), or None for anything else."""
    if not inspect.isfunction(function):
        return None
    tree = _parse(function)
    if tree is None or not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    body = tree.body[0].body
    if any(isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) for node in _own_nodes(body)):
        return None
    last = body[-1]
    if (isinstance(last, ast.Raise) and isinstance(last.exc, ast.Call) and isinstance(last.exc.func, ast.Name)
            and last.exc.func.id == "NotImplementedError" and len(last.exc.args) == 1
            and isinstance(last.exc.args[0], ast.Constant) and isinstance(last.exc.args[0].value, str)
            and last.exc.args[0].value.startswith(MARKER)):
        return last.exc.args[0].value[len(MARKER):]
    return None


def first_unwritten(test, impl):
    """The first stub among the functions `test` calls on `impl`, as `"module.name"`, or None.

    A module the learner's package lacks counts as unwritten (`"module"`), as the `impl` fixture
    says when the test asks for it; a name the module lacks is left for the test to report.
    """
    for module_name, name in called_functions(test):
        try:
            module = getattr(impl, module_name)
        except NotImplementedError as error:
            return str(error).removeprefix(MARKER)
        except AttributeError:
            continue
        stub = stub_name(getattr(module, name, None))
        if stub:
            return stub
    return None


def _parse(function):
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None


def _own_nodes(body):
    """The nodes of a function body, without those of functions and classes defined inside it."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
