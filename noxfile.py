"""Nox sessions: the spec on one (TensorFlow, Keras, backend) cell of the claims matrix.

    nox -l                                                        # the cells
    nox -s "cell(tf2.16.2-keras3.8.0-tensorflow)" -- build/matrix  # one cell: its record under build/matrix/cells
    grimoire matrix --tensorflow 2.16.2,2.21.0 --backend tensorflow,jax   # several cells, one table

The cells are `$GRIMOIRE_CELLS` (cell names, comma-separated: `grimoire matrix` picks them from pip's
live release lists) or else `grimoire.tooling.matrix.DEFAULT_CELLS` (the lists recorded there).
After `--`: the output folder, then optionally the xdist workers and test paths (`build/matrix 0 spec/a_dense`).
"""

import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))  # nox's own Python has no grimoire installed; the tooling imports no TensorFlow
from grimoire.tooling import matrix  # noqa: E402

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = []  # a bare `nox` runs nothing: a cell installs TensorFlow, choose one

CELLS = os.environ.get("GRIMOIRE_CELLS") or ",".join(c.name for c in matrix.DEFAULT_CELLS)


@nox.session(python="3.11")
@nox.parametrize("name", [nox.param(name, id=name) for name in CELLS.split(",")])
def cell(session, name):
    """Installs the project with one TensorFlow and Keras pinned, runs the spec on one backend, and
    writes the cell's record (`DIR/cells/<cell>.json`) and the spec's output (`DIR/logs/<cell>.run.log`)."""
    matrix.run_session(session, matrix.Cell.parse(name), *session.posargs)
