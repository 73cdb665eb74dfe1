"""Stubs from the reference's syntax tree: every function body becomes `raise NotImplementedError`.

Imports, constants, signatures, docstrings and class structure stay, so the stubs import cleanly and
read like the reference's table of contents. Generated from the syntax tree, they cannot drift from it.

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
