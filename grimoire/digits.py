"""Real images without a download: scikit-learn's 8x8 handwritten digits and a small convnet for them.

`sklearn.datasets.load_digits` ships 1,797 grey 8x8 images of the digits 0-9 (pixel values 0..16)
inside scikit-learn itself. A three-layer convnet with a global-average-pooling head learns them to
above 95% held-out accuracy in a few seconds on a CPU, which makes it the spec's real-data model:
its filters before and after training (section E) and its class activation maps (section F).
"""

import math

import numpy as np

from . import _checks

NUM_CLASSES = 10
IMAGE_SHAPE = (8, 8, 1)
FIRST_CONV = "conv1"
LAST_CONV = "conv3"


def load(*, test_size=0.25, seed=0):
    """The digits as float32 images in [0, 1], split into train and test sets (stratified).

    Args:
        test_size: fraction of the 1,797 images held out, in (0, 1).
        seed: seed of the split (scikit-learn's `random_state`).

    Returns:
        `(x_train, y_train, x_test, y_test)`: images float32 `(n, 8, 8, 1)` scaled by 1/16 to [0, 1],
        labels int64 `(n,)` in 0..9.

    Example:

    >>> x_train, y_train, x_test, y_test = load()
    >>> x_train.shape, x_test.shape, float(x_train.max())
    ((1347, 8, 8, 1), (450, 8, 8, 1), 1.0)
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(test_size, bool) or not isinstance(test_size, (float, int)) or not 0 < test_size < 1:
        raise ValueError(
            f"Argument `test_size` must be a fraction strictly between 0 and 1. Received: test_size={test_size!r}"
        )
    seed = _checks.positive_int("seed", seed, allow_zero=True)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]  # pixel values are 0..16
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    return x_train, y_train, x_test, y_test


def build_convnet(*, filters=(16, 32, 64), kernel_size=3, name="digits_convnet"):
    """A small Functional convnet for 8x8x1 digits ending in global average pooling and a softmax.

    Architecture (the last 4-D layer is a conv layer, so CAM/Grad-CAM apply directly):

        Input(8, 8, 1) -> Conv2D(f1, k, same, relu) "conv1" -> MaxPooling2D(2)         # 4x4
                       -> Conv2D(f2, k, same, relu) "conv2" -> Conv2D(f3, k, same, relu) "conv3"
                       -> GlobalAveragePooling2D -> Dense(10, softmax)

    Args:
        filters: three ints, the filters of conv1, conv2 and conv3.
        kernel_size: the square kernel size of every conv layer.
        name: the model's name.

    Returns:
        An uncompiled `keras.Model`. Seed with `keras.utils.set_random_seed` first for a reproducible
        initialisation.

    Example:

    >>> model = build_convnet()
    >>> tuple(model.get_layer("conv1").kernel.shape), model.output.shape
    ((3, 3, 1, 16), (None, 10))
    """
    import keras

    filters = _checks.int_tuple("filters", filters, 3)
    kernel_size = _checks.positive_int("kernel_size", kernel_size)
    layers = keras.layers
    inputs = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Conv2D(filters[0], kernel_size, padding="same", activation="relu", name=FIRST_CONV)(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2D(filters[1], kernel_size, padding="same", activation="relu", name="conv2")(x)
    x = layers.Conv2D(filters[2], kernel_size, padding="same", activation="relu", name=LAST_CONV)(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name=name)


def initial_first_kernel(*, seed=0, **build_kwargs):
    """The first conv layer's kernel as `train_convnet(seed=seed)` initialises it, `(3, 3, 1, f1)`.

    Example:

    >>> initial_first_kernel(seed=0).shape
    (3, 3, 1, 16)
    """
    import keras

    keras.utils.set_random_seed(_checks.positive_int("seed", seed, allow_zero=True))
    return build_convnet(**build_kwargs).get_layer(FIRST_CONV).kernel.numpy().copy()


def train_convnet(*, seed=0, epochs=24, batch_size=32, learning_rate=3e-3, test_size=0.25, verbose=0):
    """Builds and trains `build_convnet()` on `load()`; returns the model and its held-out accuracy.

    Seeds Python, numpy and TensorFlow with `seed` first, so the same seed gives the same model. The
    untrained first-layer kernel is kept on the model as `model.initial_first_kernel` (numpy) so the
    filters can be compared before and after training.

    Args:
        seed: seeds the initialisation, the shuffling and the split.
        epochs: passes over the 1,347 training images.
        batch_size: images per gradient step.
        learning_rate: Adam's first step size; it decays to 0 along a cosine over the run, so the
            last steps settle rather than jump (a constant 3e-3 ends between 0.90 and 0.97
            held-out accuracy depending on the seed and the backend; the decay, 0.96 to 0.98).
        test_size: held-out fraction, as in `load`.
        verbose: Keras' `fit` verbosity.

    Returns:
        `(model, test_accuracy)` with `test_accuracy` a float in [0, 1].

    Example:

    >>> model, accuracy = train_convnet(seed=0, epochs=1)
    >>> model.initial_first_kernel.shape, 0.0 <= accuracy <= 1.0
    ((3, 3, 1, 16), True)
    """
    import keras

    seed = _checks.positive_int("seed", seed, allow_zero=True)
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"Argument `learning_rate` must be a positive number. Received: learning_rate={learning_rate!r}")
    x_train, y_train, x_test, y_test = load(test_size=test_size, seed=seed)
    keras.utils.set_random_seed(seed)
    model = build_convnet()
    model.initial_first_kernel = model.get_layer(FIRST_CONV).kernel.numpy().copy()
    steps = epochs * math.ceil(len(x_train) / batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    predictions = model.predict(x_test, batch_size=256, verbose=0)
    accuracy = float(np.mean(np.argmax(predictions, axis=-1) == y_test))
    return model, accuracy
