"""Every layer's parameter count follows from its configuration and shapes alone."""

import contextlib

import keras
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


WEIGHT_READERS = (
    "count_params", "get_weights", "weights", "variables", "trainable_weights", "non_trainable_weights",
    "trainable_variables", "non_trainable_variables",
)


@contextlib.contextmanager
def weights_unreadable():
    """Makes every public way of reading a layer's weights raise, so a count must come from shapes."""

    def refuse(*args, **kwargs):
        raise AssertionError("the analytic count read the weights; it must use config and shapes only")

    with pytest.MonkeyPatch.context() as patch:
        for name in WEIGHT_READERS:
            for cls in (keras.layers.Layer, keras.Model):
                if name in vars(cls) or cls is keras.layers.Layer:
                    patch.setattr(cls, name, property(refuse) if name not in ("count_params", "get_weights") else refuse)
        yield


def analytic_counts(impl, model):
    """Our count for each layer and for the model, computed while the weights cannot be read."""
    with weights_unreadable():
        return [impl.params.count_params(layer) for layer in model.layers], impl.params.count_params(model)


def assert_counts_match_keras(impl, model):
    """Layer by layer, then in total, the analytic count equals Keras' count."""
    expected = [layer.count_params() for layer in model.layers], model.count_params()
    per_layer, total = analytic_counts(impl, model)

    mismatches = [
        (layer.name, ours, keras_count)
        for layer, ours, keras_count in zip(model.layers, per_layer, expected[0])
        if ours != keras_count
    ]
    assert mismatches == []
    assert total == expected[1]


