"""Nox sessions: the spec on one (TensorFlow, Keras, backend) cell of the claims matrix.

    nox -l                                   # the cells
    nox -s "cell(tf2.16.2-keras3.0.0-tensorflow)" -- build/matrix/cells
    grimoire matrix --tensorflow 2.16.2,2.21.0 --backend tensorflow,jax   # several cells, one table

The cells are `grimoire.tooling.matrix.DEFAULT_CELLS` (recorded release lists, no network here);
`grimoire matrix` asks pip for the live lists and writes the table (docs/matrix.md).
"""

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # nox's own Python has no grimoire installed; the tooling imports no TensorFlow
from grimoire.tooling import matrix  # noqa: E402

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = []  # a bare `nox` runs nothing: a cell installs TensorFlow, choose one


@nox.session(python="3.11")
@nox.parametrize(
    ("tensorflow", "keras", "backend"),
    [nox.param(c.tensorflow, c.keras, c.backend, id=c.name) for c in matrix.DEFAULT_CELLS],
)
def cell(session, tensorflow, keras, backend):
    """Installs the project with one TensorFlow and Keras pinned and runs the spec on one backend.

    Positional arguments (after `--`): the directory for the ledger JSON (default: build/matrix/cells).
    """
    c = matrix.Cell(tensorflow, keras, backend)
    out = Path(session.posargs[0] if session.posargs else ROOT / "build" / "matrix" / "cells").resolve()
    out.mkdir(parents=True, exist_ok=True)
    session.install(*matrix.install_requirements(c, str(ROOT)))
    session.run(*matrix.pytest_args(out / f"{c.name}.json"), env={"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"})
