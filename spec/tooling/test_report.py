"""`grimoire report` on small inputs: the tables it derives, the README it writes, failures it shows."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grimoire.tooling import report
from grimoire.tooling.report import markdown, pictures, plots

pytestmark = pytest.mark.tooling

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def bench(name, path, case, seconds, flops, device="cpu", **info):
    """One pytest-benchmark JSON entry as the benchmarks' `record` fixture writes it."""
    extra = {"path": path, "case": case, "device": device, "precision": "float32", "batch_size": 1, "flops": flops,
             "gflops": flops / seconds / 1e9 if flops else None, "peak_gflops": 50.0, "peak_copy_gbs": 10.0, **info}
    return {"name": name, "extra_info": extra, "stats": {"min": seconds, "median": 1.5 * seconds, "rounds": 5}}


BENCHMARKS = {
    "machine_info": {"cpu_model": "Test CPU", "cpu_count": 2, "tensorflow": "2.x"},
    "benchmarks": [
        bench("matmul", "matmul", "2048x2048", 0.1, 100e9 * 0.1, intensity=100.0),
        bench("copy", "copy", "256 MiB", 0.05, 0, gbs=10.0),
        bench("fwd-fn", "tf-function", "forward 3x3", 0.2, 18e9, intensity=60.0),
        bench("fwd-eager", "tf-eager", "forward 3x3", 0.4, 18e9, intensity=60.0),
        bench("bwd-in", "tf-function", "backward-input 3x3", 0.3, 18e9),
        bench("bwd-f", "tf-function", "backward-filter 3x3", 0.25, 18e9),
        bench("gc", "grimoire-compiled", "xception-299 batch 1", 0.33, 16.7e9, **{"interleaved_ratio_to_forward-only": 1.04}),
        bench("fo", "forward-only", "xception-299 batch 1", 0.30, 16.7e9),
        bench("eager", "eager-textbook", "xception-299 batch 1", 2.64, 16.7e9),
    ],
}

LEDGER = {
    "claims": [
        {"id": "bench-conv", "section": "G", "status": "verified", "passed": 3, "failed": 0, "skipped": 1, "pending": 0},
        {"id": "flops-from-shapes", "section": "G", "status": "failing", "passed": 2, "failed": 1, "skipped": 0, "pending": 0},
    ],
    "summary": {"verified": 1, "failing": 1},
}


def test_rows_give_speed_as_a_fraction_of_the_same_runs_matmul_and_ratio_to_the_best_path():
    rows = {r["name"]: r for r in markdown.benchmark_rows(BENCHMARKS)}
    assert rows["fwd-fn"]["gflops"] == pytest.approx(90.0)
    assert rows["fwd-fn"]["fraction_of_peak"] == pytest.approx(0.9)  # 90 of the matmul's 100, not the recorded 50
    assert rows["fwd-fn"]["ratio_to_best"] == pytest.approx(1.0)
    assert rows["fwd-eager"]["ratio_to_best"] == pytest.approx(2.0)  # same case, twice the time


def test_targets_compare_the_measured_ratios_with_the_issues_goals():
    targets = {t["what"]: t for t in markdown.target_ratios(markdown.benchmark_rows(BENCHMARKS))}
    forward = targets["3x3 conv forward, graph mode: fraction of matmul peak"]
    assert forward["separate"] == pytest.approx(0.9) and forward["interleaved"] is None and forward["met"]
    backward = targets["3x3 conv backward (input gradient), graph mode: fraction of peak"]
    assert backward["separate"] == pytest.approx(0.6) and not backward["met"]  # 60 GFLOP/s of 100, target 0.7
    gradcam = targets["Grad-CAM compiled / forward-only time, batch 1"]
    assert gradcam["separate"] == pytest.approx(1.1) and gradcam["interleaved"] == 1.04
    assert gradcam["met"]  # judged on the interleaved measurement
    assert targets["eager textbook / compiled Grad-CAM time, batch 1"]["separate"] == pytest.approx(8.0)
    assert not any("batch 8" in what for what in targets)  # nothing measured, nothing claimed


