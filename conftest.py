# The Grimoire pytest plugin (claim markers, the `impl` fixture, the claim ledger) is a pytest entry
# point of the installed package (pyproject.toml); pytester drives the tooling tests' inner runs.
pytest_plugins = ["pytester"]


# The study text runs: every ```python block of README.md and docs/*.md is a test (Sybil). Blocks of one
# page share a namespace, top to bottom; `>>>` blocks are doctests; `<!-- skip: next -->` skips a block.
# Only pages that exist are collected, so a section page can land later.
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser


def _seed_page(namespace):
    """Each page starts from the spec's seed and a clear Keras session, like a claim test."""
    import keras

    from spec.seeding import reset

    reset(keras)


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(doctest_optionflags=ELLIPSIS | NORMALIZE_WHITESPACE), SkipParser()],
    patterns=["README.md", "docs/*.md"],
    setup=_seed_page,
).pytest()


def pytest_collection_modifyitems(config, items):
    """Blocks the backend cannot run are skipped, saying why: on torch the whole study text, elsewhere
    than TensorFlow a block that imports TensorFlow itself (a `tf.GradientTape` shown on purpose)."""
    import os

    import pytest

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "tensorflow":
        return
    torch_why = ("the study text's examples are written for TensorFlow and JAX: they hand model outputs to numpy "
                 "directly, which torch refuses for a tensor that requires grad (the spec's claim tests convert with "
                 "keras.ops.convert_to_numpy and run on torch)")
    tf_why = f"the block shows TensorFlow's own API (import tensorflow), which Keras on {backend} does not use"
    for item in items:
        if not str(item.fspath).endswith(".md"):
            continue
        if backend == "torch":
            item.add_marker(pytest.mark.skip(reason=torch_why))
        elif "import tensorflow" in str(getattr(getattr(item, "example", None), "parsed", "")):
            item.add_marker(pytest.mark.skip(reason=tf_why))
