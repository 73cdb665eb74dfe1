"""Benchmark plumbing: skip rules, quick mode, machine info, the measured peak and the recorder.

Benchmarks run with `pytest spec/benchmarks --benchmark-only -n 0`; the default run
skips them (`--benchmark-skip` is in the project's addopts). Under xdist they are skipped too:
two workers on two cores would time each other's load, not the code. `--benchmark-quick` (an
option of the Grimoire plugin) leaves out the slowest cases and times one round each.
"""

import functools
import os

import pytest

from . import machine
from .machine import schema

HERE = os.path.dirname(__file__)


def _xdist_active(config):
    # Workers carry PYTEST_XDIST_WORKER; the controller has a worker count. (`--dist` alone says
    # nothing: the project's addopts set it for every run.)
    return "PYTEST_XDIST_WORKER" in os.environ or bool(config.getoption("numprocesses", None))


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_quick"):
        slow = [item for item in items if str(item.path).startswith(HERE) and any(k in item.name for k in schema.QUICK_LEAVE_OUT)]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if item not in slow]
    if not _xdist_active(config) or (config.getoption("benchmark_skip") and not config.getoption("benchmark_only")):
        return  # the default run skips benchmarks anyway (--benchmark-skip), with its own reason
    skip = pytest.mark.skip(
        reason="benchmarks are disabled under xdist: parallel workers share the cores and would time "
        "each other's load. Run `pytest spec/benchmarks --benchmark-only -n 0`."
    )
    for item in items:
        if str(item.path).startswith(HERE):
            item.add_marker(skip)


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info.update(machine.info())


@pytest.fixture(scope="session")
def quick(pytestconfig):
    """True under `--benchmark-quick`: one round per benchmark, to check the plumbing."""
    return pytestconfig.getoption("benchmark_quick")


@pytest.fixture(scope="session")
def machine_peak():
    """`machine_peak(device, backend)`: the matmul GFLOP/s on that device and backend, and the copy GB/s.

    Measured once per device and backend. Quick mode measures the peak the same way: a fraction of
    peak is only meaningful against a peak that bounds every benchmark on the device.
    """

    @functools.cache
    def measure(device, backend="tensorflow"):
        return {"matmul_gflops": machine.matmul_gflops(device, backend=backend), "copy_gbs": machine.copy_gbs()}

    return measure


def pytest_configure(config):
    # pytest-benchmark asks for machine info when it writes the JSON, at the end: keep the start's load.
    config._grimoire_load_at_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else None


@pytest.fixture(scope="session")
def peak_matmul():
    """The peak benchmark's matmul as `(run, flops)`, to interleave with another benchmark."""
    return machine.matmul_fn(*machine.matmul_operands())


@pytest.fixture
def against_peak(benchmark, peak_matmul):
    """Returns `against_peak(run, flops, rounds=5)`: the fraction of the matmul peak with the two interleaved.

    Stores `interleaved_fraction_of_peak` in `extra_info` (see `machine.interleaved_best`).
    """

    def measure(run, flops, rounds=5):
        if benchmark.stats is None:
            return None
        matmul, matmul_flops = peak_matmul
        best = machine.interleaved_best({"run": run, "matmul": matmul}, rounds)
        fraction = (flops / best["run"]) / (matmul_flops / best["matmul"])
        benchmark.extra_info[schema.INTERLEAVED_FRACTION_OF_PEAK] = fraction
        return fraction

    return measure


@pytest.fixture
def record(benchmark, machine_peak):
    """Returns `record(**facts)`: stores facts and derived speeds in the benchmark's `extra_info`.

    Call it after the benchmark ran. Speeds use the fastest round (the least disturbed by other
    load on a shared machine), like the peak they are compared with.

    Args (keywords): flops (per call), bytes (minimum memory traffic per call, optional), device,
        batch_size, path (the rung of the ladder), case (the problem size), precision (default:
        what `device` uses for float32).
    """

    def record(*, flops, device, batch_size, path, case, bytes=None, precision=None, backend="tensorflow", **more):
        info = benchmark.extra_info
        # JAX and torch rungs are compared with their own matmul on the same device; numpy rungs run
        # on the CPU, where TensorFlow's matmul is the ceiling they are compared with.
        peak = machine_peak(device, backend if backend in ("jax", "torch") else "tensorflow")
        info.update({
            schema.FLOPS: int(flops),
            schema.DEVICE: device,
            schema.PRECISION: precision or machine.precision(device),
            schema.BATCH_SIZE: int(batch_size),
            schema.PATH: path,
            schema.CASE: case,
            schema.BACKEND: backend,
            schema.PEAK_GFLOPS: peak["matmul_gflops"],
            schema.PEAK_COPY_GBS: peak["copy_gbs"],
            **more,
        })
        if bytes is not None:
            info[schema.BYTES] = int(bytes)
            info[schema.INTENSITY] = flops / bytes  # FLOP per byte, the roofline's x axis
        if benchmark.stats is not None:  # None when benchmarks are disabled (run once, untimed)
            seconds = benchmark.stats.stats.min
            info[schema.GFLOPS] = flops / seconds / 1e9
            info[schema.FRACTION_OF_PEAK] = info[schema.GFLOPS] / peak["matmul_gflops"]
        return info

    return record


def pytest_benchmark_update_json(config, benchmarks, output_json):
    # The load when the run started and when it ended: a busy machine shows.
    info = output_json["machine_info"]
    info["load_average_at_start"] = getattr(config, "_grimoire_load_at_start", None)
    info["load_average_at_end"] = info.pop("load_average", None)
