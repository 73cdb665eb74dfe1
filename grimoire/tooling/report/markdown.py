"""The report's README: the claim ledger, the benchmark table against the measured peak, the machine."""

import os
import platform
import time

from .. import benchschema as schema
from ..conformance import table as conformance_table
from ..ledger import OUTCOMES
from ..mistakes import one_line

PICTURES = {
    "roofline.png": "Benchmarks against the measured roof",
    "gradcam_shapes.png": "Grad-CAM on the synthetic shapes (true boxes in white)",
    "cam_methods.png": "Grad-CAM, HiResCAM, Grad-CAM++ and LayerCAM on the shapes, with deletion curves (AUC: lower is better)",
    "gradcam_digits.png": "Grad-CAM on held-out digits",
    "digits_filters.png": "Digits convnet: first-layer filters before and after training",
}


# --- reading benchmark results --------------------------------------------------------------------


def benchmark_rows(data):
    """Flattens pytest-benchmark JSON into rows with speeds, fractions of peak and ratios to the best.

    `ratio_to_best` compares paths on the same problem (`case`) and device: 1.0 for the fastest.
    `fraction_of_peak` divides by the device's peak: the best of the matmul benchmarks and of the
    peak the benchmarks measured for themselves (several sizes, best of several rounds). A fraction
    above `schema.FRACTION_OF_PEAK_CEILING` is flagged in `suspect`: the peak did not bound it.
    """
    rows = []
    for bench in data.get("benchmarks", []):
        info, stats = bench.get("extra_info", {}), bench.get("stats", {})
        if schema.PATH not in info:
            continue
        rows.append({
            "name": bench.get("name", ""),
            "case": info.get(schema.CASE, ""),
            "path": info[schema.PATH],
            "device": info.get(schema.DEVICE, "cpu"),
            "precision": info.get(schema.PRECISION, ""),
            "batch_size": info.get(schema.BATCH_SIZE, 1),
            "flops": info.get(schema.FLOPS, 0),
            "intensity": info.get(schema.INTENSITY),
            "min_s": stats.get("min"),
            "median_s": stats.get("median"),
            "rounds": stats.get("rounds"),
            "gflops": info.get(schema.GFLOPS),
            "gbs": info.get(schema.GBS),
            "recorded_peak": info.get(schema.PEAK_GFLOPS),
            "copy_gbs": info.get(schema.PEAK_COPY_GBS),
            "interleaved": {k[len(schema.INTERLEAVED):]: v for k, v in info.items() if k.startswith(schema.INTERLEAVED)},
        })
    best = {}
    for r in rows:
        if r["min_s"]:
            key = (r["case"], r["device"])
            best[key] = min(best.get(key, r["min_s"]), r["min_s"])
    for r in rows:
        peak = peak_of(rows, r["device"])
        r["fraction_of_peak"] = r["gflops"] / peak["gflops"] if peak and r["gflops"] and r["path"] != schema.COPY else None
        r["suspect"] = (r["fraction_of_peak"] or 0) > schema.FRACTION_OF_PEAK_CEILING
        r["ratio_to_best"] = r["min_s"] / best[(r["case"], r["device"])] if r["min_s"] else None
    return rows


def peak_of(rows, device="cpu"):
    """The device's matmul peak (GFLOP/s) and copy bandwidth (GB/s) in this run, or None."""
    candidates = [r["gflops"] for r in rows if r["path"] == schema.MATMUL and r["device"] == device and r["gflops"]]
    candidates += [r["recorded_peak"] for r in rows if r["device"] == device and r["recorded_peak"]]
    if not candidates:
        return None
    copy = next((r["gbs"] for r in rows if r["path"] == schema.COPY and r["gbs"]), None)
    recorded_copy = next((r["copy_gbs"] for r in rows if r["copy_gbs"]), None)
    return {"gflops": max(candidates), "copy_gbs": copy or recorded_copy}


def target_ratios(rows, device="cpu"):
    """The targets of `schema.TARGETS` next to what this run measured.

    Two measurements per ratio where the benchmarks recorded both: from the two separate benchmarks,
    and from the paths timed alternately in one loop (`interleaved`), which a busy machine disturbs
    less. Returns a list of dicts (what, target, separate, interleaved, met); `met` judges the
    interleaved value when there is one.
    """
    by = {(r["case"], r["path"]): r for r in rows if r["device"] == device}
    found = []
    for target in schema.TARGETS:
        row = by.get((target.case, target.path))
        if row is None:
            continue
        if target.kind == "fraction":
            separate = row["fraction_of_peak"]
            interleaved = row["interleaved"].get(schema.FRACTION_OF_PEAK)
        else:
            other = by.get((target.case, target.other))
            separate = row["min_s"] / other["min_s"] if other and row["min_s"] and other["min_s"] else None
            interleaved = row["interleaved"].get(schema.interleaved_ratio_key(target.other)[len(schema.INTERLEAVED):])
        if separate is None and interleaved is None:
            continue
        judged = interleaved if interleaved is not None else separate
        found.append({"what": target.what, "target": ("≥ " if target.at_least else "≤ ") + f"{target.bound:g}",
                      "separate": separate, "interleaved": interleaved,
                      "met": judged >= target.bound if target.at_least else judged <= target.bound})
    return found


