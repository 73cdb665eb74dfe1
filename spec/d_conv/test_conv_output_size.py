"""Conv2D's output size along an axis is floor((n + 2p - d*(k-1) - 1)/s) + 1: 'valid' is p = 0, 'same' gives ceil(n/s)."""

import math

import keras
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ..tolerances import ATOL_FLOAT32_DOT, RTOL_FLOAT32_DOT

pytestmark = pytest.mark.claim("conv-output-size")


# The first Keras whose Conv layers refuse a 'valid' output of size <= 0 (found by `grimoire matrix`).
KERAS_REFUSES_EMPTY_VALID = "3.14.0"


def formula(n, k, s, d, padding):
    """The claim's closed forms, written out independently of the implementation."""
    if padding == "same":
        return math.ceil(n / s)
    return math.floor((n + 2 * 0 - d * (k - 1) - 1) / s) + 1


CONFIGS = [
    pytest.param((None, 28, 28, 1), 32, 3, 1, "valid", 1, id="mnist-3x3"),
    pytest.param((None, 299, 299, 3), 32, 3, 2, "valid", 1, id="xception-stem"),
    pytest.param((None, 224, 224, 3), 64, 7, 2, "same", 1, id="resnet-stem-same"),
    pytest.param((None, 32, 32, 16), 8, 3, 1, "valid", 2, id="dilated-valid"),
    pytest.param((None, 33, 17, 4), 8, (5, 3), (3, 2), "valid", 1, id="per-axis-odd"),
    pytest.param((None, 33, 17, 4), 8, (5, 3), (3, 2), "same", 1, id="per-axis-same"),
    pytest.param((2, 9, 9, 2), 4, 3, 1, "same", (2, 3), id="dilated-same"),
    pytest.param((None, 8, 8, 1), 16, 8, 1, "valid", 1, id="kernel-equals-input"),
    pytest.param((None, 8, 8, 1), 16, 1, 3, "valid", 1, id="pointwise-strided"),
]


@pytest.mark.parametrize(("input_shape", "filters", "kernel_size", "strides", "padding", "dilation"), CONFIGS)
def test_output_shape_matches_keras_and_the_formula(impl, input_shape, filters, kernel_size, strides, padding, dilation):
    """conv2d_output_shape equals Keras' compute_output_shape, the real output's shape and the closed formula."""
    config = dict(strides=strides, padding=padding, dilation_rate=dilation)
    layer = keras.layers.Conv2D(filters, kernel_size, **config)
    got = impl.conv.conv2d_output_shape(input_shape, filters, kernel_size, **config)

    assert tuple(got) == tuple(layer.compute_output_shape(input_shape))
    actual = layer(np.zeros((2,) + tuple(input_shape[1:]), dtype="float32")).shape
    assert tuple(got[1:]) == tuple(actual[1:])

    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    expected = tuple(
        formula(n, k, s, d, padding) for n, k, s, d in zip(input_shape[1:3], pair(kernel_size), pair(strides), pair(dilation))
    )
    assert tuple(got[1:3]) == expected


@settings(max_examples=100)
@given(
    n=st.integers(1, 300),
    k=st.integers(1, 9),
    s=st.integers(1, 5),
    d=st.integers(1, 4),
    padding=st.sampled_from(["valid", "same"]),
)
def test_formula_agrees_with_keras_on_many_sizes(impl, n, k, s, d, padding):
    """Over a hundred (n, k, s, d, padding) the per-axis length matches Keras' shape inference and the formula."""
    assume(padding == "same" or d * (k - 1) + 1 <= n)  # else no output: refused (conv-errors)
    # Keras' shape inference is pure arithmetic (no kernel runs), so strides and dilation can be mixed here.
    keras_shape = keras.ops.conv(
        keras.KerasTensor((1, n, 1, 1)), keras.KerasTensor((k, 1, 1, 1)), strides=(s, 1), padding=padding, dilation_rate=(d, 1)
    ).shape
    assert impl.conv.conv_output_length(n, k, stride=s, padding=padding, dilation=d) == keras_shape[1]
    assert keras_shape[1] == formula(n, k, s, d, padding)


@pytest.mark.parametrize(
    ("n", "s"),
    [pytest.param(n, s, id=f"n{n}-s{s}") for n, s in [(7, 2), (8, 2), (9, 3), (10, 3), (1, 4), (299, 2)]],
)
def test_same_padding_adds_just_enough_zeros(impl, n, s):
    """'same' pads (k-1)-ish zeros, odd one at the end like TensorFlow, so the output is ceil(n/s): checked on tf.pad + valid."""
    rng = np.random.default_rng(n * 10 + s)
    x = rng.normal(size=(1, n, n, 1)).astype("float32")
    k = rng.normal(size=(3, 3, 1, 1)).astype("float32")
    before, after = impl.conv.same_padding(n, 3, s)
    assert (before + after + n - 3) // s + 1 == math.ceil(n / s)
    same = keras.ops.conv(x, k, strides=s, padding="same")
    padded = np.pad(x, [(0, 0), (before, after), (before, after), (0, 0)])
    # Two different TensorFlow convolutions (oneDNN may pick different algorithms for each): equal up
    # to the float32 rounding of a 9-term dot product, not bit for bit.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(same), keras.ops.convert_to_numpy(keras.ops.conv(padded, k, strides=s)),
        rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT,
    )


@pytest.mark.since(keras=KERAS_REFUSES_EMPTY_VALID, why="older Keras returns a zero or negative size for it, without an error")
def test_keras_refuses_a_kernel_larger_than_the_input_too(impl):
    """Keras itself refuses the same 'valid' convolution with no position left."""
    with pytest.raises(ValueError, match="zero or negative"):
        keras.layers.Conv2D(4, 3, dilation_rate=3).compute_output_shape((None, 6, 6, 1))
