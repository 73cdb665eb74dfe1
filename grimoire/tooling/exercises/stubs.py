"""Stubs from the reference's syntax tree: the stub asks, the study text teaches.

What a stub keeps of each public function: its signature, decorators, the docstring's summary line
and its `Args:`/`Returns:`/`Raises:`/`Example:` sections (examples with their expected values), and
the argument checks the reference runs first (already written: refusing bad input is its own
`*-errors` claim, not the concept's). The rest of the body becomes one marked `raise`:

    raise NotImplementedError("exercise: <module>.<function>")

The pytest plugin counts exactly that message as "not written yet" (pending); any other error,
TensorFlow's own `NotImplementedError` included, is a failure with its message shown.

What a stub drops: formulas, derivations and prose paragraphs of docstrings (docs/ teaches them),
comments inside bodies, and the reference's private helpers (`_dense`, `_score_tensor`): they are
one way to shape a solution, and a learner writes the public functions in whatever shape they like.
A private helper stays, solved, only where the stub needs it to import or to run its kept checks,
or where another module of the package imports it by name.

Example:

>>> stub = stub_source('''
... def area(width, height):
...     \"\"\"Area of a rectangle.
...
...     Formula:
...         width * height
...     \"\"\"
...     return width * height
... ''', module="shapes")
>>> print(stub.strip())
def area(width, height):
    \"\"\"Area of a rectangle.
    \"\"\"
    raise NotImplementedError("exercise: shapes.area")
"""

import ast
import io
import re

MARKER = "exercise: "  # the message prefix the plugin reads as "not written yet"
KEPT_SECTIONS = ("Args", "Arguments", "Returns", "Raises", "Example", "Examples", "Attributes", "Yields")
_HEADER = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")


def stub_source(source, *, module="module", keep=(), exported=()):
    """Replaces the body of every public function and method in `source` with a marked `raise`.

    Args:
        source: the text of a Python module.
        module: the dotted name used in the messages (`"params"` gives
            `NotImplementedError("exercise: params.dense_params")`).
        keep: qualified names (`"dense_params"`, `"MyMetric.result"`) whose bodies stay, with the
            private helpers they use: a solved exercise.
        exported: private names other modules of the package import from this one; they stay solved.

    Returns:
        The stubbed source, a str.

    Example:

    >>> print(stub_source("def f(x): return 2 * x", module="m"))
    def f(x): raise NotImplementedError("exercise: m.f")
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
    private = {name for name in functions if _private(name)}
    top_level = {name for name in functions if "." not in name}
    import_time = _import_time_calls(tree, functions, top_level)
    checkers = _checker_names(tree) | {name for name in top_level if name.startswith("check_")}
    checks = {name: _leading_checks(node, checkers) for name, node in definitions}
    # What stays solved: code that runs at import, solved exercises, exported helpers, and the
    # private helpers any of those (or the kept checks) refer to.
    global _CONSTANTS
    _CONSTANTS = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                  for t in node.targets if isinstance(t, ast.Name)}
    roots = set(keep) | import_time | (set(exported) & private) | {n for n in top_level if n.startswith("check_")}
    used = _uses(roots, functions, private)
    for name, statements in checks.items():
        if name not in used and not _private(name):
            used |= _uses_in(statements, functions, private)
    solved = used | import_time
    # A private helper that a module-level table names must exist for the module to import: it stays, stubbed.
    tabled = set(_referred(_module_level(tree.body), private))
    for name in sorted(import_time - set(keep)):
        # What it defines inside runs later (a factory's inner function): that is an exercise again.
        inner_definitions = [(f"{name}.{inner}", node) for inner, node in _functions(functions[name].body)]
        definitions += inner_definitions
        tabled |= {inner for inner, _ in inner_definitions}  # the factory returns it: it must exist

    lines = io.StringIO(source, newline="").readlines()  # lines as the tokenizer counts them
    edits = []
    for name, node in definitions:
        if name in solved:
            continue
        if _private(name) and name not in tabled:
            edits.append(_removal(lines, node))
            continue
        doc = _docstring(node)
        body = node.body[1:] if doc else node.body
        if doc:
            edits.append(_docstring_edit(lines, node.body[0]))
        if not body or _trivial(body):
            continue
        rest_body = body[len(checks.get(name, ())):]
        if not rest_body:
            continue
        anchor = checks[name][-1] if checks.get(name) else (node.body[0] if doc else None)
        indent = " " * _column(lines, rest_body[0].lineno, rest_body[0].col_offset)
        if anchor is not None and rest_body[0].lineno > anchor.end_lineno:
            # From the end of the last kept line: comments in between (which may state the answer) go too.
            start = _offset(lines, anchor.end_lineno, anchor.end_col_offset)
            prefix = "\n" + indent
        else:
            start, prefix = _offset(lines, rest_body[0].lineno, rest_body[0].col_offset), ""
        end = _offset(lines, body[-1].end_lineno, body[-1].end_col_offset)
        rest = lines[body[-1].end_lineno - 1][_column(lines, body[-1].end_lineno, body[-1].end_col_offset):]
        if not rest.strip() or rest.strip().startswith("#"):
            end += len(rest.rstrip("\r\n"))  # a trailing comment goes with the body
        edits.append((start, end, f'{prefix}raise NotImplementedError("{MARKER}{module}.{name}")'))
    for node in [tree, *_classes(tree.body)]:
        if _docstring(node):
            edits.append(_docstring_edit(lines, node.body[0]))
    text = "".join(lines)
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    compile(text, f"<stub of {module}>", "exec")  # a bug here must not reach a learner
    return text


def function_bodies(source):
    """`qualified name -> source of the whole definition` for every function and method in `source`."""
    return {name: ast.get_source_segment(source, node, padded=True) for name, node in _functions(ast.parse(source).body)}


def is_stub(source, name):
    """Whether function `name` in `source` still ends in the generator's marked `raise` (not written yet)."""
    node = dict(_functions(ast.parse(source).body)).get(name)
    if node is None:
        return False
    last = node.body[-1]
    return (isinstance(last, ast.Raise) and isinstance(last.exc, ast.Call) and last.exc.args
            and isinstance(last.exc.args[0], ast.Constant) and str(last.exc.args[0].value).startswith(MARKER))


