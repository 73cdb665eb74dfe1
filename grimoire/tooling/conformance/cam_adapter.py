"""The part of a CAM adapter that is the same for every peer: a reference explainer whose map is the peer's.

`peer_class(reference_class, peer, maps_from_peer)` returns a subclass of the reference's
`GradCAM` (or `GradCAMPlusPlus`, `LayerCAM`) that keeps what the spec's claims assume of any
implementation's API (the argument checks, the target layer chosen by the reference's plan, so that
peer and reference explain the same layer) and replaces the computation: `explain` asks the peer for
the raw maps of the same images, class and score, and returns them in a `CamResult`. The fields
the peer does not expose (channel weights, features, gradients, scores, the compiled step) raise
`not_asked`, so a test that needs them is not asked of the peer, rather than answered by the
reference.
"""

import numpy as np

from grimoire.cam import base

from .shared import ask_peer, model_kind, normalize_maps, not_asked

HIDDEN = ("weights", "features", "gradients", "scores")  # what a peer's public API does not return


def peer_result(peer, hidden=HIDDEN):
    """A `CamResult` type whose `hidden` fields raise `not_asked(peer, field)`."""

    def hide(field):
        def read(self):
            raise not_asked(peer, field)

        return property(read)

    return type("PeerResult", (base.CamResult,), {"__slots__": (), **{f: hide(f) for f in hidden}})


def peer_class(reference, peer, maps_from_peer, also_hidden=()):
    """A subclass of the reference explainer `reference` whose maps come from `maps_from_peer`.

    Args:
        reference: the reference's explainer class (`grimoire.cam.GradCAM`, ...).
        peer: the peer's name, as the conformance table writes it (`"xplique"`).
        maps_from_peer: `(explainer, images, classes) -> maps`, the peer's raw maps `(batch, h, w)`
            (before any normalisation) for float32 `images` and one int class per image; it reads
            `explainer.model`, `explainer.plan` and `explainer.score`. What it raises is the
            peer's answer (`shared.PeerRaised`), unless it is a `not_asked` marker.
        also_hidden: result fields the peer's maps cannot stand for, besides `HIDDEN` (`"maps"` where
            the peer returns its map only after its own ReLU).

    Returns:
        The class, named like the reference's.
    """
    result_type = peer_result(peer, HIDDEN + tuple(also_hidden))

    def run(self, images, classes):  # the reference's `explain` checks the arguments, then calls this
        if self.jit_compile or self.run_eagerly:
            raise not_asked(peer, "compile_modes")
        if self.output is not None:
            raise not_asked(peer, "outputs")
        if (classes < 0).any():  # the top class, as a peer's user finds it: the model's own prediction
            predictions = np.asarray(self.model(images, training=False))
            if predictions.ndim != 2:
                raise not_asked(peer, "outputs")
            classes = np.where(classes < 0, predictions.argmax(axis=-1), classes).astype(np.int32)
        kind = model_kind(self.model, self.layer_name)
        if kind == "subclassed":  # both peers build a functional gradient model from `model.inputs`
            raise not_asked(peer, "subclassed_models")
        maps = np.asarray(ask_peer(peer, maps_from_peer, self, images, classes, model_kind=kind), dtype=np.float32)
        return result_type(heatmaps=normalize_maps(maps), maps=maps, weights=None, features=None, gradients=None,
                           scores=None, class_index=classes)

    def hidden_step(self, *args, **kwargs):
        raise not_asked(peer, "compiled_step")

    def __init__(self, model, **kwargs):
        reference.__init__(self, model, **kwargs)
        self.model = model
        self.step = hidden_step.__get__(self)

    def read_traces(self):
        raise not_asked(peer, "trace_count")

    def keep_traces(self, value):  # the reference's __init__ sets it; the peer's traces are its own
        pass

    namespace = {"__init__": __init__, "_run": run, "peer": peer, "__doc__": reference.__doc__,
                 "__module__": reference.__module__, "trace_count": property(read_traces, keep_traces)}
    return type(reference.__name__, (reference,), namespace)


def functions(cls):
    """`(heatmaps_function, details_function)` of an adapter's class, as `grimoire.cam` names them:
    `grimoire.cam.base.details` with the class, so the same checks run and the maps are the peer's."""
    def heatmaps(model, images, **kwargs):
        return base.details(cls, model, images, **kwargs).heatmaps

    def all_of_it(model, images, **kwargs):
        return base.details(cls, model, images, **kwargs)

    return heatmaps, all_of_it
