"""Which concept functions the tests of each claim call, read from the spec's source."""

import ast
from pathlib import Path

from ..layout import CONCEPTS
from ..ledger import scan_claim_markers
from ..project import project_root
from ..unwritten import impl_attribute

REFERENCE = Path(__file__).resolve().parents[2]


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
    """The concept functions reached under `tree`, as dotted names (`"params.dense_params"`).

    Two shapes: `impl.<module>.<name>`, and `lambda p: p.<name>(...)` handed `impl.<module>` by the
    test (a parametrized call); a lambda's name is matched to the concept module defining it.
    Support modules (`impl.digits.load`) are not exercises, so they are left out.
    """
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        pair = impl_attribute(node)
        if pair and pair[0] in CONCEPTS and pair[1] in _public_names()[pair[0]]:
            found.add(".".join(pair))  # a constant (`filters.SOME_STD`) is no exercise
        elif isinstance(node, ast.Lambda):
            names = {a.arg for a in node.args.args}
            for inner in ast.walk(node.body):
                if isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id in names:
                    owners = [m for m, defined in _public_names().items() if inner.attr in defined]
                    if len(owners) == 1:
                        found.add(f"{owners[0]}.{inner.attr}")
    return found


_PUBLIC = {}


def _public_names(reference=REFERENCE):
    """`concept module -> the public names its stubs define` (top-level functions and classes)."""
    if not _PUBLIC:
        for name in CONCEPTS:
            defined = set()
            for path in _module_files(reference, name):
                tree = ast.parse(path.read_text(encoding="utf-8"))
                defined |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                            and not n.name.startswith("_")}
            _PUBLIC[name] = defined
    return _PUBLIC


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
