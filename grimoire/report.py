"""`grimoire report`: run the specification and the benchmarks, and write what they found.

    grimoire report [--out DIR] [--quick] [--phases spec,benchmarks,pictures]

Phases, each shown as it runs; a phase that fails is reported in the output and at the top of the
README, and the rest of the report is still written:

    spec        pytest on spec/ with the claim ledger written as JSON (DIR/ledger.json)
    benchmarks  pytest spec/benchmarks --benchmark-only, one process (DIR/benchmarks.json)
    pictures    PNGs: benchmarks against the measured roof, Grad-CAM overlays on the synthetic
                shapes (true boxes drawn) and on digits, the digits convnet's first-layer filters
    README      DIR/README.md: the ledger by section, the benchmark table, the target ratios,
                machine and library versions, the pictures

`--quick` checks the plumbing in a few minutes: one round per benchmark, the slowest cases left
out, shorter training for the pictures. Its numbers are not the ones to quote.
"""

import functools
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from .ledger import Catalogue

PHASES = ("spec", "benchmarks", "pictures")

# Benchmarks the quick mode leaves out: the slowest cases (seconds per call on 2 cores).
QUICK_DESELECT = "not batch-8 and not depthwise-xla and not grimoire-xla"

# The issue's targets, as ratios measured within one run on this 2-core CPU.
TARGETS = {
    "conv_forward": 0.85,  # 3x3 conv forward in graph mode, fraction of the matmul peak
    "conv_backward": 0.70,  # its input and filter gradients, fraction of the matmul peak
    "gradcam_vs_forward": 1.1,  # compiled Grad-CAM time / compiled forward time, at most
    "eager_vs_gradcam": 5.0,  # eager (textbook or tf-keras-vis) time / compiled Grad-CAM time, at least
}


@dataclass
class Phase:
    """One phase's outcome: `status` is "ok", "failed" or "skipped"; `detail` says why."""

    name: str
    status: str = "skipped"
    detail: str = ""
    seconds: float = 0.0
    outputs: list = field(default_factory=list)


# --- running ------------------------------------------------------------------------------------


def run(out="report", *, quick=False, phases=PHASES, root=None, log=print):
    """Runs the chosen phases and writes `out/README.md`; returns 0 if every phase succeeded, else 1.

    Args:
        out: the report directory (created if missing).
        quick: fewer benchmark rounds, the slowest cases and long trainings left out.
        phases: which of `PHASES` to run; the README is always written.
        root: the project checkout holding `spec/` (default: found next to the package).
        log: where progress lines go.

    Returns:
        The process exit code.
    """
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        raise ValueError(f"Argument `phases` must name phases among {list(PHASES)}. Received: {unknown}")
    if root is None:
        from .cli import project_root

        root = project_root()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    steps = {"spec": lambda: spec_phase(root, out, log), "benchmarks": lambda: benchmark_phase(root, out, quick, log)}
    results = []
    for index, name in enumerate(PHASES, 1):
        if name not in phases:
            results.append(Phase(name, "skipped", "not selected"))
            continue
        log(f"[report {index}/{len(PHASES)}] {name} ...")
        start = time.perf_counter()
        if name == "pictures":
            phase = pictures_phase(out, quick, log)
        else:
            phase = _guarded(name, steps[name])
        phase.seconds = time.perf_counter() - start
        log(f"[report {index}/{len(PHASES)}] {name}: {phase.status}" + (f" ({phase.detail})" if phase.detail else ""))
        results.append(phase)
    readme = write_readme(out, results, root=root, quick=quick)
    log(f"[report] wrote {readme}")
    failed = [p.name for p in results if p.status == "failed"]
    if failed:
        log(f"[report] failed phases: {', '.join(failed)} (see the top of {readme})")
    return 1 if failed else 0


def _guarded(name, step):
    try:
        return step()
    except Exception as error:  # a broken phase must not stop the report
        return Phase(name, "failed", f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}")


def _pytest(root, args, log):
    command = [sys.executable, "-m", "pytest", *args]
    log("  $ " + " ".join(command[1:]))
    return subprocess.call(command, cwd=root)