def _private(name):
    return any(part.startswith("_") and not part.startswith("__") for part in name.split("."))


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


def _classes(statements):
    """The classes defined at module level (and in their bodies), not those inside functions."""
    for node in statements:
        if isinstance(node, ast.ClassDef):
            yield node
            yield from _classes(node.body)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _classes(getattr(node, field, []) or [])


def _module_level(statements):
    """The statements that run at import: everything but function bodies (class bodies included)."""
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]
        elif isinstance(node, ast.ClassDef):
            yield from node.decorator_list + node.bases
            yield from _module_level(node.body)
        elif any(getattr(node, f, None) for f in ("body", "orelse", "finalbody", "handlers")) and not isinstance(node, ast.expr):
            for field in ("test", "items", "iter", "target"):
                if getattr(node, field, None) is not None:
                    yield getattr(node, field) if not isinstance(getattr(node, field), list) else ast.Tuple(elts=[])
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _module_level(getattr(node, field, []) or [])
        else:
            yield node


def _checker_names(tree):
    """Names imported from the package's `_checks` module: calling one is an argument check."""
    return {alias.asname or alias.name for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[-1] == "_checks"
            for alias in node.names}


def _leading_checks(node, checkers=()):
    """The argument checks a function body starts with: calls to `_checks`/`_check*`, `if ...: raise`."""
    body = node.body[1:] if _docstring(node) else node.body
    out = []
    for statement in body:
        if not _is_check(statement, checkers):
            break
        out.append(statement)
    return out


def _is_check(statement, checkers=()):
    if isinstance(statement, ast.If):
        inside = list(ast.walk(statement))
        return (not any(isinstance(n, (ast.Return, ast.Yield)) for n in inside)
                and isinstance(statement.body[-1], ast.Raise)
                and all(_is_check(s, checkers) or isinstance(s, ast.Raise) for s in statement.orelse))
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Expr)) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "_checks":
            return True
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in checkers or name.startswith(("_check", "check_"))
    return False


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


