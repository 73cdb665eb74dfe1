"""`[requires.<id>]` in claims.toml: which claims a backend or release cannot run, and why."""

import pytest

from grimoire.tooling.claims import Catalogue, requirement_unmet, skip_reason_for

pytestmark = pytest.mark.tooling

CATALOGUE = Catalogue.load()
TF_ONLY = {"backends": ["tensorflow"], "why": "MirroredStrategy is a TensorFlow API"}


def test_every_requirement_names_a_catalogue_claim_and_a_known_backend():
    for claim_id, requirement in CATALOGUE.requires.items():  # `load` refuses an unknown id or key
        assert set(requirement.get("backends", [])) <= {"tensorflow", "jax", "torch", "numpy"}, claim_id
        if "backends" in requirement:
            assert requirement.get("why"), f"[requires.{claim_id}] says no why"


@pytest.mark.parametrize(
    "requirement, backend, versions, reason",
    [
        pytest.param(TF_ONLY, "tensorflow", {}, None, id="tf-claim-on-tf"),
        pytest.param(TF_ONLY, "jax", {}, "TensorFlow-only claim: MirroredStrategy is a TensorFlow API", id="tf-claim-on-jax"),
        pytest.param({}, "jax", {}, None, id="no-requirement"),
        pytest.param({"since": {"keras": "3.6.0"}, "note": "x"}, "tensorflow", {"keras": "3.5.0"},
                     "claim holds since keras 3.6.0; 3.5.0 is installed: x", id="too-old"),
        pytest.param({"since": {"keras": "3.6.0"}}, "tensorflow", {"keras": "3.10.0"}, None, id="new-enough-numerically"),
    ],
)
def test_a_claim_runs_only_where_its_requirement_holds(requirement, backend, versions, reason):
    assert requirement_unmet(requirement, backend, versions) == reason


@pytest.mark.parametrize(
    "runs_on, backend, reason",
    [
        pytest.param(None, "jax", "TensorFlow-only claim: MirroredStrategy is a TensorFlow API", id="claim-decides"),
        pytest.param((("tensorflow", "jax"), "no Keras"), "jax", None, id="own-backends-replace-the-claims"),
        pytest.param((("jax",), "a JAX session"), "tensorflow", "runs under KERAS_BACKEND=jax: a JAX session", id="own-backends-skip"),
    ],
)
def test_a_test_that_names_its_backends_replaces_its_claims_backends(runs_on, backend, reason):
    assert skip_reason_for([TF_ONLY], runs_on, backend, {}) == reason


def test_a_test_that_names_its_backends_still_honours_since():
    too_new = {"backends": ["tensorflow"], "since": {"keras": "3.6.0"}, "note": "x"}
    assert skip_reason_for([too_new], (("jax",), ""), "jax", {"keras": "3.5.0"}) == "claim holds since keras 3.6.0; 3.5.0 is installed: x"


@pytest.mark.parametrize(
    "table",
    [pytest.param('[requires.no-such-claim]\nbackends = ["tensorflow"]\n', id="unknown-claim"),
     pytest.param('[requires.known]\nbackend = ["tensorflow"]\n', id="misspelt-key")],
)
def test_the_catalogue_refuses_a_requirement_it_cannot_apply(tmp_path, table):
    path = tmp_path / "claims.toml"
    path.write_text('[sections]\nA = "a"\n\n[[claim]]\nid = "known"\nsection = "A"\nstatement = "s"\n\n' + table)
    with pytest.raises(ValueError, match=r"\[requires\.") as error:
        Catalogue.load(path)
    assert "Received" in str(error.value)
