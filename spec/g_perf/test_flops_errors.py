"""Bad input to grimoire.flops: each error names the argument, the expectation and what was received."""

import keras
import pytest

pytestmark = pytest.mark.claim("flops-errors")


class Scale(keras.layers.Layer):
    """A custom layer with a weight: no formula can know what it computes."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],))

    def call(self, x):
        return x * self.w


def test_unknown_layer_type_is_refused_not_guessed(impl):
    model = keras.Sequential([keras.Input((4,)), Scale(name="scale")])
    with pytest.raises(ValueError, match=r"No multiply-add formula for layer 'scale' of type .*Scale"):
        impl.flops.count_macs(model)


def test_unbuilt_model_is_refused(impl):
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="is not built"):
        impl.flops.count_flops(model)


def test_unknown_spatial_size_is_refused(impl):
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(4, 3)])
    with pytest.raises(ValueError, match=r"unknown sizes .*keras.Input\(\(299, 299, 3\)\)"):
        impl.flops.count_macs(model)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-2, ValueError), (2.5, TypeError), (True, TypeError)])
def test_batch_size_must_be_a_positive_int(impl, batch_size, error):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(error, match=r"Argument `batch_size` .* Received: batch_size="):
        impl.flops.count_flops(model, batch_size=batch_size)


def test_non_layer_is_refused(impl):
    with pytest.raises(TypeError, match=r"Argument `model_or_layer` must be a Keras model or layer. Received: 'xception'"):
        impl.flops.count_macs("xception")


def test_flops_table_needs_a_model(impl):
    with pytest.raises(TypeError, match="Argument `model` must be a keras.Model"):
        impl.flops.flops_table(keras.layers.Dense(2))


def test_kernel_and_output_ranks_must_agree(impl):
    with pytest.raises(ValueError, match=r"one entry per spatial axis. Received: kernel_size=\(3, 3\), output_size=\(5, 5, 5\)"):
        impl.flops.conv_macs((3, 3), 4, 8, (5, 5, 5))


def test_groups_must_divide_channels(impl):
    with pytest.raises(ValueError, match=r"`in_channels` must be divisible by `groups`.*Received: in_channels=6, groups=4"):
        impl.flops.conv_macs(3, 6, 8, (5, 5), groups=4)


def test_groups_must_divide_filters(impl):
    with pytest.raises(ValueError, match=r"`filters` must be divisible by `groups`.*Received: filters=6, groups=4"):
        impl.flops.conv_macs(3, 4, 6, (5, 5), groups=4)


def test_unknown_rnn_cell_is_refused(impl):
    with pytest.raises(ValueError, match=r"Argument `cell` must be one of \['GRU', 'LSTM', 'SimpleRNN'\]. Received: cell='RNN'"):
        impl.flops.rnn_macs("RNN", 3, 4, 5)


def cross_gram(pair):
    """All pairwise dot products between the steps of two sequences: 5 * 5 * 16 multiply-adds, no weights."""
    first, second = pair
    return keras.ops.matmul(first, keras.ops.swapaxes(second, 1, 2))


@pytest.mark.parametrize(
    "build, name, kind",
    [
        pytest.param(lambda a, b: keras.layers.Dot(axes=-1, name="similarity")([a, b]), "similarity", "Dot", id="dot"),
        # Both inputs feed the Lambda: Keras 3.12 refuses a model whose outputs leave an input unused.
        pytest.param(lambda a, b: keras.layers.Lambda(cross_gram, output_shape=(5, 5), name="gram")([a, b]), "gram", "Lambda",
                     id="lambda"),
    ],
)
def test_weightless_layers_that_may_multiply_are_refused(impl, build, name, kind):
    """No parameters is not no multiply-adds: a Dot (a dot product per pair) or a Lambda is refused, not counted as 0."""
    a, b = keras.Input((5, 16)), keras.Input((5, 16))
    model = keras.Model([a, b], build(a, b))
    with pytest.raises(ValueError, match=rf"No multiply-add formula for layer '{name}' of type .*\.{kind}\. "):
        impl.flops.count_macs(model)
