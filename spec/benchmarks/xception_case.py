"""The Grad-CAM benchmarks' problem, shared by the TensorFlow and the JAX sessions (no TensorFlow here).

Xception at 299x299 with random weights, the last convolutional block's activation as the target
layer, seeded images in Xception's input range, and the float64 closed-form maps on its GAP + Dense
head (`oracles.gap_head_maps`) that any backend's maps are checked against.
"""

import functools

import numpy as np

from ..g_perf import oracles

TARGET = "block14_sepconv2_act"
BATCHES = (1, 8)
# Rounds per batch size: a batch-8 eager call takes ~10 s, so the slow cases get fewer (the fastest
# round is what is reported, and the spread shows in the JSON). `--benchmark-quick`: one round.
ROUNDS = {1: 5, 8: 3}


def images(batch):
    # Xception's preprocessing maps pixels to [-1, 1].
    return np.random.default_rng(batch).uniform(-1, 1, (batch, 299, 299, 3)).astype(np.float32)


@functools.cache
def analytic_maps(model, batch, method):
    """The method's float64 maps on Xception's GAP + Dense head, for `method` in
    "grad-cam", "grad-cam++", "layercam" (the features come from this backend's forward pass)."""
    import keras

    features = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], model.get_layer(TARGET).output)(images(batch))).astype(np.float64)
    kernel, bias = (np.asarray(w, np.float64) for w in model.layers[-1].get_weights())
    top = (features.mean(axis=(1, 2)) @ kernel + bias).argmax(axis=-1)
    return oracles.gap_head_maps(features, kernel, top, method)
