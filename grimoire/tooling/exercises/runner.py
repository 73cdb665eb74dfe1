"""Running the spec for a check: in this process for a few claims, in workers for all of them.

A check of one claim or one section runs pytest in the process that asked (`pytest.main`): no
interpreter to start, no xdist workers, each importing TensorFlow again. Between two runs in the same
process (`--watch`) the learner's package is dropped from `sys.modules`, so the next run imports
what was just saved, while TensorFlow, Keras and the spec's own modules stay loaded.
"""

import contextlib
import io
import os
import sys
from pathlib import Path

import pytest

from .. import variant
from ..project import project_root, pytest_command


def forget_package(impl):
    """Drops the modules of the package at `impl` from `sys.modules`; returns how many it dropped.

    `Implementation.load` imports a package directory under a name of its own
    (`grimoire_impl_<folder>_<hash>`); every module whose file lies under `impl` goes.
    """
    folder = Path(impl).resolve()
    # Plain string prefixes (the folder as given and resolved): resolving the path of each of the
    # thousands of modules TensorFlow loads took longer than the check itself.
    prefixes = tuple({str(folder) + os.sep, str(Path(impl).absolute()) + os.sep})
    names = [
        name for name, module in list(sys.modules.items())
        if isinstance(getattr(module, "__file__", None), str) and module.__file__.startswith(prefixes)
    ]
    for name in names:
        del sys.modules[name]
    return len(names)


def run_in_process(args, *, impl=None):
    """Runs pytest on `args` in this process from the project root; returns `(exit code, output)`.

    Pytest's own output is captured and returned rather than printed: the check prints its own
    summary, and pytest's output only when the run could not start.
    """
    if impl is not None:
        forget_package(impl)
    here = os.getcwd()
    output = io.StringIO()
    try:
        os.chdir(project_root())
        with contextlib.redirect_stdout(output):
            code = pytest.main(list(args))
    finally:
        os.chdir(here)
    return int(code), output.getvalue()


def run_in_workers(args):
    """Runs pytest on `args` in a subprocess, with xdist workers; returns `(code, output)`."""
    ran = variant.run(pytest_command(args), cwd=project_root())
    return ran.code, ran.output
