"""Section F fixtures: one trained shapes convnet (with held-out images and true boxes) per session."""

import types

import keras
import pytest

from spec.fixture_cache import cached_training

SHAPES_SEED = 0


@pytest.fixture(scope="session")
def shapes(impl):
    """The synthetic shapes data's trained GAP-head convnet and its held-out images, built once.

    Attributes: model, images, labels, boxes (top, left, bottom, right; exclusive ends), classes.
    `train_shapes_model` seeds itself, so serial and xdist runs train the same model.
    """
    def train():
        model, (images, labels, boxes) = impl.synthetic.train_shapes_model(seed=SHAPES_SEED)
        return model, {"images": images, "labels": labels, "boxes": boxes}

    # Cached on disk, keyed by the source of the synthetic module and the seed (spec/fixture_cache.py).
    model, arrays = cached_training("shapes_model", impl.synthetic, SHAPES_SEED, train)
    images, labels, boxes = arrays["images"], arrays["labels"], arrays["boxes"]
    return types.SimpleNamespace(
        model=model, images=images, labels=labels, boxes=boxes, classes=tuple(impl.synthetic.SHAPES)
    )


@pytest.fixture(scope="module")
def small():
    """A tiny untrained GAP classifier (8x8x1 -> conv -> GAP -> 3-way softmax) for the bad-input tests."""
    return keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="conv"), keras.layers.GlobalAveragePooling2D(name="gap"),
         keras.layers.Dense(3, activation="softmax", name="head")]
    )
