"""CAM on models nobody here wrote: legacy `.h5` files, and pretrained networks a package ships.

The pretrained networks are MTCNN's (the `mtcnn` wheel ships their weights): RNet and ONet are
`keras.Model` subclasses with two and three outputs, built and given their weights but never called
on a `keras.Input`, so they have no `inputs`; the images say the input shape. Their last 4-D layer is
a `Permute((2, 1, 3))` that swaps height and width before flattening: the default target must be the
map before it, which lines up with the image. The photograph is scikit-image's astronaut, shipped in
its wheel; nothing is downloaded.
"""

import keras
import numpy as np
import pytest

from spec.tolerances import ATOL_SAME_GRAPH, RTOL_FLOAT32_DOT, RTOL_SAME_GRAPH

pytestmark = pytest.mark.claim("cam-any-model")

L = keras.layers
MTCNN_ONLY_ON_TENSORFLOW = "mtcnn's networks import TensorFlow and load their shipped weights through it"
FACE = 1  # MTCNN's classifiers: (not a face, face)
# The astronaut's face in scikit-image's 512x512 `astronaut()`, hairline to chin: rows and columns, end excluded.
FACE_BOX = (64, 182, 171, 265)


def _small_cnn():
    return keras.Sequential(
        [keras.Input((16, 16, 1)), L.Conv2D(8, 3, activation="relu", name="conv"), L.BatchNormalization(),
         L.Conv2D(4, 3, padding="same", name="class_conv"), L.GlobalAveragePooling2D(), L.Activation("softmax")]
    )


def test_a_legacy_h5_model_gives_the_maps_of_the_model_it_was_saved_from(impl, tmp_path, rng):
    """`model.save("x.h5")` then `load_model(compile=False)`: the same target, the same maps."""
    model = _small_cnn()
    path = tmp_path / "legacy.h5"
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    images = rng.normal(size=(3, 16, 16, 1)).astype("float32")

    original, reloaded = impl.cam.grad_cam_details(model, images), impl.cam.grad_cam_details(loaded, images)
    assert impl.cam.find_target_layer(loaded) == impl.cam.find_target_layer(model) == "class_conv"
    np.testing.assert_allclose(reloaded.maps, original.maps, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)


def test_a_keras_2_h5_model_gives_the_maps_keras_2_itself_computes(impl, tmp_path, rng):
    """A model written by Keras 2 (tf-keras) in the .h5 format, loaded by Keras 3: its maps are Keras 2's Grad-CAM."""
    k2 = pytest.importorskip("tf_keras", reason="tf-keras (Keras 2) writes the legacy model; pip install -e '.[test]'")
    import tensorflow as tf

    inputs = k2.Input((16, 16, 1))
    x = k2.layers.BatchNormalization()(k2.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs))
    features = k2.layers.Conv2D(4, 3, padding="same", name="class_conv")(x)
    logits = k2.layers.GlobalAveragePooling2D()(features)
    old = k2.Model(inputs, k2.layers.Activation("softmax")(logits))
    old.save(tmp_path / "keras2.h5")
    loaded = keras.models.load_model(tmp_path / "keras2.h5", compile=False)
    images = rng.normal(size=(3, 16, 16, 1)).astype("float32")

    # The oracle: Grad-CAM written against the Keras 2 model with a GradientTape, as its users wrote it.
    tap = k2.Model(inputs, [features, logits])
    with tf.GradientTape() as tape:
        maps, scores = tap(images)
        chosen = tf.argmax(scores, axis=-1)
        score = tf.reduce_sum(scores * tf.one_hot(chosen, 4), axis=-1)
    weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2))
    expected = tf.einsum("bijc,bc->bij", maps, weights).numpy()

    result = impl.cam.grad_cam_details(loaded, images)
    assert impl.cam.find_target_layer(loaded) == "class_conv"
    np.testing.assert_allclose(result.maps, expected, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH * np.abs(expected).max())


# --- MTCNN ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mtcnn_networks():
    pytest.importorskip("mtcnn", reason="mtcnn ships the pretrained networks; pip install -e '.[test]'")
    from mtcnn.stages.stage_onet import StageONet
    from mtcnn.stages.stage_pnet import StagePNet
    from mtcnn.stages.stage_rnet import StageRNet

    return {"pnet": StagePNet().model, "rnet": StageRNet().model, "onet": StageONet().model}


@pytest.fixture(scope="module")
def astronaut():
    data = pytest.importorskip("skimage.data", reason="scikit-image ships the photograph; pip install -e '.[test]'")
    return data.astronaut().astype("float32")


def _mtcnn_input(pixels, size):
    """A photograph resized to `size` and scaled as MTCNN expects, (x - 127.5) / 128."""
    from skimage import transform

    return ((transform.resize(pixels, (size, size), preserve_range=True) - 127.5) / 128).astype("float32")


