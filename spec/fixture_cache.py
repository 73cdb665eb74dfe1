"""Trained models cached on disk between runs, keyed by the code that trains them and the seed.

Training the digits convnet or the shapes model takes seconds to a minute; a learner re-checking one
claim of section E or F should not pay that again. A cache entry is a folder holding `model.keras`
(weights and architecture) and `arrays.npz` (what the fixture keeps next to the model). Its name is a
hash of the training module's source, the seed, the Keras backend and the Keras/TensorFlow versions:
edit the training code and the next run trains again. Entries are written to a temporary folder and renamed into
place, so a run killed half-way never leaves a half-written entry.

Where: `$GRIMOIRE_CACHE`, else `$XDG_CACHE_HOME/grimoire`, else `~/.cache/grimoire`.
`GRIMOIRE_CACHE=off` trains every time.
"""

import hashlib
import inspect
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np


def cache_root():
    """The folder holding cached fixtures, or None when caching is off."""
    setting = os.environ.get("GRIMOIRE_CACHE")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grimoire"


def cache_key(name, module, seed):
    """A short hash of the training module's source, the seed, the Keras backend and the library versions.

    The backend is part of the key: the same seed draws different initial weights on TensorFlow and
    on JAX, so a model trained on one is not the model the other would train.
    """
    import importlib.metadata

    import keras

    try:
        tf_version = importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:  # a JAX-only install
        tf_version = "none"
    text = "\n".join([name, inspect.getsource(module), repr(seed), keras.__version__, keras.config.backend(), tf_version])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def cached_training(name, module, seed, train):
    """`train()`'s `(model, arrays)` from the cache, or trained now and cached.

    Args:
        name: the fixture's name (the folder's prefix).
        module: the module whose source trains the model (its hash is part of the key).
        seed: the training seed (part of the key).
        train: a callable returning `(model, arrays)`, `arrays` a dict of numpy arrays.

    Returns:
        `(model, arrays)`; `model` is loaded from disk when the entry existed.
    """
    import keras

    root = cache_root()
    if root is None:
        return train()
    entry = root / f"{name}-{cache_key(name, module, seed)}"
    if (entry / "model.keras").is_file() and (entry / "arrays.npz").is_file():
        try:
            with np.load(entry / "arrays.npz", allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            return keras.saving.load_model(entry / "model.keras", compile=False), arrays
        except Exception:  # a corrupt entry (another Keras, a damaged file): train again and replace it
            shutil.rmtree(entry, ignore_errors=True)
    model, arrays = train()
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}-"))
        try:
            model.save(staging / "model.keras")
            np.savez(staging / "arrays.npz", **arrays)
            os.rename(staging, entry)  # atomic; fails if another process got there first, which is fine
        except OSError:
            pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError:
        pass  # a read-only home: run without the cache
    return model, arrays
