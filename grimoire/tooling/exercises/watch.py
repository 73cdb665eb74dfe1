"""`--watch`: one warm process that checks again whenever the learner saves a Python file.

TensorFlow, Keras, the spec's modules and the trained-model cache stay loaded between checks; only
the learner's package is imported again (see `runner.forget_package`). After a save, only the claims
that need a function whose code changed run again; a change the path cannot place (a helper of your
own, a module-level edit) runs the whole selection.
"""

from pathlib import Path

import watchfiles

from ..claims import Catalogue
from .check import checked_claims, progress, run_check
from .path import claim_functions
from .stubs import function_bodies


def watch(impl, run, *, stop_event=None, debounce=1600):
    """Runs `run()` now and again after every batch of saved Python files under `impl`.

    Uses `watchfiles` (Rust `notify` underneath); Ctrl-C ends the loop quietly.

    Args:
        impl: the directory to watch.
        run: a callable taking the set of changed paths (empty at the start), or none at all.
        stop_event: an optional `threading.Event`; setting it ends the loop.
        debounce: milliseconds to wait for a burst of saves to settle.

    Returns:
        The last run's result.
    """
    result = None
    try:
        result = _call(run, set())
        for batch in watchfiles.watch(impl, watch_filter=watchfiles.PythonFilter(), stop_event=stop_event,
                                      debounce=debounce, raise_interrupt=False):
            paths = {Path(path) for _, path in batch}
            print(f"\n--- changed: {', '.join(sorted(p.name for p in paths))}; checking again ---\n", flush=True)
            result = _call(run, paths)
    except KeyboardInterrupt:  # Ctrl-C during a check ends the watch as quietly as between checks
        print("\nStopped watching.")
    return result


def _call(run, paths):
    try:
        return run(paths)
    except TypeError as error:
        if "positional argument" not in str(error):
            raise
        return run()


def snapshot(impl):
    """`dotted function -> its source` for every function of the learner's package (`params.dense_params`)."""
    out = {}
    for path in Path(impl).rglob("*.py"):
        module = ".".join(path.relative_to(impl).with_suffix("").parts)
        try:
            bodies = function_bodies(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            bodies = {"<unparsable>": str(path)}  # a half-saved file: everything counts as changed
        out.update({f"{module}.{name}": text for name, text in bodies.items()})
    return out


def changed_claims(before, after, needs, selection):
    """The claims of `selection` that need a function whose source differs; None if a change is unplaced."""
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    if not changed:
        return []
    if not changed <= {function for functions in needs.values() for function in functions}:
        return None
    return [c for c in selection if changed & set(needs.get(c, ()))]


def watch_check(impl, *, section=None, claim=None):
    """`grimoire exercises check DIR --watch`: a check now, then of the claims each save touches."""
    catalogue = Catalogue.load()
    selection, _ = checked_claims(catalogue, section=section, claim=claim)
    needs = claim_functions()
    before = snapshot(impl)

    def run(paths=()):
        nonlocal before
        after = snapshot(impl)
        claims = selection if not paths else changed_claims(before, after, needs, selection)
        before = after
        if claims == []:
            print("No claim of this selection needs the functions you changed.")
            return 0
        claims = claims or selection
        code, ledger, records, output = run_check(impl, claims, in_process=True)
        if ledger is None:
            print(output[-5000:])
            return code or 1
        print(progress(ledger, records, claims, catalogue), flush=True)
        return code

    return watch(impl, run, debounce=600)
