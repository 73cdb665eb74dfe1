"""Claim `subclassing-from-scratch`: a subclassed Model writes its own call() and has no weights until built."""

import keras
import numpy as np
import pytest

from ..tolerances import ATOL_FLOAT32_DOT, RTOL_FLOAT32_DOT

from . import oracles

pytestmark = pytest.mark.claim("subclassing-from-scratch")


def test_it_is_a_keras_model_with_its_own_call(impl):
    """The subclassed classifier is a keras.Model that overrides call()."""
    cls = impl.models.SubclassedClassifier
    assert issubclass(cls, keras.Model)
    assert cls.call is not keras.Model.call


def test_it_owns_no_weights_before_the_first_call(impl):
    """Freshly constructed, the model is unbuilt and holds no variables; counting parameters is refused."""
    model = impl.models.SubclassedClassifier(hidden_units=8, num_classes=3)
    assert not model.built
    assert model.weights == []
    with pytest.raises(ValueError, match="isn't built"):
        model.count_params()


@pytest.mark.parametrize("input_dim", [pytest.param(3, id="3-features"), pytest.param(11, id="11-features")])
def test_the_first_call_creates_weights_sized_by_the_input(impl, rng, input_dim):
    """The first call creates the weights; the kernel's first axis is the input size seen in that call."""
    model = impl.models.SubclassedClassifier(hidden_units=8, num_classes=3)
    x = rng.normal(size=(4, input_dim)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x))
    assert model.built
    assert [tuple(w.shape) for w in model.weights] == [(input_dim, 8), (8,), (8, 3), (3,)]
    np.testing.assert_allclose(y, oracles.classifier(x, model), rtol=RTOL_FLOAT32_DOT, atol=ATOL_FLOAT32_DOT)


def test_build_with_an_input_shape_also_creates_the_weights(impl):
    """build((None, d)) creates the same weights a first call would."""
    model = impl.models.SubclassedClassifier(hidden_units=8, num_classes=3)
    model.build((None, 5))
    assert [tuple(w.shape) for w in model.weights] == [(5, 8), (8,), (8, 3), (3,)]
    assert model.count_params() == 5 * 8 + 8 + 8 * 3 + 3
