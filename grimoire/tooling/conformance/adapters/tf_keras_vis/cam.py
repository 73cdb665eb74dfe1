"""Grad-CAM, Grad-CAM++ and LayerCAM computed by tf-keras-vis, called as its users call it.

Like with like (see `spec/g_perf/ladder.py`, which compares the benchmarks the same way):

- the same layer: `penultimate_layer=<the reference's target>`, `seek_penultimate_conv_layer=False`
  (by default tf-keras-vis walks back from an activation to the convolution before it);
- the same score: the logit, the head made linear for the call (`shared.linear_head`, what
  `ReplaceToLinear` does on a clone), or the probability when `score="probability"`;
- the same class: `CategoricalScore` with one index per image;
- the raw map: `activation_modifier=None` (no ReLU), `normalize_cam=False` (tf-keras-vis subtracts
  the minimum before dividing), `expand_cam=False` (no resampling to the input size); the adapter
  normalises it as the reference does (`shared.normalize_maps`).

Everything else in `impl.cam` is the reference's. HiResCAM is not a tf-keras-vis method, and classic
CAM and the faithfulness measures are not asked of it.
"""

import numpy as np

from grimoire.cam import *  # noqa: F401,F403  the reference's support: upsampling, overlays, checks
from grimoire.cam import GradCAM as _GradCAM, GradCAMPlusPlus as _GradCAMPlusPlus, LayerCAM as _LayerCAM

from grimoire.tooling.conformance.cam_adapter import details, peer_class
from grimoire.tooling.conformance.shared import linear_head, not_asked

PEER = "tf-keras-vis"


def _maps(peer_method):
    def maps(explainer, images, classes):
        import keras
        from tf_keras_vis.utils.scores import CategoricalScore

        model = explainer.model
        if not getattr(model, "inputs", None):
            raise not_asked(PEER, "subclassed_models")  # tf-keras-vis rebuilds the model from its inputs
        # tf-keras-vis reads `output_names`, which Keras 3 gives functional models only.
        functional = model if hasattr(model, "output_names") else keras.Model(model.inputs, model.outputs)
        context = linear_head(explainer.plan, PEER) if explainer.score == "logits" else _nothing()
        with context:
            explain = peer_method()(functional, clone=False)
            out = explain(CategoricalScore([int(c) for c in classes]), images, penultimate_layer=explainer.layer_name,
                          seek_penultimate_conv_layer=False, activation_modifier=None, expand_cam=False,
                          normalize_cam=False)
        return np.asarray(out, dtype=np.float32).reshape((len(images),) + np.shape(out)[-2:])

    return maps


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _gradcam():
    from tf_keras_vis.gradcam import Gradcam

    return Gradcam


def _gradcam_plus_plus():
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus

    return GradcamPlusPlus


def _layercam():
    from tf_keras_vis.layercam import Layercam

    return Layercam


GradCAM = peer_class(_GradCAM, PEER, _maps(_gradcam))
GradCAMPlusPlus = peer_class(_GradCAMPlusPlus, PEER, _maps(_gradcam_plus_plus))
LayerCAM = peer_class(_LayerCAM, PEER, _maps(_layercam))


def _method(cls):
    def heatmaps(model, images, **kwargs):
        return details(cls, model, images, **kwargs).heatmaps

    def all_of_it(model, images, **kwargs):
        return details(cls, model, images, **kwargs)

    return heatmaps, all_of_it


grad_cam, grad_cam_details = _method(GradCAM)
grad_cam_plus_plus, grad_cam_plus_plus_details = _method(GradCAMPlusPlus)
layer_cam, layer_cam_details = _method(LayerCAM)


def _no_hires(*args, **kwargs):
    raise not_asked(PEER, "hires_cam")


HiResCAM = hires_cam = hires_cam_details = _no_hires
