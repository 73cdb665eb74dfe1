"""The `grimoire` command line: one subcommand per job.

    grimoire check [PYTEST_ARGS...]    run the specification and print the claim ledger
                                       (arguments it does not know go to pytest)
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path


def project_root():
    """The source checkout holding `spec/` (the spec ships with the repository, not the wheel)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "spec" / "claims.toml").is_file():
        raise SystemExit(
            f"grimoire: no spec/ found next to the installed package ({root}). "
            "Install from a clone of the repository: `python -m pip install -e \".[test]\"`."
        )
    return root


def run_spec(pytest_args, *, parallel=True):
    """Runs pytest on the spec from the project root; returns pytest's exit code."""
    command = [sys.executable, "-m", "pytest"]
    if parallel and (os.cpu_count() or 1) > 1 and not any(a == "-n" or a.startswith("-n") for a in pytest_args):
        command += ["-n", "auto"]
    command += list(pytest_args) or ["spec"]
    return subprocess.call(command, cwd=project_root())


def check(args):
    return run_spec(args.pytest_args)


def build_parser():
    parser = argparse.ArgumentParser(prog="grimoire", description="TensorFlow/Keras fundamentals, proven by code.")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("check", help="run the specification and print the claim ledger")
    p.set_defaults(run=check, passes_pytest_args=True)

    return parser


def main(argv=None):
    parser = build_parser()
    # `check` hands every argument it does not know to pytest (`grimoire check -n 0 -k dense`).
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passes_pytest_args", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.pytest_args = unknown
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
