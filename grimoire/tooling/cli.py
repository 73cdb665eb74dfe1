"""The `grimoire` command line: one subcommand per job.

    grimoire check [PYTEST_ARGS...]    run the specification and print the claim ledger
                                       (arguments it does not know go to pytest)
    grimoire exercises init DIR        write a learner's package: the lessons stubbed, the support solved
                                       (--notebooks: one exercise notebook per section instead)
    grimoire exercises [next] [DIR]    the next function to write, its claim, the docs, the check command
    grimoire exercises hint [ID]       a claim's hint (default: the next step's)
    grimoire exercises solution FN     yours next to the reference's FN, once its tests pass in DIR (--dir, default mine)
    grimoire exercises list [DIR]      every claim by section: verified, failing or pending
    grimoire exercises reset FN        FN back to its stub in DIR (yours is kept in DIR/.grimoire/reset/)
    grimoire exercises check DIR [--section S | --claim ID] [--watch] [--no-server]
                                       check it against the spec; end with the progress
    grimoire exercises stop            stop the warm checker (it also stops after 15 idle minutes)
    grimoire report [--out DIR] [--quick] [--phases P,...]
                                       run the spec and the benchmarks; write DIR/README.md and PNGs
    grimoire mistakes [--claim ID] [--mistake ID] [--jobs N]
                                       plant each classic mistake in a copy; the spec must catch it
    grimoire matrix [--tensorflow V,...] [--keras K,...] [--backend tensorflow,jax] [--out DIR]
                                       the spec once per release/backend cell; DIR/matrix.json and README.md
    grimoire conformance [--peers P,...] [--out DIR] [--claims ID,...]
                                       the claims against other libraries' methods; DIR/README.md, a table
    grimoire notebooks [--check]       notebooks/ from the section pages of docs/ (--check: fail on drift)
    grimoire numerics [--config NAME ...] [-- PYTEST_ARGS]
                                       the spec with oneDNN off, narrower ISAs, one thread, -n 2; same ledgers
"""

import argparse
import contextlib
import importlib
import os
import signal
import sys
from pathlib import Path

from .exercises import guide, server
from .project import project_root, run_spec


def check(args):
    return run_spec(args.pytest_args)


@contextlib.contextmanager
def _refusing(command):
    """A refused input (ValueError) ends `grimoire exercises COMMAND` with one line, not a traceback."""
    try:
        yield
    except ValueError as error:
        raise SystemExit(f"grimoire exercises {command}: {error}") from None


def exercises_init(args):
    from .exercises import generate

    if args.notebooks:
        from .notebooks import write_exercise_notebooks

        with _refusing("init"):
            written = write_exercise_notebooks(args.dir)
        print(f"Wrote {len(written)} exercise notebooks to {args.dir}, one per section: open them in Jupyter or Colab.")
        return 0
    with _refusing("init"):
        written = generate.write_exercises(args.dir)
    print(f"Wrote {len(written)} files to {args.dir}; the claims and their functions are in {Path(args.dir) / 'EXERCISES.md'}.")
    print(f"What to write first: grimoire exercises next {args.dir}")
    if not args.no_server and _start_checker():
        print("A warm checker is loading TensorFlow in the background, so your first check answers in about a second "
              "(it stops after 15 idle minutes, or with `grimoire exercises stop`).")
    return 0


def _start_checker(path=None, environ=None):
    """Starts the warm checker unless it is turned off; True if one was asked to start."""
    if not server.enabled():
        return False
    try:  # a checker already running for this socket holds its lock: the new one sees it and exits at once
        server.start(path, environ=environ)
    except OSError as error:  # no private runtime directory, no room for the log: check cold, say why
        print(f"(no warm checker: {error})", file=sys.stderr)
        return False
    return True


def exercises_next(args):
    print(guide.describe_next(args.dir))
    return 0


def exercises_hint(args):
    with _refusing("hint"):
        print(guide.hint(args.id, impl=args.dir))
    return 0


def exercises_solution(args):
    answer = _ask_checker({"job": "solution", "impl": str(Path(args.dir).resolve()), "function": args.function}, "solution")
    if answer is not None:
        return answer
    with _refusing("solution"):
        code, text = guide.solution(args.function, impl=args.dir)
    print(text)
    return code


