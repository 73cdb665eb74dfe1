"""`grimoire gpu`: the hot paths timed on a GPU machine that has JAX or torch, no TensorFlow, no network.

    grimoire gpu bundle [--out build/gpu-bundle] [--python 3.11]   # here: wheels + run.sh
    bash build/gpu-bundle/run.sh [gpu.json]                         # there: offline install, then `run`
    grimoire gpu run [--backends jax,torch] [--out gpu.json] [--dry]
    grimoire gpu dry-run [--out DIR]    # here, end to end: bundle, a fresh venv with TensorFlow
                                        # hidden, offline install, the CPU device, small sizes

The bundle holds this project as a wheel and Keras with what it needs as wheels for the target's
Python; `run.sh` makes a venv over the machine's own Python (its CUDA builds of jax and torch stay
in use), installs the bundle with `--no-index` and calls `run`. `run` measures each backend in its
own process (the Keras backend is fixed per process) and writes one JSON (`SCHEMA` below) that
`grimoire report` reads into its GPU section.

Per backend and device, everything checked before it is timed:

    matmul peak   n x n @ n x n in float32 and bfloat16, GFLOP/s = 2 n^3 / best time
    conv ladder   3x3 "same" convolutions (one rung per feature-map size), checked against numpy
                  float64; GFLOP/s = 2 * outputs * 9 * in_channels / best time, and that as a
                  fraction of the float32 and the bfloat16 peak
    Grad-CAM      Xception (random weights) at batch 1, 32 and 256, the compiled explainer of
                  `grimoire.cam`; its maps checked against the closed form on Xception's GAP +
                  Dense head, relu(A @ W[:, k]) / (H W); images per second, and forward GFLOP/s
                  (`grimoire.flops`) against both peaks

Tolerances: a GPU may run float32 matmuls and convolutions in TF32 (10-bit mantissa), so each
output is allowed `TF32_ROUNDING * sum |x| |w|` of its own dot product (a bound that float32 meets
with room to spare); nothing is compared for equality.
"""

import argparse
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .files import write_text_atomically
from .project import ROOT

SCHEMA = "grimoire-gpu/1"
BACKENDS = ("jax", "torch")
# Unit roundoff of TF32 (2^-11) times two: the inputs and the weights are each rounded once.
TF32_ROUNDING = 2.0**-10
# Sizes: the real run, and a dry run small enough for a 2-core CPU in CI.
SIZES = {
    "full": {"matmul": 8192, "ladder": ((56, 64), (28, 128), (14, 256), (7, 512)), "ladder_batch": 32,
             "batches": (1, 32, 256), "image": 299, "rounds": 5},
    "dry": {"matmul": 256, "ladder": ((8, 8), (4, 16)), "ladder_batch": 2, "batches": (1, 2), "image": 71, "rounds": 2},
}
MARKER = ".grimoire-gpu-bundle"  # a folder `bundle` made: the only kind it replaces
RUN_SH = """#!/usr/bin/env bash
# Offline: installs this bundle into a venv over this machine's Python (its own jax / torch stay in
# use) and times the hot paths on its GPU. Usage: bash run.sh [gpu.json] [grimoire gpu run options]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
venv="${GRIMOIRE_VENV:-$here/venv}"
"$python" -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install -q --no-index --find-links "$here/wheels" "keras==__KERAS__"
"$venv/bin/python" -m pip install -q --no-index --no-deps "$here"/wheels/grimoire-*.whl
out="${1:-$here/gpu.json}"
shift || true
exec "$venv/bin/python" -m grimoire.tooling.gpu run --out "$out" "$@"
"""


# --- the bundle (here) -------------------------------------------------------------------------------


