"""Which module of ``grimoire`` is what: the one table the loader, the exercises and the docs read.

The keys are the top-level modules and packages of ``grimoire``; a test checks that every one is
listed, and that the README's layout table agrees.

Three kinds of module:

    concept  the curriculum: a learner writes it, the spec checks it (``grimoire exercises``)
    support  shipped solved: data generators, loaders, shared argument checks; the spec's
             fixtures use them, no claim teaches them
    tooling  runs, checks and reports the spec (``grimoire.tooling``); never imported by the
             curriculum

Example:

>>> MODULES["params"]
'concept'
>>> [name for name, kind in MODULES.items() if kind == "support"]
['_checks', 'graph', 'layers', 'digits', 'synthetic']
"""

CONCEPT, SUPPORT, TOOLING = "concept", "support", "tooling"

# In the order of the study text; `cam` is a package.
MODULES = {
    "params": CONCEPT,
    "models": CONCEPT,
    "metrics": CONCEPT,
    "conv": CONCEPT,
    "filters": CONCEPT,
    "cam": CONCEPT,
    "flops": CONCEPT,
    "_checks": SUPPORT,
    "graph": SUPPORT,
    "layers": SUPPORT,
    "digits": SUPPORT,
    "synthetic": SUPPORT,
    "tooling": TOOLING,
}

CONCEPTS = tuple(name for name, kind in MODULES.items() if kind == CONCEPT)
SUPPORTS = tuple(name for name, kind in MODULES.items() if kind == SUPPORT)

# What the spec may reach through its `impl` fixture (`impl.params`, `impl.digits`, ...).
IMPLEMENTATION = tuple(name for name in CONCEPTS + SUPPORTS if not name.startswith("_"))