def spec_phase(root, out, log):
    """Runs the specification (in parallel when there are cores to spare) with the ledger as JSON."""
    target = out / "ledger.json"
    target.unlink(missing_ok=True)
    args = ["spec", "-q", "-p", "no:cacheprovider", f"--ledger-json={target}"]
    if (os.cpu_count() or 1) > 1:
        args += ["-n", "auto"]
    code = _pytest(root, args, log)
    if not target.is_file():
        return Phase("spec", "failed", f"pytest exited with {code} and wrote no ledger")
    if code != 0:
        return Phase("spec", "failed", f"pytest exited with {code}: some tests failed (see the ledger)", outputs=[target])
    return Phase("spec", "ok", outputs=[target])


def benchmark_phase(root, out, quick, log):
    """Runs the benchmarks in one process (never under xdist) and keeps their JSON."""
    target = out / "benchmarks.json"
    target.unlink(missing_ok=True)
    args = ["spec/benchmarks", "--benchmark-only", "-n", "0", "-p", "no:cacheprovider", "-v",
            f"--benchmark-json={target}", "--benchmark-columns=min,median,rounds"]
    if quick:
        args += ["--benchmark-min-rounds=1", "--benchmark-max-time=0.05", "-k", QUICK_DESELECT]
        os.environ["GRIMOIRE_BENCH_QUICK"] = "1"
    try:
        code = _pytest(root, args, log)
    finally:
        os.environ.pop("GRIMOIRE_BENCH_QUICK", None)
    if not target.is_file():
        return Phase("benchmarks", "failed", f"pytest exited with {code} and wrote no benchmark JSON")
    if code != 0:
        return Phase("benchmarks", "failed", f"pytest exited with {code}: a benchmark's check failed", outputs=[target])
    return Phase("benchmarks", "ok", outputs=[target])


def pictures_phase(out, quick, log):
    """Draws every picture it can; one that fails is reported and the others are still drawn."""
    phase = Phase("pictures", "ok")
    errors = []
    for name, draw in PICTURES:
        log(f"  drawing {name} ...")
        try:
            phase.outputs.append(draw(out, quick))
        except Exception as error:
            errors.append(f"{name}: {type(error).__name__}: {error}")
            log(f"  {name} failed: {type(error).__name__}: {error}")
    if errors:
        phase.status, phase.detail = "failed", "; ".join(errors)
    return phase


# --- pictures -----------------------------------------------------------------------------------


def draw_roofline(out, quick):
    data = _read_json(out / "benchmarks.json")
    if data is None:
        raise FileNotFoundError("no benchmarks.json: run the benchmarks phase first")
    rows = benchmark_rows(data)
    peak = _peak(rows)
    if not peak:
        raise ValueError("benchmarks.json has no matmul peak to compare with")
    from .plots import roofline

    plotted = [
        {"label": f"{r['path']} {r['case']}", "path": r["path"], "gflops": r["gflops"], "intensity": r.get("intensity"),
         "problem": r["case"]}
        for r in rows
        if r["path"] not in ("copy",) and r["device"] == "cpu"
    ]
    return roofline(plotted, peak["gflops"], peak["copy_gbs"], out / "roofline.png")


def draw_shapes_gradcam(out, quick):
    from . import cam, synthetic
    from .plots import heatmap_grid

    model, (images, labels, boxes) = synthetic.train_shapes_model(seed=0, **({"epochs": 2} if quick else {}))
    picks = [int(next(i for i, y in enumerate(labels) if y == c)) for c in range(len(synthetic.SHAPES))]
    heat = cam.grad_cam(model, images[picks])
    predicted = model.predict(images[picks], verbose=0).argmax(axis=-1)
    titles = [f"{synthetic.SHAPES[labels[i]]} (pred: {synthetic.SHAPES[p]})" for i, p in zip(picks, predicted)]
    return heatmap_grid(images[picks, ..., 0], heat, out / "gradcam_shapes.png", boxes=boxes[picks], titles=titles)


@functools.cache
def _digits_model(quick):
    # Trained once for both digits pictures.
    from . import digits

    return digits.train_convnet(seed=0, **({"epochs": 2} if quick else {}))


