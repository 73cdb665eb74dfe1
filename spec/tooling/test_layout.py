"""The package's two rooms: one table says which module is what, and the imports respect it."""

import ast
import re
from pathlib import Path

import pytest

from grimoire.tooling import layout

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "grimoire"
MAX_LINES = 400  # a module a reader takes in at one sitting


def modules():
    """Dotted name -> path of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name, path):
    """The package's modules that `name` imports, anywhere in the file (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    known, found = modules(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {m for m in found if m in known and m != name and not name.startswith(m + ".")}


def test_every_top_level_module_is_in_the_table():
    top = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
           if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").is_file())}
    assert top == set(layout.MODULES)


def test_the_curriculum_never_imports_the_tooling():
    for name, path in modules().items():
        if not name.startswith("grimoire.tooling"):
            assert not {m for m in imports(name, path) if m.startswith("grimoire.tooling")}, name


def test_no_import_cycle():
    graph = {name: imports(name, path) for name, path in modules().items()}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph[node]):
            assert state.get(dep) != "open", " -> ".join(stack + [node, dep])
            if dep not in state:
                visit(dep, stack + [node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_modules_stay_small():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_readme_layout_table_agrees_with_the_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `grimoire/(\w+)(?:\.py|/)` \| (\w+) \|", readme, flags=re.MULTILINE))
    assert rows == layout.MODULES
