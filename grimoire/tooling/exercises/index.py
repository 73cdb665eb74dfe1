"""Which concept functions the tests of each claim call, read from the spec's source."""

import ast
from pathlib import Path

from ..claims import claim_ids, scan_claim_markers
from ..layout import CONCEPTS
from ..project import project_root
from ..reach import owner, public_names


def impl_attribute(node):
    """`(module, name)` when the AST `node` reads `impl.<module>.<name>`, else None."""
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "impl"):
        return node.value.attr, node.attr
    return None


def spec_index(spec_dir=None):
    """For each claim id: the spec files that name it and the `impl.<module>.<name>` its tests call.

    Read from the spec's source, like the ledger's `scan_claim_markers`: a test function's calls go
    to the claims its markers name (or the module's `pytestmark`); calls outside test functions go
    to every claim of the file.

    Returns:
        A dict `claim id -> {"files": [relative paths], "functions": [dotted names]}`.
    """
    spec_dir = Path(spec_dir) if spec_dir else project_root() / "spec"
    index = {}
    for path, file_ids in scan_claim_markers(spec_dir).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses = {}  # claim id -> functions
        tests = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")]
        module_ids = [i for n in tree.body if _assigns(n, "pytestmark") for i in claim_ids(n)]
        in_tests = set()
        constants = {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                     for target in node.targets if isinstance(target, ast.Name)}
        for test in tests:
            calls = _impl_calls(test, constants=constants)
            in_tests |= {id(n) for n in ast.walk(test)}
            for claim_id in [i for d in test.decorator_list for i in claim_ids(d)] or module_ids or file_ids:
                uses.setdefault(claim_id, set()).update(calls)
        elsewhere = _impl_calls(tree, skip=in_tests)
        for claim_id in file_ids:
            entry = index.setdefault(claim_id, {"files": [], "functions": set()})
            entry["files"].append(path.relative_to(spec_dir.parent).as_posix())
            entry["functions"] |= uses.get(claim_id, set()) | elsewhere
    return {k: {"files": v["files"], "functions": sorted(v["functions"])} for k, v in index.items()}


def _impl_calls(tree, skip=(), constants=None):
    """The concept functions reached under `tree`, as dotted names (`"params.dense_params"`).

    Three shapes: `impl.<module>.<name>`; `lambda p: p.<name>(...)` handed `impl.<module>` by the
    test (a parametrized call), whose name is matched to the concept module defining it; and
    `getattr(impl.<module>, name)`, whose names are the strings the test (its parameters, the
    module-level lists it reads) holds that `<module>` defines. Support modules
    (`impl.digits.load`) are not exercises, so they are left out.
    """
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        module = _getattr_module(node)
        if module in CONCEPTS:
            found |= {f"{module}.{s}" for s in _strings(tree, constants or {}) if s in public_names()[module]}
        pair = impl_attribute(node)
        if pair and pair[0] in CONCEPTS and pair[1] in public_names()[pair[0]]:
            found.add(".".join(pair))  # a constant (`filters.SOME_STD`) is no exercise
        elif isinstance(node, ast.Lambda):
            names = {a.arg for a in node.args.args}
            for inner in ast.walk(node.body):
                if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id in names:
                    module = owner(inner.attr)
                    if module:
                        found.add(f"{module}.{inner.attr}")
    return found


def _getattr_module(node):
    """`"cam"` for the call `getattr(impl.cam, ...)`, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" and node.args
            and isinstance(node.args[0], ast.Attribute) and isinstance(node.args[0].value, ast.Name)
            and node.args[0].value.id == "impl"):
        return node.args[0].attr
    return None


def _strings(tree, constants):
    """The string constants under `tree`, and in the module-level constants it names."""
    nodes = list(ast.walk(tree))
    nodes += [n for name in {n.id for n in nodes if isinstance(n, ast.Name)} & constants.keys() for n in ast.walk(constants[name])]
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _assigns(node, name):
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
