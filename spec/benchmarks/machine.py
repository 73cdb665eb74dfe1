"""What the benchmarks run on and the machine's ceiling they are measured against.

`matmul_gflops` (a large float32 matrix product, the best a CPU or GPU does) and `copy_gbs` (a large
memory copy) are measured in the same run as every other benchmark, so results are reported as a
fraction of what this machine, loaded as it is right now, can do.
"""

import os
import platform
import time

import numpy as np
from grimoire.tooling import benchschema as schema  # noqa: F401  (the names benchmarks record)

from ..g_perf import devices
from ..g_perf.devices import precision  # noqa: F401  (the recorder asks the machine)


# The peak is the best of several sizes, each the best of several rounds: which size is fastest
# depends on the CPU's caches and the BLAS blocking (4096 was fastest on one machine here, 2048 on
# another), and a single round on a shared machine can be caught by another process.
PEAK_MATMUL_SIZES = (1024, 2048, 4096)
PEAK_MATMUL_N = 4096  # the size the interleaved measurements alternate with (137 GFLOP per product)
PEAK_ROUNDS = 5
COPY_BYTES = 256 * 2**20  # far beyond every cache level (the L3 here is shared and large)


def best_time(fn, repeats):
    """The fastest of `repeats` calls after one warm-up call (least disturbed by other load)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def interleaved_best(functions, rounds):
    """The fastest time of each function, calling them in turn `rounds` times (A, B, A, B, ...).

    On a shared machine the load changes from second to second; two functions timed one after the
    other can see different loads, but alternating them lets each see the same conditions, so the
    ratio of their best times is steadier than the ratio of two separate benchmarks.

    Args:
        functions: dict name -> callable without arguments (each already warmed up).
        rounds: how many times to call each.

    Returns:
        dict name -> best time in seconds.
    """
    best = {name: float("inf") for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def time_against(benchmark, runs, path, baseline, rounds):
    """Times `runs[path]` with pytest-benchmark; for an explainer's path, also its interleaved ratio to `runs[baseline]`.

    The ratio is stored in `extra_info` under `schema.interleaved_ratio_key(baseline)`: the two paths
    alternate in one loop, so a busy machine disturbs both alike (see `interleaved_best`).
    """
    benchmark.pedantic(runs[path], rounds=rounds, iterations=1)
    if path != baseline and benchmark.stats is not None:
        best = interleaved_best(runs, rounds)
        benchmark.extra_info[schema.interleaved_ratio_key(baseline)] = best[path] / best[baseline]


def matmul_operands(n=PEAK_MATMUL_N):
    """Two `n x n` float32 matrices of unit-normal entries."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)


def matmul_fn(a, b, device="cpu", backend="tensorflow"):
    """A float32 `a @ b` on `device` (compiled; eager on torch): returns `(run, flops)`, `run()` giving a numpy array.

    `backend` is "tensorflow", "jax" or "torch"; `device` is that backend's name for it ("gpu:0" on
    TensorFlow and JAX, "cuda:0" on torch).
    """
    flops = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    if backend == "jax":
        import jax

        from ..g_perf import jax_ladder

        a, b = jax_ladder.on(device, a, b)
        product = jax.jit(lambda x, y: x @ y)
        return (lambda: np.asarray(product(a, b))), flops
    if backend == "torch":
        from ..g_perf import torch_ladder

        a, b = torch_ladder.on(device, a, b)
        return (lambda: (a @ b).cpu().numpy()), flops  # the copy to the host waits for the device
    import tensorflow as tf

    with tf.device(devices.tf_device(device)):
        a, b = tf.constant(a), tf.constant(b)
    product = tf.function(tf.matmul)

    def run():
        with tf.device(devices.tf_device(device)):
            return product(a, b).numpy()

    return run, flops


def copy_fn(src, dst):
    """A memory copy `dst[...] = src` (numpy's memcpy): returns `(run, bytes moved: read + write)`."""
    return (lambda: np.copyto(dst, src)), src.nbytes + dst.nbytes


def matmul_gflops(device="cpu", repeats=PEAK_ROUNDS, sizes=PEAK_MATMUL_SIZES, backend="tensorflow"):
    """The machine's measured float32 matmul speed in GFLOP/s: the best over `sizes` and rounds."""
    best = 0.0
    for n in sizes:
        run, flops = matmul_fn(*matmul_operands(n), device, backend)
        best = max(best, flops / best_time(run, repeats) / 1e9)
    return best


def copy_gbs(repeats=5):
    """The machine's measured copy bandwidth in GB/s (bytes read plus bytes written)."""
    src = np.ones(COPY_BYTES // 4, dtype=np.float32)
    run, nbytes = copy_fn(src, np.empty_like(src))
    return nbytes / best_time(run, repeats) / 1e9


def info():
    """Machine and library facts for the benchmark JSON and the report (TensorFlow, JAX and torch when present)."""
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    found = {"cpu_model": cpu, "cpu_count": os.cpu_count(),
             "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,  # when asked
             "numpy": np.__version__,
             "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 CPUs)")}
    for package in ("tensorflow", "keras", "jax", "torch"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    if "tensorflow" in found:
        import tensorflow as tf

        found["gpus"] = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in devices.gpus()]
    return found
