"""Conv2D kernels default to Glorot uniform (bound sqrt(6/(fan_in+fan_out)), variance 2/(fan_in+fan_out)); He normal has variance 2/fan_in."""

import math

import keras
import numpy as np
import pytest

from ..tolerances import ATOL_FLOAT64_REORDER, RTOL_FLOAT32_BOUND, RTOL_FLOAT64_REORDER, Z_STATISTICAL

pytestmark = pytest.mark.claim("init-distribution")

SEEDS = [0, 1, 2]
SHAPES = [pytest.param((3, 3, 64, 128), id="3x3-64-to-128"), pytest.param((5, 5, 16, 32), id="5x5-16-to-32")]


def analytic(name, shape):
    """The claim's formulas with fan_in = k*k*C and fan_out = k*k*F, written out by hand."""
    kh, kw, c, f = shape
    fan_in, fan_out = kh * kw * c, kh * kw * f
    variance = {"glorot": 2 / (fan_in + fan_out), "he": 2 / fan_in}[name.split("_")[0]]
    if name.endswith("uniform"):
        bound = math.sqrt(3 * variance)  # uniform(-b, b) has variance b^2/3
    else:
        # Keras draws N(0, sigma) cut at +/-2 sigma with sigma = sqrt(variance)/0.8796...; the cut
        # removes exactly the variance the 0.8796 factor added.
        bound = 2 * math.sqrt(variance) / 0.87962566103423978
    return fan_in, fan_out, variance, bound


def variance_tolerance(variance, n):
    """Z standard errors of the sample variance mean(w^2) of n zero-mean draws.

    Var(mean(w^2)) = (E[w^4] - variance^2) / n, and E[w^4] <= 3 variance^2 for the uniform (9/5) and the
    2-sigma truncated normal (~2.37) alike, so the standard error is at most variance * sqrt(2/n).
    """
    return Z_STATISTICAL * variance * math.sqrt(2 / n)


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal"])
@pytest.mark.parametrize("shape", SHAPES)
def test_expected_statistics_follow_the_fans(impl, name, shape):
    """Fans, variance and hard bound from expected_statistics equal the formulas with fan_in = k*k*C, fan_out = k*k*F."""
    fan_in, fan_out, variance, bound = analytic(name, shape)
    expected = impl.filters.expected_statistics(name, shape)
    assert (expected["fan_in"], expected["fan_out"]) == (fan_in, fan_out)
    # The same float64 formulas written in another order.
    assert expected["variance"] == pytest.approx(variance, rel=RTOL_FLOAT64_REORDER)
    assert expected["bound"] == pytest.approx(bound, rel=RTOL_FLOAT64_REORDER)
    # The same numbers for Keras' initializer objects.
    instance = keras.initializers.get(name)
    assert impl.filters.expected_statistics(instance, shape) == expected


@pytest.mark.parametrize("shape", SHAPES)
def test_default_conv2d_kernel_is_glorot_uniform(impl, shape):
    """A default Conv2D's kernel stays inside +/- sqrt(6/(fan_in+fan_out)), reaches near it, with variance 2/(fan_in+fan_out)."""
    kh, kw, c, f = shape
    fan_in, fan_out, variance, bound = analytic("glorot_uniform", shape)
    assert isinstance(keras.layers.Conv2D(f, kh).kernel_initializer, keras.initializers.GlorotUniform)
    for seed in SEEDS:
        keras.utils.set_random_seed(seed)
        layer = keras.layers.Conv2D(f, (kh, kw))
        layer.build((None, 16, 16, c))
        w = layer.kernel.numpy().astype(np.float64)
        n = w.size
        assert np.abs(w).max() <= bound * (1 + RTOL_FLOAT32_BOUND)
        # n uniform draws all missing the outer 20/n of the range has probability (1 - 20/n)^n ~ e^-20.
        assert np.abs(w).max() >= bound * (1 - 20 / n)
        assert abs(np.mean(w**2) - variance) <= variance_tolerance(variance, n)
        stats = impl.filters.init_statistics(keras.initializers.GlorotUniform(seed=seed), shape)
        assert stats["max_abs"] <= stats["bound"] * (1 + RTOL_FLOAT32_BOUND)
        assert stats["bound"] == pytest.approx(bound, rel=RTOL_FLOAT64_REORDER)


@pytest.mark.parametrize("name", ["he_normal", "glorot_normal", "he_uniform", "glorot_uniform"])
@pytest.mark.parametrize("shape", SHAPES)
def test_samples_respect_bound_and_variance(impl, name, shape):
    """Over several seeds each initializer's draws stay within the hard bound and match the variance within Z standard errors."""
    _, _, variance, bound = analytic(name, shape)
    for seed in SEEDS:
        initializer = keras.initializers.get({"class_name": name, "config": {"seed": seed}})
        w = keras.ops.convert_to_numpy(initializer(shape)).astype(np.float64)
        stats = impl.filters.init_statistics(initializer, shape)
        # init_statistics summarises exactly these draws (a seeded initializer repeats its draw).
        assert stats["size"] == w.size
        assert stats["variance"] == pytest.approx(np.mean(w**2), rel=RTOL_FLOAT64_REORDER)
        assert stats["max_abs"] == np.abs(w).max() and stats["min"] == w.min() and stats["max"] == w.max()
        assert stats["mean"] == pytest.approx(w.mean(), abs=ATOL_FLOAT64_REORDER)  # the mean itself is ~1e-4
        # The hard bound holds exactly, and the variance matches the claim.
        assert np.abs(w).max() <= bound * (1 + RTOL_FLOAT32_BOUND)
        assert abs(np.mean(w**2) - variance) <= variance_tolerance(variance, w.size)
        assert abs(stats["expected_variance"] - variance) <= RTOL_FLOAT64_REORDER * variance


def test_he_normal_variance_is_2_over_fan_in_not_a_truncated_underestimate(impl):
    """Keras compensates the 2-sigma truncation: the draws have variance 2/fan_in, not 0.774 * 2/fan_in."""
    shape = (3, 3, 128, 256)
    _, _, variance, _ = analytic("he_normal", shape)
    w = keras.ops.convert_to_numpy(keras.initializers.HeNormal(seed=0)(shape)).astype(np.float64)
    tol = variance_tolerance(variance, w.size)
    assert abs(np.mean(w**2) - variance) <= tol
    # The naive guess (truncating N(0, 2/fan_in) without compensation) is far outside the tolerance.
    assert abs(np.mean(w**2) - 0.87962566103423978**2 * variance) > tol
    # The derived constant: std of a standard normal cut at +/-2.
    assert impl.filters.TRUNCATED_NORMAL_STD == pytest.approx(0.87962566103423978, rel=RTOL_FLOAT64_REORDER)
