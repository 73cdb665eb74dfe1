"""Bad input to grimoire.models: each public function names the argument, the expectation and what it received."""

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.claim("models-errors")

GOOD = dict(input_shape=(4,), hidden_units=8, num_classes=3)


# The helpers' refusals are support: their subjects are built here, without the learner's builders,
# so a package whose builders are still stubs refuses the same way.
def _sequential(input_shape=(4,), hidden_units=8, num_classes=3):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(hidden_units, name="hidden"),
                             keras.layers.Dense(num_classes, activation="softmax", name="classifier")],
                            name="sequential_classifier")


class _Subclassed(keras.Model):
    def __init__(self, hidden_units=8, num_classes=3):
        super().__init__(name="subclassed_classifier")
        self.hidden = keras.layers.Dense(hidden_units, name="hidden")
        self.classifier = keras.layers.Dense(num_classes, name="classifier")

    def call(self, inputs):
        return self.classifier(self.hidden(inputs))


def _subclassed(input_shape=(4,), hidden_units=8, num_classes=3):
    model = _Subclassed(hidden_units, num_classes)
    model(np.zeros((1, *input_shape), "float32"))
    return model


@pytest.mark.parametrize(
    "changes, error, message",
    [
        pytest.param(
            dict(api="torch"),
            ValueError,
            r"Argument `api` must be one of \['functional', 'sequential', 'subclassed'\]. Received: api='torch'",
            id="unknown-api",
        ),
        pytest.param(
            dict(api=None),
            ValueError,
            r"Argument `api` must be one of .* Received: api=None",
            id="api-none",
        ),
        pytest.param(
            dict(input_shape=()),
            ValueError,
            r"Argument `input_shape` must be a non-empty tuple .* Received: input_shape=\(\)",
            id="empty-input-shape",
        ),
        pytest.param(
            dict(input_shape=(4, 0)),
            ValueError,
            r"Argument `input_shape` must be a positive integer. Received: input_shape=0",
            id="zero-size",
        ),
        pytest.param(
            dict(input_shape=(4.5,)),
            TypeError,
            r"Argument `input_shape` must be an integer. Received: input_shape=4.5",
            id="float-size",
        ),
        pytest.param(
            dict(input_shape="4"),
            ValueError,
            r"Argument `input_shape` must be a non-empty tuple",
            id="string-shape",
        ),
        pytest.param(
            dict(hidden_units=0),
            ValueError,
            r"Argument `hidden_units` must be a positive integer. Received: hidden_units=0",
            id="zero-units",
        ),
        pytest.param(
            dict(hidden_units=True),
            TypeError,
            r"Argument `hidden_units` must be an integer. Received: hidden_units=True",
            id="bool-units",
        ),
        pytest.param(
            dict(num_classes=1),
            ValueError,
            r"Argument `num_classes` must be at least 2.* Received: num_classes=1",
            id="one-class",
        ),
        pytest.param(
            dict(num_classes="3"),
            TypeError,
            r"Argument `num_classes` must be an integer. Received: num_classes='3'",
            id="string-classes",
        ),
    ],
)
def test_build_rejects_bad_arguments(impl, changes, error, message):
    """build() refuses a bad api, shape, width or class count with a message naming the argument."""
    arguments = {"api": "functional", **GOOD, **changes}
    with pytest.raises(error, match=message):
        impl.models.build(arguments.pop("api"), **arguments)


@pytest.mark.parametrize("builder", ["build_sequential", "build_functional", "build_subclassed"])
def test_each_api_builder_checks_its_arguments_too(impl, builder):
    """The three side-by-side definitions check their sizes like build() does."""
    build_one = getattr(impl.models, builder)
    with pytest.raises(ValueError, match=r"Argument `input_shape` must be a non-empty tuple"):
        build_one((), 8, 3)
    with pytest.raises(ValueError, match=r"Argument `hidden_units` must be a positive integer. Received: hidden_units=0"):
        build_one((4,), 0, 3)
    with pytest.raises(ValueError, match=r"Argument `num_classes` must be at least 2"):
        build_one((4,), 8, 1)


def test_the_subclassed_model_rejects_bad_arguments(impl):
    """SubclassedClassifier checks its arguments when constructed, before any weights exist."""
    with pytest.raises(ValueError, match=r"Argument `hidden_units` must be a positive integer. Received: hidden_units=-1"):
        impl.models.SubclassedClassifier(hidden_units=-1, num_classes=3)
    with pytest.raises(ValueError, match=r"Argument `num_classes` must be at least 2"):
        impl.models.SubclassedClassifier(hidden_units=4, num_classes=1)


def test_copy_weights_rejects_something_that_is_not_a_model(impl):
    """copy_weights needs two keras.Model objects."""
    model = _sequential()
    with pytest.raises(TypeError, match=r"Argument `source` must be a keras.Model. Received: source of type list"):
        impl.models.copy_weights(model.get_weights(), model)
    with pytest.raises(TypeError, match=r"Argument `target` must be a keras.Model. Received: target of type Dense"):
        impl.models.copy_weights(model, keras.layers.Dense(3))


