"""The dev check: a learner's package with every lesson written bare, and fresh support, verifies every claim.

`write_exercises(keep=every lesson)` gives the package a learner has once the whole path is done:
the reference's lesson bodies (bare: no argument check, no bookkeeping) inside the generated
package, the support as shipped. The spec runs on it section by section, through `--impl`, as
`grimoire exercises check` would: every claim, validation claims included, must be verified (or
skipped where the catalogue limits it to another backend or release). A support that forgot a
check, or a lesson that still carries one the package would miss, turns a section red here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grimoire.tooling import layout
from grimoire.tooling.claims import Catalogue
from grimoire.tooling.exercises import check, generate

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Catalogue.load()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The package of a learner who wrote every lesson: the reference's bare bodies, the support as shipped."""
    root = tmp_path_factory.mktemp("finished") / "mine"
    generate.write_exercises(root, keep=layout.lessons())
    return root


def _skipped_here(claim_id):
    """Whether the claim's own `[requires.<id>]` skips it on this backend and these releases (as the spec does)."""
    from grimoire.tooling.claims import installed_versions, requirement_unmet
    from grimoire.tooling.project import keras_backend

    requirement = CATALOGUE.requires.get(claim_id, {})
    versions = installed_versions(requirement.get("since", {}))
    return requirement_unmet(requirement, keras_backend(), versions) is not None


@pytest.mark.slow
@pytest.mark.parametrize("section", list(CATALOGUE.sections))
def test_every_lesson_written_bare_verifies_the_section(finished, section, tmp_path):
    """Each claim of the section, `-errors` claims included, is verified on the finished learner's package."""
    claims = [c.id for c in CATALOGUE.claims.values() if c.section == section]
    args = check.check_arguments(finished, claims, tmp_path / "ledger.json", tmp_path / "tests.json", spec_dir=ROOT / "spec")
    done = subprocess.run([sys.executable, "-m", "pytest", *args, "-n", "0"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "GRIMOIRE_CHECK_SERVER": "0"}, timeout=1800)
    assert (tmp_path / "ledger.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    status = {row["id"]: row["status"] for row in json.loads((tmp_path / "ledger.json").read_text())["claims"]}
    expected = {c: "skipped" if _skipped_here(c) else "verified" for c in claims}
    assert {c: status[c] for c in claims} == expected, done.stdout[-3000:]
