"""Claim `metric-distributed`: under MirroredStrategy with two replicas the metric matches one device.

The two replicas are two logical CPU devices (split at start-up by spec/conftest.py). Each replica
updates its own copy of the metric's sums; reading the metric adds the copies (the variables are
made with aggregation="sum"), which is exact because the state is sums, not averages.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ..tolerances import RTOL_SAME_GRAPH

from . import oracles

pytestmark = pytest.mark.claim("metric-distributed")

SAMPLES, BATCH = 64, 16


@pytest.fixture(scope="module")
def strategy():
    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:
        pytest.skip(
            "MirroredStrategy needs two logical CPU devices; TensorFlow had started before "
            "spec/conftest.py could split the CPU (a pytest run nested in a process that already used TensorFlow)."
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
