"""`grimoire matrix`: the spec run once per (TensorFlow release, Keras release, backend) cell.

Each cell is a session of noxfile.py (nox makes its environment with `uv` and installs the project
with the cell's TensorFlow and Keras pinned); it runs the whole spec with `KERAS_BACKEND` set and
writes the cell's record. The records of all cells end up in one table, `DIR/matrix.json` and
`DIR/README.md`, claims whose status differs between cells first.

The default cells:

    for each TensorFlow release 2.16 .. 2.21, its newest patch:
        once with the newest Keras 3, once with the oldest Keras 3 its metadata accepts
        (TensorFlow's `Requires-Dist: keras>=...`, raised to the project's own `keras>=` in
        pyproject.toml if that is higher), on the TensorFlow backend
    the newest TensorFlow release with the newest Keras on JAX (run first)

`noxfile.py` imports this module into nox's own Python: nothing here imports TensorFlow or Keras.
"""

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .claims import Catalogue
from .files import write_json_atomically
from . import variant
from .project import pytest_command

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("tensorflow", "jax", "torch")
FIRST_RELEASE, LAST_RELEASE = (2, 16), (2, 21)  # Keras 3 is TensorFlow's Keras from 2.16 on
CELL_TIMEOUT = 7200  # seconds for a cell's install and run: a hung cell must not stop the others

# What PyPI listed on 2026-11-29, so `nox -l` and the unit tests need no network. `grimoire matrix`
# asks pip for the live lists (`--offline` uses these).
KNOWN_TENSORFLOW = (
    "2.16.1", "2.16.2", "2.17.0", "2.17.1", "2.18.0", "2.18.1", "2.19.0", "2.19.1", "2.20.0", "2.21.0",
)
KNOWN_KERAS = (
    "3.0.0", "3.0.1", "3.0.2", "3.0.3", "3.0.4", "3.0.5", "3.1.0", "3.1.1", "3.2.0", "3.2.1", "3.3.0",
    "3.3.1", "3.3.2", "3.3.3", "3.4.0", "3.4.1", "3.5.0", "3.6.0", "3.7.0", "3.8.0", "3.9.0", "3.9.1",
    "3.9.2", "3.10.0", "3.11.0", "3.11.1", "3.11.2", "3.11.3", "3.12.0", "3.12.1", "3.12.2", "3.12.3",
    "3.12.4", "3.13.0", "3.13.1", "3.13.2", "3.14.0", "3.14.1", "3.15.0", "3.15.1",
)
# Each release's `Requires-Dist: keras>=...` (pip metadata).
KNOWN_KERAS_FLOORS = {
    "2.16.2": "3.0.0", "2.17.1": "3.2.0", "2.18.1": "3.5.0", "2.19.1": "3.5.0", "2.20.0": "3.10.0",
    "2.21.0": "3.12.0",
}


@dataclass(frozen=True)
class Cell:
    tensorflow: str
    keras: str
    backend: str

    @property
    def name(self):
        """A file-name-safe id: `tf2.16.2-keras3.0.0-tensorflow`."""
        return f"tf{self.tensorflow}-keras{self.keras}-{self.backend}"

    @classmethod
    def parse(cls, name):
        """The cell a name stands for: `"tf2.16.2-keras3.0.0-tensorflow"` -> `Cell("2.16.2", "3.0.0", "tensorflow")`."""
        match = re.fullmatch(r"tf([\w.]+)-keras([\w.]+)-(\w+)", name.strip())
        if not match or match.group(3) not in BACKENDS:
            raise ValueError(f"A cell name reads `tf<TensorFlow>-keras<Keras>-<backend>`, the backend one of {BACKENDS}. "
                             f"Received: {name!r}")
        return cls(*match.groups())


def parse_version(text):
    """`"2.16.2"` -> `(2, 16, 2)`; None for anything but a final release (rc, dev, post)."""
    if not re.fullmatch(r"\d+(\.\d+)*", text.strip()):
        return None
    return tuple(int(p) for p in text.strip().split("."))


def releases(versions):
    """The final releases among `versions`, oldest first."""
    return sorted((v for v in versions if parse_version(v)), key=parse_version)


def newest_patches(tensorflow_versions, first=FIRST_RELEASE, last=LAST_RELEASE):
    """The newest patch of each minor release from `first` to `last` (inclusive), oldest first."""
    newest = {}
    for v in releases(tensorflow_versions):
        minor = parse_version(v)[:2]
        if first <= minor <= last:
            newest[minor] = v  # sorted ascending, so the last one wins
    return [newest[k] for k in sorted(newest)]


