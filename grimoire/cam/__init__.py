"""Class activation maps: which parts of an image a convnet's decision rests on.

The textbook steps (`steps.py`: the target layer, the class score, the heatmap) and one short module
per method (its `combine`) are the lesson; the base pipeline around them is support:

- `find_target_layer(model)`: the last layer with a spatial (4-D) output (`target.py`), found
  by watching the model's own forward pass (`capture.py`), so subclassed models work too.
- `plan(model, ...)`: the target, the output to explain (`output=` for models with several) and
  the logits behind a final softmax/sigmoid layer, at any depth (`plan.py`).
- `grad_cam(model, images, ...)`: Grad-CAM heatmaps; `grad_cam_details` adds raw maps, channel
  weights, features and gradients; `GradCAM(model)` is the compiled step to build once and call
  on many batches (`gradcam.py`); `explainer(GradCAM, model)` is the cached one `grad_cam` uses.
- `hires_cam(...)` / `HiResCAM`: gradients times features (`hirescam.py`).
- `grad_cam_plus_plus(...)` / `GradCAMPlusPlus`: positive gradients weighted per position (`gradcampp.py`).
- `layer_cam(...)` / `LayerCAM`: positive gradients times features, position by position (`layercam.py`).
- `cam(model, images)`: classic CAM for GAP + Dense heads (`classic.py`).
- `gradients.py`: the only backend-specific part (a trace of the model, d score / d feature maps,
  compiling the step): TensorFlow's GradientTape and tf.function, JAX's grad and jit, or torch's
  autograd.grad (eager). The rest is `keras.ops` and numpy, so `import grimoire.cam` works without
  TensorFlow on KERAS_BACKEND=jax or torch.
- `deletion`, `insertion` (and `*_auc`), `random_map`, `centre_map`: is a map faithful to the
  model? (`faithfulness.py`).
- `upsample`, `overlay`, `save_overlay`: heatmaps onto images (`image.py`).

Example:

>>> import keras, numpy as np
>>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"),
...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
>>> find_target_layer(model)
'conv'
>>> heat = grad_cam(model, np.random.rand(2, 8, 8, 1))
>>> heat.shape, bool(heat.min() >= 0 and heat.max() <= 1)
((2, 6, 6), True)
"""

from .base import CamResult, GradientCAM, details, explainer, gradient_model, tap
from .capture import intercept, probe
from .inputs import check_images
from .plan import CapturedForward, Plan, PreActivation, plan, select_output
from .classic import cam, cam_details, class_activation_maps
from .faithfulness import (
    Curves, blurred, centre_map, deletion, deletion_auc, insertion, insertion_auc, pixel_ranks, random_map,
)
from .gradcam import GradCAM, grad_cam, grad_cam_details
from .gradcampp import GradCAMPlusPlus, grad_cam_plus_plus, grad_cam_plus_plus_details
from .hirescam import HiResCAM, hires_cam, hires_cam_details
from .layercam import LayerCAM, layer_cam, layer_cam_details
from .image import overlay, save_overlay, upsample
from .steps import class_score, last_spatial_layer, normalize
from .target import find_target_layer, locate_layer, spatial_layers

__all__ = [
    "CamResult", "CapturedForward", "GradCAM", "GradientCAM", "HiResCAM", "Plan", "PreActivation", "cam",
    "cam_details", "check_images", "details", "explainer", "find_target_layer", "grad_cam", "grad_cam_details",
    "gradient_model", "hires_cam", "hires_cam_details", "intercept", "locate_layer", "overlay", "plan", "probe",
    "save_overlay", "select_output", "spatial_layers", "tap", "upsample",
    # Grad-CAM++, LayerCAM and the deletion/insertion measures
    "Curves", "GradCAMPlusPlus", "LayerCAM", "blurred", "centre_map", "deletion", "deletion_auc",
    "grad_cam_plus_plus", "grad_cam_plus_plus_details", "insertion", "insertion_auc", "layer_cam",
    "layer_cam_details", "pixel_ranks", "random_map",
    # the textbook steps and classic CAM's map
    "class_activation_maps", "class_score", "last_spatial_layer", "normalize",
]
