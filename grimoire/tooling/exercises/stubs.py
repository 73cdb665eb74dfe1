"""Stubs from the reference's syntax tree: the lessons become exercises, the support stays solved.

`grimoire.tooling.layout.LESSONS` names, function by function, what a learner writes. A stub of a
module keeps everything the reference has except the lessons' bodies and what only they use:

- each lesson keeps its signature, its decorators (the `guard` that checks its arguments is support)
  and its docstring's summary line and `Args:`/`Returns:`/`Raises:`/`Example:` sections; its body
  becomes one marked raise:

      raise NotImplementedError("exercise: <module>.<function>")

- private helpers that only lessons use go (they are one way to shape a solution); every other
  function, class, constant and comment stays as it is, solved.
- the module's docstring, and those of the classes that hold lessons, keep their summary line and
  sections only (a formula there would give the answer away; `docs/` teaches it).

The pytest plugin counts exactly the marked raise as "not written yet" (pending); any other error,
TensorFlow's own `NotImplementedError` included, is a failure with its message shown. `stub_marker`
is the one test of "is this function still a stub?", for the path, the plugin and the guide alike.

Example:

>>> stub = stub_source('''
... def area(width, height):
...     \"\"\"Area of a rectangle.
...
...     Formula:
...         width * height
...     \"\"\"
...     return width * height
...
... def describe(width, height):
...     return f"{area(width, height)} square units"
... ''', module="shapes", lessons=["area"])
>>> print(stub.strip())
def area(width, height):
    \"\"\"Area of a rectangle.
    \"\"\"
    raise NotImplementedError("exercise: shapes.area")
<BLANKLINE>
def describe(width, height):
    return f"{area(width, height)} square units"
"""

import ast
import io
import re

MARKER = "exercise: "  # the message prefix the plugin reads as "not written yet"
KEPT_SECTIONS = ("Args", "Arguments", "Returns", "Raises", "Example", "Examples", "Attributes", "Yields")
_HEADER = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")


def stub_source(source, *, module="module", lessons=(), keep=()):
    """Replaces the body of each lesson in `source` with a marked `raise`; the rest stays solved.

    Args:
        source: the text of a Python module.
        module: the dotted name used in the messages (`"params"` gives
            `NotImplementedError("exercise: params.dense_params")`).
        lessons: qualified names (`"dense_params"`, `"MyMetric.result"`) of the lessons in this module.
        keep: lessons whose bodies stay: solved exercises.

    Returns:
        The stubbed source, a str.

    Example:

    >>> print(stub_source("def f(x): return 2 * x", module="m", lessons=["f"]))
    def f(x): raise NotImplementedError("exercise: m.f")
    """
    if not isinstance(source, str):
        raise TypeError(f"Argument `source` must be Python source text. Received: source of type {type(source).__name__}")
    tree = ast.parse(source)
    defined = dict(definitions(tree.body))
    unknown = [name for name in [*lessons, *keep] if name not in defined]
    if unknown:
        raise ValueError(
            f"Arguments `lessons` and `keep` name functions that are not in module {module!r}: {unknown}. "
            f"Known: {sorted(defined)}"
        )
    stubbed = [name for name in lessons if name not in keep]
    lines = io.StringIO(source, newline="").readlines()  # lines as the tokenizer counts them
    edits = []
    for name in stubbed:
        node = defined[name]
        doc = ast.get_docstring(node, clean=False) is not None
        if doc:
            edits.append(_docstring_edit(lines, node.body[0]))
        body = node.body[1:] if doc else node.body
        if body:
            edits.append(_body_edit(lines, node, body, f'raise NotImplementedError("{MARKER}{module}.{name}")'))
    edits += [_removal(lines, defined[name]) for name in _only_for(stubbed, tree, defined)]
    holders = {name.rsplit(".", 1)[0] for name in stubbed if "." in name}
    documented = ([tree] if stubbed else []) + [c for c in _classes(tree.body) if c.name in holders]
    edits += [_docstring_edit(lines, node.body[0]) for node in documented
              if ast.get_docstring(node, clean=False) is not None]
    text = "".join(lines)
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    compile(text, f"<stub of {module}>", "exec")  # a bug here must not reach a learner
    return text


def function_bodies(source):
    """`qualified name -> source of the whole definition` for every function and method in `source`."""
    return {name: ast.get_source_segment(source, node, padded=True) for name, node in definitions(ast.parse(source).body)}


def definition_lines(source, name):
    """`(first, end)` 0-based line indices (end exclusive) of the definition `name` in `source`, its
    decorators included, or None."""
    node = dict(definitions(ast.parse(source).body)).get(name)
    return None if node is None else (_first_line(node) - 1, node.end_lineno)


