"""The mistake catalogue and how a mistake is planted in a copy of the reference.

`load` reads and validates spec/mistakes.toml; `apply` copies the curriculum (grimoire/ without
grimoire/tooling) and appends each replacement to its copied module. `grimoire.tooling.mistakes`
runs the spec against such copies.
"""

import ast
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .claims import Catalogue
from .project import catalogue_path

PACKAGE = Path(__file__).resolve().parents[1]  # the reference package, grimoire/
ROOT = PACKAGE.parent  # the project root
CATALOGUE = ROOT / "spec" / "mistakes.toml"
SKIP = ("tooling", "__pycache__")  # not part of the curriculum: never copied

FIELDS = ("id", "section", "claims", "explanation", "source", "module", "target", "replacement")
OPTIONAL = ("equivalent",)


class CatalogueError(ValueError):
    """The mistake catalogue is malformed: unknown claim, missing target, bad replacement, ..."""


@dataclass(frozen=True)
class Mistake:
    """One planted bug: which reference function it replaces, and which claims must catch it."""

    id: str
    section: str
    claims: tuple
    explanation: str
    source: str
    module: str  # dotted, below the package: "params", "cam.gradcam"
    target: str  # "dense_params" or "GradCAM.combine"
    replacement: str  # the source of one function definition
    equivalent: str = ""  # why the spec cannot observe it ("" for a real mistake)


# --- the catalogue ------------------------------------------------------------------------------


def load(path=CATALOGUE, claims_path=None, package=PACKAGE):
    """Reads and validates the mistake catalogue.

    Every problem found is reported at once: missing fields, duplicate ids, unknown sections or
    claim ids, a module or target function that does not exist in the reference, and a
    replacement that is not exactly one function definition.

    Returns:
        A list of `Mistake`, in catalogue order.

    Raises:
        CatalogueError: naming every mistake at fault and what is wrong with it.
    """
    path, claims_path = Path(path), Path(claims_path or catalogue_path())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        claims = Catalogue.load(claims_path)
    except (OSError, ValueError) as error:  # a TOMLDecodeError is a ValueError
        raise CatalogueError(f"Cannot read the mistake catalogue: {error}") from None
    sections, known = set(claims.sections), set(claims.claims)
    problems, mistakes, seen = [], [], set()
    for index, entry in enumerate(data.get("mistake", [])):
        name = entry.get("id", f"#{index + 1}")
        missing = [f for f in FIELDS if f not in entry]
        extra = [f for f in entry if f not in FIELDS + OPTIONAL]
        if missing or extra:
            problems.append(f"{name}: missing field(s) {missing}" if missing else f"{name}: unknown field(s) {extra}")
            continue
        if name in seen:
            problems.append(f"{name}: the id appears twice")
        seen.add(name)
        ids = entry["claims"] if isinstance(entry["claims"], list) else [entry["claims"]]
        unknown = [c for c in ids if c not in known]
        if not ids or unknown:
            problems.append(f"{name}: unknown claim id(s) {unknown or '(none given)'}; use ids from {claims_path.name}")
        if entry["section"] not in sections:
            problems.append(f"{name}: section {entry['section']!r} is not one of {sorted(sections)}")
        mistake = Mistake(**{**entry, "claims": tuple(ids)})
        try:
            _check_target(mistake, package)
            _check_names(mistake, _function_of(mistake), package)
        except CatalogueError as error:
            problems.append(str(error))
        mistakes.append(mistake)
    if problems:
        raise CatalogueError(f"{len(problems)} problem(s) in {path}:\n  " + "\n  ".join(problems))
    return mistakes


def module_path(package, module):
    """The file of `module` ("cam.gradcam") inside `package`: a .py file or a package's __init__.py."""
    base = Path(package, *module.split("."))
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"


def _check_target(mistake, package):
    """Returns the target's kind ("function", "method", "staticmethod") in the module's source, or raises."""
    path = module_path(package, mistake.module)
    if mistake.module.split(".")[0] in SKIP or not path.is_file():
        raise CatalogueError(f"{mistake.id}: no module {mistake.module!r} in {package} (the curriculum only)")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = mistake.target.split(".")
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    if len(parts) == 1:
        if any(isinstance(n, functions) and n.name == parts[0] for n in tree.body):
            return "function"
    elif len(parts) == 2:
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == parts[0]):
            for node in cls.body:
                if isinstance(node, functions) and node.name == parts[1]:
                    decorators = {getattr(d, "id", "") for d in node.decorator_list}
                    return "staticmethod" if "staticmethod" in decorators else "method"
    raise CatalogueError(
        f"{mistake.id}: no function {mistake.target!r} in {mistake.module!r}; a target is a module-level "
        "function or a method (Class.method) defined in that module's source"
    )


