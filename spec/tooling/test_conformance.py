"""`grimoire conformance`: the table's verdicts, and adapters that really ask their peer."""

import importlib.util

import numpy as np
import pytest

from grimoire.tooling.conformance import shared, table
from grimoire.tooling.conformance.peers import check_names

from grimoire.tooling.project import keras_backend
from spec.tolerances import ATOL_NORMALISED_MAPS

pytestmark = [
    pytest.mark.tooling,
    pytest.mark.skipif(keras_backend() != "tensorflow", reason="the peers (tf-keras-vis, xplique, Keras' TensorFlow metrics) "
                       "are TensorFlow libraries: `grimoire conformance` asks them in TensorFlow sessions"),
]

TKV = "grimoire.tooling.conformance.adapters.tf_keras_vis"
needs_tkv = pytest.mark.skipif(importlib.util.find_spec("tf_keras_vis") is None,
                               reason="tf-keras-vis is not installed (the `test` extra installs it)")


def _record(nodeid, claim, outcome, message=""):
    return {"nodeid": nodeid, "claims": [claim], "outcome": outcome, "message": message}


def test_a_cell_counts_only_the_tests_that_reached_the_peer():
    records = [
        _record("t::a", "x", "passed"), _record("t::b", "x", "passed"),
        _record("t::c", "y", "passed"),  # passed, but never asked the peer: says nothing about it
        _record("t::d", "z", "failed", "AssertionError: maps differ"), _record("t::e", "z", "passed"),
        _record("t::f", "w", "pending", "pending: write peer.weights"),
    ]
    cells = table.cells(records, {"t::a", "t::d", "t::e"}, ["x", "y", "z", "w"], peer="peer")
    assert [cells[c]["verdict"] for c in "xyzw"] == [table.HOLDS, table.NOT_APPLICABLE, table.DIFFERS, table.NOT_APPLICABLE]
    assert cells["x"]["asked"] == 1 and cells["z"]["failed"] == 1
    assert cells["w"]["reason"] == "its tests need weights, which peer does not expose"
    assert "only the reference" in cells["y"]["reason"]


def test_the_table_refuses_a_readme_it_did_not_write(tmp_path):
    (tmp_path / "README.md").write_text("mine\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not written by `grimoire conformance`"):
        table.write(tmp_path, {"versions": {}, "claims": {}, "peers": []})
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "mine\n"


def test_unknown_peers_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"Received: \['tfkv'\]"):
        check_names("tfkv")


def test_a_peer_error_is_told_from_a_computed_difference_and_from_a_broken_test():
    records = [
        _record("t::a", "x", "failed", "grimoire.tooling.conformance.shared.PeerRaised: p raised ValueError on a nested model: no"),
        _record("t::b", "y", "failed", "AssertionError: maps differ"), _record("t::c", "z", "failed", "Failed: DID NOT RAISE"),
        _record("t::d", "w", "failed", "KeyError: 'rmse'"),  # reached the peer, broke in the test: no evidence
    ]
    cells = table.cells(records, {"t::a", "t::b", "t::c", "t::d"}, ["x", "y", "z", "w"], peer="p")
    assert [cells[c].get("failure") for c in "xyz"] == [table.RAISED, table.COMPUTED, table.COMPUTED]
    assert cells["w"]["verdict"] == table.NOT_APPLICABLE and cells["w"]["adapter_errors"] == ["KeyError: 'rmse'"]
    assert table.peer_message(cells["x"]["first_failure"]) == "p raised ValueError on a nested model: no"


def test_the_kind_of_model_a_peer_raised_on_is_read_back_from_its_message():
    for kind in ("", *shared.KINDS):
        for error in (ValueError("no: really"), StopIteration()):  # a first line loses the trailing space
            message = shared.raised("p", error, kind).strip()
            assert shared.kind_raised_on(table.peer_message(f"x.PeerRaised: {message}")) == kind, message