def test_copy_weights_refuses_an_unbuilt_model(impl):
    """An unbuilt subclassed model has no weights to receive: the error says to build or call it first."""
    with pytest.raises(ValueError, match=r"Argument `target` has no weights yet.*not built. Call `target.build\(input_shape\)`"):
        impl.models.copy_weights(_sequential(), _Subclassed(8, 3))


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(dict(input_shape=(5,), hidden_units=8, num_classes=3), id="different-input"),
        pytest.param(dict(input_shape=(4,), hidden_units=9, num_classes=3), id="different-width"),
        pytest.param(dict(input_shape=(4,), hidden_units=8, num_classes=2), id="different-classes"),
    ],
)
def test_copy_weights_refuses_different_architectures(impl, other):
    """Models whose weight shapes differ are refused, and the message shows both layer lists."""
    source = _sequential()
    target = _subclassed(**other)
    with pytest.raises(ValueError, match=r"must have the same architecture.*Received: source='sequential_classifier' with \[hidden: \[\(4, 8\), \(8,\)\]"):
        impl.models.copy_weights(source, target)


def test_copy_weights_refuses_a_different_number_of_layers(impl):
    """A target with an extra layer is a different architecture."""
    source = _sequential()
    target = _sequential()
    target.add(keras.layers.Dense(2))
    with pytest.raises(ValueError, match=r"same weighted layers in the same order"):
        impl.models.copy_weights(source, target)


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        pytest.param(
            dict(input_dim=0, shared_units=4, num_classes=2),
            ValueError,
            r"Argument `input_dim` must be a positive integer",
            id="zero-input",
        ),
        pytest.param(
            dict(input_dim=3, shared_units=2.0, num_classes=2),
            TypeError,
            r"Argument `shared_units` must be an integer. Received: shared_units=2.0",
            id="float-units",
        ),
        pytest.param(
            dict(input_dim=3, shared_units=4, num_classes=0),
            ValueError,
            r"Argument `num_classes` must be at least 2: .* Received: num_classes=0",
            id="zero-classes",
        ),
    ],
)
def test_build_siamese_rejects_bad_arguments(impl, arguments, error, message):
    """build_siamese checks its sizes."""
    with pytest.raises(error, match=message):
        impl.models.build_siamese(**arguments)


def test_describe_graph_rejects_a_non_model(impl):
    """describe_graph needs a keras.Model."""
    with pytest.raises(TypeError, match=r"Argument `model` must be a keras.Model. Received: model of type Dense"):
        impl.models.describe_graph(keras.layers.Dense(2))


def test_describe_graph_explains_that_a_subclassed_model_has_no_graph(impl):
    """A subclassed model's call() is Python code, not a graph: describe_graph says so instead of guessing."""
    with pytest.raises(ValueError, match=r"has no static graph.*subclassed model's call\(\) is plain Python"):
        impl.models.describe_graph(_subclassed())


A, B = np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")


@pytest.mark.parametrize(
    "tensors, mode, error, message",
    [
        pytest.param(
            [A, B],
            "multiply",
            ValueError,
            r"Argument `mode` must be one of \['add', 'concatenate', 'stack'\]. Received: mode='multiply'",
            id="unknown-mode",
        ),
        pytest.param(
            [A, B],
            2,
            ValueError,
            r"Argument `mode` must be one of .* Received: mode=2",
            id="mode-not-string",
        ),
        pytest.param(
            [],
            "add",
            ValueError,
            r"Argument `tensors` must hold at least two tensors to merge with mode='add'. Received: 0 tensor\(s\)",
            id="empty-list",
        ),
        pytest.param(
            [A],
            "stack",
            ValueError,
            r"at least two tensors to merge with mode='stack'. Received: 1 tensor\(s\)",
            id="one-tensor",
        ),
        pytest.param(
            A,
            "concatenate",
            TypeError,
            r"Argument `tensors` must be a list or tuple of tensors. Received: tensors of type ndarray",
            id="not-a-list",
        ),
        pytest.param(
            [A, "b"],
            "add",
            TypeError,
            r"Argument `tensors` must hold tensors or arrays. Received: tensors\[1\] of type str",
            id="not-a-tensor",
        ),
        pytest.param(
            [np.zeros(3), np.zeros(3)],
            "add",
            ValueError,
            r"every tensor needs a batch axis .* Received shapes: \[\(3,\), \(3,\)\]",
            id="no-batch-axis",
        ),
        pytest.param(
            [np.zeros((2, 4, 3)), np.zeros((2, 5, 3))],
            "concatenate",
            ValueError,
            r"mode='concatenate' joins tensors on the last axis, so all other axes must match. Received shapes: \[\(2, 4, 3\), \(2, 5, 3\)\]",
            id="concatenate-mismatch",
        ),
    ],
)
def test_merge_rejects_bad_input(impl, tensors, mode, error, message):
    """merge refuses an unknown mode, too few tensors, non-tensors and shapes its mode cannot join."""
    with pytest.raises(error, match=message):
        impl.models.merge(tensors, mode)
