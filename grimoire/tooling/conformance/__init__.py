"""`grimoire conformance`: the spec's claims run against other libraries, one table of which hold.

For each peer (`peers.PEERS`): find or make its environment, run the claims of its section with
`pytest --impl <its adapter>` (the adapters note which tests reached the peer), measure the cause of
each differing cell (`causes`), and write DIR/conformance.json and DIR/README.md (`table`).

    grimoire conformance [--peers tf-keras-vis,xplique,keras,scikit-learn] [--out DIR] [--claims ID,...] [--no-install]

A peer that cannot be imported or installed is reported as "not installed", never as a failure.
A new release of a peer is one command away from a new column: `--peers xplique` after changing
its pin in `peers.py` (or a fresh `build/conformance/` environment).
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..claims import Catalogue, installed_versions
from .. import variant
from ..project import CATALOGUE, project_root, pytest_command
from . import table
from .peers import PEERS, check_names
from .shared import CALLS_ENV, KINDS, calls, kind_raised_on

RUN_TIMEOUT = 3600  # seconds per peer: section F on two cores takes a few minutes
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "2"}


def python_for(peer, root, install=True):
    """`(python, reason)`: the interpreter in which `peer` imports, or `(None, why not)`."""
    if not peer.install:
        if importlib.util.find_spec(peer.module) is None:
            return None, f"`{peer.module}` does not import here (pip install -e '.[test]' installs tf-keras-vis)"
        return sys.executable, ""
    venv = Path(root, "build", "conformance", f"venv-{peer.name}")
    python = venv / "bin" / "python"
    if not _imports(python, peer.module):
        if not install:
            return None, f"no environment at {venv} (run without --no-install to make it)"
        try:
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True,
                           capture_output=True, text=True, timeout=600)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", *peer.install], check=True,
                           capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", "") or str(error)
            return None, f"could not install {', '.join(peer.install)}: {detail.strip().splitlines()[-1] if detail.strip() else error}"
        if not _imports(python, peer.module):
            return None, f"`{peer.module}` does not import in {venv}"
    return str(python), ""


def _imports(python, module):
    if not Path(python).exists():
        return False
    probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, timeout=300,
                           env={**os.environ, **QUIET})
    return probe.returncode == 0


def _version(python, distribution):
    probe = subprocess.run([python, "-c", f"from importlib.metadata import version; print(version({distribution!r}))"],
                           capture_output=True, text=True, timeout=120)
    return probe.stdout.strip() or "?"


def run_peer(peer, python, claims, root, work):
    """Runs `claims` against `peer`'s adapter in `python`; returns `(records, asked test ids, log)`."""
    ledger, outcomes, called = (work / f"{peer.name}.{n}" for n in ("ledger.json", "outcomes.json", "calls.txt"))
    command = pytest_command(["--no-header", "--outcomes-json", str(outcomes), f"spec/{_section_folder(root, peer.section)}"],
                             python=python, workers=0, ledger=ledger, impl=peer.adapter, claims=claims)
    outcomes.unlink(missing_ok=True)
    ran = variant.run(command, cwd=root, env={**_env(root), CALLS_ENV: str(called)}, timeout=RUN_TIMEOUT)
    records = json.loads(outcomes.read_text(encoding="utf-8")) if outcomes.is_file() else []
    return records, calls(str(called)).get(peer.name, set()), ran.output


def _env(root):
    """A peer's process environment: quiet TensorFlow, and the checkout importable ahead of any PYTHONPATH."""
    return {**os.environ, **QUIET, "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}


def _section_folder(root, section):
    return next(p.name for p in sorted(Path(root, "spec").iterdir()) if p.name.startswith(section.lower() + "_"))


def diagnose(peer, python, cells, root):
    """Adds the measured cause to each differing cell (`causes.KNOWN`, or what the peer raised, in its words)."""
    differing = [c for c, cell in cells.items() if cell["verdict"] == table.DIFFERS]
    if not differing:
        return
    probe = subprocess.run([python, "-m", "grimoire.tooling.conformance.causes", peer.name, peer.adapter,
                            ",".join(differing)], cwd=root, capture_output=True, text=True, timeout=1200,
                           env=_env(root))
    found = json.loads(probe.stdout.strip().splitlines()[-1]) if probe.returncode == 0 and probe.stdout.strip() else {}
    for claim in differing:
        cell = cells[claim]
        if claim in found:
            cell.update({k: found[claim][k] for k in ("kind", "cause", "measured", "confirmed")})
        elif cell["failure"] == table.RAISED:
            said = table.peer_message(cell["first_failure"])
            kind = kind_raised_on(said)
            cell.update(kind=f"peer cannot take {KINDS[kind]}" if kind else "peer raised", measured="",
                        cause=f"{said} (in {cell['test'].split('::')[-1]})")


def conformance(names=None, out="conformance", claims=None, install=True, root=None):
    """Runs every named peer; writes and returns the path of DIR/README.md."""
    root = Path(root or project_root())
    catalogue = Catalogue.load(root / CATALOGUE)
    wanted = set(claims.split(",")) if claims else None
    peers = check_names(names or list(PEERS))
    document = {"when": time.strftime("%Y-%m-%d", time.gmtime()), "versions": _versions(), "claims": {}, "peers": []}
    with tempfile.TemporaryDirectory(prefix="grimoire-conformance-") as work:
        for peer in peers:
            section = [c.id for c in catalogue.claims.values() if c.section == peer.section and (not wanted or c.id in wanted)]
            document["claims"][peer.section] = section
            ids = [c for c in section if not peer.only or c in peer.only]
            entry = {"name": peer.name, "section": peer.section, "note": peer.note}
            started = time.monotonic()
            print(f"{peer.name}: finding its environment ...", flush=True)
            python, reason = python_for(peer, root, install)
            if python is None:
                entry.update(status=table.NOT_INSTALLED, reason=reason)
                print(f"{peer.name}: not installed ({reason})", flush=True)
            else:
                entry["version"] = _version(python, peer.distribution)
                print(f"{peer.name} {entry['version']}: running {len(ids)} claims ...", flush=True)
                records, asked, log = run_peer(peer, python, ids, root, Path(work))
                cells = table.cells(records, asked, ids, peer=peer.name, learners_own=peer.learners_own)
                diagnose(peer, python, cells, root)
                cells.update({c: {"verdict": table.NOT_APPLICABLE, "reason": peer.elsewhere, "asked": 0, "tests": 0}
                              for c in section if c not in ids})
                entry.update(status="ran", cells=cells, tests=len(records), log_tail=log[-4000:])
            entry["seconds"] = round(time.monotonic() - started, 1)
            document["peers"].append(entry)
    return table.write(out, document)


def _versions():
    return {"python": sys.version.split()[0], **installed_versions(("tensorflow", "keras", "numpy"))}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="grimoire conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated, among {', '.join(PEERS)} (default: all)")
    parser.add_argument("--out", default="conformance", metavar="DIR", help="where to write README.md and conformance.json")
    parser.add_argument("--claims", default=None, metavar="ID,...", help="only these claims (default: each peer's section)")
    parser.add_argument("--no-install", action="store_true", help="never create a peer's environment; report it as not installed")
    args = parser.parse_args(argv)
    try:
        readme = conformance(args.peers, args.out, args.claims, install=not args.no_install)
    except (ValueError, FileExistsError) as error:
        raise SystemExit(f"grimoire conformance: {error}") from None
    print(Path(readme).read_text(encoding="utf-8"))
    print(f"Wrote {readme} and {Path(readme).with_name('conformance.json')}.")
    return 0
