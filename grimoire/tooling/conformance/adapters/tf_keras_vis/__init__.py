"""tf-keras-vis (Gradcam, GradcamPlusPlus, Layercam) through Grimoire's API: `impl.cam` is the peer's.

Run the spec's CAM claims against it with
`pytest --impl grimoire.tooling.conformance.adapters.tf_keras_vis --claims layercam -n 0`.
"""

from grimoire.tooling.conformance.shared import delegate

delegate(__name__, own=("cam",))
