"""Which part of ``grimoire`` is what: the one table the loader, the exercises and the docs read.

Two tables. `MODULES` gives each top-level module of ``grimoire`` its kind (a test checks that every
one is listed, and that the README's layout table agrees):

    concept  the curriculum: the modules the study text teaches, holding its lessons
    support  shipped solved: data, shared argument checks, walking a model's layers
    tooling  runs, checks and reports the spec (``grimoire.tooling``); never imported by the
             curriculum

`LESSONS` says, function by function, what a learner writes: the concepts of the study text (the
Dense count, output sizes, a convolution as a sliding dot product, initialisation statistics, a
metric's update and result on its state, the textbook steps of Grad-CAM and each CAM method's
combination). Every other function of a concept module is support, shipped solved in the learner's
package: locating layers in any model, capturing activations, backend gradients and compiled steps,
caches, input policing, invalid-value bookkeeping, reprs. Support calls the lessons, so a lesson is
always the code under test.

Example:

>>> MODULES["params"]
'concept'
>>> [name for name, kind in MODULES.items() if kind == "support"]
['_checks', 'arguments', 'refusals', 'graph', 'layers', 'digits', 'synthetic']
>>> is_lesson("params.dense_params"), is_lesson("params.count_params")
(True, False)
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
    "arguments": SUPPORT,
    "refusals": SUPPORT,
    "graph": SUPPORT,
    "layers": SUPPORT,
    "digits": SUPPORT,
    "synthetic": SUPPORT,
    "tooling": TOOLING,
}

# module (dotted, below the package) -> the functions and methods a learner writes there.
LESSONS = {
    "params": ("dense_params", "conv_params"),
    "models": ("build_sequential", "build_functional", "SubclassedClassifier.__init__", "SubclassedClassifier.call",
               "SubclassedClassifier.get_config", "build_siamese", "merge"),
    "metrics": ("RootMeanSquaredError.__init__", "RootMeanSquaredError.update_state", "RootMeanSquaredError.result",
                "RootMeanSquaredError.reset_state", "BalancedAccuracy.__init__", "BalancedAccuracy.update_state",
                "BalancedAccuracy.result", "BalancedAccuracy.reset_state", "BalancedAccuracy.get_config"),
    "conv": ("conv_output_length", "same_padding", "conv2d_reference", "receptive_field_step"),
    "filters": ("pairwise_distances", "fans", "expected_statistics"),
    "cam.steps": ("last_spatial_layer", "class_score", "normalize"),
    "cam.gradcam": ("GradCAM.combine",),
    "cam.classic": ("class_activation_maps",),
    "cam.hirescam": ("HiResCAM.combine",),
    "cam.gradcampp": ("GradCAMPlusPlus.combine",),
    "cam.layercam": ("LayerCAM.combine",),
    "cam.faithfulness": ("pixel_ranks", "area_under_curve"),
    "flops": ("dense_macs", "conv_macs"),
}

CONCEPTS = tuple(name for name, kind in MODULES.items() if kind == CONCEPT)
SUPPORTS = tuple(name for name, kind in MODULES.items() if kind == SUPPORT)

# What the spec may reach through its `impl` fixture (`impl.params`, `impl.digits`, ...).
IMPLEMENTATION = tuple(name for name in CONCEPTS + SUPPORTS if not name.startswith("_"))


def lessons():
    """Every lesson as a dotted name below the package (`"cam.gradcam.GradCAM.combine"`), in table order."""
    return [f"{module}.{name}" for module, names in LESSONS.items() for name in names]


def is_lesson(dotted):
    """Whether `dotted` (`"params.dense_params"`) names a function a learner writes."""
    return dotted in set(lessons())


def split(lesson):
    """`"cam.gradcam.GradCAM.combine"` -> `("cam.gradcam", "GradCAM.combine")`: its module and its name there."""
    for module in sorted(LESSONS, key=len, reverse=True):
        if lesson.startswith(module + ".") and lesson[len(module) + 1:] in LESSONS[module]:
            return module, lesson[len(module) + 1:]
    raise ValueError(f"Argument `lesson` must name a lesson (e.g. {lessons()[0]!r}). Received: {lesson!r}")