def draw_digits_gradcam(out, quick):
    from . import cam, digits
    from .plots import heatmap_grid

    model, accuracy = _digits_model(quick)
    _, _, x_test, y_test = digits.load()
    picks = list(range(8))
    heat = cam.grad_cam(model, x_test[picks])
    predicted = model.predict(x_test[picks], verbose=0).argmax(axis=-1)
    titles = [f"{y_test[i]} (pred {p})" for i, p in zip(picks, predicted)]
    images = x_test[picks, ..., 0]
    images = (images - images.min()) / (images.max() - images.min() or 1.0)
    return heatmap_grid(images, heat, out / "gradcam_digits.png", titles=titles)


def draw_digits_filters(out, quick):
    from . import digits
    from .plots import filters_before_after

    model, _ = _digits_model(quick)
    after = model.get_layer(digits.FIRST_CONV).kernel.numpy()
    return filters_before_after(model.initial_first_kernel, after, out / "digits_filters.png")


PICTURES = [
    ("roofline", draw_roofline),
    ("Grad-CAM on the synthetic shapes", draw_shapes_gradcam),
    ("Grad-CAM on digits", draw_digits_gradcam),
    ("digits convnet filters", draw_digits_filters),
]


# --- reading results ----------------------------------------------------------------------------


def _read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def benchmark_rows(data):
    """Flattens pytest-benchmark JSON into rows with speeds, fractions of peak and ratios to the best.

    `ratio_to_best` compares paths on the same problem (`case`) and device: 1.0 for the fastest.
    `fraction_of_peak` divides by the matmul benchmark of the same run and device when there is
    one (else by the peak the benchmark recorded itself).
    """
    rows = []
    for bench in data.get("benchmarks", []):
        info, stats = bench.get("extra_info", {}), bench.get("stats", {})
        if "path" not in info:
            continue
        rows.append({
            "name": bench.get("name", ""),
            "case": info.get("case", ""),
            "path": info["path"],
            "device": info.get("device", "cpu"),
            "precision": info.get("precision", ""),
            "batch_size": info.get("batch_size", 1),
            "flops": info.get("flops", 0),
            "intensity": info.get("intensity"),
            "min_s": stats.get("min"),
            "median_s": stats.get("median"),
            "rounds": stats.get("rounds"),
            "gflops": info.get("gflops"),
            "gbs": info.get("gbs"),
            "recorded_fraction": info.get("fraction_of_peak"),
            "recorded_peak": info.get("peak_gflops"),
            "copy_gbs": info.get("peak_copy_gbs"),
            "interleaved": {k[len("interleaved_"):]: v for k, v in info.items() if k.startswith("interleaved_")},
        })
    peaks = {r["device"]: r["gflops"] for r in rows if r["path"] == "matmul" and r["gflops"]}
    best = {}
    for r in rows:
        if r["min_s"]:
            key = (r["case"], r["device"])
            best[key] = min(best.get(key, r["min_s"]), r["min_s"])
    for r in rows:
        peak = peaks.get(r["device"])
        r["fraction_of_peak"] = r["gflops"] / peak if peak and r["gflops"] else r["recorded_fraction"]
        r["ratio_to_best"] = r["min_s"] / best[(r["case"], r["device"])] if r["min_s"] else None
    return rows


def _peak(rows, device="cpu"):
    matmul = next((r for r in rows if r["path"] == "matmul" and r["device"] == device and r["gflops"]), None)
    copy = next((r for r in rows if r["path"] == "copy" and r["gbs"]), None)
    if matmul is None:
        return None
    return {"gflops": matmul["gflops"], "copy_gbs": copy["gbs"] if copy else matmul["copy_gbs"]}


