"""The convolution problems of section G and how their answers are compared; no framework imported.

Shared by the TensorFlow and JAX rungs, their correctness checks and their benchmarks.
"""

import functools

import numpy as np

from ..tolerances import ATOL_CONV, RTOL_CONV


def conv_inputs(kind, batch, size, channels, filters, kernel_size, seed=0):
    """Float32 images, kernel and upstream gradient of unit scale for one benchmark size."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, size, size, channels), dtype=np.float32)
    # He-like scale keeps outputs of unit size whatever the fan-in, so one tolerance fits all.
    fan_in = kernel_size * kernel_size * (channels if kind == "conv" else 1)
    shape = (kernel_size, kernel_size, channels, filters if kind == "conv" else 1)
    k = (rng.standard_normal(shape, dtype=np.float32) / np.sqrt(fan_in)).astype(np.float32)
    out_channels = filters if kind == "conv" else channels
    g = rng.standard_normal((batch, size, size, out_channels), dtype=np.float32)
    return x, k, g


def conv_macs(kind, batch, size, channels, filters, kernel_size):
    """Multiply-adds of one forward pass (and of each gradient: they do the same products)."""
    per_output = kernel_size * kernel_size * (channels if kind == "conv" else 1)
    return batch * size * size * (filters if kind == "conv" else channels) * per_output


def assert_same(got, want):
    """`got` (float32 path) equals `want` (float64 oracle) to convolution tolerance.

    The absolute part scales with the largest value: a filter gradient sums batch*height*width
    products, so its entries grow like the square root of that count, and float32 rounding with
    them; relative to the largest entry the error stays at the convolution level.
    """
    want = np.asarray(want)
    np.testing.assert_allclose(np.asarray(got), want, rtol=RTOL_CONV, atol=ATOL_CONV * max(1.0, float(np.abs(want).max())))


# (kind, batch, size, channels, filters, kernel): the rungs the JAX and torch ladders time, the
# TensorFlow benchmarks' sizes.
RUNGS = {
    "3x3": ("conv", 32, 64, 64, 64, 3),
    "1x1": ("conv", 32, 32, 256, 256, 1),
    "depthwise": ("depthwise", 32, 64, 64, 1, 3),
}


@functools.cache
def rung(name):
    """`(kind, shape, (x, k, g), macs)` of one of `RUNGS`, built once per process."""
    kind, *shape = RUNGS[name]
    x, k, g = conv_inputs(kind, *shape)
    return kind, shape, (x, k, g), conv_macs(kind, *shape)
