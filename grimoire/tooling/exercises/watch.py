"""`--watch`: check again whenever the learner saves a Python file."""

from pathlib import Path

import watchfiles


def watch(impl, run, *, stop_event=None, debounce=1600):
    """Runs `run()` now and again after every batch of saved Python files under `impl`.

    Uses `watchfiles` (Rust `notify` underneath); Ctrl-C ends the loop quietly.

    Args:
        impl: the directory to watch.
        run: a callable with no arguments (one check).
        stop_event: an optional `threading.Event`; setting it ends the loop.
        debounce: milliseconds to wait for a burst of saves to settle.

    Returns:
        The last run's result.
    """
    result = None
    try:
        result = run()
        for batch in watchfiles.watch(impl, watch_filter=watchfiles.PythonFilter(), stop_event=stop_event,
                                      debounce=debounce, raise_interrupt=False):
            names = sorted({Path(path).name for _, path in batch})
            print(f"\n--- changed: {', '.join(names)}; checking again ---\n", flush=True)
            result = run()
    except KeyboardInterrupt:  # Ctrl-C during a check ends the watch as quietly as between checks
        print("\nStopped watching.")
    return result
