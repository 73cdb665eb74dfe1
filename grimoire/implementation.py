"""Load the implementation the spec checks: the reference ``grimoire`` or a learner's package."""

import importlib
import importlib.util
import sys
from pathlib import Path

DEFAULT = "grimoire"


class Implementation:
    """A package whose submodules (``params``, ``models``, ...) are imported on first access.

    Example:

    >>> impl = Implementation.load("grimoire")
    >>> impl.params.dense_params(3, 32)
    128
    """

    def __init__(self, package, origin):
        self._package = package
        self.origin = origin

    @classmethod
    def load(cls, spec=DEFAULT):
        """Loads a package given as an importable name or as a path to a package directory."""
        if not isinstance(spec, (str, Path)) or not str(spec):
            raise TypeError(
                "Argument `spec` must be a module name or a path to a package directory. "
                f"Received: spec={spec!r}"
            )
        path = Path(spec)
        if path.is_dir():
            return cls(_import_directory(path.resolve()), str(path.resolve()))
        if path.suffix == ".py" or "/" in str(spec) or "\\" in str(spec):
            raise ValueError(
                f"Argument `spec` looks like a path but {str(spec)!r} is not a package directory. "
                "Pass the directory that holds __init__.py (e.g. `--impl my_grimoire/`)."
            )
        return cls(importlib.import_module(str(spec)), str(spec))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"{self._package.__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{self._package.__name__}.{name}":
                raise
            raise NotImplementedError(
                f"The implementation at {self.origin!r} has no module `{name}` yet."
            ) from None

    def __repr__(self):
        return f"Implementation({self.origin!r})"


def _import_directory(path):
    init = path / "__init__.py"
    if not init.is_file():
        raise ValueError(
            f"Directory {str(path)!r} is not a Python package: it has no __init__.py. "
            "Point `--impl` at the package folder that `grimoire exercises init` wrote."
        )
    # A unique module name keeps a learner's package apart from the installed reference.
    name = "grimoire_impl_" + "".join(c if c.isalnum() else "_" for c in path.name)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(path)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