def keras_floor(requires_dist, default="3.0.0"):
    """The lowest Keras a TensorFlow release accepts, from its `Requires-Dist` lines.

    `["keras>=3.2.0", "numpy<2"]` -> `"3.2.0"`; `default` when no Keras floor is stated.
    """
    for line in requires_dist:
        match = re.match(r"\s*keras\s*\(?\s*>=\s*([\w.]+)", line.split(";")[0])
        if match:
            return match.group(1)
    return default


def project_keras_floor(root=ROOT):
    """The project's own `keras>=` in pyproject.toml dependencies, or None."""
    import tomllib

    data = tomllib.loads((Path(root) / "pyproject.toml").read_text(encoding="utf-8"))
    return keras_floor(data.get("project", {}).get("dependencies", []), default=None)


def raise_floors(floors, project_floor):
    """Each TensorFlow release's Keras floor, raised to the project's own where that is higher:
    the oldest cell is the oldest Keras that both accept."""
    if not project_floor:
        return dict(floors)
    return {tf: max(f, project_floor, key=parse_version) for tf, f in floors.items()}


def oldest_keras(keras_versions, floor):
    """The oldest Keras 3 release at or above `floor`."""
    low = max(parse_version(floor), (3,))
    for v in releases(keras_versions):
        if parse_version(v) >= low:
            return v
    raise ValueError(f"No Keras release at or above {floor!r} in {list(keras_versions)!r}.")


def newest_keras(keras_versions):
    return [v for v in releases(keras_versions) if parse_version(v)[0] == 3][-1]


def select_cells(tensorflow_versions, keras_versions, floors, tensorflow=None, keras=None, backends=None):
    """The cells to run, in run order.

    Args:
        tensorflow_versions: every TensorFlow version on the index.
        keras_versions: every Keras version on the index.
        floors: dict, TensorFlow version -> lowest Keras it accepts (see `keras_floor`).
        tensorflow: the TensorFlow versions asked for; default: `newest_patches`.
        keras: the Keras versions asked for; default: per TensorFlow release, the newest Keras
            and the oldest its floor allows.
        backends: the backends asked for; default: TensorFlow on every release, plus JAX and
            torch on the newest one.

    Returns:
        A list of `Cell`, in run order: JAX and torch first (the widest differences, so a long run
        shows them early), then each TensorFlow release oldest first, its oldest Keras before its
        newest. JAX and torch cells use only the newest chosen TensorFlow (installed for the spec's
        TensorFlow-only tests; Keras on JAX or torch does not use it) and, unless `keras` is given,
        only the newest Keras.
    """
    chosen_tf = list(tensorflow) if tensorflow else newest_patches(tensorflow_versions)
    if not chosen_tf:
        raise ValueError(f"No TensorFlow release between {FIRST_RELEASE} and {LAST_RELEASE} in {tensorflow_versions!r}.")
    backends = list(backends) if backends else list(BACKENDS)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ValueError(f"Argument `backend` must name backends from {BACKENDS}. Received: {unknown!r}")
    newest, last_tf = newest_keras(keras_versions), max(chosen_tf, key=parse_version)
    cells = [Cell(last_tf, k, other) for other in ("jax", "torch") if other in backends for k in dict.fromkeys(keras or [newest])]
    for tf in chosen_tf if "tensorflow" in backends else ():
        versions = keras or [oldest_keras(keras_versions, floors.get(tf, "3.0.0")), newest]
        cells += [Cell(tf, k, "tensorflow") for k in dict.fromkeys(versions)]  # newest == oldest counts once
    return cells


# PyPI's torch wheel brings CUDA libraries (about 3 GB); a cell needs the CPU build, from PyTorch's
# own index or a local wheel: `GRIMOIRE_TORCH` names either (a requirement or a wheel's path).
TORCH_CPU = ("torch", "--extra-index-url", "https://download.pytorch.org/whl/cpu", "--index-strategy", "unsafe-best-match")


def install_requirements(cell, root="."):
    """What `uv pip install` gets for a cell: the project with its test extra, TF and Keras pinned."""
    reqs = ["-e", f"{root}[test]", f"tensorflow=={cell.tensorflow}", f"keras=={cell.keras}"]
    if cell.backend == "jax":
        reqs.append("jax[cpu]")
    if cell.backend == "torch":
        chosen = os.environ.get("GRIMOIRE_TORCH")
        reqs.extend([chosen] if chosen else TORCH_CPU)
    return reqs


def pytest_args(ledger_json, select=(), workers="auto", python="python"):
    """The spec run of one cell, ledger as JSON: `project.pytest_command` with the cell's Python.

    `select`: test paths to run instead of the whole checkout (the spec and the study text's pages);
    claims outside them are 'not run'. `workers`: pytest-xdist's `-n` (cells run one after another;
    within a cell the spec gives the same ledger serially and under xdist, so a cell may use every core).
    """
    return pytest_command(select, python=python, workers=workers, ledger=ledger_json, default=())


# --- looking versions up (pip, the ordinary client) -----------------------------------------------


