"""`grimoire conformance`: the table's verdicts, and adapters that really ask their peer."""

import importlib.util

import numpy as np
import pytest

from grimoire.tooling.conformance import shared, table
from grimoire.tooling.conformance.peers import check_names

pytestmark = pytest.mark.tooling

TKV = "grimoire.tooling.conformance.adapters.tf_keras_vis"
needs_tkv = pytest.mark.skipif(importlib.util.find_spec("tf_keras_vis") is None,
                               reason="tf-keras-vis is not installed (the `test` extra installs it)")
SAME_MAPS = 1e-5  # float32 maps of one small model through two correct paths (spec/tolerances.py's scale)


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


def test_keras_metrics_adapter_hands_out_keras_own_class_and_notes_the_call(tmp_path, monkeypatch):
    import keras

    calls = tmp_path / "calls.txt"
    monkeypatch.setenv(shared.CALLS_ENV, str(calls))
    from grimoire.tooling.conformance.adapters.keras_metrics import metrics

    assert metrics.RootMeanSquaredError is keras.metrics.RootMeanSquaredError
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
    assert np.abs(adapter.grad_cam(model, images) - reference.grad_cam(model, images)).max() <= SAME_MAPS
    assert np.abs(adapter.layer_cam(model, images) - reference.layer_cam(model, images)).max() <= SAME_MAPS
    assert np.abs(adapter.grad_cam_plus_plus(model, images) - reference.grad_cam_plus_plus(model, images)).max() > 1e-3
    # A planted peer: whatever the peer returns is what the adapter answers.
    planted = np.zeros((2, 8, 8), np.float32)
    planted[:, 1, 6] = 5.0
    monkeypatch.setattr(tf_keras_vis.layercam.Layercam, "__call__", lambda self, *a, **k: planted)
    result = adapter.layer_cam_details(model, images)
    np.testing.assert_array_equal(result.heatmaps, planted / 5.0)
    with pytest.raises(NotImplementedError, match="tf_keras_vis.weights"):
        result.weights


@needs_tkv
def test_smoke_one_claim_against_tf_keras_vis(tmp_path):
    from grimoire.tooling.conformance import conformance

    readme = conformance("tf-keras-vis", out=tmp_path, claims="gradcam-finite")
    document = table.read(tmp_path)
    cell = document["peers"][0]["cells"]["gradcam-finite"]
    assert cell["verdict"] == table.HOLDS and cell["asked"] >= 1, cell
    assert "`gradcam-finite` | holds" in readme.read_text(encoding="utf-8")
