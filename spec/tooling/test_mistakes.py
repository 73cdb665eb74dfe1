"""The mistake catalogue (spec/mistakes.toml) and the tool that plants each mistake and runs the spec.

The full catalogue runs with `grimoire mistakes` (minutes). Here: the catalogue's shape, its
validation, planting a mistake in a copy, and one quick mistake per section, each narrowed to one
test that must turn red.
"""

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from grimoire.tooling import mistakes as tool
from grimoire.tooling.claims import Catalogue

pytestmark = pytest.mark.tooling

# One cheap mistake per section and the test of its claim that must catch it (a pytest -k expression).
# All seven are planted in one copy and checked by one pytest run, so the check costs one process start.
CI_SUBSET = {
    "dense-forgets-bias": ("dense-params-example", "test_example_has_128_330_and_458_parameters"),
    "add-concatenates": ("merge-add", "test_addition_has_no_parameters"),
    "balanced-accuracy-is-accuracy": ("metric-streaming", "test_balanced_accuracy_over_uneven_weighted_batches_equals_one_pass"),
    "same-size-floor": ("conv-output-size", "test_formula_agrees_with_keras_on_many_sizes"),
    "min-distance-includes-self": ("filters-distinct-at-init", "test_fresh_conv2d_filters_are_pairwise_distinct"),
    "heatmap-zero-division": ("gradcam-finite", "test_degenerate_evidence_gives_an_all_zero_finite_map"),
    "flops-are-macs": ("flops-from-shapes", "test_layer_macs_follow_from_shapes_and_config"),
}


@pytest.fixture(scope="module")
def catalogue():
    return tool.load()


def _write(tmp_path, **changes):
    """A one-mistake catalogue: `dense-forgets-bias` with some fields changed."""
    entry = next(m for m in tomllib.loads(tool.CATALOGUE.read_text())["mistake"] if m["id"] == "dense-forgets-bias")
    entry.update(changes)
    lines = ["[[mistake]]"]
    for key, value in entry.items():
        text = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else "'''" + value + "'''"
        lines.append(f"{key} = {text}")
    path = tmp_path / "mistakes.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _import_copy(package, module):
    """Imports `package/module.py` of a planted copy under a name of its own."""
    name = f"planted_{abs(hash(str(package)))}"
    spec = importlib.util.spec_from_file_location(name, package / "__init__.py", submodule_search_locations=[str(package)])
    root = importlib.util.module_from_spec(spec)
    sys.modules[name] = root
    spec.loader.exec_module(root)
    return importlib.import_module(f"{name}.{module}")


# --- the catalogue ------------------------------------------------------------------------------


def test_the_catalogue_covers_every_section_with_25_real_mistakes(catalogue):
    real = [m for m in catalogue if not m.equivalent]
    assert len(real) >= 25
    assert set(Counter(m.section for m in real)) == set("ABCDEFG")


def test_at_least_one_equivalent_mistake_says_why_and_what_would_see_it(catalogue):
    equivalent = [m for m in catalogue if m.equivalent]
    assert equivalent
    assert all(len(m.equivalent.split()) >= 8 for m in equivalent)


def test_at_least_8_mistakes_come_from_public_reports(catalogue):
    sourced = [m for m in catalogue if m.source != "seed"]
    assert len(sourced) >= 8
    assert all(re.search(r"#\d+|\b(19|20)\d\d\b|\w/\w", m.source) for m in sourced), [m.source for m in sourced]


def test_every_mistake_names_existing_claims_and_targets(catalogue):
    claims = set(Catalogue.load().claims)
    for mistake in catalogue:
        assert set(mistake.claims) <= claims
        assert tool.module_path(tool.PACKAGE, mistake.module).is_file()


@pytest.mark.parametrize(
    "changes, message",
    [
        pytest.param({"claims": ["no-such-claim"]}, "unknown claim id(s) ['no-such-claim']", id="unknown-claim"),
        pytest.param({"target": "no_such_function"}, "no function 'no_such_function' in 'params'", id="missing-function"),
        pytest.param({"target": "Dense.no_such_method"}, "no function 'Dense.no_such_method'", id="missing-method"),
        pytest.param({"module": "tooling.mistakes"}, "no module 'tooling.mistakes'", id="tooling-is-not-curriculum"),
        pytest.param({"replacement": "x = 1"}, "exactly one function definition", id="not-a-function"),
        pytest.param({"replacement": "def f(:"}, "does not parse", id="syntax-error"),
        pytest.param({"section": "Z"}, "section 'Z' is not one of", id="unknown-section"),
    ],
)
def test_a_bad_entry_is_refused_with_its_id_and_reason(tmp_path, changes, message):
    with pytest.raises(tool.CatalogueError) as error:
        tool.load(_write(tmp_path, **changes))
    assert "dense-forgets-bias" in str(error.value) and message in str(error.value)


def test_a_missing_field_is_refused(tmp_path):
    path = _write(tmp_path)
    path.write_text(re.sub(r"(?m)^source = .*$", "", path.read_text()))
    with pytest.raises(tool.CatalogueError, match=r"missing field\(s\) \['source'\]"):
        tool.load(path)


# --- planting -----------------------------------------------------------------------------------


