"""xplique (GradCAM, GradCAMPP) through Grimoire's API: `impl.cam` is the peer's.

Run the spec's CAM claims against it, in an environment where xplique imports, with
`pytest --impl grimoire.tooling.conformance.adapters.xplique --claims gradcam-plus-plus -n 0`.
"""

from grimoire.tooling.conformance.shared import delegate

delegate(__name__, own=("cam",))