def stub_marker(node):
    """The name in a function's marked raise (`"params.dense_params"`) if it is still a stub, else None.

    A stub's body ends with `raise NotImplementedError("exercise: <name>")` and returns nothing
    before it: a body the learner wrote above a raise they forgot to delete counts as written.

    Args:
        node: an `ast.FunctionDef`.
    """
    body = node.body
    if any(isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)) for n in _own_nodes(body)):
        return None
    last = body[-1]
    if (isinstance(last, ast.Raise) and isinstance(last.exc, ast.Call) and isinstance(last.exc.func, ast.Name)
            and last.exc.func.id == "NotImplementedError" and len(last.exc.args) == 1
            and isinstance(last.exc.args[0], ast.Constant) and isinstance(last.exc.args[0].value, str)
            and last.exc.args[0].value.startswith(MARKER)):
        return last.exc.args[0].value[len(MARKER):]
    return None


def is_stub(source, name):
    """Whether function `name` in `source` is still a stub (see `stub_marker`)."""
    node = dict(definitions(ast.parse(source).body)).get(name)
    return node is not None and stub_marker(node) is not None


def _own_nodes(body):
    """The nodes of a function body, without those of functions and classes defined inside it."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def definitions(statements, prefix=""):
    """Yields (qualified name, node) for the functions and methods that run when called."""
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
        elif isinstance(node, ast.ClassDef):
            yield from definitions(node.body, f"{prefix}{node.name}.")
        else:
            # Definitions inside module-level if/try/with blocks.
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from definitions(getattr(node, field, []) or [], prefix)


def _classes(statements):
    """The classes defined at module level (and in their bodies), not those inside functions."""
    for node in statements:
        if isinstance(node, ast.ClassDef):
            yield node
            yield from _classes(node.body)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _classes(getattr(node, field, []) or [])


def _only_for(stubbed, tree, definitions):
    """The module-level private functions that only the stubbed lessons' bodies need, directly or not."""
    private = {name for name in definitions if "." not in name and name.startswith("_") and not name.startswith("__")}
    hidden = {id(n) for name in stubbed for statement in definitions[name].body for n in ast.walk(statement)}
    hidden |= {id(n) for name in private for statement in definitions[name].body for n in ast.walk(statement)}
    used = {name for name in _names(n for n in ast.walk(tree) if id(n) not in hidden) if name in private}
    todo = list(used)
    while todo:  # what the helpers still needed need in turn
        for name in _names(ast.walk(definitions[todo.pop()])):
            if name in private and name not in used:
                used.add(name)
                todo.append(name)
    return sorted(private - used)


def _names(nodes):
    for node in nodes:
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr


def _body_edit(lines, node, body, replacement):
    """The edit that replaces a function's body (after its docstring) with `replacement`."""
    indent = " " * _column(lines, body[0].lineno, body[0].col_offset)
    if node.body[0] is not body[0]:  # after the docstring: from its end, so comments in between go too
        anchor = node.body[0]
        start, prefix = _offset(lines, anchor.end_lineno, anchor.end_col_offset), "\n" + indent
    elif body[0].lineno > node.lineno:  # from the end of the `def` line: comments above the body go too
        header = body[0].lineno - 1
        while header > node.lineno and (not lines[header - 1].strip() or lines[header - 1].strip().startswith("#")):
            header -= 1
        start, prefix = _offset(lines, header, 0) + len(lines[header - 1].rstrip("\r\n")), "\n" + indent
    else:
        start, prefix = _offset(lines, body[0].lineno, body[0].col_offset), ""
    end = _offset(lines, body[-1].end_lineno, body[-1].end_col_offset)
    rest = lines[body[-1].end_lineno - 1][_column(lines, body[-1].end_lineno, body[-1].end_col_offset):]
    if not rest.strip() or rest.strip().startswith("#"):
        end += len(rest.rstrip("\r\n"))  # a trailing comment goes with the body
    return start, end, prefix + replacement


def _first_line(node):
    """The line a definition starts on, its decorators included."""
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def _removal(lines, node):
    """The edit that deletes a whole definition (decorators included) and the blank lines after it."""
    start = _offset(lines, _first_line(node), 0)
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
        top = bool(stripped) and len(line) - len(line.lstrip()) <= indent
        header = _HEADER.match(stripped) if top else None
        if header:
            section = header.group(1)
            keeping = section in KEPT_SECTIONS
        elif top and not section.startswith("Example"):
            keeping = False  # a prose paragraph after a section: it explains, so it goes
        if keeping:
            if header and out[-1].strip():
                out.append("")
            out.append(line)
    while len(out) > 1 and not out[-1].strip():
        out.pop()
    closing = lines[-1] if not lines[-1].strip() else ""
    return "\n".join(out) + ("\n" + closing if len(lines) > 1 else "")


def _column(lines, lineno, col_offset):
    # ast counts columns in UTF-8 bytes; Python strings count characters.
    return len(lines[lineno - 1].encode("utf-8")[:col_offset].decode("utf-8"))


def _offset(lines, lineno, col_offset):
    return sum(len(line) for line in lines[: lineno - 1]) + _column(lines, lineno, col_offset)