def exercises_list(args):
    answer = _ask_checker({"job": "list", "impl": str(Path(args.dir).resolve())}, "list")
    if answer is not None:
        return answer
    with _refusing("list"):
        print(guide.list_claims(args.dir))
    return 0


def exercises_reset(args):
    with _refusing("reset"):
        saved = guide.reset(args.function, impl=args.dir)
    print(f"{args.function} is a stub again in {args.dir}; your version is kept in {saved}.")
    return 0


def _ask_checker(request, command, path=None, note=""):
    """The warm checker's exit code after printing its answer (and `note`), or None when no checker answers."""
    if not server.enabled():
        return None
    answer = server.ask(request, path)
    if answer is None:
        return None
    if "error" in answer:
        raise SystemExit(f"grimoire exercises {command}: {answer['error']}")
    print(answer["output"], end="")
    print(f"\n(answered by the warm checker in {answer['seconds']:.1f} s{note})")
    return answer["code"]


def exercises_check(args):
    served = not args.watch and not args.no_server and server.enabled()
    # Before the check: a run in this process may touch os.environ, and the checker must not inherit that.
    environ = dict(os.environ)
    path = server.socket_path(environ=environ) if served else None
    if served and (args.section is not None or args.claim is not None):  # a check of everything uses workers
        try:
            code = _ask_checker({"job": "check", "impl": str(Path(args.dir).resolve()), "section": args.section,
                                 "claim": args.claim}, "check", path, "; `grimoire exercises stop` ends it")
        except KeyboardInterrupt:
            # The checker is busy with this check (maybe a loop that never ends): stop it, so the next
            # check does not queue behind it. The next check runs cold and starts a fresh checker.
            busy = server.pid(path)
            if busy:
                with contextlib.suppress(OSError):
                    os.kill(busy, signal.SIGTERM)
            print("\nStopped the check" + (f" and the warm checker running it (pid {busy})." if busy else "."), file=sys.stderr)
            return 130
        if code is not None:
            return code
    with _refusing("check"):
        if args.watch:
            from .exercises import watch

            return watch.watch_check(args.dir, section=args.section, claim=args.claim)
        from .exercises import check as exercise_check

        code = exercise_check.check(args.dir, section=args.section, claim=args.claim)
    if served:
        _start_checker(path, environ)  # for the next check: this process's TensorFlow cannot be handed over
    return code


def exercises_stop(args):
    print("The warm checker stopped." if server.stop() else "No warm checker was running.")
    return 0


def report(args):
    # Imported here: the report's plotting libraries are not needed by the other commands, and a
    # learner's one-claim check should not wait for them.
    from . import report as report_module

    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in report_module.PHASES]
    if unknown:
        raise SystemExit(f"grimoire report: unknown phase(s) {unknown}; choose among {list(report_module.PHASES)}.")
    try:
        return report_module.run(args.out, quick=args.quick, phases=phases, root=project_root(), gpu=args.gpu)
    except report_module.ReportError as error:
        raise SystemExit(f"grimoire report: {error}") from None


# Subcommands whose module parses its own arguments (`grimoire mistakes --help` shows its options).
DELEGATED = ("conformance", "mistakes", "matrix", "numerics", "notebooks", "gpu")


