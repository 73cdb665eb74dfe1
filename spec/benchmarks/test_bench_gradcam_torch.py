"""Grad-CAM on Keras' torch backend, in a torch session (KERAS_BACKEND=torch; TensorFlow not needed).

Xception at 299x299, batch 1 and 8. The explainer's step runs eagerly on torch (no XLA there): its
maps are checked against the float64 closed form on Xception's GAP + Dense head, then it is timed
and alternates with torch's forward pass alone (`torch.no_grad`), so their ratio sees one load. On
cpu, and on each GPU torch sees. On a machine with torch and a GPU and no TensorFlow, this is the
GPU's Grad-CAM number on torch:

    KERAS_BACKEND=torch pytest spec/benchmarks --benchmark-only -n 0 -k torch

Skipped in other sessions (the Keras backend is fixed per process) and when torch is not installed.
"""

import keras
import numpy as np
import pytest

from ..g_perf import torch_ladder
from ..tolerances import ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT
from . import machine
from .machine import schema
from .xception_case import BATCHES, ROUNDS, TARGET, analytic_maps
from .xception_case import images as _images

SESSION = "runs in a KERAS_BACKEND=torch session: KERAS_BACKEND=torch pytest spec/benchmarks --benchmark-only -n 0 -k torch"

pytestmark = [
    pytest.mark.claim("bench-gradcam"),
    pytest.mark.skipif(not torch_ladder.installed(), reason=torch_ladder.MISSING),
    pytest.mark.skipif(keras.config.backend() != "torch", reason=SESSION),
    pytest.mark.runs_on("torch", why="Grad-CAM in a torch session, no TensorFlow needed"),
]

PATHS = (schema.GRADCAM_TORCH, schema.TORCH_FORWARD_ONLY)


@pytest.fixture(scope="module")
def models(xception):
    """`models(device)`: the session's Xception with its variables on `device` (a copy when they are elsewhere)."""
    import keras
    import torch

    placed = {}

    def get(device):
        if device not in placed:
            if xception.weights[0].value.device == torch.device(device):
                placed[device] = xception
            else:
                with keras.device(device):
                    placed[device] = keras.applications.Xception(weights=None)
                placed[device].set_weights(xception.get_weights())
        return placed[device]

    return get


def _precision(device):
    # Keras leaves torch's defaults: cuDNN runs float32 convolutions in TF32 on Ampere and newer.
    return "float32" if device == "cpu" else "default (TF32 in cuDNN convolutions on Ampere and newer)"


@pytest.mark.parametrize("device", torch_ladder.device_params())
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("batch", BATCHES, ids=lambda b: f"batch-{b}")
def test_gradcam_torch_session(benchmark, record, quick, impl, models, batch, path, device):
    """In a torch session Grad-CAM gives the closed-form maps; its time is reported against a torch forward pass."""
    import keras
    import torch

    model = models(device)
    with keras.device(device):
        images = _images(batch)
        explainer = impl.cam.GradCAM(model, layer_name=TARGET)

        def forward():
            with torch.no_grad():
                return keras.ops.convert_to_numpy(model(images, training=False))

        runs = {schema.GRADCAM_TORCH: lambda: explainer(images), schema.TORCH_FORWARD_ONLY: forward}
        maps = runs[schema.GRADCAM_TORCH]()  # numpy: the copy to the host waits for the device
        runs[schema.TORCH_FORWARD_ONLY]()
        want = analytic_maps(model, batch, "grad-cam")
        # Float32 maps against the float64 closed form on this backend's own features: the same
        # bound as the JAX session's.
        np.testing.assert_allclose(maps, want, rtol=RTOL_FLOAT32_DOT, atol=10 * ATOL_SAME_GRAPH)
        rounds = schema.QUICK_ROUNDS if quick else ROUNDS[batch]
        machine.time_against(benchmark, runs, path, schema.TORCH_FORWARD_ONLY, rounds)
    forward_flops = impl.flops.count_flops(model, batch_size=batch)
    record(flops=forward_flops, device=device, batch_size=batch, path=path, case=schema.gradcam_case(batch),
           backend="torch", precision=_precision(device),
           note="FLOPs of the forward pass; timed in-process in a KERAS_BACKEND=torch session (eager)")