def target_ratios(rows, device="cpu"):
    """The issue's targets next to what this run measured.

    Two measurements per ratio where the benchmarks recorded both: from the two separate benchmarks,
    and from the paths timed alternately in one loop (`interleaved`), which a busy machine disturbs
    less. Returns a list of dicts (what, target, separate, interleaved, met); `met` judges the
    interleaved value when there is one.
    """
    by = {(r["case"], r["path"]): r for r in rows if r["device"] == device}
    found = []

    def add(what, target, separate, interleaved, at_least):
        if separate is None and interleaved is None:
            return
        judged = interleaved if interleaved is not None else separate
        found.append({"what": what, "target": ("≥ " if at_least else "≤ ") + f"{target:g}", "separate": separate,
                      "interleaved": interleaved, "met": judged >= target if at_least else judged <= target})

    def fraction(case, path):
        row = by.get((case, path))
        return (row["fraction_of_peak"], row["interleaved"].get("fraction_of_peak")) if row else (None, None)

    def ratio(case, slow, fast):
        a, b = by.get((case, slow)), by.get((case, fast))
        separate = a["min_s"] / b["min_s"] if a and b and a["min_s"] and b["min_s"] else None
        return separate, (a["interleaved"].get(f"ratio_to_{fast}") if a else None)

    add("3x3 conv forward, graph mode: fraction of matmul peak", TARGETS["conv_forward"],
        *fraction("forward 3x3", "tf-function"), True)
    for wrt in ("input", "filter"):
        add(f"3x3 conv backward ({wrt} gradient), graph mode: fraction of peak", TARGETS["conv_backward"],
            *fraction(f"backward-{wrt} 3x3", "tf-function"), True)
    for batch in (1, 8):
        case = f"xception-299 batch {batch}"
        add(f"Grad-CAM compiled / forward-only time, batch {batch}", TARGETS["gradcam_vs_forward"],
            *ratio(case, "grimoire-compiled", "forward-only"), False)
        add(f"eager textbook / compiled Grad-CAM time, batch {batch}", TARGETS["eager_vs_gradcam"],
            *ratio(case, "eager-textbook", "grimoire-compiled"), True)
        add(f"tf-keras-vis / compiled Grad-CAM time, batch {batch}", TARGETS["eager_vs_gradcam"],
            *ratio(case, "tf-keras-vis", "grimoire-compiled"), True)
    return found


# --- writing ------------------------------------------------------------------------------------


def _one_line(text, width=150):
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def ledger_markdown(ledger, catalogue):
    """The claim ledger by section as Markdown tables (status, tests, claim id, the claim in one line)."""
    rows = {row["id"]: row for row in ledger.get("claims", [])}
    lines = []
    summary = ledger.get("summary", {})
    if summary:
        lines.append("**" + ", ".join(f"{n} {status}" for status, n in summary.items() if n) + "**")
        lines.append("")
    for key, title in catalogue.sections.items():
        claims = [c for c in catalogue.claims.values() if c.section == key]
        if not claims:
            continue
        lines += [f"### {key}. {title}", "", "| status | tests | claim | statement |", "|---|---|---|---|"]
        for claim in claims:
            row = rows.get(claim.id, {})
            tests = ", ".join(f"{row[o]} {o}" for o in ("passed", "failed", "skipped", "pending") if row.get(o))
            lines.append(f"| {row.get('status', 'not run')} | {tests or '-'} | `{claim.id}` | {_one_line(claim.statement)} |")
        lines.append("")
    return "\n".join(lines)


def _fmt(value, spec, empty="-"):
    return empty if value is None else format(value, spec)


