"""Claim `metric-distributed`: under a distribution strategy with two replicas the metric matches one device.

MirroredStrategy: the two replicas are two logical CPU devices (split at start-up by
spec/machinery.py). MultiWorkerMirroredStrategy: two worker processes on this machine, started and
stopped by the test (see multiworker.py). Each replica updates its own copy of the metric's sums;
reading the metric adds the copies (the variables are made with aggregation="sum"), which is exact
because the state is sums, not averages.
"""

import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from ..tolerances import RTOL_SAME_GRAPH

from . import multiworker, oracles

pytestmark = pytest.mark.claim("metric-distributed")

SAMPLES, BATCH = 64, 16


@pytest.fixture(scope="module")
def strategy():
    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:
        pytest.skip(
            "MirroredStrategy needs two logical CPU devices; TensorFlow had started before "
            "spec/machinery.py could split the CPU (a pytest run nested in a process that already used TensorFlow)."
        )
    # ReductionToOneDevice: replicas' gradients are summed on one device. (The default on CPU is
    # collective ops, whose instance keys collide between strategies made in one process.)
    return tf.distribute.MirroredStrategy(devices[:2], cross_device_ops=tf.distribute.ReductionToOneDevice())


CASES = [
    pytest.param(
        oracles.regressor, lambda impl: impl.metrics.RootMeanSquaredError(), "mse", "rmse", id="rmse"
    ),
    pytest.param(
        oracles.classifier,
        lambda impl: impl.metrics.BalancedAccuracy(num_classes=3),
        "sparse_categorical_crossentropy",
        "balanced_accuracy",
        id="balanced-accuracy",
    ),
]


def _data(rng, name):
    x = rng.normal(size=(SAMPLES, 4)).astype("float32")
    y = rng.normal(size=(SAMPLES, 1)).astype("float32") if name == "rmse" else rng.integers(0, 3, SAMPLES)
    weights = rng.uniform(0.1, 2.0, SAMPLES).astype("float32")
    return x, y, weights


def _compiled(build, make, impl, loss, weights=None):
    model = build()
    if weights is not None:
        model.set_weights(weights)
    # weighted_metrics: Keras hands sample_weight only to these (plain `metrics` ignore it).
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, weighted_metrics=[make(impl)])
    return model


def _oracle(name, y, predictions, weights):
    if name == "rmse":
        return oracles.rmse(y, predictions, weights)
    return oracles.balanced_accuracy(y, predictions, weights)


def test_there_are_two_replicas(strategy):
    """The strategy runs two replicas in sync, one per logical CPU."""
    assert strategy.num_replicas_in_sync == 2


@pytest.mark.parametrize("build, make, loss, name", CASES)
def test_distributed_evaluate_equals_one_device(impl, rng, strategy, build, make, loss, name):
    """evaluate() with sample weights on two replicas gives the metric of one device, and the oracle's value."""
    x, y, weights = _data(rng, name)
    single = build()
    with strategy.scope():
        mirrored = _compiled(build, make, impl, loss, weights=single.get_weights())
    predictions = single(x)
    one_device = make(impl)
    one_device.update_state(y, predictions, sample_weight=weights)
    two = mirrored.evaluate(x, y, sample_weight=weights, batch_size=BATCH, verbose=0, return_dict=True)[name]
    assert two == pytest.approx(float(one_device.result()), rel=RTOL_SAME_GRAPH)
    assert two == pytest.approx(_oracle(name, y, predictions, weights), rel=RTOL_SAME_GRAPH)


@pytest.mark.parametrize("build, make, loss, name", CASES)
def test_distributed_fit_gives_the_one_device_metric(impl, rng, strategy, build, make, loss, name):
    """After a weighted fit on two replicas, each epoch's metric equals the one-device value over that epoch's predictions."""
    x, y, weights = _data(rng, name)
    with strategy.scope():
        mirrored = _compiled(build, make, impl, loss)
    recorder = oracles.RecordBatchPredictions(x, BATCH)
    history = mirrored.fit(
        x, y, sample_weight=weights, batch_size=BATCH, epochs=2, shuffle=False, verbose=0, callbacks=[recorder]
    ).history[name]
    # The last epoch, recomputed on one device from the predictions each step started from.
    expected = _oracle(name, y, np.concatenate(recorder.predictions), weights)
    assert history[-1] == pytest.approx(expected, rel=RTOL_SAME_GRAPH)


