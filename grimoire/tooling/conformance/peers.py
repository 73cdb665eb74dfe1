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


PEERS = {
    "tf-keras-vis": Peer("tf-keras-vis", "tf-keras-vis", "tf_keras_vis", f"{ADAPTERS}.tf_keras_vis", "F"),
    "xplique": Peer(
        "xplique", "xplique", "xplique", f"{ADAPTERS}.xplique", "F",
        # --no-deps: xplique's own pins (tensorflow<=2.20, scikit-learn<=1.7.2) are left out; these are
        # the imports it needs that the project's environment lacks.
        install=("xplique==2.0.2", "einops", "opencv-python-headless", "tensorflow-probability==0.25.0", "dm-tree"),
        note="installed with --no-deps over the project's TensorFlow and Keras (xplique pins tensorflow<=2.20)",
    ),
    "keras": Peer("keras", "keras", "keras", f"{ADAPTERS}.keras_metrics", "C"),
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
