"""The peers `grimoire conformance` knows: where each one's adapter is and how it is installed.

A peer runs in the project's own environment when it imports there (tf-keras-vis, in the `test`
extra; Keras). A peer whose pins conflict with the project's gets its own virtual environment under
`build/conformance/`, layered on the project's (`--system-site-packages`), so that both explain
with the same TensorFlow and Keras: xplique 2.0.2 pins `tensorflow<=2.20` and would otherwise pull
a second TensorFlow (and CUDA wheels) for a table about formulas.
"""

from dataclasses import dataclass, field

ADAPTERS = "grimoire.tooling.conformance.adapters"


@dataclass(frozen=True)
class Peer:
    name: str  # as the table writes it
    distribution: str  # the package registry's name, for its version
    module: str  # what `import` needs
    adapter: str  # the package passed to `--impl`
    section: str  # the catalogue section whose claims it is asked
    install: tuple = field(default=())  # pip requirements of its own environment; () = the project's
    note: str = ""
    learners_own: dict = field(default_factory=dict)  # test function -> why it checks only the learner's code
    only: tuple = ()  # the claims of its section it is asked; () = all of them
    elsewhere: str = ""  # why the section's other claims are not applicable to it


# Tests of section C that check Grimoire's own class, not what a metric computes.
REGISTERED_NAME = ("checks the registered name `grimoire>RootMeanSquaredError`, which names Grimoire's package; "
                   "the peer's class is registered under its own")
MESSAGE_WORDING = ("matches Grimoire's message wording for mismatched shapes; the peer's own refusal is a "
                   "different error (Keras: TensorFlow's InvalidArgumentError from the subtraction, at once)")
WEIGHTS_WORDING = ("matches Grimoire's message wording for a sample weight count that is not the batch's; the "
                   "peer refuses it at once with its own error")
METRIC_TESTS_OF_THE_LEARNER = {
    "test_keras_serializes_the_registered_metric_by_name": REGISTERED_NAME,
    "test_rmse_refuses_mismatched_shapes": MESSAGE_WORDING,
    "test_sample_weight_needs_one_weight_per_sample": WEIGHTS_WORDING,
}


PEERS = {
    "tf-keras-vis": Peer("tf-keras-vis", "tf-keras-vis", "tf_keras_vis", f"{ADAPTERS}.tf_keras_vis", "F"),
    "xplique": Peer(
        "xplique", "xplique", "xplique", f"{ADAPTERS}.xplique", "F",
        # --no-deps: xplique's own pins (tensorflow<=2.20, scikit-learn<=1.7.2) are left out; these are
        # the imports it needs that the project's environment lacks.
        install=("xplique==2.0.2", "einops", "opencv-python-headless", "tensorflow-probability==0.25.0", "dm-tree"),
        note="installed with --no-deps over the project's TensorFlow and Keras (xplique pins tensorflow<=2.20)",
    ),
    "keras": Peer("keras", "keras", "keras", f"{ADAPTERS}.keras_metrics", "C",
                  learners_own=METRIC_TESTS_OF_THE_LEARNER),
    "scikit-learn": Peer("scikit-learn", "scikit-learn", "sklearn", f"{ADAPTERS}.sklearn_metrics", "C",
                         note="the formulas only: `sklearn.metrics` computes each result from the rows an eager "
                              "update kept; compiled steps are not asked of it",
                         learners_own=METRIC_TESTS_OF_THE_LEARNER, only=("metric-streaming",),
                         elsewhere="the claim is about how a Keras metric is written or run (its variables, "
                                   "compiled steps, serialization, replicas, errors), not a formula scikit-learn "
                                   "implements"),
}


def check_names(names):
    """The peers named (comma-separated or a list), refusing unknown names with the known ones."""
    names = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown or not names:
        raise ValueError(
            f"Argument `--peers` must name peers among {sorted(PEERS)}, comma-separated. Received: {names!r}"
        )
    return [PEERS[n] for n in names]
