"""Section F fixtures: one trained shapes convnet (with held-out images and true boxes) per session."""

import types

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