_CONSTANTS = {}  # the module-level assignments of the module being stubbed (tables of helpers)


def _referred(nodes, candidates, seen=None):
    """Private helpers named in `nodes`: `_helper`, `self._helper`, and those a module-level table names."""
    seen = set() if seen is None else seen
    for tree in nodes:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in candidates:
                yield node.id
            elif isinstance(node, ast.Name) and node.id in _CONSTANTS and node.id not in seen:
                seen.add(node.id)
                yield from _referred([_CONSTANTS[node.id]], candidates, seen)
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                yield from (c for c in candidates if c.rsplit(".", 1)[-1] == node.attr)


def _uses(names, functions, candidates):
    """`names` plus, transitively, the `candidates` their bodies refer to."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        todo += [n for n in _referred([functions[name]], candidates) if n not in found]
    return found


def _uses_in(statements, functions, candidates):
    return _uses(set(_referred(statements, candidates)), functions, candidates)


def _docstring(node):
    first = node.body[0] if node.body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def _trivial(body):
    only = body[0]
    return len(body) == 1 and (
        isinstance(only, ast.Pass) or (isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant) and only.value.value is ...)
    )


def _removal(lines, node):
    """The edit that deletes a whole definition (decorators included) and the blank lines after it."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    start = _offset(lines, first, 0)
    stop = node.end_lineno
    while stop < len(lines) and not lines[stop].strip():
        stop += 1
    return start, _offset(lines, stop + 1, 0) if stop < len(lines) else len("".join(lines)), ""


def _docstring_edit(lines, expr):
    """The edit that keeps a docstring's summary line and its Args/Returns/Example sections only."""
    start = _offset(lines, expr.lineno, expr.col_offset)
    end = _offset(lines, expr.end_lineno, expr.end_col_offset)
    literal = "".join(lines)[start:end]
    match = re.match(r'^([rRbBuU]*)("""|\'\'\')(.*)\2$', literal, re.S)
    if not match:
        return start, end, literal  # a one-quote docstring has no sections
    prefix, quote, text = match.groups()
    return start, end, f"{prefix}{quote}{teaching_removed(text)}{quote}"


def teaching_removed(text):
    """A docstring's text without what teaches the answer: only its first line and its kept sections.

    Example:

    >>> print(teaching_removed("Area.\\n\\n    Formula:\\n        w * h\\n\\n    Args:\\n        w: width.\\n    "))
    Area.
    <BLANKLINE>
        Args:
            w: width.
    <BLANKLINE>
    """
    lines = text.split("\n")
    body = [line for line in lines[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in body), default=0)
    out, keeping, section = [lines[0]], False, ""
    for line in lines[1:]:
        stripped = line.strip()
        level = len(line) - len(line.lstrip())
        if stripped and level <= indent:
            header = _HEADER.match(stripped)
            if header:
                section = header.group(1)
                keeping = section in KEPT_SECTIONS
            elif not section.startswith("Example"):
                keeping = False  # a prose paragraph after a section: it explains, so it goes
        if keeping:
            if header_line(stripped, level, indent) and out[-1].strip():
                out.append("")
            out.append(line)
    while len(out) > 1 and not out[-1].strip():
        out.pop()
    closing = lines[-1] if not lines[-1].strip() else ""
    return "\n".join(out) + ("\n" + closing if len(lines) > 1 else "")


def header_line(stripped, level, indent):
    return bool(stripped) and level <= indent and bool(_HEADER.match(stripped))


def _column(lines, lineno, col_offset):
    # ast counts columns in UTF-8 bytes; Python strings count characters.
    return len(lines[lineno - 1].encode("utf-8")[:col_offset].decode("utf-8"))


def _offset(lines, lineno, col_offset):
    return sum(len(line) for line in lines[: lineno - 1]) + _column(lines, lineno, col_offset)
