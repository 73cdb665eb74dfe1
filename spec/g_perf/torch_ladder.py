"""The convolution ladder's torch rung: plain torch convolutions, forward and both gradients, no Keras.

Keras 3 also runs on torch, and on a machine with a GPU and torch but no TensorFlow this is how the
hot paths reach the GPU. The problems are the TensorFlow rungs' (NHWC images, (kh, kw, C, F)
kernels, stride 1, "same" padding); here they become torch's NCHW and (F, C, kh, kw) by views
(`permute` of an NHWC array is a channels-last NCHW tensor, which oneDNN and cuDNN take as it is)
and results come back as NHWC numpy arrays. Imported only where torch is installed (the `torch`
extra); nothing here imports TensorFlow.

Precision: full float32 on every device. cuDNN would run float32 convolutions in TF32 by default
(`torch.backends.cudnn.allow_tf32`); the rungs turn that off while they run, so they compute what
torch's float32 matmul peak computes (TF32 is off there by default) and what the oracles bound.
"""

import contextlib

import numpy as np
import pytest

MISSING = "torch is not installed (pip install -e '.[torch]'; the matrix's torch cell runs these paths)"
BACKEND = "torch"
RUNS_ON = ("tensorflow", "jax", "torch")  # Keras sessions the rungs run in: they use no Keras
BACKWARD_FACTS = {"note": "eager autograd: each timed call runs the forward convolution too; flops count the gradient alone"}


def installed():
    """Whether torch can be imported."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def precision(device):
    """Full float32 on every device: the rungs turn cuDNN's TF32 off while they run (`float32`)."""
    return "float32"


def device_params():
    """`pytest.param`s over the devices torch sees: "cpu" always, "cuda:N" per GPU, skipped with a reason."""
    count = 0
    if installed():
        import torch

        count = torch.cuda.device_count()
    params = [pytest.param("cpu", id="torch-cpu")]
    for i in range(max(count, 1)):
        marks = () if count else pytest.mark.skip(reason="no GPU visible to torch on this machine")
        params.append(pytest.param(f"cuda:{i}", id=f"torch-cuda:{i}", marks=marks))
    return params


@contextlib.contextmanager
def float32():
    """cuDNN in full float32 (no TF32) inside the block; the setting is restored after it."""
    import torch

    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = before


def _conv(kind, channels):
    import torch.nn.functional as F

    groups = channels if kind == "depthwise" else 1

    def conv(x, k):
        # NHWC -> NCHW (a channels-last view); TensorFlow's (kh, kw, C, F) kernel -> (F, C, kh, kw), and
        # the depthwise (kh, kw, C, 1) -> (C, 1, kh, kw) with C groups. Torch's conv2d is a
        # cross-correlation, as TensorFlow's and Keras' are: the kernel is not flipped.
        weight = k.permute(2, 3, 0, 1) if kind == "depthwise" else k.permute(3, 2, 0, 1)
        return F.conv2d(x.permute(0, 3, 1, 2), weight, stride=1, padding="same", groups=groups)

    return conv


def _numpy_nhwc(y):
    """An NCHW result as an NHWC numpy array (the copy to the host waits for the device)."""
    return y.permute(0, 2, 3, 1).cpu().numpy()


def forward(kind, channels):
    """`f(x, k)`: the convolution, stride 1, 'same', as an NHWC numpy array."""
    import torch

    conv = _conv(kind, channels)

    def run(x, k):
        with torch.no_grad(), float32():
            return _numpy_nhwc(conv(x, k))

    return run


def backward(kind, channels, wrt):
    """`f(x, k, g)`: the vector-Jacobian product of the convolution with respect to `wrt`.

    `torch.autograd.grad(conv(x, k), wrt, grad_outputs=g)`. Eager torch records the forward pass
    to differentiate it, so each call runs the forward convolution and then the gradient.
    Returns the input gradient NHWC, or the filter gradient in TensorFlow's kernel layout.
    """
    import torch

    conv = _conv(kind, channels)

    def run(x, k, g):
        x, k = x.detach().requires_grad_(wrt == "input"), k.detach().requires_grad_(wrt == "filter")
        with float32():
            (grad,) = torch.autograd.grad(conv(x, k), x if wrt == "input" else k,
                                          grad_outputs=g.permute(0, 3, 1, 2))
        return grad.cpu().numpy()  # the gradient has the shape (and layout) of what it is taken for

    return run


def on(device, *arrays):
    """The arrays placed on `device` ("cpu" or "cuda:N"), as torch tensors."""
    import torch

    return [torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in arrays]
