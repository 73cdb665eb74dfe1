"""What every adapter shares: delegating to the reference, asking the peer, and saying what it cannot be asked.

An adapter is a package that presents a peer's method through Grimoire's public API, so that the
spec's claim tests run against it unchanged (`pytest --impl grimoire.tooling.conformance.adapters.xplique`).
Everything that is not the peer's method (the digits, the synthetic shapes, argument checks, the
float64 oracles' helpers) is the reference's, delegated module by module (`delegate`).

Two records keep a cell honest:

- `asked(peer)`: every time an adapter hands work to the peer it appends the running test's id to
  the file named by `$GRIMOIRE_CONFORMANCE_CALLS`. A claim whose tests never reached the peer says
  nothing about it, so `grimoire conformance` reports it as not applicable, never as holding.
- `not_asked(peer, what)`: what the peer does not expose (Grad-CAM's channel weights, an XLA mode)
  raises the stub marker `NotImplementedError("exercise: <peer>.<what>")`, which the plugin
  records as pending: that test is not asked of the peer, and does not fail it.

A third keeps a failure honest: `ask_peer` runs the peer's own call and turns anything it raises
into `PeerRaised`, so the table tells "the peer raised" from "the peer computed something else"
(an `AssertionError` in the test) and from an error of the adapter or test (anything else).
"""

import contextlib
import importlib
import os
import sys

import numpy as np

from ..exercises.stubs import MARKER
from ..layout import IMPLEMENTATION

CALLS_ENV = "GRIMOIRE_CONFORMANCE_CALLS"


def delegate(package, own):
    """Makes `package.<module>` the reference's `grimoire.<module>` for every module not in `own`.

    Args:
        package: str, the adapter package's `__name__`.
        own: the module names the adapter writes itself (e.g. `("cam",)`).
    """
    for name in IMPLEMENTATION:
        if name not in own:
            sys.modules.setdefault(f"{package}.{name}", importlib.import_module(f"grimoire.{name}"))


def asked(peer):
    """Notes that the running test reached `peer` (one line per call in `$GRIMOIRE_CONFORMANCE_CALLS`)."""
    path = os.environ.get(CALLS_ENV)
    test = os.environ.get("PYTEST_CURRENT_TEST", "")
    if path and test:
        with open(path, "a", encoding="utf-8") as handle:  # one short line: appends from one process
            handle.write(f"{peer}\t{test.rsplit(' (', 1)[0]}\n")


class PeerRaised(RuntimeError):
    """An exception raised inside a peer's own call (the message names the peer, the model, the error)."""


def ask_peer(peer, call, *args, model_kind="", **kwargs):
    """`call(*args, **kwargs)`, noting that the running test asked `peer`; what the peer raises becomes `PeerRaised`.

    Args:
        peer: the peer's name.
        call: the peer's function or method.
        model_kind: the model asked about, a `KINDS` token (`model_kind(...)`), for the message.

    Returns:
        What `call` returns.
    """
    asked(peer)
    try:
        return call(*args, **kwargs)
    except Exception as error:  # noqa: BLE001  whatever the peer raises is its answer, recorded as such
        if isinstance(error, NotImplementedError) and str(error).startswith(MARKER):
            raise
        raise PeerRaised(raised(peer, error, model_kind)) from error


# The kinds of model a peer may not take: the token adapters pass, and the words the table shows.
KINDS = {"subclassed": "a subclassed model", "nested": "a nested model (its layer inside an inner model)"}


def model_kind(model, layer_name=None):
    """`"subclassed"`, `"nested"` or `""` (a functional model): the `KINDS` token of `model`.

    A model is nested when `layer_name` is not one of its own layers, or, with no `layer_name`, when
    one of its layers is itself a model.
    """
    if not getattr(model, "inputs", None):
        return "subclassed"
    layers = getattr(model, "layers", [])
    if layer_name is None:
        import keras

        return "nested" if any(isinstance(layer, keras.Model) for layer in layers) else ""
    return "nested" if layer_name not in {layer.name for layer in layers} else ""


def raised(peer, error, kind=""):
    """A `PeerRaised` message: `<peer> raised <Error>[ on <KINDS[kind]>]: <error>`."""
    on = f" on {KINDS[kind]}" if kind else ""
    return f"{peer} raised {type(error).__name__}{on}: {error}"


def kind_raised_on(message):
    """The `KINDS` token a `raised` message names, or `""`."""
    head = message.partition(":")[0]  # the words hold no colon; the peer's own message may be empty
    return next((kind for kind, words in KINDS.items() if head.endswith(f" on {words}")), "")


def not_asked(peer, what):
    """The error that marks a test as not askable of `peer` (`what`: a dotted word, e.g. `"weights"`)."""
    return NotImplementedError(f"{MARKER}{peer.replace('-', '_')}.{what}")


def calls(path):
    """`{peer: set of test ids}` from a `$GRIMOIRE_CONFORMANCE_CALLS` file (empty if there is none)."""
    found = {}
    if path and os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                peer, _, test = line.rstrip("\n").partition("\t")
                found.setdefault(peer, set()).add(test)
    return found


def normalize_maps(maps, dtype=np.float32):
    """`relu(maps) / max(relu(maps))` per image (0 where that max is 0): the textbook's heatmap, in numpy.

    Every adapter brings the peer's raw map to the reference's normalisation itself, so that the
    cells compare the methods, not the display conventions (tf-keras-vis subtracts the minimum first).
    `dtype=None` keeps the maps' own precision (the float64 reproductions of `causes`).
    """
    maps = np.maximum(np.asarray(maps, dtype=dtype), 0.0)
    peak = maps.max(axis=tuple(range(1, maps.ndim)), keepdims=True)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


@contextlib.contextmanager
def linear_head(plan, peer):
    """Sets the plan's softmax/sigmoid head to a linear activation for the block, then puts it back.

    Both peers explain a model's output as it is; their documentation asks users who want the logit
    to remove the final activation (tf-keras-vis' `ReplaceToLinear`, xplique's "use the layer before
    softmax"). This does it on the model itself, for the length of one call, so that the peer
    differentiates the same score as the reference, and the model is the same afterwards.
    """
    head = plan.head
    if head is None:
        yield
        return
    if not hasattr(head, "activation"):
        raise not_asked(peer, "logits_behind_" + type(head).__name__.lower())
    import keras

    saved = head.activation
    head.activation = keras.activations.linear
    try:
        yield
    finally:
        head.activation = saved
