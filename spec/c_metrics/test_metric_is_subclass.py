"""Claim `metric-is-subclass`: a custom metric subclasses keras.metrics.Metric and writes the three methods.

The pattern is shown on the first metric of the study text, RMSE; BalancedAccuracy, written next,
follows it in every later claim of the section (its state, streaming, training, saving).
"""

import keras
import pytest

pytestmark = pytest.mark.claim("metric-is-subclass")

METRICS = [pytest.param(lambda impl: impl.metrics.RootMeanSquaredError(), id="rmse")]


@pytest.mark.parametrize("make", METRICS)
def test_the_metric_is_a_keras_metric(impl, make):
    """Each custom metric is an instance of keras.metrics.Metric."""
    metric = make(impl)
    assert isinstance(metric, keras.metrics.Metric)


@pytest.mark.parametrize("make", METRICS)
@pytest.mark.parametrize("method", ["update_state", "result", "reset_state"])
def test_the_metric_writes_its_own_update_result_and_reset(impl, make, method):
    """update_state, result and reset_state are the metric's own methods, not the base class's."""
    metric = make(impl)
    assert getattr(type(metric), method) is not getattr(keras.metrics.Metric, method)


@pytest.mark.parametrize("method, args", [("update_state", ([0.0], [0.0])), ("result", ())])
def test_the_base_class_leaves_update_and_result_to_the_subclass(method, args):
    """keras.metrics.Metric itself cannot update or give a result: a subclass must write them."""
    base = keras.metrics.Metric(name="bare")
    with pytest.raises(NotImplementedError):
        getattr(base, method)(*args)