def test_tests_of_the_learners_own_code_are_left_out_with_their_reason():
    records = [_record("t::test_name[rmse]", "x", "failed", "AssertionError: assert 'A' == 'grimoire>A'"),
               _record("t::test_value", "x", "passed"), _record("t::test_name[other]", "y", "failed", "AssertionError")]
    own = {"test_name": "checks Grimoire's registered name"}
    cells = table.cells(records, {"t::test_name[rmse]", "t::test_value", "t::test_name[other]"}, ["x", "y"],
                        peer="p", learners_own=own)
    assert cells["x"]["verdict"] == table.HOLDS and cells["x"]["learners_own"] == ["checks Grimoire's registered name"]
    assert cells["y"]["verdict"] == table.NOT_APPLICABLE and "learner's own code" in cells["y"]["reason"]
    assert "1 left out as the learner's own" in table.cell_text(cells["x"])


def test_the_report_shows_the_last_conformance_table(tmp_path):
    from grimoire.tooling.report.markdown import conformance_markdown

    cell = {"verdict": table.DIFFERS, "kind": "deviation", "measured": "max |Δ| 0.002", "cause": "mean(A) not sum(A)",
            "asked": 1, "tests": 1, "failed": 1}
    table.write(tmp_path, {"when": "2026-12-07", "versions": {"keras": "3"}, "claims": {"F": ["gradcam-plus-plus"]},
                           "peers": [{"name": "xplique", "version": "2.0.2", "section": "F", "status": "ran",
                                      "cells": {"gradcam-plus-plus": cell}}]})
    shown = conformance_markdown(table.read(tmp_path))
    assert "| `gradcam-plus-plus` | differs (deviation): max |Δ| 0.002; mean(A) not sum(A) |".replace("|Δ|", "\\|Δ\\|") in shown
    assert "xplique 2.0.2" in shown and "2026-12-07" in shown


def test_keras_metrics_adapter_hands_out_keras_own_metric_under_grimoires_name(tmp_path, monkeypatch):
    import keras

    calls = tmp_path / "calls.txt"
    monkeypatch.setenv(shared.CALLS_ENV, str(calls))
    from grimoire.tooling.conformance.adapters.keras_metrics import metrics

    cls = metrics.RootMeanSquaredError
    assert cls.__mro__[1] is keras.metrics.RootMeanSquaredError and set(vars(cls)) <= {"__init__", "__module__", "__doc__", "__qualname__", "__firstlineno__", "__static_attributes__", "__classcell__"}
    assert cls().name == "rmse"
    assert shared.calls(str(calls))["keras"]  # this test's id
    with pytest.raises(NotImplementedError, match="exercise: keras.BalancedAccuracy"):
        metrics.BalancedAccuracy


def _small_model():
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((10, 10, 2))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    return model, np.random.default_rng(3).random((2, 10, 10, 2)).astype("float32")


@needs_tkv
def test_tf_keras_vis_adapter_returns_the_peers_map_not_the_references(monkeypatch):
    import grimoire.cam as reference
    import tf_keras_vis.layercam

    adapter = importlib.import_module(TKV + ".cam")
    model, images = _small_model()
    # The real peer: Grad-CAM and LayerCAM agree with the reference, Grad-CAM++ shows the documented
    # difference (tf-keras-vis normalises the alphas), so the adapter is not the reference.
    assert np.abs(adapter.grad_cam(model, images) - reference.grad_cam(model, images)).max() <= ATOL_NORMALISED_MAPS
    assert np.abs(adapter.layer_cam(model, images) - reference.layer_cam(model, images)).max() <= ATOL_NORMALISED_MAPS
    assert np.abs(adapter.grad_cam_plus_plus(model, images) - reference.grad_cam_plus_plus(model, images)).max() > 1e-3
    # A planted peer: whatever the peer returns is what the adapter answers.
    planted = np.zeros((2, 8, 8), np.float32)
    planted[:, 1, 6] = 5.0
    monkeypatch.setattr(tf_keras_vis.layercam.Layercam, "__call__", lambda self, *a, **k: planted)
    result = adapter.layer_cam_details(model, images)
    np.testing.assert_array_equal(result.heatmaps, planted / 5.0)
    with pytest.raises(NotImplementedError, match="tf_keras_vis.weights"):
        result.weights


