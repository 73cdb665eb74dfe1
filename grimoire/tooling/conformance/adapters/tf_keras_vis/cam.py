"""Grad-CAM, Grad-CAM++ and LayerCAM computed by tf-keras-vis, called as its users call it.

Like with like (as `spec/g_perf/ladder.py` calls it for the benchmarks):

- the same score: `Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)` for the logit, the
  way tf-keras-vis' documentation asks for it (the clone's output layers made linear); for
  `score="probability"` no modifier changes the model, but it is still cloned (a modifier that
  changes nothing), because tf-keras-vis reads `layer.output`, and a reloaded Keras 3 Sequential's
  layers keep an output node that its functional wrapper's graph does not use (the gradient comes
  back None); the clone has one graph;
- the same layer: `penultimate_layer=<the reference's target>`, `seek_penultimate_conv_layer=False`
  (by default tf-keras-vis walks back from an activation to the convolution before it);
- the same class: `CategoricalScore` with one index per image;
- the raw map: `normalize_cam=False` (tf-keras-vis subtracts the minimum before dividing),
  `expand_cam=False` (no resampling to the input size), and for Grad-CAM and LayerCAM
  `activation_modifier=None` (no ReLU on the map). Grad-CAM++ keeps its default activation
  modifier, because tf-keras-vis applies it to the gradients as well (the paper's ReLU of the
  gradient): its map comes back after a ReLU, so its `maps` field is not asked. The adapter
  normalises every map as the reference does (`shared.normalize_maps`).

Everything else in `impl.cam` is the reference's. HiResCAM is not a tf-keras-vis method, and classic
CAM and the faithfulness measures are not asked of it.
"""

import numpy as np

from grimoire.cam import *  # noqa: F401,F403  the reference's support: upsampling, overlays, checks
from grimoire.cam import GradCAM as _GradCAM, GradCAMPlusPlus as _GradCAMPlusPlus, LayerCAM as _LayerCAM

from grimoire.tooling.conformance.cam_adapter import functions, peer_class
from grimoire.tooling.conformance.shared import not_asked

PEER = "tf-keras-vis"


def _clone_only(model):
    """A model modifier that changes nothing: tf-keras-vis clones the model whenever one is given."""
    return None


def _maps(peer_method, relu_on_the_map=False):
    def maps(explainer, images, classes):
        import keras
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore

        model = explainer.model
        # tf-keras-vis reads `output_names`, which Keras 3 gives functional models only.
        functional = model if hasattr(model, "output_names") else keras.Model(model.inputs, model.outputs)
        modifier = ReplaceToLinear() if explainer.score == "logits" else _clone_only
        explain = peer_method()(functional, model_modifier=modifier, clone=True)
        options = {} if relu_on_the_map else {"activation_modifier": None}
        out = explain(CategoricalScore([int(c) for c in classes]), images, penultimate_layer=explainer.layer_name,
                      seek_penultimate_conv_layer=False, expand_cam=False, normalize_cam=False, **options)
        return np.asarray(out, dtype=np.float32).reshape((len(images),) + np.shape(out)[-2:])

    return maps


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
GradCAMPlusPlus = peer_class(_GradCAMPlusPlus, PEER, _maps(_gradcam_plus_plus, relu_on_the_map=True),
                             also_hidden=("maps",))
LayerCAM = peer_class(_LayerCAM, PEER, _maps(_layercam))





grad_cam, grad_cam_details = functions(GradCAM)
grad_cam_plus_plus, grad_cam_plus_plus_details = functions(GradCAMPlusPlus)
layer_cam, layer_cam_details = functions(LayerCAM)


def _no_hires(*args, **kwargs):
    raise not_asked(PEER, "hires_cam")


HiResCAM = hires_cam = hires_cam_details = _no_hires