# A bound on a two-worker run, not a measurement: each worker imports TensorFlow, builds two small
# models and evaluates 64 samples (about 15 s on an idle 2-core machine; several times that when the
# machine is shared). Past it the workers are killed and the test fails, saying which one hung.
WORKER_TIMEOUT_SECONDS = 240


def _package_of(impl):
    """What the worker processes load the implementation from (`Implementation.load`: a module name, or a
    learner's package directory, which is not importable by its folder name), and the directory to import
    a named package from."""
    package = impl.metrics.__name__.rpartition(".")[0]
    return str(impl.origin), Path(sys.modules[package].__file__).resolve().parents[1]


def _save_cases(impl, rng, path):
    """Writes each case's data and initial weights to `path`; returns the one-device results."""
    arrays, expected = {"names": np.array([c.id for c in CASES]), "batch": np.array(BATCH)}, {}
    for case in CASES:
        build, make, _, name = case.values
        x, y, weights = _data(rng, name)
        single = build()
        one_device = make(impl)
        one_device.update_state(y, single(x), sample_weight=weights)
        expected[name] = float(one_device.result())
        arrays.update({f"{case.id}_x": x, f"{case.id}_y": y, f"{case.id}_weights": weights})
        arrays.update({f"{case.id}_w{i}": w for i, w in enumerate(single.get_weights())})
    np.savez(path, **arrays)
    return expected


def test_two_worker_processes_give_the_one_device_metric(impl, rng, tmp_path):
    """Under MultiWorkerMirroredStrategy with two worker processes, evaluate() gives each metric's one-device value."""
    expected = _save_cases(impl, rng, tmp_path / "cases.npz")
    started = multiworker.start_workers(tmp_path / "cases.npz", tmp_path, *_package_of(impl))
    try:
        chief = multiworker.wait_for(started, timeout=WORKER_TIMEOUT_SECONDS)
    finally:
        multiworker.stop(started)
    assert chief["replicas"] == 2
    for case in CASES:
        name = case.values[3]
        assert chief[case.id] == pytest.approx(expected[name], rel=RTOL_SAME_GRAPH), case.id


def test_a_dead_worker_fails_the_run_quickly_and_clearly(impl, rng, tmp_path):
    """Killing one worker makes the run fail within seconds, naming the worker and its signal; no process is left behind."""
    _save_cases(impl, rng, tmp_path / "cases.npz")
    started = multiworker.start_workers(tmp_path / "cases.npz", tmp_path, *_package_of(impl))
    began = time.monotonic()
    try:
        started[1][0].kill()
        with pytest.raises(multiworker.WorkerFailure, match=r"Worker 1 of 2 exited with code -9 before giving a result"):
            multiworker.wait_for(started, timeout=WORKER_TIMEOUT_SECONDS)
        assert time.monotonic() - began < WORKER_TIMEOUT_SECONDS / 4  # found by polling, not by the deadline
    finally:
        multiworker.stop(started)
    assert all(process.poll() is not None for process, _, _ in started)


def test_a_hung_run_stops_at_its_deadline(impl, rng, tmp_path):
    """A run past its deadline is stopped with a message naming the workers still running, instead of hanging."""
    _save_cases(impl, rng, tmp_path / "cases.npz")
    started = multiworker.start_workers(tmp_path / "cases.npz", tmp_path, *_package_of(impl))
    try:
        with pytest.raises(multiworker.WorkerFailure, match=r"Workers \[0, 1\] were still running after 1 s"):
            multiworker.wait_for(started, timeout=1.0)  # far too short to import TensorFlow
    finally:
        multiworker.stop(started)
    assert all(process.poll() is not None for process, _, _ in started)
