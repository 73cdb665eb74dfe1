"""Grad-CAM timings on Xception at 299x299, batch 1 and 8.

Paths: the implementation's compiled step (`grad_cam`), the same under XLA, the textbook eager
version (`spec/g_perf/ladder.py`), the forward pass alone, compiled (the yardstick: Grad-CAM
cannot cost less), tf-keras-vis as a peer when it is installed, and Grad-CAM++ and LayerCAM on the
same compiled step. Each path's maps are checked before timing: against the textbook version's, or
for the other methods against their closed form on Xception's GAP + Dense head. Run:
`pytest spec/benchmarks --benchmark-only -n 0 -k gradcam`.
"""

import functools

import numpy as np
import pytest

from ..g_perf import devices

# TensorFlow's paths: a JAX-only environment skips this module (its JAX rungs are in *_jax.py).
tf = pytest.importorskip("tensorflow", reason=devices.NO_TENSORFLOW)

from ..g_perf import ladder  # noqa: E402
from ..tolerances import ATOL_DEEP_FLOAT32_PATHS, ATOL_SAME_GRAPH, RTOL_DEEP_FLOAT32_PATHS, RTOL_FLOAT32_DOT  # noqa: E402
from . import machine  # noqa: E402
from .machine import schema  # noqa: E402
from .xception_case import ROUNDS, TARGET, analytic_maps  # noqa: E402
from .xception_case import images as _images  # noqa: E402

pytestmark = pytest.mark.claim("bench-gradcam")

PATHS = schema.GRADCAM_PATHS

# XLA's CPU backend compiles Xception in ~15 s and runs its depthwise convolutions without oneDNN:
# one batch-8 call took 33 s here, so the batch-8 XLA case alone would double the run.
SLOW = {(schema.GRADCAM_XLA, 8): "XLA on CPU takes ~30 s per batch-8 Xception Grad-CAM; timed at batch 1 only"}


def _skip_reason(path, batch):
    if path == schema.TF_KERAS_VIS and not ladder.peer_installed():
        return ladder.PEER_MISSING
    return SLOW.get((path, batch))


@functools.cache
def _textbook_maps(model, batch):
    """The textbook eager maps every other path is checked against, computed once per batch size."""
    return ladder.textbook_grad_cam(model, TARGET)(_images(batch))


# The other gradient-based CAM methods, timed on the same step as Grad-CAM.
# path -> (the implementation's function, the method's name in `oracles.gap_head_maps`)
METHODS = {schema.GRADCAM_PLUS_PLUS_COMPILED: ("grad_cam_plus_plus", "grad-cam++"),
           schema.LAYERCAM_COMPILED: ("layer_cam", "layercam")}


def _analytic_maps(model, batch, path):
    """The method's float64 maps on Xception's GAP + Dense head (`oracles.gap_head_maps`)."""
    return analytic_maps(model, batch, METHODS[path][1])


def _interleaved_ratios(benchmark, impl, model, images, path, timed, rounds):
    """Time ratios to the forward pass (and, for the slow paths, to the compiled Grad-CAM) with the
    paths alternating in one loop, so both see the same load (`machine.interleaved_best`)."""
    forward = ladder.forward_only(model)
    others = {schema.FORWARD_ONLY: lambda: forward(images)}
    if path in (schema.EAGER_TEXTBOOK, schema.TF_KERAS_VIS, schema.GRADCAM_XLA, schema.GRADCAM_PLUS_PLUS_COMPILED,
                schema.LAYERCAM_COMPILED):
        others[schema.GRADCAM_COMPILED] = lambda: impl.cam.grad_cam(model, images, layer_name=TARGET)
    for fn in others.values():
        fn()  # warm: traced before the clock starts
    best = machine.interleaved_best({path: timed, **others}, rounds)
    for name in others:
        benchmark.extra_info[schema.interleaved_ratio_key(name)] = best[path] / best[name]


@pytest.mark.parametrize("device", devices.device_params())
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("batch", [1, 8], ids=lambda b: f"batch-{b}")
def test_gradcam(benchmark, record, quick, impl, xception, batch, path, device):
    """Grad-CAM compiled costs about one forward pass and is much faster than eager."""
    reason = _skip_reason(path, batch)
    if reason:
        pytest.skip(reason)
    images = _images(batch)
    want = _textbook_maps(xception, batch)
    with tf.device(devices.tf_device(device)):
        if path == schema.GRADCAM_COMPILED:
            run = lambda: impl.cam.grad_cam(xception, images, layer_name=TARGET)  # noqa: E731
        elif path == schema.GRADCAM_XLA:
            run = lambda: impl.cam.grad_cam(xception, images, layer_name=TARGET, jit_compile=True)  # noqa: E731
        elif path == schema.EAGER_TEXTBOOK:
            run = ladder.textbook_grad_cam(xception, TARGET)
            run = (lambda f: lambda: f(images))(run)
        elif path in METHODS:
            method = getattr(impl.cam, METHODS[path][0])
            run = lambda: method(xception, images, layer_name=TARGET)  # noqa: E731
        elif path == schema.FORWARD_ONLY:
            forward = ladder.forward_only(xception)
            run = lambda: forward(images)  # noqa: E731
        else:
            run = (lambda f: lambda: f(images))(ladder.tf_keras_vis_grad_cam(xception, TARGET))

        def timed():
            with tf.device(devices.tf_device(device)):
                return run()

        out = timed()  # also traces / compiles, outside the timing
        if path == schema.FORWARD_ONLY:
            want_forward = xception(images, training=False).numpy()
            np.testing.assert_allclose(out, want_forward, rtol=RTOL_DEEP_FLOAT32_PATHS, atol=ATOL_DEEP_FLOAT32_PATHS)
        elif path in METHODS:  # checked against its own closed form (spec/g_perf/oracles.py)
            np.testing.assert_allclose(out, _analytic_maps(xception, batch, path), rtol=RTOL_FLOAT32_DOT,
                                       atol=10 * ATOL_SAME_GRAPH)
        else:
            np.testing.assert_allclose(out, want, rtol=RTOL_FLOAT32_DOT, atol=10 * ATOL_SAME_GRAPH)
        rounds = schema.QUICK_ROUNDS if quick else ROUNDS[batch]
        benchmark.pedantic(timed, rounds=rounds, iterations=1)
        if path != schema.FORWARD_ONLY and benchmark.stats is not None:
            _interleaved_ratios(benchmark, impl, xception, images, path, timed, rounds)
    forward_flops = impl.flops.count_flops(xception, batch_size=batch)
    record(flops=forward_flops, device=device, batch_size=batch, path=path, case=schema.gradcam_case(batch),
           note="FLOPs of the forward pass; the head's backward adds 0.03%")
