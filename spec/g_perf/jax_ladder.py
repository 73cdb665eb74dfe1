"""The convolution ladder's JAX rung: `jax.jit` of XLA's convolution, forward and both gradients.

Keras 3 also runs on JAX, and on a machine with a GPU and JAX but no TensorFlow this is how the hot
paths reach the GPU. Imported only where JAX is installed (the `jax` extra); nothing here imports
TensorFlow.
"""

import numpy as np
import pytest

MISSING = "JAX is not installed (pip install -e '.[jax]'; the matrix's JAX cell runs these paths)"
BACKEND = "jax"
RUNS_ON = ("tensorflow", "jax")  # Keras sessions the rungs run in: they use no Keras
BACKWARD_FACTS = {}  # what the backward benchmarks add to their record (XLA drops the unused forward pass)


def installed():
    """Whether JAX can be imported."""
    import importlib.util

    return importlib.util.find_spec("jax") is not None


def device_params():
    """`pytest.param`s over the devices JAX sees: "cpu" always, "gpu:N" per GPU, skipped with a reason."""
    gpus = []
    if installed():
        import jax

        try:
            gpus = jax.devices("gpu")
        except RuntimeError:  # no GPU backend in this JAX build
            gpus = []
    params = [pytest.param("cpu", id="jax-cpu")]
    for i in range(max(len(gpus), 1)):
        marks = () if gpus else pytest.mark.skip(reason="no GPU visible to JAX on this machine")
        params.append(pytest.param(f"gpu:{i}", id=f"jax-gpu:{i}", marks=marks))
    return params


def precision(device):
    """What float32 products run in on `device`: JAX's default precision uses TF32 on Ampere-class GPUs."""
    return "float32" if device == "cpu" else "default (TF32 on Ampere and newer)"


def jax_device(device):
    """JAX's device object for "cpu" or "gpu:N"."""
    import jax

    kind, _, index = device.partition(":")
    return jax.devices(kind)[int(index or 0)]


def _conv(kind, channels):
    from jax import lax

    groups = channels if kind == "depthwise" else 1

    def conv(x, k):
        if kind == "depthwise":  # TensorFlow's (kh, kw, C, 1) kernel is JAX's (kh, kw, 1, C) with C groups
            k = k.reshape(k.shape[0], k.shape[1], 1, -1)
        return lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                        feature_group_count=groups)

    return conv


def forward(kind, channels):
    """`jit(conv)(x, k)`: stride 1, 'same', channels last, like the TensorFlow rungs; a numpy result
    (the copy waits for the device)."""
    import jax

    return _to_numpy(jax.jit(_conv(kind, channels)))


def backward(kind, channels, wrt):
    """`jit` of the gradient of `sum(conv(x, k) * g)` with respect to `wrt`, called as `f(x, k, g)`.

    The vector-Jacobian product of a linear op needs no forward result, and XLA drops the unused
    forward pass, so this times the gradient alone, like TensorFlow's raw backprop ops.
    """
    import jax

    conv = _conv(kind, channels)
    if wrt == "input":
        return _to_numpy(jax.jit(lambda x, k, g: jax.vjp(lambda x_: conv(x_, k), x)[1](g)[0]))
    return _to_numpy(jax.jit(lambda x, k, g: jax.vjp(lambda k_: conv(x, k_), k)[1](g)[0]))


def _to_numpy(compiled):
    return lambda *arrays: np.asarray(compiled(*arrays))


def on(device, *arrays):
    """The arrays placed on `device`, as JAX arrays."""
    import jax

    return [jax.device_put(np.asarray(a), jax_device(device)) for a in arrays]