def _pip(*args):
    out = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600)
    if out.returncode:
        hint = ""
        if "No module named pip" in out.stderr:  # a venv made by `uv venv` has no pip
            hint = ("\nThis Python has no pip (a `uv venv`?): `python -m ensurepip` adds it, or pass --offline "
                    "to use the release lists recorded in grimoire/tooling/matrix.py.")
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{out.stderr[-2000:]}{hint}")
    return out.stdout


def index_versions(package):
    """Every version of `package` that `pip index versions` lists."""
    text = _pip("index", "versions", package)
    match = re.search(r"Available versions:\s*(.+)", text)
    return [v.strip() for v in match.group(1).split(",")] if match else []


def requires_dist(package, version):
    """`Requires-Dist` of one release, from pip's dry-run report (metadata only, no wheel)."""
    report = json.loads(_pip("install", "--dry-run", "--no-deps", "--ignore-installed", "--quiet", "--report", "-", f"{package}=={version}"))
    return report["install"][0]["metadata"].get("requires_dist", [])


def lookup_versions(tensorflow=None, offline=False, log=print):
    """`(tensorflow_versions, keras_versions, floors)`, live from pip unless `offline`."""
    if offline:
        return list(KNOWN_TENSORFLOW), list(KNOWN_KERAS), raise_floors(KNOWN_KERAS_FLOORS, project_keras_floor())
    log("looking up TensorFlow and Keras releases with pip ...")
    tf_versions, keras_versions = index_versions("tensorflow"), index_versions("keras")
    floors = {}
    for tf in tensorflow or newest_patches(tf_versions):
        floors[tf] = keras_floor(requires_dist("tensorflow", tf))
    return tf_versions, keras_versions, raise_floors(floors, project_keras_floor())


DEFAULT_CELLS = select_cells(*lookup_versions(offline=True))


# --- running cells: a nox session each --------------------------------------------------------------


def run_session(session, cell, out="build/matrix", workers="auto", *select):
    """The body of noxfile.py's `cell` session: install the cell, run the spec, write its record.

    nox makes the environment and installs; the spec's output goes to `DIR/logs/<cell>.run.log` and
    its ledger to `DIR/cells/<cell>.ledger.json`. The record (`DIR/cells/<cell>.json`, as in
    matrix.json) is written after the install and again after the run, so a run that hangs or
    crashes still leaves its install time and a status saying how far it got.
    """
    out = Path(out).resolve()
    record_path, ledger = out / "cells" / f"{cell.name}.json", out / "cells" / f"{cell.name}.ledger.json"
    record_path.parent.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    record = _record(cell, select, "run-failed", f"logs/{cell.name}.run.log")
    start = time.monotonic()
    if session.venv_backend != "none":  # `--force-venv-backend none`: the cell's releases are those installed
        session.install(*install_requirements(cell, str(ROOT)))
    record["seconds"]["install"] = round(time.monotonic() - start, 1)
    write_json_atomically(record_path, record)
    env = dict(os.environ, KERAS_BACKEND=cell.backend, TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1")
    env.pop("VIRTUAL_ENV", None)
    python = sys.executable if session.venv_backend == "none" else str(Path(session.bin) / "python")
    command = pytest_args(ledger, select, workers, python=python)
    # In nox's process group: stopping the cell (its time limit, Ctrl-C) stops this pytest with it.
    ran = variant.run(command, cwd=ROOT, env=env, log=out / record["log"], ledger=ledger, own_group=False)
    record["pytest_exit"], record["seconds"]["run"] = ran.code, ran.seconds
    if ran.ledger is not None:
        record.update(status="ran", summary=ran.ledger.get("summary", {}),
                      claims={row["id"]: row["status"] for row in ran.ledger.get("claims", [])})
    write_json_atomically(record_path, record)


def run_cell(cell, out, keep_env=False, select=(), workers="auto", nox_args=()):
    """Runs one cell as noxfile.py's `cell` session; returns its record (never raises for a broken cell).

    nox's own output goes to `DIR/logs/<cell>.nox.log`; the environment is made under `DIR/envs/`
    and removed afterwards unless `keep_env`. `nox_args`: more options for nox, before `-s`.
    """
    out = Path(out).resolve()
    record_path = out / "cells" / f"{cell.name}.json"
    record_path.unlink(missing_ok=True)  # a stale record must not pass for this run's
    (out / "logs").mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--envdir", str(out / "envs"), *nox_args,
               "-s", f"cell({cell.name})", "--", str(out), str(workers), *select]
    try:
        ran = variant.run(command, cwd=ROOT, env=dict(os.environ, GRIMOIRE_CELLS=cell.name),
                          log=out / "logs" / f"{cell.name}.nox.log", timeout=CELL_TIMEOUT)
    finally:  # after Ctrl-C too: an environment holds a TensorFlow install (about 2 GB)
        if not keep_env:
            shutil.rmtree(out / "envs", ignore_errors=True)
    if not record_path.is_file():  # nox, the environment or the install failed
        record = _record(cell, select, "install-timeout" if ran.code == "timeout" else "install-failed", f"logs/{cell.name}.nox.log")
        record["seconds"]["install"] = ran.seconds
        return record
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if ran.code == "timeout" and record["status"] != "ran":
        record["status"] = "run-timeout"
    return record