# --- writing --------------------------------------------------------------------------------------


def ledger_markdown(ledger, catalogue):
    """The claim ledger by section as Markdown tables (status, tests, claim id, the claim in one line)."""
    rows = {row["id"]: row for row in ledger.get("claims", [])}
    lines = []
    summary = ledger.get("summary", {})
    if summary:
        lines += ["**" + ", ".join(f"{n} {status}" for status, n in summary.items() if n) + "**", ""]
    for key, title in catalogue.sections.items():
        claims = [c for c in catalogue.claims.values() if c.section == key]
        if not claims:
            continue
        lines += [f"### {key}. {title}", "", "| status | tests | claim | statement |", "|---|---|---|---|"]
        for claim in claims:
            row = rows.get(claim.id, {})
            tests = ", ".join(f"{row[o]} {o}" for o in OUTCOMES if row.get(o))
            lines.append(f"| {row.get('status', 'not run')} | {tests or '-'} | `{claim.id}` | "
                         f"{one_line(claim.statement, 150)} |")
        lines.append("")
    return "\n".join(lines)


def _fmt(value, spec, empty="-"):
    return empty if value is None else format(value, spec)


def _ms(seconds):
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def benchmark_markdown(rows):
    """The benchmark table: time, GFLOP/s, % of the matmul peak and ratio to the best path, per case."""
    lines = ["| case | path | device | precision | batch | min time | median | GFLOP/s | % of peak | × best |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["case"], r["device"], r["min_s"] or 0)):
        speed = _fmt(r["gflops"], ".1f") if r["path"] != schema.COPY else f"{_fmt(r['gbs'], '.1f')} GB/s"
        percent = _fmt(r["fraction_of_peak"] and 100 * r["fraction_of_peak"], ".1f")
        if r["suspect"]:
            percent = f"**{percent} (measurement error)**"
        lines.append(
            f"| {r['case']} | {r['path']} | {r['device']} | {r['precision']} | {r['batch_size']} | "
            f"{_ms(r['min_s'])} | {_ms(r['median_s'])} | {speed} | {percent} | {_fmt(r['ratio_to_best'], '.2f')} |"
        )
    suspect = [r for r in rows if r["suspect"]]
    if suspect:
        lines += ["", f"**Measurement error:** {len(suspect)} benchmark(s) ran faster than the measured matmul peak "
                  f"(above {schema.FRACTION_OF_PEAK_CEILING:g} of it). The peak was disturbed (another process, "
                  "frequency scaling) while it was measured; these fractions are not results. Run again on a quiet machine."]
    return "\n".join(lines)


def machine_markdown(machine_info=None, versions=None):
    """Machine and library versions as a Markdown list (from the benchmark run when there was one)."""
    info = dict(machine_info or {})
    for key, value in (versions or {}).items():
        info.setdefault(key, value)
    info.setdefault("python_version", platform.python_version())
    info.setdefault("system", platform.system())
    info.setdefault("cpu_count", os.cpu_count())
    keys = ["cpu_model", "cpu_count", "gpus", "load_average_at_start", "load_average_at_end", "system", "release",
            "python_version", "tensorflow", "keras", "numpy", "onednn"]
    return "\n".join(f"- {k}: {info[k]}" for k in keys if k in info)


def verdict_markdown(data):
    """Learning mode's time to verdict: each case's wall time next to its target and the load then."""
    rows = [b for b in data.get("benchmarks", []) if schema.VERDICT_SECONDS in b.get("extra_info", {})]
    if not rows:
        return ""
    lines = ["| case | wall time | target | met | load average (1, 5, 15 min) |", "|---|---|---|---|---|"]
    for bench in rows:
        info = bench["extra_info"]
        target = info.get(schema.VERDICT_TARGET)
        met = "-" if target is None else ("yes" if info[schema.VERDICT_SECONDS] <= target else "**no**")
        load = ", ".join(f"{x:.1f}" for x in info.get(schema.VERDICT_LOAD) or ())
        lines.append(f"| {bench.get('name', '')} | {info[schema.VERDICT_SECONDS]:.1f} s | "
                     f"{'-' if target is None else f'{target:g} s'} | {met} | {load or '-'} |")
    return "\n".join(lines)


def mistakes_markdown(results):
    """The mistakes table: each planted mistake, the claim that caught it and its first failing assertion."""
    real = [r for r in results if not r["equivalent"]]
    caught = sum(r["status"] == "caught" for r in real)
    lines = [f"**{caught} of {len(real)} mistakes caught**, {len(results) - len(real)} equivalent (no output can "
             "see them; `spec/mistakes.toml` says why).", "",
             "| mistake | section | status | caught by | first failing assertion | time |", "|---|---|---|---|---|---|"]
    for r in results:
        status = r["status"] if r["ok"] else f"**{r['status']}**"
        assertion = one_line(r["assertion"], 110).replace("|", "\\|")
        caught_by = f"`{r['caught_by']}`" if r["caught_by"] else "-"
        lines.append(f"| `{r['id']}` | {r['section']} | {status} | {caught_by} | {assertion or '-'} | {r['seconds']:.0f} s |")
    return "\n".join(lines)


def conformance_markdown(document):
    """The table `grimoire conformance` wrote, under the report's own heading (it is not re-run here)."""
    body = conformance_table.render(document).split("\n", 4)[4]  # without the marker and the page title
    return ("From the last `grimoire conformance` run (`conformance/`); run it again for a new column.\n\n"
            + body.replace("\n## ", "\n### "))


def readme(phases, *, catalogue, ledger, bench, pictures, mistakes=None, quick=False, versions=None, conformance=None, gpu=None):
    """The report's README.md text from what this run produced.

    Args:
        phases: the `Phase` records of this run, in order.
        catalogue: the claim `Catalogue`.
        ledger: the ledger JSON of this run, or None.
        bench: the pytest-benchmark JSON of this run, or None.
        mistakes: the `grimoire mistakes --json` results of this run, or None.
        pictures: the file names of the pictures this run drew.
        quick: whether the run was `--quick`.
        versions: library versions to show when the benchmarks did not record them.
        conformance: the document `grimoire conformance` last wrote (`conformance/conformance.json`), or None.
        gpu: the JSON of a `grimoire gpu run` (a GPU machine's numbers), or None.
    """
    rows = benchmark_rows(bench) if bench else []
    lines = ["# Grimoire report", "",
             f"Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `grimoire report"
             + (" --quick`: one round per benchmark, slowest cases left out; do not quote these numbers." if quick else "`."),
             ""]
    lines += ["## Phases", "", "| phase | status | time | detail |", "|---|---|---|---|"]
    for p in phases:
        detail = one_line(p.detail, 300).replace("|", "\\|") if p.detail else ""
        lines.append(f"| {p.name} | {'**FAILED**' if p.status == 'failed' else p.status} | {p.seconds:.0f} s | {detail} |")
    lines.append("")

    lines += ["## Claim ledger", ""]
    lines += [ledger_markdown(ledger, catalogue) if ledger else "_No ledger: the spec phase did not run or wrote nothing._", ""]

    lines += ["## Benchmarks", ""]
    if rows:
        peak = peak_of(rows)
        if peak:
            copy = f", copy **{peak['copy_gbs']:.1f} GB/s**" if peak["copy_gbs"] else ""
            lines += [f"Measured in the same run: float32 matmul peak **{peak['gflops']:.1f} GFLOP/s** (best of several "
                      f"sizes and rounds){copy}. Times are the fastest round (the least disturbed by other load); "
                      "`× best` compares paths on the same problem.", ""]
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
    verdicts = verdict_markdown(bench or {})
    if verdicts:
        lines += ["### Learning mode: time to verdict", "",
                  "Wall time of one `grimoire exercises check` as a learner runs it; it grows with the machine's load.",
                  "", verdicts, ""]
    else:
        lines += ["_No benchmark results: the benchmarks phase did not run or wrote nothing._", ""]

    if gpu is not None:
        from .. import gpu as gpu_module

        lines += ["## GPU", "", gpu_module.markdown(gpu), ""]

    if mistakes is not None:
        lines += ["## Mistakes caught", "", mistakes_markdown(mistakes), ""]

    if conformance is not None:
        lines += ["## Conformance", "", conformance_markdown(conformance), ""]

    drawn = [name for name in PICTURES if name in pictures]
    if drawn:
        lines += ["## Pictures", ""]
        for filename in drawn:
            lines += [f"### {PICTURES[filename]}", "", f"![{PICTURES[filename]}]({filename})", ""]

    lines += ["## Machine", "", machine_markdown((bench or {}).get("machine_info"), versions), ""]
    return "\n".join(lines)
