"""Bad input to grimoire.params gets a Keras-style error: argument, expectation, what was received."""

import keras
import pytest

pytestmark = pytest.mark.claim("params-errors")


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        pytest.param((0, 32), ValueError, r"`input_size` must be a positive integer. Received: input_size=0", id="zero"),
        pytest.param((3, -1), ValueError, r"`output_size` must be a positive integer. Received: output_size=-1", id="negative"),
        pytest.param((3.0, 32), TypeError, r"`input_size` must be an integer. Received: input_size=3.0", id="float"),
        pytest.param((True, 32), TypeError, r"`input_size` must be an integer. Received: input_size=True", id="bool"),
        pytest.param((None, 32), TypeError, r"`input_size` must be an integer. Received: input_size=None", id="none"),
        pytest.param(("3", 32), TypeError, r"`input_size` must be an integer. Received: input_size='3'", id="string"),
    ],
)
def test_dense_params_rejects_bad_sizes(impl, args, error, message):
    """Sizes must be positive integers; bools, floats and None are refused."""
    with pytest.raises(error, match=message):
        impl.params.dense_params(*args)


def test_dense_params_rejects_non_bool_use_bias(impl):
    """use_bias must be a bool, not a truthy number."""
    with pytest.raises(TypeError, match=r"`use_bias` must be a bool. Received: use_bias=1"):
        impl.params.dense_params(3, 32, use_bias=1)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        pytest.param(lambda p: p.conv_params((3, 3), 4, 8, groups=3), ValueError, r"`filters` must be divisible by `groups`.*Received: filters=8, groups=3", id="groups"),
        pytest.param(lambda p: p.conv_params((), 4, 8), ValueError, r"`kernel_size` must be an integer or a non-empty tuple of integers. Received: kernel_size=\(\)", id="empty-kernel"),
        pytest.param(lambda p: p.conv_params((3, 0), 4, 8), ValueError, r"`kernel_size` must be a positive integer. Received: kernel_size=0", id="zero-kernel-side"),
        pytest.param(lambda p: p.rnn_params("Transformer", 3, 4), ValueError, r"`cell` must be one of \['GRU', 'LSTM', 'SimpleRNN'\]", id="cell"),
        pytest.param(lambda p: p.batch_norm_params(0), ValueError, r"`channels` must be a positive integer", id="channels"),
        pytest.param(lambda p: p.layer_norm_params(0), ValueError, r"`features` must be a positive integer. Received: features=0", id="features"),
        pytest.param(lambda p: p.embedding_params(10, -1), ValueError, r"`output_dim` must be a positive integer. Received: output_dim=-1", id="output-dim"),
        pytest.param(lambda p: p.depthwise_conv_params((3, 3), 4, depth_multiplier=0), ValueError, r"`depth_multiplier` must be a positive integer", id="multiplier"),
        pytest.param(lambda p: p.separable_conv_params((3, 3), 4, 2.5), TypeError, r"`filters` must be an integer. Received: filters=2.5", id="float-filters"),
        pytest.param(lambda p: p.layer_norm_params(4, center="yes"), TypeError, r"`center` must be a bool. Received: center='yes'", id="center"),
    ],
)
def test_other_formulas_reject_bad_arguments(impl, call, error, message):
    """Each formula checks its own arguments."""
    with pytest.raises(error, match=message):
        call(impl.params)


def test_count_params_refuses_an_unbuilt_model_and_says_how_to_build_it(impl):
    """An unbuilt model has no shapes to count from."""
    model = keras.Sequential([keras.layers.Dense(4)])

    with pytest.raises(ValueError, match=r"is not built.*model\.build\(input_shape\)"):
        impl.params.count_params(model)


def test_count_params_refuses_an_unbuilt_layer(impl):
    """An unbuilt layer with weights cannot be counted either."""
    with pytest.raises(ValueError, match=r"Layer 'dense.*' is not built"):
        impl.params.count_params(keras.layers.Dense(4))


@pytest.mark.parametrize("value", [pytest.param(None, id="none"), pytest.param(3, id="int"), pytest.param("model", id="string")])
def test_count_params_refuses_non_layers(impl, value):
    """Only Keras models and layers can be counted."""
    with pytest.raises(TypeError, match=r"must be a Keras model or layer. Received: "):
        impl.params.count_params(value)


def test_param_table_refuses_a_layer(impl):
    """The table is per model."""
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model. Received: model of type Dense"):
        impl.params.param_table(keras.layers.Dense(3))


# Conv2D configurations Keras' constructor (or its build) refuses: (kernel_size, in_channels, filters, groups).
KERAS_REFUSES = [
    pytest.param((3, 3), 4, 6, 4, id="filters-not-divisible-by-groups"),
    pytest.param((3, 3), 6, 4, 4, id="in-channels-not-divisible-by-groups"),
    pytest.param((3, 3), 4, 0, 1, id="zero-filters"),
    pytest.param((3, 3), 4, -2, 1, id="negative-filters"),
    pytest.param((3, 0), 4, 8, 1, id="zero-kernel-side"),
    pytest.param((3, -1), 4, 8, 1, id="negative-kernel-side"),
    pytest.param((3, 3), 4, 8, 0, id="zero-groups"),
]


@pytest.mark.parametrize(("kernel_size", "in_channels", "filters", "groups"), KERAS_REFUSES)
def test_conv_formulas_refuse_what_keras_refuses(impl, kernel_size, in_channels, filters, groups):
    """Where keras.layers.Conv2D refuses a configuration, conv_params and conv_macs refuse it too, never return a count."""
    with pytest.raises(ValueError):
        layer = keras.layers.Conv2D(filters, kernel_size, groups=groups)
        layer.build((None, 8, 8, in_channels))
    with pytest.raises(ValueError, match=r"Argument `\w+` must be"):
        impl.params.conv_params(kernel_size, in_channels, filters, groups=groups)
    with pytest.raises(ValueError, match=r"Argument `\w+` must be"):
        impl.flops.conv_macs(kernel_size, in_channels, filters, (6, 6), groups=groups)


def test_groups_must_divide_filters_as_keras_requires(impl):
    """conv_params((3, 3), 4, 6, groups=4) is refused with the reason (it used to return 60)."""
    with pytest.raises(ValueError, match=r"`filters` must be divisible by `groups`.*Received: filters=6, groups=4"):
        impl.params.conv_params((3, 3), 4, 6, groups=4)