def test_the_sklearn_adapter_answers_with_sklearn_and_a_planted_formula_shows(monkeypatch):
    import sklearn.metrics

    from grimoire.tooling.conformance.adapters.sklearn_metrics import metrics

    y, p, w = np.array([[1.0], [2.0], [4.0]]), np.array([[0.0], [2.5], [3.0]]), np.array([1.0, 2.0, 0.5])
    rmse = metrics.RootMeanSquaredError()
    rmse.update_state(y[:1], p[:1], sample_weight=w[:1])
    rmse.update_state(y[1:], p[1:], sample_weight=w[1:])
    assert float(rmse.result()) == pytest.approx(np.sqrt((w * (y - p)[:, 0] ** 2).sum() / w.sum()), rel=1e-6)
    monkeypatch.setattr(sklearn.metrics, "root_mean_squared_error", lambda *a, **k: 42.0)  # a planted peer
    assert float(rmse.result()) == 42.0


@needs_tkv
def test_the_grad_cam_plus_plus_causes_reproduce_tf_keras_vis_and_not_the_paper():
    """tf-keras-vis' map is eq. 19 with per-channel normalised alphas (to float32), not eq. 19 itself."""
    from grimoire.tooling.conformance import causes

    result = causes.plus_plus_normalised_alphas(TKV)
    assert result["with_peer_definition"] <= causes.EXPLAINED and result["as_specified"] > causes.REMAINS, result
    assert result["reference_vs_paper"] <= causes.EXPLAINED  # the reference is the paper's


@pytest.mark.skipif(importlib.util.find_spec("xplique") is None,
                    reason="xplique runs in its own environment (grimoire conformance makes it under build/)")
def test_the_grad_cam_plus_plus_causes_reproduce_xplique_with_the_mean_and_not_the_sum():
    from grimoire.tooling.conformance import causes

    result = causes.plus_plus_mean_of_features("grimoire.tooling.conformance.adapters.xplique")
    assert result["with_peer_definition"] <= causes.EXPLAINED and result["as_specified"] > causes.REMAINS, result


def test_the_mean_and_the_normalised_alphas_are_not_eq_19():
    """The peers' definitions differ from the paper's on a small random case (so a match is evidence)."""
    from grimoire.tooling.conformance import causes

    rng = np.random.default_rng(0)
    a, g = rng.uniform(0, 2, (2, 4, 4, 3)), rng.normal(size=(2, 4, 4, 3))
    paper = causes.plus_plus_map(a, g, causes.paper_alphas)
    for other in (causes.mean_alphas, causes.normalised_alphas):
        assert np.abs(causes.plus_plus_map(a, g, other) - paper).max() > causes.REMAINS


@needs_tkv
def test_the_metric_and_logit_causes_are_measured_on_the_peers():
    from grimoire.tooling.conformance import causes

    for name in ("keras_computes_on_bad_values", "replace_to_linear_leaves_a_softmax_layer", "sklearn_empty_rows"):
        result = getattr(causes, name)("unused")
        assert result["confirmed"], (name, result)


@needs_tkv
def test_a_subclassed_model_is_not_asked_of_tf_keras_vis():
    import keras

    adapter = importlib.import_module(TKV + ".cam")
    model, images = _small_model()

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv, self.pool, self.head = model.layers[1], model.layers[2], model.layers[3]

        def call(self, x):
            return self.head(self.pool(self.conv(x)))

    subclassed = Subclassed()
    subclassed(images)
    with pytest.raises(NotImplementedError, match="tf_keras_vis.subclassed_models"):
        adapter.grad_cam(subclassed, images)


@needs_tkv
def test_smoke_one_claim_against_tf_keras_vis(tmp_path):
    from grimoire.tooling.conformance import conformance

    readme = conformance("tf-keras-vis", out=tmp_path, claims="gradcam-finite")
    document = table.read(tmp_path)
    cell = document["peers"][0]["cells"]["gradcam-finite"]
    assert cell["verdict"] == table.HOLDS and cell["asked"] >= 1, cell
    assert "`gradcam-finite` | holds" in readme.read_text(encoding="utf-8")