def _head_float64(model, names, features, k):
    """MTCNN's head after the target, in float64: Permute(2, 1, 3) -> Flatten -> Dense -> PReLU -> Dense.

    Returns the class-k logits and their gradient with respect to the features, written out by the
    chain rule (PReLU's derivative is 1 above 0 and alpha below).
    """
    permute, _, hidden, prelu, classifier = (model.get_layer(name) for name in names)
    assert tuple(permute.dims) == (2, 1, 3)
    a = np.transpose(features.astype(np.float64), (0, 2, 1, 3))
    w1, b1 = (np.asarray(v, np.float64) for v in hidden.get_weights())
    alpha = np.asarray(prelu.get_weights()[0], np.float64)
    w2, b2 = (np.asarray(v, np.float64) for v in classifier.get_weights())
    z = a.reshape(len(a), -1) @ w1 + b1
    logits = np.where(z > 0, z, alpha * z) @ w2 + b2
    grad_z = w2[:, k] * np.where(z > 0, 1.0, alpha)
    gradients = (grad_z @ w1.T).reshape(a.shape).transpose(0, 2, 1, 3)
    # What one float32 rounding per term can add up to, for the error bound of the map.
    grad_abs = ((np.abs(w2[:, k]) * np.maximum(1.0, np.abs(alpha))) @ np.abs(w1).T).reshape(a.shape[1:]).transpose(1, 0, 2)
    return logits[:, k], gradients, grad_abs


@pytest.mark.runs_on("tensorflow", why=MTCNN_ONLY_ON_TENSORFLOW)
@pytest.mark.parametrize(
    "network, size, output, target, head",
    [
        pytest.param("rnet", 24, 1, "prelu3", ("permute", "flatten3", "fc4", "prelu4", "fc5-2"), id="rnet-two-outputs"),
        pytest.param("onet", 48, 2, "prelu4", ("permute", "flatten4", "fc5", "prelu5", "fc6-3"), id="onet-three-outputs"),
    ],
)
def test_mtcnns_pretrained_subclasses_give_the_formulas_map(impl, mtcnn_networks, astronaut, network, size, output, target, head):
    """No `inputs`, a Permute before the head: the default target is the map before it, the map the float64 formula's."""
    model = mtcnn_networks[network]
    top, left, bottom, right = FACE_BOX
    faces = np.stack([_mtcnn_input(astronaut[top:bottom, left:right], size), _mtcnn_input(astronaut, size)])

    result = impl.cam.grad_cam_details(model, faces, output=output, class_index=FACE)

    assert impl.cam.find_target_layer(model) == target, "the permuted map would be drawn transposed"
    logits, gradients, grad_abs = _head_float64(model, head, result.features, FACE)
    np.testing.assert_allclose(result.scores[:, FACE], logits, rtol=RTOL_FLOAT32_DOT, atol=RTOL_FLOAT32_DOT * np.abs(logits).max())
    weights = gradients.mean(axis=(1, 2))
    expected = np.einsum("bijc,bc->bij", result.features.astype(np.float64), weights)
    scale = np.einsum("bijc,c->bij", np.abs(result.features.astype(np.float64)), grad_abs.mean(axis=(0, 1)))
    assert np.all(np.abs(result.maps - expected) <= RTOL_FLOAT32_DOT * scale)


class _FaceScore(keras.Model):
    """MTCNN's PNet, fully convolutional, with its face-probability map max-pooled into one score per class."""

    def __init__(self, pnet):
        super().__init__(name="pnet_face_score")
        self.pnet, self.pool = pnet, L.GlobalMaxPooling2D()

    def call(self, images):
        _, faces = self.pnet(images)
        return self.pool(faces)


@pytest.mark.runs_on("tensorflow", why=MTCNN_ONLY_ON_TENSORFLOW)
@pytest.mark.parametrize("size", [96, 128, 160])
def test_on_a_photograph_the_pretrained_face_map_peaks_on_the_face(impl, mtcnn_networks, astronaut, size):
    """The astronaut at three sizes: Grad-CAM's peak for "face" at PNet's last map lies in the face's box.

    The box covers 3.4% of the photograph, so a map that ignored the image would land in it about
    once in thirty tries; all three sizes must.
    """
    model = _FaceScore(mtcnn_networks["pnet"])
    image = _mtcnn_input(astronaut, size)[None]
    model(image)

    result = impl.cam.grad_cam_details(model, image, class_index=FACE, layer_name="prelu3", score="probability")

    heatmap = result.heatmaps[0]
    row, col = np.unravel_index(heatmap.argmax(), heatmap.shape)
    # The centre of the peak's cell, in the photograph's 512x512 pixels.
    y, x = (row + 0.5) * 512 / heatmap.shape[0], (col + 0.5) * 512 / heatmap.shape[1]
    top, left, bottom, right = FACE_BOX
    assert top <= y < bottom and left <= x < right, (y, x)
    assert result.scores[0, FACE] > 0.5, "PNet sees a face in the photograph"