def _record(cell, select, status, log):
    record = {**asdict(cell), "cell": cell.name, "status": status, "seconds": {}, "summary": {}, "claims": {}, "log": log}
    return {**record, "selection": list(select)} if select else record


def build_parser():
    p = argparse.ArgumentParser(prog="grimoire matrix", description=__doc__.split("\n")[0])
    p.add_argument("--tensorflow", help="comma-separated TensorFlow versions (default: newest patch of 2.16..2.21)")
    p.add_argument("--keras", help="comma-separated Keras versions (default: newest and oldest accepted, per release)")
    p.add_argument("--backend", help="comma-separated backends from tensorflow,jax,torch (default: all three; "
                   "a torch cell installs the CPU wheel, or GRIMOIRE_TORCH: a requirement or a wheel's path)")
    p.add_argument("--out", default="build/matrix", help="output directory (default: build/matrix)")
    p.add_argument("--offline", action="store_true", help="use the version lists recorded in this module")
    p.add_argument("--keep-envs", action="store_true", help="keep each cell's virtual environment")
    p.add_argument("--dry-run", action="store_true", help="list the cells and stop")
    p.add_argument("--select", help="comma-separated test paths to run instead of the whole spec (a quicker, partial table)")
    p.add_argument("--workers", default="auto",
                   help="pytest-xdist workers per cell: a number, 0 for serial, or auto (default: one per core)")
    p.add_argument("--keep-existing", action="store_true", help="keep the cells of DIR/matrix.json that this run does not redo")
    return p


def _split(text):
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def main(argv=None):
    """`grimoire matrix [--tensorflow V,..] [--keras K,..] [--backend tensorflow,jax,torch] [--out DIR]`."""
    from . import matrix_report  # here, so noxfile.py can load this file on its own

    args = build_parser().parse_args(argv)
    out = Path(args.out)
    tensorflow, keras, backends = _split(args.tensorflow), _split(args.keras), _split(args.backend)
    try:
        tf_versions, keras_versions, floors = lookup_versions(tensorflow, offline=args.offline)
        cells = select_cells(tf_versions, keras_versions, floors, tensorflow, keras, backends)
        matrix_report.check_writable(out)
    except (ValueError, RuntimeError, FileExistsError) as e:
        print(f"grimoire matrix: {e}", file=sys.stderr)
        return 2
    print(f"{len(cells)} cells: " + ", ".join(c.name for c in cells), flush=True)
    if args.dry_run:
        return 0
    if importlib.util.find_spec("nox") is None:
        print("grimoire matrix: each cell is a nox session, and nox is not installed in this Python. "
              "Install the matrix extra: `python -m pip install -e \".[matrix]\"`.", file=sys.stderr)
        return 2
    catalogue = Catalogue.load()
    names = {c.name for c in cells}
    kept = [r for r in matrix_report.read_records(out) if r["cell"] not in names] if args.keep_existing else []
    records = []
    for i, cell in enumerate(cells, 1):
        print(f"[{i}/{len(cells)}] {cell.name}: installing and running ...", flush=True)
        try:
            records.append(run_cell(cell, out, args.keep_envs, _split(args.select) or (), args.workers))
        except KeyboardInterrupt:
            done = f"{out / 'README.md'} holds the {len(records)} cell(s) this run finished" if records else "nothing written"
            print(f"grimoire matrix: interrupted during {cell.name}, its run stopped; {done}.", file=sys.stderr)
            return 130
        record = records[-1]
        s = record["seconds"]
        summary = ", ".join(f"{n} {k}" for k, n in record["summary"].items() if n)
        print(f"[{i}/{len(cells)}] {cell.name}: {record['status']} (install {s.get('install', 0):.0f} s, "
              f"run {s.get('run', 0):.0f} s) {summary}", flush=True)
        try:  # after every cell: a long run leaves partial results
            matrix_report.write_matrix(out, kept + records, catalogue)
        except OSError as error:  # a full disk: the write is atomic, so the previous table is whole
            print(f"grimoire matrix: could not write the table to {out} ({error}); the previous one is kept. "
                  "Free some space, or pass another --out.", file=sys.stderr)
            return 2
    print(f"wrote {out / 'matrix.json'} and {out / 'README.md'}")
    return 0 if all(r["status"] == "ran" for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