def build_parser():
    parser = argparse.ArgumentParser(prog="grimoire", description="TensorFlow/Keras fundamentals, proven by code.")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("check", help="run the specification and print the claim ledger")
    p.set_defaults(run=check, passes_pytest_args=True)

    p = commands.add_parser("exercises", help="learn: write the functions yourself, checked by the spec")
    p.set_defaults(run=exercises_next, dir=guide.DEFAULT_DIR)
    exercises = p.add_subparsers(dest="exercises_command")
    p = exercises.add_parser("next", help="the next function to write, its claim, the docs to read, the command to check it")
    p.add_argument("dir", metavar="DIR", nargs="?", default=guide.DEFAULT_DIR)
    p.set_defaults(run=exercises_next)
    for name, run, help_text in (
        ("hint", exercises_hint, "the hint of a claim (default: the next step's claim)"),
        ("solution", exercises_solution, "yours next to the reference's code of a function, once its tests pass in DIR"),
        ("reset", exercises_reset, "put a function's stub back (your version is kept in DIR/.grimoire/reset/)"),
    ):
        p = exercises.add_parser(name, help=help_text)
        if name == "hint":
            p.add_argument("id", metavar="ID", nargs="?", default=None)
        else:
            p.add_argument("function", metavar="FUNCTION", help="e.g. params.dense_params")
        p.add_argument("--dir", default=guide.DEFAULT_DIR, metavar="DIR")
        p.set_defaults(run=run)
    p = exercises.add_parser("list", help="every claim by section: verified, failing or pending, and what is next")
    p.add_argument("dir", metavar="DIR", nargs="?", default=guide.DEFAULT_DIR)
    p.set_defaults(run=exercises_list)
    p = exercises.add_parser("init", help="write a learner's package to DIR (a new or empty directory)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--notebooks", action="store_true", help="write one exercise notebook per section to DIR instead")
    p.add_argument("--no-server", action="store_true", help="do not start the warm checker in the background")
    p.set_defaults(run=exercises_init)
    p = exercises.add_parser("check", help="run the spec against the package in DIR and show the progress")
    p.add_argument("dir", metavar="DIR")
    only = p.add_mutually_exclusive_group()
    only.add_argument("--section", metavar="S", help="only the claims of one section (A, B, ...)")
    only.add_argument("--claim", metavar="ID", help="only one claim")
    p.add_argument("--watch", action="store_true", help="check again whenever a .py file in DIR is saved")
    p.add_argument("--no-server", action="store_true",
                   help="check in this process only: neither ask nor start the warm checker (or set GRIMOIRE_CHECK_SERVER=0)")
    p.set_defaults(run=exercises_check)
    p = exercises.add_parser("stop", help="stop the warm checker that answers checks in the background")
    p.set_defaults(run=exercises_stop)

    p = commands.add_parser("report", help="run the spec and the benchmarks; write a Markdown report with pictures")
    p.add_argument("--out", default="report", metavar="DIR", help="where to write README.md and the PNGs (default: report)")
    p.add_argument("--quick", action="store_true", help="one round per benchmark, slowest cases left out (checks the plumbing)")
    p.add_argument("--phases", default="spec,benchmarks,pictures", metavar="P,...",
                   help="which phases to run (default: spec,benchmarks,pictures); the README is always written")
    p.add_argument("--gpu", metavar="FILE", help="a `grimoire gpu run` JSON from a GPU machine: its numbers become a GPU section")
    p.set_defaults(run=report)

    commands.add_parser("mistakes", help="plant classic mistakes in copies of the reference; the spec must catch each one")
    commands.add_parser("matrix", help="the spec on several TensorFlow/Keras releases and backends; a claims-by-cell table")
    commands.add_parser("conformance", help="the spec's claims against other libraries (tf-keras-vis, xplique, Keras' metrics, scikit-learn)")
    commands.add_parser("notebooks", help="write notebooks/ from the section pages of docs/ (--check: compare only)")
    commands.add_parser("gpu", help="the hot paths on a GPU machine with JAX/torch and no TensorFlow: bundle, run, dry-run")
    commands.add_parser("numerics", help="the spec under several numeric configurations (oneDNN, ISA, threads, xdist); ledgers must agree")

    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in DELEGATED:
        return importlib.import_module(f"{__package__}.{argv[0]}").main(argv[1:])
    parser = build_parser()
    # `check` hands every argument it does not know to pytest (`grimoire check -n 0 -k dense`).
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passes_pytest_args", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.pytest_args = unknown
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"grimoire {args.command}: interrupted.", file=sys.stderr)
        return 130
    except OSError as error:
        # A user's mistake (a path under a file, a read-only folder, a full disk): one line, no traceback.
        where = f" {error.filename}" if error.filename else ""
        raise SystemExit(f"grimoire {args.command}:{where}: {error.strerror or error}") from None


if __name__ == "__main__":
    sys.exit(main())