def bundle(out, python_version=None, log=print):
    """Writes the project's wheel, Keras' wheels for `python_version` and `run.sh` to `out`.

    Args:
        out: the bundle folder; must be new, empty, or a bundle this command wrote before.
        python_version: the target machine's Python, e.g. "3.12" (default: this Python's).

    Returns:
        The bundle's path.
    """
    import keras

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ValueError(
            f"Argument `out` must be a new or empty folder, or a bundle written by `grimoire gpu bundle`. Received: "
            f"{out} (it holds other files). Pass another --out; nothing was changed."
        )
    version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
    staging = Path(tempfile.mkdtemp(prefix=".gpu-bundle-", dir=out.parent if out.parent.exists() else None))
    try:
        wheels = staging / "wheels"
        log(f"grimoire gpu bundle: this project as a wheel, Keras {keras.__version__} for Python {version} ...")
        _pip("wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT))
        _pip("download", "-q", "--only-binary=:all:", "--python-version", version, "--implementation", "cp",
             "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64", "-d", str(wheels),
             f"keras=={keras.__version__}")
        (staging / "run.sh").write_text(RUN_SH.replace("__KERAS__", keras.__version__), encoding="utf-8")
        (staging / "run.sh").chmod(0o755)
        (staging / MARKER).write_text(json.dumps({"python": version, "keras": keras.__version__}) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    log(f"grimoire gpu bundle: {out} ({size:.0f} MiB). On the GPU machine: bash {out.name}/run.sh")
    return out


def _pip(*args):
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise RuntimeError(f"pip {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")


# --- the run (there) ---------------------------------------------------------------------------------


def run(out, backends=BACKENDS, dry=False, log=print):
    """Measures each installed backend in its own process; writes the JSON to `out`. Returns the dict."""
    sizes = "dry" if dry else "full"
    found = {"schema": SCHEMA, "date": time.strftime("%Y-%m-%d"), "sizes": sizes, "backends": {}}
    for backend in backends:
        if importlib.util.find_spec(backend) is None:
            found["backends"][backend] = {"status": "not installed"}
            log(f"grimoire gpu run: {backend} is not installed here: skipped")
            continue
        log(f"grimoire gpu run: {backend} ...")
        env = dict(os.environ, KERAS_BACKEND=backend)
        command = [sys.executable, "-m", "grimoire.tooling.gpu", "measure", "--sizes", sizes]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode or not lines:
            found["backends"][backend] = {"status": "failed", "error": done.stderr[-3000:]}
            log(f"grimoire gpu run: {backend} failed:\n{done.stderr[-1500:]}")
            continue
        found["backends"][backend] = {"status": "measured", **json.loads(lines[-1][len("RESULT "):])}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out, json.dumps(found, indent=1) + "\n")
    log(f"grimoire gpu run: wrote {out}")
    return found


def measure(sizes):
    """This process's backend on its default device: the peak, the conv ladder and Grad-CAM (a dict)."""
    import keras
    import numpy as np

    size = SIZES[sizes]
    backend = keras.config.backend()
    device = _device(backend)
    rounds = size["rounds"]
    peak = {dtype: _matmul_gflops(size["matmul"], dtype, rounds) for dtype in ("float32", "bfloat16")}
    rng = np.random.default_rng(0)
    ladder = []
    for side, channels in size["ladder"]:
        x = rng.uniform(-1, 1, (size["ladder_batch"], side, side, channels)).astype(np.float32)
        w = rng.normal(0, 1 / np.sqrt(9 * channels), (3, 3, channels, channels)).astype(np.float32)
        conv = _compiled(backend, lambda x, w: keras.ops.conv(x, w, padding="same"))
        on_device = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(w)  # timed without the copy in
        error = _conv_error(keras.ops.convert_to_numpy(conv(*on_device))[:1], x[:1], w)
        seconds = _best(lambda: conv(*on_device), rounds)
        gflops = 2 * x.size * 9 * channels / seconds / 1e9
        ladder.append({"case": f"{side}x{side}x{channels}->{channels}", "batch": len(x), "checked_error": error,
                       "seconds": seconds, "gflops": gflops, **_fractions(gflops, peak)})
    return {"backend": backend, "keras": keras.__version__, "device": device, "peak_gflops": peak,
            "conv_ladder": ladder, "gradcam": _gradcam(size, peak, rng), "tensorflow_loaded": "tensorflow" in sys.modules}


def _gradcam(size, peak, rng):
    import keras
    import numpy as np

    from grimoire import cam, flops

    keras.utils.set_random_seed(0)
    side = size["image"]
    model = keras.applications.Xception(weights=None, input_shape=(side, side, 3))
    explainer = cam.GradCAM(model, layer_name="block14_sepconv2_act")
    forward = flops.count_flops(model)
    kernel = keras.ops.convert_to_numpy(model.layers[-1].kernel).astype(np.float64)
    rows = []
    for batch in size["batches"]:
        images = rng.uniform(-1, 1, (batch, side, side, 3)).astype(np.float32)
        classes = np.full(batch, -1, np.int32)
        result = explainer.explain(images)
        features = result.features.astype(np.float64)
        column = kernel[:, result.class_index].T[:, None, None, :]  # (batch, 1, 1, channels)
        hw = features.shape[1] * features.shape[2]
        expected = np.maximum((features * column).sum(-1), 0) / hw
        bound = TF32_ROUNDING * (np.abs(features) * np.abs(column)).sum(-1) / hw
        error = float(np.max(np.abs(result.maps - expected) - bound))
        if error > 0:
            raise AssertionError(f"Grad-CAM maps at batch {batch} differ from the closed form by {error:g} beyond the bound")
        on_device = keras.ops.convert_to_tensor(images), keras.ops.convert_to_tensor(classes)
        seconds = _best(lambda: explainer.step(*on_device)["maps"], size["rounds"])
        gflops = forward * batch / seconds / 1e9
        rows.append({"batch": batch, "image": side, "seconds": seconds, "images_per_second": batch / seconds,
                     "forward_gflops": gflops, **_fractions(gflops, peak)})
    return rows


def _device(backend):
    if backend == "jax":
        import jax

        chosen = jax.devices()[0]
        return {"platform": chosen.platform, "name": getattr(chosen, "device_kind", str(chosen))}
    import torch

    if torch.cuda.is_available():
        return {"platform": "gpu", "name": torch.cuda.get_device_name(0)}
    return {"platform": "cpu", "name": "cpu"}


def _compiled(backend, function):
    """`jax.jit` on JAX; torch runs eagerly (one cuDNN / cuBLAS kernel per op either way)."""
    if backend == "jax":
        import jax

        return jax.jit(function)
    return function


def _wait(value):
    """Blocks until `value` is computed (a GPU runs asynchronously)."""
    import keras

    if keras.config.backend() == "jax":
        value.block_until_ready()
        return
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _best(call, rounds):
    """The fastest of `rounds` timed calls, after one untimed call (compilation, autotuning)."""
    _wait(call())
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        _wait(call())
        times.append(time.perf_counter() - start)
    return min(times)


def _matmul_gflops(n, dtype, rounds):
    import keras
    import numpy as np

    a = keras.ops.convert_to_tensor(np.random.default_rng(1).uniform(-1, 1, (n, n)), dtype=dtype)
    matmul = _compiled(keras.config.backend(), keras.ops.matmul)
    return 2 * n**3 / _best(lambda: matmul(a, a), rounds) / 1e9


def _fractions(gflops, peak):
    return {"fraction_of_fp32_peak": gflops / peak["float32"], "fraction_of_bf16_peak": gflops / peak["bfloat16"]}


def _conv_error(got, x, w):
    """How far past the TF32 bound a 3x3 'same' convolution is from numpy float64 (<= 0: within)."""
    import numpy as np

    from numpy.lib.stride_tricks import sliding_window_view

    padded = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = sliding_window_view(padded, (3, 3), axis=(1, 2))  # (b, h, w, c, 3, 3)
    expected = np.einsum("bhwcij,ijco->bhwo", windows, w.astype(np.float64))
    bound = TF32_ROUNDING * np.einsum("bhwcij,ijco->bhwo", np.abs(windows), np.abs(w.astype(np.float64)))
    error = float(np.max(np.abs(got - expected) - bound))
    if error > 0:
        raise AssertionError(f"the convolution differs from numpy float64 by {error:g} beyond the TF32 bound")
    return float(np.max(np.abs(got - expected)))


# --- the report's GPU section -------------------------------------------------------------------------


def markdown(data):
    """The GPU section of `grimoire report` from a `run` JSON: one table per measured backend."""
    if data.get("schema") != SCHEMA:
        return f"_Not a `grimoire gpu run` file (schema {data.get('schema')!r}, expected {SCHEMA!r})._"
    lines = [f"Measured {data['date']} by `grimoire gpu run`" + (" --dry` (small sizes: a check of the path, not numbers to quote)." if data["sizes"] == "dry" else "`."), ""]
    for backend, found in data["backends"].items():
        if found["status"] != "measured":
            lines += [f"- {backend}: {found['status']}", ""]
            continue
        device, peak = found["device"], found["peak_gflops"]
        lines += [f"### {backend} on {device['name']} ({device['platform']}), Keras {found['keras']}", "",
                  f"Matmul peak: float32 **{peak['float32']:.0f} GFLOP/s**, bfloat16 **{peak['bfloat16']:.0f} GFLOP/s**.", "",
                  "| path | batch | time | images/s | GFLOP/s | of fp32 peak | of bf16 peak |", "|---|---|---|---|---|---|---|"]
        for rung in found["conv_ladder"]:
            lines.append(f"| conv {rung['case']} | {rung['batch']} | {rung['seconds'] * 1e3:.3f} ms | - | {rung['gflops']:.0f} | "
                         f"{rung['fraction_of_fp32_peak']:.0%} | {rung['fraction_of_bf16_peak']:.0%} |")
        for row in found["gradcam"]:
            lines.append(f"| Grad-CAM Xception {row['image']}px | {row['batch']} | {row['seconds'] * 1e3:.1f} ms | "
                         f"{row['images_per_second']:.1f} | {row['forward_gflops']:.0f} | {row['fraction_of_fp32_peak']:.0%} | "
                         f"{row['fraction_of_bf16_peak']:.0%} |")
        lines.append("")
    return "\n".join(lines)


# --- the dry run (here, CI) --------------------------------------------------------------------------

HIDE_TENSORFLOW = "GRIMOIRE_HIDE_TENSORFLOW"


class _NoTensorFlow:
    """A `sys.meta_path` finder hiding TensorFlow, as a machine without it would.

    It answers with a spec that has no origin and itself as a loader that refuses: a library probing
    with `importlib.util.find_spec` (torch's dynamo does) goes on, and `import tensorflow` fails with
    what a missing package raises.
    """

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        raise ModuleNotFoundError(f"TensorFlow is hidden from this process (import of {spec.name!r})", name=spec.name)

    def exec_module(self, module):
        pass


def hide_tensorflow():
    """Makes this process behave as if TensorFlow were not installed (for runs that must not need it)."""
    if not any(isinstance(finder, _NoTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NoTensorFlow())


def dry_run(out, log=print):
    """`bundle`, then `run.sh` in a fresh venv with TensorFlow hidden, on the CPU, small sizes. Returns the JSON."""
    out = Path(out)
    where = bundle(out / "bundle", log=log)
    env = dict(os.environ, PYTHON=sys.executable, GRIMOIRE_VENV=str(out / "venv"), CUDA_VISIBLE_DEVICES="",
               JAX_PLATFORMS="cpu", PIP_NO_INDEX="1", PIP_FIND_LINKS="", **{HIDE_TENSORFLOW: "1"})
    env.pop("PYTHONPATH", None)  # the venv's own install of the bundle, not this checkout
    done = subprocess.run(["bash", str(where / "run.sh"), str(out / "gpu.json"), "--dry"], env=env,
                          capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise RuntimeError(f"run.sh failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads((out / "gpu.json").read_text(encoding="utf-8"))


def main(argv=None):
    if os.environ.get(HIDE_TENSORFLOW):
        hide_tensorflow()
    parser = argparse.ArgumentParser(prog="grimoire gpu", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("bundle", help="the project and Keras as wheels, and run.sh, for an offline GPU machine")
    p.add_argument("--out", default="build/gpu-bundle")
    p.add_argument("--python", help="the GPU machine's Python, e.g. 3.12 (default: this one's)")
    p = commands.add_parser("run", help="time the hot paths on this machine's GPU with JAX and torch; write a JSON")
    p.add_argument("--out", default="gpu.json")
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--dry", action="store_true", help="small sizes (a CPU check of the whole path)")
    p = commands.add_parser("dry-run", help="bundle, offline install in a fresh venv with TensorFlow hidden, run on the CPU")
    p.add_argument("--out", default="build/gpu-dry-run")
    p = commands.add_parser("measure", help=argparse.SUPPRESS)
    p.add_argument("--sizes", choices=sorted(SIZES), default="full")
    args = parser.parse_args(argv)
    if args.command == "bundle":
        bundle(args.out, args.python)
    elif args.command == "run":
        unknown = [b for b in args.backends.split(",") if b not in BACKENDS]
        if unknown:
            parser.error(f"--backends must name backends from {','.join(BACKENDS)}. Received: {','.join(unknown)}")
        found = run(args.out, args.backends.split(","), dry=args.dry)
        return 0 if all(b["status"] != "failed" for b in found["backends"].values()) else 1
    elif args.command == "dry-run":
        found = dry_run(Path(args.out))
        print(json.dumps({b: v.get("status") for b, v in found["backends"].items()}))
    else:
        print("RESULT " + json.dumps(measure(args.sizes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