def test_readme_has_the_ledger_by_section_the_benchmark_table_and_the_machine():
    phases = [report.Phase("spec", "ok"), report.Phase("benchmarks", "failed", "pytest exited with 1")]
    catalogue = report.Catalogue.load(ROOT / "spec" / "claims.toml")
    text = markdown.readme(phases, catalogue=catalogue, ledger=LEDGER, bench=BENCHMARKS, pictures=["roofline.png"])
    assert "| benchmarks | **FAILED** |" in text and "pytest exited with 1" in text
    assert "### G. Hot paths" in text
    assert "| failing | 2 passed, 1 failed | `flops-from-shapes` |" in text
    assert "| verified | 3 passed, 1 skipped | `bench-conv` |" in text
    assert "| forward 3x3 | tf-function | cpu | float32 | 1 | 200.00 ms | 300.00 ms | 90.0 | 90.0 | 1.00 |" in text
    assert "![Benchmarks against the measured roof](roofline.png)" in text
    assert "gradcam_shapes.png" not in text  # only pictures this run drew are linked
    assert "- cpu_model: Test CPU" in text
    assert "measurement error" not in text


def test_a_rung_faster_than_the_peak_is_a_measurement_error_not_a_result():
    fast = dict(BENCHMARKS, benchmarks=BENCHMARKS["benchmarks"] + [bench("too-fast", "tf-xla", "forward 3x3", 0.1, 18e9)])
    rows = {r["name"]: r for r in markdown.benchmark_rows(fast)}
    assert rows["too-fast"]["fraction_of_peak"] == pytest.approx(1.8) and rows["too-fast"]["suspect"]
    assert not rows["fwd-fn"]["suspect"]
    text = markdown.benchmark_markdown(list(rows.values()))
    assert "**180.0 (measurement error)**" in text and "**Measurement error:** 1 benchmark(s)" in text


def test_a_failing_phase_is_reported_and_the_rest_still_written(tmp_path, monkeypatch):
    def broken(root, out, log):
        raise RuntimeError("spec exploded")

    def draw_ok(out, quick):
        path = Path(out) / "roofline.png"
        path.write_bytes(PNG)
        return path

    def draw_broken(out, quick):
        raise ValueError("no model")

    monkeypatch.setattr(report, "spec_phase", broken)
    monkeypatch.setattr(pictures, "PICTURES", [("broken", draw_broken), ("roofline", draw_ok)])
    lines = []
    code = report.run(tmp_path / "out", phases=("spec", "pictures"), root=ROOT, log=lines.append)
    text = (tmp_path / "out" / "README.md").read_text()
    assert code == 1
    assert "| spec | **FAILED** |" in text and "spec exploded" in text
    assert "| benchmarks | skipped |" in text
    assert "| pictures | **FAILED** |" in text and "broken: ValueError: no model" in text
    assert "(roofline.png)" in text  # the picture after the broken one was still drawn
    assert any(line.startswith("[report 1/4] spec") for line in lines)  # progress, phase by phase
    assert any("failed phases: spec, pictures" in line for line in lines)


def test_pictures_are_pngs(tmp_path):
    rows = [{"label": "a", "path": "tf-function", "gflops": 80.0, "intensity": 50.0, "problem": "forward 3x3"},
            {"label": "b", "path": "forward-only", "gflops": 40.0}]
    images = np.random.default_rng(0).uniform(0, 1, (2, 16, 16))
    written = [
        plots.roofline(rows, 100.0, 10.0, tmp_path / "r.png"),
        plots.heatmap_grid(images, np.ones((2, 4, 4)) * 0.5, tmp_path / "h.png", boxes=[(1, 1, 5, 5)] * 2, titles=["x", "y"]),
        plots.filters_before_after(np.ones((3, 3, 1, 4)), -np.ones((3, 3, 1, 4)), tmp_path / "f.png"),
    ]
    for path in written:
        assert path.read_bytes()[:8] == PNG


