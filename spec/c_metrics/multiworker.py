"""Two-process MultiWorkerMirroredStrategy runs for claim `metric-distributed`.

`run_workers` starts two worker processes on this machine (TF_CONFIG with two free loopback
ports), each running this module as a script, and returns the chief's result. It never waits
without a bound: if a worker exits early or the run passes its deadline, every worker is killed
and `WorkerFailure` says which one failed and how.

Importing this module starts nothing (pytest imports it for doctests).
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLL_SECONDS = 0.2


class WorkerFailure(RuntimeError):
    """A worker process died, failed or outlived the deadline."""


def free_ports(count):
    """`count` distinct TCP ports free on the loopback interface right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_workers(data_path, out_dir, package, package_root, workers=2):
    """Starts the worker processes; returns them with their log and result paths."""
    ports = free_ports(workers)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    started = []
    for index in range(workers):
        env = dict(os.environ)
        env.update(
            TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            PYTHONPATH=os.pathsep.join([str(ROOT), str(package_root), env.get("PYTHONPATH", "")]),
            TF_CPP_MIN_LOG_LEVEL="2",
            CUDA_VISIBLE_DEVICES="",
        )
        out, log = Path(out_dir, f"worker{index}.json"), Path(out_dir, f"worker{index}.log")
        with open(log, "w") as log_file:
            process = subprocess.Popen(
                [sys.executable, __file__, str(data_path), str(out), package],
                cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )
        started.append((process, out, log))
    return started


def wait_for(started, timeout):
    """Waits until every worker has finished; returns the chief's (worker 0's) result.

    Raises:
        WorkerFailure: a worker exited with a non-zero code or without a result, or `timeout`
            seconds passed; the message names the worker and ends with its last log lines.
    """
    deadline = time.monotonic() + timeout
    while True:
        codes = [process.poll() for process, _, _ in started]
        for index, (code, (_, out, log)) in enumerate(zip(codes, started)):
            if code is not None and (code != 0 or not out.exists()):
                raise WorkerFailure(
                    f"Worker {index} of {len(started)} exited with code {code} before giving a result "
                    f"(a negative code is the signal that ended it). Its log ends with:\n{_tail(log)}"
                )
        if all(code == 0 for code in codes):
            return json.loads(started[0][1].read_text())
        if time.monotonic() > deadline:
            waiting = [i for i, code in enumerate(codes) if code is None]
            raise WorkerFailure(
                f"Workers {waiting} were still running after {timeout:.0f} s, so the run was stopped. "
                f"Worker {waiting[0]}'s log ends with:\n{_tail(started[waiting[0]][2])}"
            )
        time.sleep(POLL_SECONDS)


def stop(started, grace=5.0):
    """Kills every worker still running and reaps it (call in `finally`)."""
    for process, _, _ in started:
        if process.poll() is None:
            process.kill()
    for process, _, _ in started:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass


def _tail(log, lines=8):
    try:
        return "\n".join(log.read_text().splitlines()[-lines:]) or "(empty)"
    except OSError:
        return "(no log)"


# --- the worker -------------------------------------------------------------------------------


def _worker(data_path, out_path, package):
    """One worker: for each case in the data file, the in-process test's model, data and metric, evaluated under the strategy."""

    import numpy as np
    import tensorflow as tf

    import keras

    from spec.c_metrics import oracles

    keras.config.disable_traceback_filtering()  # a worker's log is all the test can show

    data = np.load(data_path)
    from grimoire.tooling.files import write_text_atomically
    from grimoire.tooling.implementation import Implementation

    metrics = Implementation.load(package).metrics  # a module name or a package directory, as --impl takes
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    result = {"replicas": strategy.num_replicas_in_sync}
    for name in [str(n) for n in data["names"]]:
        with strategy.scope():
            if name == "rmse":
                model, metric = oracles.regressor(), metrics.RootMeanSquaredError()
            else:
                model, metric = oracles.classifier(), metrics.BalancedAccuracy(num_classes=3)
            model.set_weights([data[f"{name}_w{i}"] for i in range(len(model.weights))])
        # A tf.data pipeline sharded by batch: each worker updates the metric on half of the batches.
        # (Not model.evaluate: in Keras 3.15 its symbolic build reduces a PerReplica batch eagerly,
        # which MultiWorkerMirroredStrategy refuses; the metric is what this checks, not evaluate.)
        dataset = tf.data.Dataset.from_tensor_slices((data[f"{name}_x"], data[f"{name}_y"], data[f"{name}_weights"]))
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        batches = strategy.experimental_distribute_dataset(dataset.batch(int(data["batch"])).with_options(options))

        @tf.function
        def step(x, y, weight, model=model, metric=metric):
            metric.update_state(y, model(x, training=False), sample_weight=weight)

        for x, y, weight in batches:
            strategy.run(step, args=(x, y, weight))
        result[name] = float(metric.result())
    write_text_atomically(out_path, json.dumps(result))


if __name__ == "__main__":
    _worker(*sys.argv[1:4])