@pytest.mark.claim("params-from-shapes")
def test_reading_weights_is_impossible_inside_the_check():
    """The guard works: Keras' own count, which reads the weights, fails under it."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])

    with weights_unreadable(), pytest.raises(AssertionError, match="read the weights"):
        model.count_params()


@pytest.mark.claim("params-from-shapes")
def test_xception_counts_match_keras_layer_by_layer(impl, xception):
    """All 132 layers of Xception, 22,910,480 parameters in all."""
    assert_counts_match_keras(impl, xception)
    assert xception.count_params() == 22_910_480


@pytest.mark.claim("params-from-shapes")
@pytest.mark.parametrize(
    "application",
    [pytest.param("MobileNetV2", id="mobilenetv2"), pytest.param("ResNet50", id="resnet50")],
)
def test_application_counts_match_keras_layer_by_layer(impl, application):
    """Depthwise convolutions, residual adds and batch norms count right too."""
    model = getattr(keras.applications, application)(weights=None)

    assert_counts_match_keras(impl, model)


# --- random small models ------------------------------------------------------------------------

small = st.integers(min_value=1, max_value=12)
kernel = st.integers(min_value=1, max_value=3)
flag = st.booleans()


def layer(name, **kwargs):
    """A strategy for (layer class name, keyword arguments); layers are built in the test itself."""
    return st.tuples(st.just(name), st.fixed_dictionaries(kwargs))


image_layers = st.one_of(
    layer("Conv2D", filters=small, kernel_size=kernel, padding=st.just("same"), use_bias=flag),
    layer("SeparableConv2D", filters=small, kernel_size=kernel, padding=st.just("same"), depth_multiplier=kernel),
    layer("DepthwiseConv2D", kernel_size=kernel, padding=st.just("same"), depth_multiplier=kernel, use_bias=flag),
    layer("Conv2DTranspose", filters=small, kernel_size=kernel, padding=st.just("same")),
    layer("BatchNormalization", center=flag, scale=flag),
    layer("LayerNormalization"),
    layer("Activation", activation=st.just("relu")),
    layer("Dropout", rate=st.just(0.5)),
)
sequence_layers = st.one_of(
    layer("SimpleRNN", units=small, use_bias=flag, return_sequences=st.just(True)),
    layer("LSTM", units=small, return_sequences=st.just(True)),
    layer("GRU", units=small, reset_after=flag, return_sequences=st.just(True)),
    layer("Conv1D", filters=small, kernel_size=kernel, padding=st.just("same")),
    layer("Dense", units=small, use_bias=flag),
    layer("LayerNormalization"),
)


def build(specs):
    return [getattr(keras.layers, name)(**kwargs) for name, kwargs in specs]


@pytest.mark.claim("params-from-shapes")
@settings(max_examples=15)
@given(channels=small, specs=st.lists(image_layers, min_size=1, max_size=4), units=small)
def test_random_sequential_convnets_match_keras(impl, channels, specs, units):
    """Random stacks of convolution and normalisation layers on (8, 8, c) images."""
    model = keras.Sequential(
        [keras.Input((8, 8, channels)), *build(specs), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(units)]
    )
    assert_counts_match_keras(impl, model)


@pytest.mark.claim("params-from-shapes")
@settings(max_examples=15)
@given(vocabulary=st.integers(2, 50), width=small, specs=st.lists(sequence_layers, min_size=1, max_size=3))
def test_random_functional_sequence_models_match_keras(impl, vocabulary, width, specs):
    """Random Functional models: embedding, recurrent and 1-D layers, two branches merged."""
    tokens = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(vocabulary, width)(tokens)
    branch = x
    for each in build(specs):
        branch = each(branch)
    merged = keras.layers.Concatenate()([x, branch])
    model = keras.Model(tokens, keras.layers.Dense(3)(merged))

    assert_counts_match_keras(impl, model)


RECURRENT = [
    pytest.param(lambda: keras.layers.SimpleRNN(5), id="simple-rnn"),
    pytest.param(lambda: keras.layers.SimpleRNN(5, use_bias=False), id="simple-rnn-no-bias"),
    pytest.param(lambda: keras.layers.LSTM(5), id="lstm"),
    pytest.param(lambda: keras.layers.GRU(5), id="gru-default-reset-after"),
    pytest.param(lambda: keras.layers.GRU(5, reset_after=False), id="gru-reset-before"),
    pytest.param(lambda: keras.layers.GRU(5, use_bias=False), id="gru-no-bias"),
]


@pytest.mark.claim("params-from-shapes")
@pytest.mark.parametrize("make_layer", RECURRENT)
def test_recurrent_layers_match_keras_with_each_bias_option(impl, make_layer):
    """Each recurrent cell, with its default and non-default bias options, is counted like Keras counts it.

    Keras' default GRU (reset_after=True) keeps a second, recurrent bias: 3 * units more than the
    textbook formula. The random models above may not draw it, so every option is listed here.
    """
    layer = make_layer()
    model = keras.Sequential([keras.Input((7, 4)), layer])
    assert_counts_match_keras(impl, model)
    config = layer.get_config()
    cell = type(layer).__name__
    formula = impl.params.rnn_params(cell, 4, 5, use_bias=config["use_bias"], reset_after=config.get("reset_after", False))
    assert formula == layer.count_params()


@pytest.mark.claim("params-from-shapes")
def test_nested_model_counts_as_the_sum_of_its_layers(impl):
    """A model used as a layer (a 'base' inside a bigger model) is counted through."""
    base = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(8, 3), keras.layers.Flatten()], name="base")
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(base(inputs)))

    assert impl.params.count_params(base) == base.count_params()
    assert_counts_match_keras(impl, model)


class Scale(keras.layers.Layer):
    """A custom layer with one weight per feature: no formula can know that from its type."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


class WiderDense(keras.layers.Dense):
    """A subclass of Dense is not Dense: it might own more weights, so it is not guessed."""


@pytest.mark.claim("params-from-shapes")
@pytest.mark.parametrize("make_layer", [pytest.param(Scale, id="custom-layer"), pytest.param(lambda: WiderDense(2), id="dense-subclass")])
def test_unknown_layer_type_is_refused_not_guessed(impl, make_layer):
    """A layer type without a formula raises an error naming it."""
    layer = make_layer()
    model = keras.Sequential([keras.Input((3,)), layer])

    with pytest.raises(ValueError, match=rf"No parameter formula for layer '{layer.name}' of type .*{type(layer).__name__}"):
        impl.params.count_params(model)
