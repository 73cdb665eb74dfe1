"""Load the implementation the spec checks: the reference ``grimoire`` or a learner's package."""

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from .layout import IMPLEMENTATION

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
        text = str(spec)
        if text.startswith("~"):
            text = str(Path(text).expanduser())
        if all(part.isidentifier() for part in text.split(".")):
            try:
                return cls(importlib.import_module(text), text)
            except ModuleNotFoundError as error:
                if error.name != text.split(".")[0] or not Path(text).is_dir():
                    raise
        path = Path(text)
        if path.is_dir():
            return cls(_import_directory(path.resolve()), str(path.resolve()))
        raise ValueError(
            f"Argument `spec` must be an importable package name or a package directory, but {text!r} is "
            "neither. Pass e.g. `--impl grimoire` or `--impl path/to/my_grimoire/` (the folder holding __init__.py)."
        )

    def __getattr__(self, name):
        # A missing module makes its claims pending; anything else is not part of the curriculum.
        if name not in IMPLEMENTATION:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}; its modules are {IMPLEMENTATION}.")
        try:
            return importlib.import_module(f"{self._package.__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{self._package.__name__}.{name}":
                raise
            # The stubs' marker: a missing module is "not written yet" (pending), like a stub.
            raise NotImplementedError(f"exercise: {name}") from None

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
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]  # two folders named alike stay apart
    name = "grimoire_impl_" + "".join(c if c.isalnum() else "_" for c in path.name) + "_" + digest
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(path)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
