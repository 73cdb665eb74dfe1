"""Grad-CAM and Grad-CAM++ computed by xplique.

Like with like:

- the same layer: `conv_layer=<the reference's target>` (xplique's default is the last top-level
  layer with `filters`, `find_target_layer` below);
- the same score: the logit, the head made linear for the call (`shared.linear_head`; xplique's
  documentation recommends explaining the layer before the softmax), or the probability when
  `score="probability"`; the class as a one-hot target per image, as xplique expects;
- the map at the layer's own resolution: `explain` ends by resizing the maps to the input size
  (bicubic); the adapter runs the three steps `explain` runs per batch (`_gradient`,
  `_compute_weights`, `_apply_weights`) and leaves that resize out, so a map is compared before any
  resampling.
  xplique applies the ReLU itself, so its maps are after the ReLU and the result's `maps` field
  (the map before any ReLU) is not asked of it; the adapter normalises as the reference does
  (`shared.normalize_maps`).
- the model as the user has it: xplique looks `conv_layer` up among the model's top-level layers,
  so a layer inside a nested model is asked as the user would ask it, and what xplique raises is
  its answer (`shared.PeerRaised`).

LayerCAM and HiResCAM are not xplique methods; classic CAM is the reference's.
"""

import contextlib

import numpy as np

from grimoire.cam import *  # noqa: F401,F403  the reference's support: upsampling, overlays, checks
from grimoire.cam import GradCAM as _GradCAM, GradCAMPlusPlus as _GradCAMPlusPlus

from grimoire.tooling.conformance.cam_adapter import functions, peer_class
from grimoire.tooling.conformance.shared import ask_peer, linear_head, model_kind, not_asked

PEER = "xplique"


def _explainer(peer_method, explainer):
    return peer_method()(explainer.model, conv_layer=explainer.layer_name, batch_size=None)


def _maps(peer_method):
    def maps(explainer, images, classes):
        import tensorflow as tf

        targets = tf.one_hot(classes, explainer.num_classes)
        context = linear_head(explainer.plan, PEER) if explainer.score == "logits" else contextlib.nullcontext()
        with context:
            peer = _explainer(peer_method, explainer)
            features, gradients = peer._gradient(tf.constant(images), targets)
            weights = peer._compute_weights(gradients, features)
            return np.asarray(peer._apply_weights(weights, features))

    return maps


def _gradcam():
    from xplique.attributions import GradCAM as PeerGradCAM

    return PeerGradCAM


def _gradcam_plus_plus():
    from xplique.attributions import GradCAMPP

    return GradCAMPP


GradCAM = peer_class(_GradCAM, PEER, _maps(_gradcam), also_hidden=("maps",))
GradCAMPlusPlus = peer_class(_GradCAMPlusPlus, PEER, _maps(_gradcam_plus_plus), also_hidden=("maps",))





grad_cam, grad_cam_details = functions(GradCAM)
grad_cam_plus_plus, grad_cam_plus_plus_details = functions(GradCAMPlusPlus)


def find_target_layer(model):
    """xplique's own choice of layer: what `GradCAM(model)` explains when no `conv_layer` is given."""
    if not getattr(model, "layers", None):
        raise not_asked(PEER, "find_target_layer")
    return ask_peer(PEER, lambda: _gradcam()(model).conv_layer.name, model_kind=model_kind(model))


def _not_a_method(name):
    def refuse(*args, **kwargs):
        raise not_asked(PEER, name)

    return refuse


HiResCAM = hires_cam = hires_cam_details = _not_a_method("hires_cam")
LayerCAM = layer_cam = layer_cam_details = _not_a_method("layer_cam")