def test_cli_refuses_an_unknown_phase():
    result = subprocess.run([sys.executable, "-m", "grimoire.tooling.cli", "report", "--phases", "spec,plots"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    assert "unknown phase(s) ['plots']" in result.stderr


def _fake_phases(monkeypatch, *, spec=None):
    """Phases that write a small ledger (or run `spec`) instead of running pytest."""

    def spec_phase(root, out, log):
        if spec:
            spec()
        (out / "ledger.json").write_text(json.dumps(LEDGER))
        return report.Phase("spec", "ok")

    monkeypatch.setattr(report, "spec_phase", spec_phase)


def test_a_folder_holding_other_files_is_refused_and_left_alone(tmp_path, monkeypatch):
    _fake_phases(monkeypatch)
    (tmp_path / "README.md").write_text("my notes")
    (tmp_path / "ledger.json").write_text("{}")
    with pytest.raises(report.ReportError, match="holds files that no Grimoire report wrote"):
        report.run(tmp_path, phases=("spec",), root=ROOT, log=lambda line: None)
    assert (tmp_path / "README.md").read_text() == "my notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "ledger.json"]


def test_a_new_report_replaces_a_previous_one_whole_and_lists_only_its_own_pictures(tmp_path, monkeypatch):
    _fake_phases(monkeypatch)
    out = tmp_path / "report"
    assert report.run(out, phases=("spec",), root=ROOT, log=lambda line: None) == 0
    (out / "gradcam_shapes.png").write_bytes(PNG)  # a picture from an older run
    assert report.run(out, phases=("spec",), root=ROOT, log=lambda line: None) == 0
    assert sorted(p.name for p in out.iterdir()) == [report.MARKER, "README.md", "ledger.json"]
    assert "Pictures" not in (out / "README.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".report.lock", "report"]  # no temporary folder left


def test_ctrl_c_keeps_the_previous_report_whole(tmp_path, monkeypatch):
    out = tmp_path / "report"
    _fake_phases(monkeypatch)
    report.run(out, phases=("spec",), root=ROOT, log=lambda line: None)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted():
        raise KeyboardInterrupt

    _fake_phases(monkeypatch, spec=interrupted)
    lines = []
    assert report.run(out, phases=("spec",), root=ROOT, log=lines.append) == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert lines[-1] == f"[report] interrupted: nothing written; {out.resolve()} is as it was."
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.lock", "report"]


def test_two_runs_cannot_share_a_folder(tmp_path, monkeypatch):
    out = tmp_path / "report"
    inner = []

    def second_run():
        with pytest.raises(report.ReportError, match="another `grimoire report` is writing it"):
            report.run(out, phases=("spec",), root=ROOT, log=lambda line: None)
        inner.append("refused")

    _fake_phases(monkeypatch, spec=second_run)
    assert report.run(out, phases=("spec",), root=ROOT, log=lambda line: None) == 0
    assert inner == ["refused"]


@pytest.mark.parametrize("out", [pytest.param("file/report", id="under-a-file"), pytest.param("missing/report", id="no-parent")])
def test_cli_says_what_is_wrong_with_the_output_folder_in_one_line(tmp_path, out):
    (tmp_path / "file").write_text("x")
    result = subprocess.run([sys.executable, "-m", "grimoire.tooling.cli", "report", "--phases", "", "--out", str(tmp_path / out)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("grimoire report: --out ")
    assert "Traceback" not in result.stderr


def test_the_readme_has_the_mistakes_table_with_survivors_in_bold():
    mistakes = [
        {"id": "dense-forgets-bias", "section": "A", "claims": ["dense-params-example"], "equivalent": False,
         "status": "caught", "ok": True, "caught_by": "dense-params-example", "assertion": "assert 96 == 128", "seconds": 56.0},
        {"id": "conv-flips-kernel", "section": "D", "claims": ["conv-dot-product"], "equivalent": False,
         "status": "survived", "ok": False, "caught_by": "", "assertion": "", "seconds": 66.0},
        {"id": "heatmap-max-of-raw-map", "section": "F", "claims": ["gradcam-finite"], "equivalent": True,
         "status": "equivalent", "ok": True, "caught_by": "", "assertion": "", "seconds": 140.0},
    ]
    catalogue = report.Catalogue.load(ROOT / "spec" / "claims.toml")
    text = markdown.readme([], catalogue=catalogue, ledger=None, bench=None, pictures=[], mistakes=mistakes)
    assert "## Mistakes caught" in text and "**1 of 2 mistakes caught**, 1 equivalent" in text
    assert "| `dense-forgets-bias` | A | caught | `dense-params-example` | assert 96 == 128 | 56 s |" in text
    assert "| `conv-flips-kernel` | D | **survived** | - | - | 66 s |" in text


def test_a_picture_that_fails_half_way_leaves_the_previous_one_whole(tmp_path):
    """Every PNG the report draws goes through `plots.save_png`: a temporary file, then a rename."""
    class HalfWritten:
        def savefig(self, target, **kwargs):
            Path(target).write_bytes(b"half a picture")
            raise OSError(28, "No space left on device")

    path = tmp_path / "roofline.png"
    path.write_bytes(b"the previous picture")
    with pytest.raises(OSError, match="No space left"):
        plots.save_png(HalfWritten(), path)
    assert path.read_bytes() == b"the previous picture" and list(tmp_path.iterdir()) == [path]