def test_apply_plants_a_module_function_in_a_copy_only(tmp_path, catalogue):
    mistake = next(m for m in catalogue if m.id == "dense-forgets-bias")
    package = tool.apply(mistake, tmp_path)
    assert not (package / "tooling").exists()
    params = _import_copy(package, "params")
    assert params.dense_params(3, 32) == 96  # the planted bug
    assert params._reference_dense_params(3, 32) == 128  # the reference, kept for wrapping
    assert "def dense_params" in (tool.PACKAGE / "params.py").read_text()
    from grimoire import params as reference

    assert reference.dense_params(3, 32) == 128


def test_apply_rebinds_a_method_on_its_class(tmp_path, catalogue):
    import numpy as np

    mistake = next(m for m in catalogue if m.id == "gradcam-batch-mean")
    gradcam = _import_copy(tool.apply(mistake, tmp_path), "cam.gradcam")
    assert gradcam.GradCAM.combine.__name__ == "_mistake_combine"
    gradients = np.zeros((2, 3, 3, 4), "float32")
    gradients[1] = 1.0  # only the second image has a gradient
    _, weights = gradcam.GradCAM.combine(None, np.ones_like(gradients), gradients)
    np.testing.assert_allclose(np.asarray(weights)[0], 0.5)  # the first image got its batch mate's


def test_apply_refuses_a_missing_target_before_copying(tmp_path, catalogue):
    mistake = next(m for m in catalogue if m.id == "dense-forgets-bias")
    ghost = tool.Mistake(**{**mistake.__dict__, "target": "dense_parameters"})
    with pytest.raises(tool.CatalogueError, match="no function 'dense_parameters'"):
        tool.apply(ghost, tmp_path)
    assert not any(tmp_path.iterdir())


def test_the_command_runs_only_the_named_claims_tests(tmp_path):
    command = tool.command(tmp_path / "grimoire", ["merge-add"], tmp_path)
    assert command[command.index("--claims") + 1] == "merge-add"
    assert command[command.index("--impl") + 1] == str(tmp_path / "grimoire")
    files = [part for part in command if part.startswith("spec/")]
    assert "spec/b_models/test_merge_add.py" in files and all("merge" in f or "errors" in f for f in files)


def test_main_refuses_an_unknown_mistake(capsys):
    assert tool.main(["--mistake", "no-such-mistake"]) == 2
    assert "Unknown mistake id(s) ['no-such-mistake']" in capsys.readouterr().err


# --- one quick mistake per section, caught ------------------------------------------------------


def test_planting_two_mistakes_on_one_function_is_refused(tmp_path, catalogue):
    twice = [m for m in catalogue if m.target == "dense_params"]
    with pytest.raises(tool.CatalogueError, match="replace the same function twice"):
        tool.apply(twice, tmp_path)


def _runs_on_this_backend(claim):
    """False for a claim that `[requires.<claim>]` in spec/claims.toml limits to other Keras backends."""
    import keras

    backends = Catalogue.load().requires.get(claim, {}).get("backends")
    return not backends or keras.config.backend() in backends


def test_one_mistake_per_section_is_caught_by_its_claim(tmp_path, catalogue):
    """Seven mistakes, one per section, planted together: each one's own claim turns red.

    Each claim's selected test reaches only its own section's module, so a red claim is its own
    mistake's doing; the full catalogue (`grimoire mistakes`) checks every mistake alone.
    """
    chosen = [m for m in catalogue if m.id in CI_SUBSET]
    assert sorted(m.section for m in chosen) == list("ABCDEFG")
    claims = {m.id: CI_SUBSET[m.id][0] for m in chosen}
    assert all(claims[m.id] in m.claims for m in chosen)
    package = tool.apply(chosen, tmp_path)
    keyword = " or ".join(test for _, test in CI_SUBSET.values())
    command = tool.command(package, sorted(set(claims.values())), tmp_path, keyword=keyword)
    done = subprocess.run(command, cwd=tool.ROOT, capture_output=True, text=True, timeout=600)
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    statuses = {row["id"]: row["status"] for row in ledger["claims"]}
    # A TensorFlow-only claim (flops-from-shapes) is skipped on another backend: nothing to catch there.
    claims = {m: c for m, c in claims.items() if _runs_on_this_backend(c)}
    assert {m: statuses[c] for m, c in claims.items()} == {m: "failing" for m in claims}, done.stdout[-3000:]
    failures = [tool._first_failure(tmp_path / "junit.xml", done.stdout, [c]) for c in claims.values()]
    assert all(message for _, message in failures)


def test_a_replacement_reading_an_undefined_name_is_refused(tmp_path):
    """A stale mistake (its helper renamed in the reference) would be "caught" by a NameError: the catalogue refuses it."""
    (tmp_path / "mistakes.toml").write_text(
        '[[mistake]]\nid = "stale"\nsection = "A"\nclaims = ["dense-params-formula"]\nexplanation = "x"\nsource = "s"\n'
        'module = "params"\ntarget = "dense_params"\nreplacement = """\ndef dense_params(input_size, output_size, *, use_bias=True):\n'
        '    helper = _gone(input_size)\n    return helper * output_size\n"""\n'
    )
    with pytest.raises(tool.CatalogueError, match=r"stale: the replacement reads \['_gone'\], which module 'params' does not define"):
        tool.load(tmp_path / "mistakes.toml")
