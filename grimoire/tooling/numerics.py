"""Runs the spec under several numeric configurations and checks every claim gets the same verdict.

A claim's verdict must not depend on the machine: not on oneDNN being on or off, not on the widest
vector instructions oneDNN may use, not on the number of threads, not on running tests in parallel.
This runs `python -m pytest --ledger-json <dir>/<config>.json -p no:cacheprovider -q` from the
project root once per configuration, then compares the ledgers claim by claim (status and the
count of passed, failed, skipped and pending tests) against the first configuration.

Configurations (environment variables set for the run, extra pytest arguments):

    default         nothing changed (oneDNN's default differs by CPU: on for AVX-512-class ones)
    onednn-on       TF_ENABLE_ONEDNN_OPTS=1      (oneDNN's kernels, whatever the CPU's default)
    onednn-off      TF_ENABLE_ONEDNN_OPTS=0      (TensorFlow's own Eigen kernels)
    isa-avx2        ONEDNN_MAX_CPU_ISA=AVX2      (no AVX-512 code paths)
    isa-sse41       ONEDNN_MAX_CPU_ISA=SSE41     (no AVX at all)
    one-thread      TF_NUM_INTRAOP_THREADS=1, TF_NUM_INTEROP_THREADS=1
    xdist-2         pytest -n 2

Example:

    grimoire numerics                                        # the whole spec, every configuration
    grimoire numerics --config default --config onednn-off -- spec/a_dense

Exit status: 0 when every configuration gives every claim the same verdict, 1 otherwise (also when
a run wrote no ledger).
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from . import variant
from .ledger import OUTCOMES
from .project import project_root, pytest_command

CONFIGS = {
    "default": ({}, []),
    "onednn-on": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, []),
    "onednn-off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, []),
    "isa-avx2": ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, []),
    "isa-sse41": ({"ONEDNN_MAX_CPU_ISA": "SSE41"}, []),
    "one-thread": ({"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}, []),
    "xdist-2": ({}, ["-n", "2"]),
}

# Environment variables that would make two configurations the same run if inherited.
CONTROLLED = sorted({name for env, _ in CONFIGS.values() for name in env})


def run_config(name, root, out_dir, pytest_args=(), runner=variant.run):
    """Runs the spec under configuration `name` (its output kept in `<config>.log`); returns
    `(ledger path, exit code, seconds)`."""
    env_changes, extra = CONFIGS[name]
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env.update(env_changes)
    ledger = Path(out_dir, f"{name}.json")
    command = pytest_command([*extra, *pytest_args], parallel=False, ledger=ledger, default=())
    ran = runner(command, cwd=root, env=env, log=Path(out_dir, f"{name}.log"), ledger=ledger)
    return ledger, ran.code, ran.seconds


def load_ledger(path):
    """Reads a ledger written by `--ledger-json`: `{claim id: (status, counts)}` and its summary."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    claims = {row["id"]: (row["status"], tuple(row.get(o, 0) for o in OUTCOMES)) for row in data["claims"]}
    return claims, data.get("summary", {})


def diff_ledgers(baseline, other):
    """The claims whose verdict differs between two loaded ledgers, as readable lines.

    A claim differs when its status differs or when the counts of passed, failed, skipped or
    pending tests differ (a test that flips inside a claim that stays failing is a difference too).
    A claim present in one ledger only is a difference.
    """
    lines = []
    for claim_id in sorted(set(baseline) | set(other)):
        if claim_id not in baseline or claim_id not in other:
            where = "baseline" if claim_id in baseline else "this run"
            lines.append(f"{claim_id}: only in {where}")
            continue
        (status_a, counts_a), (status_b, counts_b) = baseline[claim_id], other[claim_id]
        if status_a != status_b or counts_a != counts_b:
            shown = lambda status, counts: f"{status} ({', '.join(f'{n} {o}' for n, o in zip(counts, OUTCOMES) if n) or 'no tests'})"  # noqa: E731
            lines.append(f"{claim_id}: {shown(status_a, counts_a)} -> {shown(status_b, counts_b)}")
    return lines


def compare(ledgers):
    """Rows `(config, summary, differences)` against the first configuration, from `{config: ledger path or None}`."""
    names = list(ledgers)
    loaded = {name: load_ledger(path) if path is not None and Path(path).exists() else None for name, path in ledgers.items()}
    baseline = loaded[names[0]]
    rows = []
    for name in names:
        if loaded[name] is None:
            rows.append((name, "no ledger written (pytest crashed or was interrupted: see its .log)", ["no ledger"]))
            continue
        claims, summary = loaded[name]
        differences = [] if name == names[0] or baseline is None else diff_ledgers(baseline[0], claims)
        if baseline is None and name != names[0]:
            differences = [f"no baseline ledger ({names[0]}) to compare with"]
        rows.append((name, ", ".join(f"{count} {status}" for status, count in summary.items()), differences))
    return rows


def format_table(rows, seconds):
    """The rows as an aligned text table, differences indented under their configuration."""
    width = max(len("configuration"), *(len(r[0]) for r in rows))
    lines = [f"{'configuration':<{width}}  {'time':>6}  summary / differences from {rows[0][0]}"]
    for name, summary, differences in rows:
        took = f"{seconds[name]:5.0f}s" if name in seconds else ""
        lines.append(f"{name:<{width}}  {took:>6}  {summary}")
        lines += [f"{'':<{width}}  {'':>6}    ! {d}" for d in differences]
        if not differences and name != rows[0][0]:
            lines.append(f"{'':<{width}}  {'':>6}    same verdict on every claim")
    return "\n".join(lines)


def main(argv=None, runner=variant.run):
    """Runs the configurations, prints the table and returns 1 on any difference, else 0."""
    parser = argparse.ArgumentParser(prog="grimoire numerics", description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", choices=list(CONFIGS), help="a configuration to run (repeatable; default: all)")
    parser.add_argument("--root", default=None, help="the project root (default: the checkout grimoire runs from)")
    parser.add_argument("--out", default=None, help="directory for the ledgers (default: a temporary one)")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest (e.g. a section: spec/a_dense)")
    args = parser.parse_args(argv)
    names = args.config or list(CONFIGS)
    out_dir = args.out or tempfile.mkdtemp(prefix="grimoire-numerics-")
    Path(out_dir).mkdir(parents=True, exist_ok=True)  # pytest refuses a --ledger-json in a missing folder
    ledgers, seconds = {}, {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        ledger, _, seconds[name] = run_config(name, args.root or project_root(), out_dir, args.pytest_args, runner=runner)
        ledgers[name] = ledger
    rows = compare(ledgers)
    print(format_table(rows, seconds))
    print(f"ledgers and each run's output (<config>.log): {out_dir}")
    return 1 if any(differences for _, _, differences in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
