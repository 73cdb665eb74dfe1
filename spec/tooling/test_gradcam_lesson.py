"""A learner writes Grad-CAM as the textbook does, in a dozen lines (keras-io: about twenty), and the spec verifies it.

The scripted learner starts from fresh stubs, writes the four Grad-CAM lessons (the last spatial
layer, the class score, the channel weights and weighted sum, ReLU and normalisation) and checks
the Grad-CAM claims; then writes the classic batch-averaged weights and is told which catalogued
mistake that is. Everything runs in one subprocess, in process, as the warm checker would.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grimoire.tooling.claims import is_validation
from grimoire.tooling.exercises import path
from grimoire.tooling.project import keras_backend

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parents[2]

# The learner's code, lesson by lesson: what keras-io's Grad-CAM example does in one function.
GRADCAM = {
    "cam.steps.last_spatial_layer": """
spatial = [name for name, shape in layers if len(shape) == 4]
return spatial[-1] if spatial else None
""",
    "cam.steps.class_score": """
top = ops.cast(ops.argmax(scores, axis=-1), "int32")
chosen = ops.where(class_index < 0, top, class_index)
return chosen, ops.sum(scores * ops.one_hot(chosen, scores.shape[-1]), axis=-1)
""",
    "cam.steps.normalize": """
maps = ops.relu(maps)
return ops.divide_no_nan(maps, ops.max(maps, axis=(1, 2), keepdims=True))
""",
    "cam.gradcam.GradCAM.combine": """
weights = ops.mean(gradients, axis=(1, 2))
return ops.einsum("bijc,bc->bij", features, weights), weights
""",
}
# The classic: the gradients averaged over the batch too (keras-io's `reduce_mean(grads, axis=(0, 1, 2))`).
BATCH_MEAN = """
weights = ops.mean(gradients, axis=(0, 1, 2))[None, :] * ops.ones_like(gradients[:, 0, 0, :])
return ops.einsum("bijc,bc->bij", features, weights), weights
"""
TEXTBOOK_SIZE = 20  # keras-io's make_gradcam_heatmap is about this many lines of code

LEARNER = r"""
import json, sys
from pathlib import Path
from grimoire.tooling.exercises import check, generate
from grimoire.tooling.exercises.diagnose import likely_mistake
from grimoire.tooling.claims import Catalogue

mine, claims, lessons, batch_mean = Path(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
catalogue = Catalogue.load(Path(sys.argv[5]))
generate.write_exercises(mine)

def write(lesson, body):
    module = lesson.split(".")
    path = mine.joinpath(*module[:2]).with_suffix(".py")
    text = path.read_text()
    stub = f'raise NotImplementedError("exercise: {lesson}")'
    indent = text[:text.index(stub)].rsplit("\n", 1)[1]
    path.write_text(text.replace(stub, body.strip().replace("\n", "\n" + indent)))

for lesson, body in lessons.items():
    write(lesson, body)
out = {}
code, ledger, records, _ = check.run_check(mine, claims)
out["written"] = {r["id"]: r["status"] for r in ledger["claims"] if r["id"] in claims}

path = mine / "cam" / "gradcam.py"
path.write_text(path.read_text().replace(lessons["cam.gradcam.GradCAM.combine"].strip().replace("\n", "\n        "),
                                         batch_mean.strip().replace("\n", "\n        ")))
code, ledger, records, _ = check.run_check(mine, ["gradcam-batch-independent"])
mistake = likely_mistake("gradcam-batch-independent", records, run=check.run_check)
out["batch_mean"] = {"status": {r["id"]: r["status"] for r in ledger["claims"]}["gradcam-batch-independent"],
                     "text": check.progress(ledger, records, ["gradcam-batch-independent"], catalogue, mistake=mistake)}
print("RESULT " + json.dumps(out))
"""


def lines_of_code(body):
    return [line for line in body.strip().splitlines() if line.strip() and not line.strip().startswith("#")]


def gradcam_claims():
    """The concept claims a package with just the Grad-CAM lessons written can verify: all they need is written."""
    needs = path.claim_functions()
    return [c for c, lessons in needs.items() if lessons and set(lessons) <= set(GRADCAM) and not is_validation(c)]


def test_grad_cam_is_four_lessons_of_textbook_size():
    """The path reaches Grad-CAM in at most six functions, and the learner's code is keras-io's size."""
    needs = path.claim_functions()
    assert set(needs["gradcam-batch-independent"]) == set(GRADCAM)
    assert len(GRADCAM) <= 6
    assert sum(len(lines_of_code(body)) for body in GRADCAM.values()) <= TEXTBOOK_SIZE


@pytest.fixture(scope="module")
def learner(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradcam-learner")
    script = tmp / "learner.py"
    script.write_text(LEARNER, encoding="utf-8")
    process = subprocess.run(
        [sys.executable, str(script), str(tmp / "mine"), json.dumps(gradcam_claims()), json.dumps(GRADCAM), BATCH_MEAN,
         str(ROOT / "spec" / "claims.toml")],
        cwd=tmp, capture_output=True, text=True, timeout=900,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, process.stdout[-3000:] + process.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_the_textbook_lessons_verify_every_grad_cam_claim(learner):
    """Written bare, with the support shipped solved, the four lessons verify each claim that needs only them."""
    claims = gradcam_claims()
    core = {"last-conv-layer", "grad-model-same-input", "cam-gradient-shapes", "gradcam-use-logits",
            "gradcam-batch-independent", "gradcam-class-sensitive", "gradcam-sanity"}
    assert core <= set(claims)
    assert learner["written"] == {c: "verified" for c in claims}


def test_batch_averaged_weights_fail_and_the_classic_mistake_is_named(learner):
    """The gradients averaged over the batch too: `gradcam-batch-independent` fails, and the check names `gradcam-batch-mean`."""
    result = learner["batch_mean"]
    assert result["status"] == "failing"
    assert "This is what the classic mistake `gradcam-batch-mean` gives" in result["text"], result["text"]


@pytest.mark.skipif(keras_backend() == "torch",
                    reason="docs/learning.md shows what check prints in a TensorFlow or JAX session (the study text is not written for torch)")
def test_the_learning_page_shows_the_mistake_as_check_prints_it(learner):
    """docs/learning.md's block naming `gradcam-batch-mean` is this learner's check output."""
    from .docblocks import assert_shown, block

    assert_shown(block("learning.md", "mistake"), learner["batch_mean"]["text"])
