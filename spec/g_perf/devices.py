"""The devices the hot paths run on: "cpu" always, "gpu:N" for each GPU TensorFlow sees.

Shared by the benchmarks (timing) and their correctness checks, so both list the same cases.
Without TensorFlow installed (a JAX-only environment) TensorFlow sees no device, and its GPU cases
say so; `jax_ladder.device_params` lists JAX's.
"""

import importlib.util

import pytest

NO_TENSORFLOW = "TensorFlow is not installed (a JAX-only environment: the JAX benchmarks time this device)"


def tensorflow_installed():
    try:
        found = importlib.util.find_spec("tensorflow")
    except ImportError:  # a finder that refuses it
        return False
    # The spec's own no-TensorFlow probe answers with a spec that has no origin (a package that
    # cannot be loaded), so that torch, which probes with find_spec too, carries on.
    return found is not None and found.origin is not None


def gpus():
    """The GPUs TensorFlow sees (physical devices); none when TensorFlow is not installed."""
    if not tensorflow_installed():
        return []
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def device_params():
    """`pytest.param`s over the devices TensorFlow sees: "cpu" always, "gpu:N" per GPU.

    Without a GPU a "gpu:0" case is still collected, and skipped with the reason, so a run on a
    GPU machine and one here list the same cases.
    """
    found = gpus()
    params = [pytest.param("cpu", id="cpu")]
    for i in range(max(len(found), 1)):
        why = "no GPU visible to TensorFlow on this machine" if tensorflow_installed() else NO_TENSORFLOW
        marks = () if found else pytest.mark.skip(reason=why)
        params.append(pytest.param(f"gpu:{i}", id=f"gpu:{i}", marks=marks))
    return params


def tf_device(device):
    """TensorFlow's device string for "cpu" or "gpu:N"."""
    kind, _, index = device.partition(":")
    return f"/{kind.upper()}:{index or 0}"


def precision(device):
    """The arithmetic a float32 matmul/conv really uses on `device`.

    On an Ampere or newer GPU TensorFlow runs float32 matmuls and convolutions in TF32 (10-bit
    mantissa) unless `tf.config.experimental.enable_tensor_float_32_execution(False)`.
    """
    if not device.startswith("gpu"):
        return "float32"
    import tensorflow as tf

    index = int(device.partition(":")[2] or 0)
    details = tf.config.experimental.get_device_details(gpus()[index])
    capability = details.get("compute_capability", (0, 0))
    if tf.config.experimental.tensor_float_32_execution_enabled() and capability >= (8, 0):
        return "TF32"
    return "float32"
