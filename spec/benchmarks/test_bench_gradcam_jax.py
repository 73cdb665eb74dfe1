"""Grad-CAM on Keras' JAX backend (`jax.jit` of the same step), in either kind of session.

Xception at 299x299, batch 1 and 8. The Keras backend is fixed per process, so:

- in a TensorFlow session (`test_gradcam_jax`), the JAX side runs in a worker
  (`jax_gradcam_worker.py`, KERAS_BACKEND=jax) started once per device, on the TensorFlow session's
  weights; each timed call is one request over a pipe (microseconds of the ~1 s it measures). Its
  maps are checked against the TensorFlow textbook maps before timing, and the JAX call alternates
  with TensorFlow's compiled Grad-CAM and forward pass in one loop, so their ratio sees one load;
- in a JAX session (`test_gradcam_jax_session`, KERAS_BACKEND=jax, TensorFlow not needed), Grad-CAM
  runs in-process, its maps checked against the float64 closed form on Xception's GAP + Dense head,
  and alternates with the compiled JAX forward pass. On a machine with JAX and a GPU and no
  TensorFlow, this is the GPU's Grad-CAM number.

Skipped when JAX is not installed. Run: `pytest spec/benchmarks --benchmark-only -n 0 -k gradcam_jax`
(with `KERAS_BACKEND=jax` for the session variant).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ..g_perf import jax_ladder
from ..tolerances import ATOL_CONV, ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT
from . import machine
from .machine import schema
from .xception_case import BATCHES, ROUNDS, TARGET, analytic_maps
from .xception_case import images as _images

pytestmark = [pytest.mark.claim("bench-gradcam"), pytest.mark.skipif(not jax_ladder.installed(), reason=jax_ladder.MISSING)]

ROOT = Path(__file__).resolve().parents[2]
PATHS = (schema.GRADCAM_JAX, schema.JAX_FORWARD_ONLY)


class Worker:
    """The JAX process: `worker("gradcam", 8)` runs one Grad-CAM there and returns when it is done."""

    def __init__(self, impl, xception, device, folder):
        weights, images, self.maps = folder / "xception.weights.h5", folder / "images.npz", folder / "jax_maps.npz"
        xception.save_weights(weights)
        np.savez(images, **{f"batch-{n}": _images(n) for n in BATCHES})
        env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spec.benchmarks.jax_gradcam_worker", str(impl.origin), str(weights), str(images),
             str(self.maps), device],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=folder.joinpath("stderr.txt").open("w"),
            text=True,
        )
        self.stderr = folder / "stderr.txt"
        self._expect("ready")

    def _expect(self, word):
        line = self.process.stdout.readline().strip()
        if line != word:
            raise RuntimeError(f"the JAX worker said {line!r}, not {word!r}:\n{self.stderr.read_text()[-4000:]}")

    def __call__(self, what, batch):
        self.process.stdin.write(f"{what} {batch}\n")
        self.process.stdin.flush()
        self._expect("done")

    def heatmaps(self, batch):
        with np.load(self.maps) as data:
            return data[f"batch-{batch}"]

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def workers(impl, xception, tmp_path_factory):
    """`workers(device)`: the JAX worker for that device, started on first use, closed after the module."""
    started = {}

    def get(device):
        if device not in started:
            started[device] = Worker(impl, xception, device, tmp_path_factory.mktemp(f"jax-{device.replace(':', '-')}"))
        return started[device]

    yield get
    for worker in started.values():
        worker.close()


@pytest.mark.parametrize("device", jax_ladder.device_params())
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("batch", BATCHES, ids=lambda b: f"batch-{b}")
def test_gradcam_jax(benchmark, record, quick, impl, xception, workers, batch, path, device):
    """On JAX the compiled Grad-CAM gives TensorFlow's maps; its time is reported against TensorFlow's and a JAX forward pass."""
    from ..g_perf import ladder
    from .test_bench_gradcam import _textbook_maps

    worker = workers(device)
    # Two convolution implementations (oneDNN for TensorFlow, XLA for JAX) through Xception's 36
    # convolutions: the normalised maps agree to float32 convolution rounding (ATOL_CONV).
    np.testing.assert_allclose(worker.heatmaps(batch), _textbook_maps(xception, batch), rtol=0, atol=ATOL_CONV)
    what = "gradcam" if path == schema.GRADCAM_JAX else "forward"
    timed = lambda: worker(what, batch)  # noqa: E731
    timed()
    rounds = schema.QUICK_ROUNDS if quick else ROUNDS[batch]
    benchmark.pedantic(timed, rounds=rounds, iterations=1)
    if path == schema.GRADCAM_JAX and benchmark.stats is not None:
        images = _images(batch)
        forward = ladder.forward_only(xception)
        others = {
            schema.GRADCAM_COMPILED: lambda: impl.cam.grad_cam(xception, images, layer_name=TARGET),
            schema.FORWARD_ONLY: lambda: forward(images),
            schema.JAX_FORWARD_ONLY: lambda: worker("forward", batch),
        }
        for fn in others.values():
            fn()  # warm: traced before the clock starts
        best = machine.interleaved_best({path: timed, **others}, rounds)
        for name in others:
            benchmark.extra_info[schema.interleaved_ratio_key(name)] = best[path] / best[name]
    forward_flops = impl.flops.count_flops(xception, batch_size=batch)
    record(flops=forward_flops, device=device, batch_size=batch, path=path, case=schema.gradcam_case(batch),
           backend="jax", precision=jax_ladder.precision(device),
           note="FLOPs of the forward pass; timed in a KERAS_BACKEND=jax worker process, one pipe round trip per call")


@pytest.mark.runs_on("jax", why="Grad-CAM in a JAX session, no TensorFlow needed; a TensorFlow session times JAX in a worker (test_gradcam_jax)")
@pytest.mark.parametrize("device", jax_ladder.device_params())
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("batch", BATCHES, ids=lambda b: f"batch-{b}")
def test_gradcam_jax_session(benchmark, record, quick, impl, xception, batch, path, device):
    """In a JAX session the compiled Grad-CAM gives the closed-form maps; its time is reported against a JAX forward pass."""
    import jax

    from .jax_gradcam_worker import jax_ladder_forward

    with jax.default_device(jax_ladder.jax_device(device)):
        images = _images(batch)
        forward = jax_ladder_forward(xception)
        runs = {
            schema.GRADCAM_JAX: lambda: np.asarray(impl.cam.grad_cam(xception, images, layer_name=TARGET)),
            schema.JAX_FORWARD_ONLY: lambda: np.asarray(forward(images)),
        }
        maps = runs[schema.GRADCAM_JAX]()  # traces and compiles, outside the timing
        runs[schema.JAX_FORWARD_ONLY]()
        # Float32 maps against the float64 closed form on this backend's own features: the same
        # bound as the TensorFlow session's Grad-CAM++ and LayerCAM paths.
        np.testing.assert_allclose(maps, analytic_maps(xception, batch, "grad-cam"), rtol=RTOL_FLOAT32_DOT,
                                   atol=10 * ATOL_SAME_GRAPH)
        rounds = schema.QUICK_ROUNDS if quick else ROUNDS[batch]
        machine.time_against(benchmark, runs, path, schema.JAX_FORWARD_ONLY, rounds)
    forward_flops = impl.flops.count_flops(xception, batch_size=batch)
    record(flops=forward_flops, device=device, batch_size=batch, path=path, case=schema.gradcam_case(batch),
           backend="jax", precision=jax_ladder.precision(device),
           note="FLOPs of the forward pass; timed in-process in a KERAS_BACKEND=jax session")
