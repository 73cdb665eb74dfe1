"""The CAM target is the last layer with a 4-D output before global pooling, nested models included."""

import keras
import pytest

pytestmark = pytest.mark.claim("last-conv-layer")

L = keras.layers


def _sequential():
    return keras.Sequential(
        [keras.Input((16, 16, 3)), L.Conv2D(4, 3, name="c1"), L.MaxPooling2D(name="pool"),
         L.Conv2D(8, 3, activation="relu", name="target"), L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")]
    )


def _functional_branches():
    inputs = keras.Input((16, 16, 3))
    left = L.Conv2D(4, 3, padding="same", name="left")(inputs)
    right = L.Conv2D(4, 5, padding="same", name="right")(inputs)
    merged = L.Concatenate(name="target")([left, right])
    return keras.Model(inputs, L.Dense(2)(L.GlobalMaxPooling2D()(merged)))


def _flatten_head():
    return keras.Sequential(
        [keras.Input((12, 12, 1)), L.Conv2D(4, 3, name="target"), L.Flatten(), L.Dense(5), L.Dense(2)]
    )


def _nested_in_sequential():
    inputs = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, name="stem")(inputs)
    base = keras.Model(inputs, L.Conv2D(8, 3, name="target")(x), name="base")
    return keras.Sequential([keras.Input((16, 16, 3)), base, L.GlobalAveragePooling2D(), L.Dense(3)])


def _nested_twice_in_functional():
    inner_in = keras.Input((14, 14, 4))
    inner = keras.Model(inner_in, L.Conv2D(6, 3, name="target")(inner_in), name="inner")
    mid_in = keras.Input((16, 16, 3))
    middle = keras.Model(mid_in, inner(L.Conv2D(4, 3, name="stem")(mid_in)), name="middle")
    inputs = keras.Input((16, 16, 3))
    x = L.GlobalAveragePooling2D()(middle(L.Rescaling(1 / 255)(inputs)))
    return keras.Model(inputs, L.Dense(3, activation="softmax")(x))


def _permuted_after_the_target():
    """MTCNN's RNet/ONet shape: the last map is transposed (height <-> width) before flattening."""
    return keras.Sequential(
        [keras.Input((12, 12, 3)), L.Conv2D(4, 3, name="target"), L.Permute((2, 1, 3), name="permute"),
         L.Flatten(), L.Dense(2, activation="softmax")]
    )


def _reshaped_after_the_target():
    return keras.Sequential(
        [keras.Input((12, 12, 3)), L.Conv2D(4, 3, name="target"), L.Reshape((5, 20, 4), name="reshape"),
         L.Conv2D(2, 3, name="after"), L.GlobalAveragePooling2D(), L.Dense(2)]
    )


def _class_conv_then_gap():
    """The mini-Xception head: a conv with one map per class, pooled into the class scores."""
    return keras.Sequential(
        [keras.Input((16, 16, 1)), L.Conv2D(8, 3, activation="relu", name="features"), L.Conv2D(7, 3, padding="same", name="target"),
         L.GlobalAveragePooling2D(), L.Activation("softmax")]
    )


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_sequential, id="sequential"),
        pytest.param(_permuted_after_the_target, id="permute-after-the-target"),
        pytest.param(_reshaped_after_the_target, id="reshape-after-the-target"),
        pytest.param(_class_conv_then_gap, id="class-conv-then-gap"),
        pytest.param(_functional_branches, id="functional-two-branches"),
        pytest.param(_flatten_head, id="flatten-head"),
        pytest.param(_nested_in_sequential, id="nested-base-in-sequential"),
        pytest.param(_nested_twice_in_functional, id="nested-twice-in-functional"),
    ],
)
def test_the_target_is_the_last_layer_with_a_4d_output(impl, build):
    """The target is the layer we named "target": the last 4-D output before pooling/flattening that lines up with the image."""
    assert impl.cam.find_target_layer(build()) == "target"


def test_xception_target_is_block14_sepconv2_act_its_smallest_map(impl, xception):
    """Xception at 299x299: block14_sepconv2_act, output (None, 10, 10, 2048), its smallest spatial map."""
    name = impl.cam.find_target_layer(xception)
    assert name == "block14_sepconv2_act"
    layer = xception.get_layer(name)
    assert tuple(layer.output.shape) == (None, 10, 10, 2048)
    # Oracle: the spatial sizes of every 4-D output in the model, read from Keras.
    areas = [l.output.shape[1] * l.output.shape[2] for l in xception.layers if len(l.output.shape) == 4]
    assert layer.output.shape[1] * layer.output.shape[2] == min(areas) == 100
    # Everything after it has lost the spatial axes.
    after = xception.layers[xception.layers.index(layer) + 1 :]
    assert [type(l).__name__ for l in after] == ["GlobalAveragePooling2D", "Dense"]
