"""The maps of one small convnet computed in a separate Python on another Keras backend.

The Keras backend is chosen once per process, so a TensorFlow run compares with JAX by saving
weights and images, then running this module in a fresh Python with KERAS_BACKEND=jax:

    python -m spec.f_cam.other_backend <implementation> <weights.h5> <images.npz> <out.npz>

It rebuilds the same architecture (`build`), loads the weights, and writes every method's raw
maps and heatmaps (`maps_of`) to <out.npz> (written atomically, `tooling.files.replacing`).
"""

import sys

import numpy as np

from grimoire.tooling.files import replacing

# The methods compared: name -> the implementation's `*_details` function in `impl.cam`.
METHODS = {
    "grad-cam": "grad_cam_details",
    "grad-cam++": "grad_cam_plus_plus_details",
    "layercam": "layer_cam_details",
    "hirescam": "hires_cam_details",
    "cam": "cam_details",
}
SHAPE = (20, 20, 3)
CLASSES = 4


def build():
    """Conv(relu) -> Conv(relu, the target) -> GAP -> Dense(softmax): a CAM-ready net, any backend."""
    import keras

    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(SHAPE),
            layers.Conv2D(6, 3, activation="relu", name="c1"),
            layers.Conv2D(8, 3, padding="same", activation="relu", name="target"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(CLASSES, activation="softmax", name="head"),
        ],
        name="backend_net",
    )


def maps_of(impl, model, images):
    """`{f"{method}/maps": raw maps, f"{method}/heatmaps": heatmaps, f"{method}/class_index": classes}`."""
    found = {}
    for method, function in METHODS.items():
        details = getattr(impl.cam, function)(model, images)
        found[f"{method}/maps"] = np.asarray(details.maps, np.float32)
        found[f"{method}/heatmaps"] = np.asarray(details.heatmaps, np.float32)
        found[f"{method}/class_index"] = np.asarray(details.class_index)
    return found


def main(argv):
    """Rebuilds the net on this process's backend, loads the weights, writes its maps. Returns 0."""
    origin, weights, images, out = argv
    from grimoire.tooling.implementation import Implementation

    impl = Implementation.load(origin)
    model = build()
    model.load_weights(weights)
    with np.load(images) as data:
        batch = data["images"]
    found = maps_of(impl, model, batch)
    import keras

    found["backend"] = np.asarray(keras.config.backend())
    with replacing(out) as partial, open(partial, "wb") as file:
        np.savez(file, **found)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
