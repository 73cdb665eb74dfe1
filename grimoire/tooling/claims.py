"""The claim catalogue (``spec/claims.toml``), read in one place, and the claim markers in the spec's source.

The catalogue lists every claim with a stable id and its section, and says which claims a backend or
release cannot run (``[requires.<id>]``: ``backends``, ``since``, ``why``, ``note``). A test names the
claims it proves with ``@pytest.mark.claim("<id>", ...)``; `claim_ids` finds those names in source.
"""

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .project import catalogue_path

VALIDATION_SUFFIX = "-errors"  # a validation claim: the support's refusals (`params-errors`)
REQUIREMENT_KEYS = {"backends", "since", "why", "note"}


@dataclass(frozen=True)
class Claim:
    id: str
    section: str
    statement: str
    seed: str = ""
    hint: str = ""


def is_validation(claim_id):
    """Whether a claim proves argument checks (`params-errors`): support, shipped solved, not an exercise."""
    return claim_id.endswith(VALIDATION_SUFFIX)


@dataclass
class Catalogue:
    sections: dict
    claims: dict  # id -> Claim, in catalogue order
    requires: dict  # id -> its `[requires.<id>]` table

    @classmethod
    def load(cls, path=None):
        """Reads a claims TOML file (the checkout's by default); duplicate ids, unknown sections and
        requirements of no claim are errors."""
        path = Path(catalogue_path() if path is None else path)
        if not path.is_file():
            raise FileNotFoundError(f"Claim catalogue not found at {str(path)!r}.")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        sections = dict(data.get("sections", {}))
        claims = {}
        for entry in data.get("claim", []):
            claim = Claim(**entry)
            if claim.id in claims:
                raise ValueError(f"Claim id {claim.id!r} appears twice in {str(path)!r}.")
            if claim.section not in sections:
                raise ValueError(
                    f"Claim {claim.id!r} names section {claim.section!r}, which is not one of "
                    f"{sorted(sections)} in {str(path)!r}."
                )
            claims[claim.id] = claim
        requires = dict(data.get("requires", {}))
        for claim_id, table in requires.items():
            if claim_id not in claims or not set(table) <= REQUIREMENT_KEYS:
                raise ValueError(
                    f"[requires.{claim_id}] in {str(path)!r} must name a claim of the catalogue and use only the keys "
                    f"{sorted(REQUIREMENT_KEYS)}. Received: {sorted(table)}."
                )
        return cls(sections, claims, requires)

    def unknown(self, ids):
        """Returns the ids that are not in the catalogue, in the order given."""
        return [i for i in ids if i not in self.claims]


# --- the claim markers in source ----------------------------------------------------------------


def claim_ids(tree):
    """The claim ids named by `claim(...)` calls under an AST node, in source order."""
    return [
        arg.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "claim"
        for arg in node.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    ]


def scan_claim_markers(directory):
    """Maps each Python file under `directory` to the sorted claim ids its `claim(...)` markers name.

    Reading the source (not collecting it) lets a partial run tell 'not run' from 'untested'.
    """
    return {path: ids for path in sorted(Path(directory).rglob("*.py")) if (ids := _claim_ids_in(path))}


# path -> ((mtime_ns, size), ids). A warm process (`exercises check --watch`) and a check that scans
# before pytest does parse each file once, and again only after it changes.
_SCANNED = {}


def _claim_ids_in(path):
    stat = path.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _SCANNED.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    ids = sorted(set(claim_ids(tree)))
    _SCANNED[path] = (key, ids)
    return ids


# --- which claims this backend and these releases can run -----------------------------------------


def requirement_unmet(requirement, backend, versions):
    """Why a claim cannot run here (a skip reason), or None when it can.

    Args:
        requirement: one `[requires.<id>]` table, e.g. `{"backends": ["tensorflow"], "why": "..."}`.
        backend: the Keras backend of this run.
        versions: installed versions, e.g. `{"keras": "3.15.1"}`, for `since = {keras = "3.x"}`.
    """
    backends = requirement.get("backends")
    if backends and backend not in backends:
        only = "TensorFlow" if backends == ["tensorflow"] else "/".join(backends)
        return f"{only}-only claim: {requirement.get('why', 'see spec/claims.toml')}"
    return older_than(requirement.get("since", {}), versions, requirement.get("note", ""), "claim holds")


def skip_reason_for(requirements, runs_on, backend, versions):
    """Why a test cannot run here, or None: its own `runs_on` backends, else its claims' requirements.

    Args:
        requirements: the `[requires.<id>]` tables of the test's claims.
        runs_on: `(backends, why)` from the test's `runs_on` marker, or None. A test that names its
            backends replaces its claims' `backends` (a JAX rung of a TensorFlow-only claim); their
            `since` still applies.
        backend, versions: as for `requirement_unmet`.
    """
    if runs_on:
        backends, why = runs_on
        if backend not in backends:
            return f"runs under KERAS_BACKEND={'/'.join(backends)}: {why}".rstrip(": ")
        requirements = [{k: v for k, v in r.items() if k != "backends"} for r in requirements]
    return next((r for r in (requirement_unmet(q, backend, versions) for q in requirements) if r), None)


def older_than(since, versions, why, what):
    """`"<what> since <package> <release>; <installed> is installed: <why>"` for the first package of
    `since` (`{"keras": "3.15.0"}`) installed at an older release, else None."""
    for package, release in since.items():
        installed = versions.get(package)
        if installed and _version(installed) < _version(release):
            return f"{what} since {package} {release}; {installed} is installed: {why}".rstrip(": ")
    return None


def installed_versions(packages):
    """`{package: version}` for those of `packages` that are installed."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


def _version(text):
    return tuple(int(p) for p in text.split("+")[0].split(".")[:3] if p.isdigit())