def _check_names(mistake, function, package):
    """Refuses a replacement that reads a name its module does not define: it would be "caught" by a NameError.

    Known names: builtins, the module's own top-level definitions and imports, `_reference_<target>`,
    and the function's arguments and the names it binds itself.
    """
    import builtins

    module = ast.parse(module_path(package, mistake.module).read_text(encoding="utf-8"))
    known = set(dir(builtins)) | {f"_reference_{mistake.target.split('.')[-1]}"}
    for node in [*ast.walk(module), *ast.walk(function)]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            known |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            known.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            known |= {n.id for target in getattr(node, "targets", [getattr(node, "target", None)]) for n in ast.walk(target)
                      if isinstance(n, ast.Name)}
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            known.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            known.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not function:
            known.add(node.name)
    unknown = sorted({n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - known)
    if unknown:
        raise CatalogueError(
            f"{mistake.id}: the replacement reads {unknown}, which module {mistake.module!r} does not define; "
            "a mistake must fail its claim's tests, not raise a NameError"
        )


def _function_of(mistake):
    """The single function definition in the replacement source, or raises."""
    try:
        tree = ast.parse(mistake.replacement)
    except SyntaxError as error:
        raise CatalogueError(f"{mistake.id}: the replacement does not parse: {error}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise CatalogueError(f"{mistake.id}: the replacement must be exactly one function definition")
    return tree.body[0]


# --- planting a mistake -------------------------------------------------------------------------


# A dispatch table filled at import time (`_FORMULAS = {Dense: _dense}`) holds the reference function
# itself, not its name: point such entries at the mistake too, or the mistake would never run.
_RETABLE = """


for _table in [_value for _value in list(globals().values()) if isinstance(_value, dict)]:
    for _key, _value in list(_table.items()):
        if _value is _reference_{name}:
            _table[_key] = {name}
"""


def apply(mistake, dest):
    """Copies the reference curriculum into `dest` and plants `mistake` in the copy.

    The replacement is appended to the copied module, so it runs after the module's own code and
    before any other module imports from it:

        _reference_target = target                        # the reference, for a mistake that wraps it
        def target(...): ...                              # a module-level function: redefined,
                                                          # in module-level dicts too (dispatch tables)
        def _mistake_method(...): ...; Class.method = _mistake_method   # a method: rebound

    Args:
        mistake: a `Mistake` (from `load`), or a list of them with distinct targets, all planted
            in one copy (a quick combined check).
        dest: a folder; the package is written to `dest/grimoire`, which must not exist yet.

    Returns:
        The path of the copied package, to pass as `pytest --impl`.

    Raises:
        CatalogueError: a target function does not exist in the reference, or two mistakes
            replace the same function.
    """
    planted = list(mistake) if isinstance(mistake, (list, tuple)) else [mistake]
    targets = [(m.module, m.target) for m in planted]
    if len(set(targets)) != len(targets):
        raise CatalogueError(f"Mistakes {[m.id for m in planted]} replace the same function twice; plant them one at a time.")
    plants = [(m, _check_target(m, PACKAGE), _function_of(m)) for m in planted]  # all checked before copying
    copy = Path(dest) / PACKAGE.name
    shutil.copytree(PACKAGE, copy, ignore=lambda folder, names: [n for n in names if n in SKIP or n.endswith(".pyc")])
    for m, kind, node in plants:
        _plant(m, kind, node, copy)
    return copy


def _plant(mistake, kind, node, copy):
    name = mistake.target.split(".")[-1]
    new_name = name if kind == "function" else f"_mistake_{name}"
    lines = mistake.replacement.strip("\n").splitlines()
    lines[node.lineno - 1] = re.sub(rf"\bdef\s+{re.escape(node.name)}\b", f"def {new_name}", lines[node.lineno - 1], count=1)
    # The reference stays reachable as `_reference_<name>`, so a mistake can wrap it.
    code = f"_reference_{name} = {mistake.target}\n\n\n" + "\n".join(lines)
    # A lesson behind support (a `guard`ed function, a `refusing` metric's method) keeps its
    # support: the mistake goes behind the same checks, as a learner's body would.
    rewrap = f"getattr(_reference_{name}, '__rewrap__', lambda body: body)"
    if kind != "function":
        bound = f"staticmethod({new_name})" if kind == "staticmethod" else f"{rewrap}({new_name})"
        code += f"\n\n\n{mistake.target} = {bound}"
    else:
        code += f"\n\n\n{name} = {rewrap}({name})"
        code += _RETABLE.format(name=name)
    path = module_path(copy, mistake.module)
    source = path.read_text(encoding="utf-8")
    source += f"\n\n# --- planted mistake {mistake.id!r} (grimoire.tooling.mistakes) ---\n\n{code}\n"
    compile(source, str(path), "exec")  # a broken plant is an error here, not a "caught" mistake later
    path.write_text(source, encoding="utf-8")
