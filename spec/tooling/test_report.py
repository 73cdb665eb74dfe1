"""`grimoire report` on small inputs: the tables it derives, the README it writes, failures it shows."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grimoire import plots, report

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
    rows = {r["name"]: r for r in report.benchmark_rows(BENCHMARKS)}
    assert rows["fwd-fn"]["gflops"] == pytest.approx(90.0)
    assert rows["fwd-fn"]["fraction_of_peak"] == pytest.approx(0.9)  # 90 of the matmul's 100, not the recorded 50
    assert rows["fwd-fn"]["ratio_to_best"] == pytest.approx(1.0)
    assert rows["fwd-eager"]["ratio_to_best"] == pytest.approx(2.0)  # same case, twice the time


def test_targets_compare_the_measured_ratios_with_the_issues_goals():
    targets = {t["what"]: t for t in report.target_ratios(report.benchmark_rows(BENCHMARKS))}
    forward = targets["3x3 conv forward, graph mode: fraction of matmul peak"]
    assert forward["separate"] == pytest.approx(0.9) and forward["interleaved"] is None and forward["met"]
    backward = targets["3x3 conv backward (input gradient), graph mode: fraction of peak"]
    assert backward["separate"] == pytest.approx(0.6) and not backward["met"]  # 60 GFLOP/s of 100, target 0.7
    gradcam = targets["Grad-CAM compiled / forward-only time, batch 1"]
    assert gradcam["separate"] == pytest.approx(1.1) and gradcam["interleaved"] == 1.04
    assert gradcam["met"]  # judged on the interleaved measurement
    assert targets["eager textbook / compiled Grad-CAM time, batch 1"]["separate"] == pytest.approx(8.0)
    assert not any("batch 8" in what for what in targets)  # nothing measured, nothing claimed


def test_readme_has_the_ledger_by_section_the_benchmark_table_and_the_machine(tmp_path):
    (tmp_path / "ledger.json").write_text(json.dumps(LEDGER))
    (tmp_path / "benchmarks.json").write_text(json.dumps(BENCHMARKS))
    (tmp_path / "roofline.png").write_bytes(PNG)
    phases = [report.Phase("spec", "ok"), report.Phase("benchmarks", "failed", "pytest exited with 1")]
    text = report.write_readme(tmp_path, phases, root=ROOT).read_text()
    assert "| benchmarks | **FAILED** |" in text and "pytest exited with 1" in text
    assert "### G. Hot paths" in text
    assert "| failing | 2 passed, 1 failed | `flops-from-shapes` |" in text
    assert "| verified | 3 passed, 1 skipped | `bench-conv` |" in text
    assert "| forward 3x3 | tf-function | cpu | float32 | 1 | 200.00 ms | 300.00 ms | 90.0 | 90.0 | 1.00 |" in text
    assert "![Benchmarks against the measured roof](roofline.png)" in text
    assert "gradcam_shapes.png" not in text  # only pictures that exist are linked
    assert "- cpu_model: Test CPU" in text


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
    monkeypatch.setattr(report, "PICTURES", [("broken", draw_broken), ("roofline", draw_ok)])
    lines = []
    code = report.run(tmp_path, phases=("spec", "pictures"), root=ROOT, log=lines.append)
    text = (tmp_path / "README.md").read_text()
    assert code == 1
    assert "| spec | **FAILED** |" in text and "spec exploded" in text
    assert "| benchmarks | skipped |" in text
    assert "| pictures | **FAILED** |" in text and "broken: ValueError: no model" in text
    assert "(roofline.png)" in text  # the picture after the broken one was still drawn
    assert any(line.startswith("[report 1/3] spec") for line in lines)  # progress, phase by phase
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
    result = subprocess.run([sys.executable, "-m", "grimoire.cli", "report", "--phases", "spec,plots"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    assert "unknown phase(s) ['plots']" in result.stderr
