"""What runs, checks and reports the spec: the project, the pytest plugin, the ledger, the CLI,
the exercises and the report. The curriculum (``grimoire.params``, ``grimoire.cam``, ...) never
imports from here.

For a notebook: `%load_ext grimoire.tooling`, then `%grimoire check CLAIM`; or `check(CLAIM)` from
Python (see `notebook`). Both import TensorFlow and the spec only when first used.
"""


def check(claim=None, *, section=None, impl=None, namespace=None):
    """Checks a claim against the lessons this notebook defines; see `grimoire.tooling.notebook.check`."""
    import inspect

    from .notebook import check as run

    namespace = inspect.stack()[1].frame.f_globals if namespace is None else namespace
    return run(claim, section=section, impl=impl, namespace=namespace)


def load_ipython_extension(ipython):
    """`%load_ext grimoire.tooling` registers the `%grimoire` and `%%grimoire` magics."""
    from .notebook import load_ipython_extension as load

    load(ipython)