def benchmark_markdown(rows):
    """The benchmark table: time, GFLOP/s, % of the matmul peak and ratio to the best path, per case."""
    lines = ["| case | path | device | precision | batch | min time | median | GFLOP/s | % of peak | × best |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["case"], r["device"], r["min_s"] or 0)):
        speed = _fmt(r["gflops"], ".1f") if r["path"] != "copy" else f"{_fmt(r['gbs'], '.1f')} GB/s"
        percent = _fmt(r["fraction_of_peak"] and 100 * r["fraction_of_peak"], ".1f") if r["path"] != "copy" else "-"
        lines.append(
            f"| {r['case']} | {r['path']} | {r['device']} | {r['precision']} | {r['batch_size']} | "
            f"{_ms(r['min_s'])} | {_ms(r['median_s'])} | {speed} | {percent} | {_fmt(r['ratio_to_best'], '.2f')} |"
        )
    return "\n".join(lines)


def _ms(seconds):
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def machine_markdown(machine_info=None):
    """Machine and library versions as a Markdown list (from the benchmark run when there was one)."""
    info = dict(machine_info or {})
    try:
        import keras
        import numpy
        import tensorflow

        info.setdefault("tensorflow", tensorflow.__version__)
        info.setdefault("keras", keras.__version__)
        info.setdefault("numpy", numpy.__version__)
    except ImportError:
        pass
    info.setdefault("python_version", platform.python_version())
    info.setdefault("system", platform.system())
    info.setdefault("cpu_count", os.cpu_count())
    keys = ["cpu_model", "cpu_count", "gpus", "load_average_at_start", "load_average_at_end", "system", "release", "python_version",
            "tensorflow", "keras", "numpy", "onednn"]
    return "\n".join(f"- {k}: {info[k]}" for k in keys if k in info)


def write_readme(out, phases, *, root, quick=False):
    """Writes `out/README.md` from whatever the phases produced; returns its path."""
    out = Path(out)
    catalogue = Catalogue.load(Path(root) / "spec" / "claims.toml")
    ledger = _read_json(out / "ledger.json")
    bench = _read_json(out / "benchmarks.json")
    rows = benchmark_rows(bench) if bench else []
    lines = ["# Grimoire report", "",
             f"Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `grimoire report"
             + (" --quick`: one round per benchmark, slowest cases left out; do not quote these numbers." if quick else "`."),
             ""]
    lines += ["## Phases", "", "| phase | status | time | detail |", "|---|---|---|---|"]
    for p in phases:
        detail = _one_line(p.detail, 300).replace("|", "\\|") if p.detail else ""
        lines.append(f"| {p.name} | {'**FAILED**' if p.status == 'failed' else p.status} | {p.seconds:.0f} s | {detail} |")
    lines.append("")

    lines += ["## Claim ledger", ""]
    lines += [ledger_markdown(ledger, catalogue) if ledger else "_No ledger: the spec phase did not run or wrote nothing._", ""]

    lines += ["## Benchmarks", ""]
    if rows:
        peak = _peak(rows)
        if peak:
            lines += [f"Measured in the same run: float32 matmul peak **{peak['gflops']:.1f} GFLOP/s**, copy "
                      f"**{peak['copy_gbs']:.1f} GB/s**. Times are the fastest round (the least disturbed by other "
                      "load); `× best` compares paths on the same problem.", ""]
        targets = target_ratios(rows)
        if targets:
            lines += ["### Targets", "",
                      "Measured two ways: from the separate benchmarks, and with the two paths alternating in one "
                      "loop (interleaved), which a busy machine disturbs less; `met` judges the interleaved value.", "",
                      "| what | target | separate | interleaved | met |", "|---|---|---|---|---|"]
            lines += [f"| {t['what']} | {t['target']} | {_fmt(t['separate'], '.2f')} | {_fmt(t['interleaved'], '.2f')} | "
                      f"{'yes' if t['met'] else '**no**'} |" for t in targets]
            lines.append("")
        lines += ["### All benchmarks", "", benchmark_markdown(rows), ""]
    else:
        lines += ["_No benchmark results: the benchmarks phase did not run or wrote nothing._", ""]

    pictures = [("roofline.png", "Benchmarks against the measured roof"),
                ("gradcam_shapes.png", "Grad-CAM on the synthetic shapes (true boxes in white)"),
                ("gradcam_digits.png", "Grad-CAM on held-out digits"),
                ("digits_filters.png", "Digits convnet: first-layer filters before and after training")]
    present = [(f, t) for f, t in pictures if (out / f).is_file()]
    if present:
        lines += ["## Pictures", ""]
        for filename, title in present:
            lines += [f"### {title}", "", f"![{title}]({filename})", ""]

    lines += ["## Machine", "", machine_markdown((bench or {}).get("machine_info")), ""]
    readme = out / "README.md"
    readme.write_text("\n".join(lines), encoding="utf-8")
    return readme
