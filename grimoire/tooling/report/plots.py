"""The report's pictures: benchmarks against the machine's ceiling, heatmaps, filters.

Each function takes plain data (numbers, numpy arrays), writes one PNG and returns its path.
Matplotlib runs headless (the Agg backend): no display is needed.
"""

from pathlib import Path

import numpy as np

from ..files import replacing


def pyplot():
    """Matplotlib's pyplot on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    return plt


def save_png(figure, path, dpi=110):
    """Writes `figure` as a PNG through a temporary file beside `path` (never a half-written picture)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as temporary:
        figure.savefig(temporary, dpi=dpi, format="png")
    return Path(path)


def _save(plt, fig, path):
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return Path(path)


def roofline(rows, peak_gflops, copy_gbs, path):
    """A roofline-style plot of benchmark speeds under the measured compute and memory ceilings.

    x: arithmetic intensity (FLOP per byte of minimum memory traffic); y: GFLOP/s. The roof is
    `min(peak_gflops, copy_gbs * intensity)`: left of the ridge a kernel cannot beat memory, right
    of it it cannot beat the matmul peak. Rows without an intensity (whole models) are drawn as
    horizontal bars in a second panel, against the same peak.

    Args:
        rows: dicts with `label`, `path` (colour), `gflops`, and optionally `intensity` and
            `problem` (marker shape: the same problem on different paths).
        peak_gflops: measured float32 matmul speed.
        copy_gbs: measured copy bandwidth (GB/s).
        path: the PNG to write.

    Returns:
        The path written.
    """
    plt = pyplot()
    with_intensity = [r for r in rows if r.get("intensity") and r.get("gflops")]
    models = [r for r in rows if not r.get("intensity") and r.get("gflops")]
    fig, axes = plt.subplots(1, 2 if models else 1, figsize=(14 if models else 8, 6), squeeze=False)
    ax = axes[0, 0]
    paths = sorted({r["path"] for r in with_intensity})
    problems = sorted({r.get("problem", "") for r in with_intensity})
    colours = {p: plt.cm.tab10(i % 10) for i, p in enumerate(paths)}
    markers = dict(zip(problems, "osD^vP*Xph<>"))
    xs = [r["intensity"] for r in with_intensity] or [1.0]
    x = np.logspace(np.log10(min(xs) / 3), np.log10(max(xs) * 3), 200)
    ax.plot(x, np.minimum(peak_gflops, copy_gbs * x), color="black", lw=2)
    ax.axhline(peak_gflops, color="black", ls=":", lw=1)
    for r in with_intensity:
        ax.scatter(r["intensity"], r["gflops"], color=colours[r["path"]], marker=markers[r.get("problem", "")],
                   s=45, zorder=3, edgecolors="black", linewidths=0.4)
    # Two legends: colour says the path, marker says the problem.
    handles = [plt.Line2D([], [], color="black", lw=2, label="measured roof")]
    handles += [plt.Line2D([], [], ls="", marker="o", color=colours[p], label=p) for p in paths]
    handles += [plt.Line2D([], [], ls="", marker=markers[q], color="grey", label=q) for q in problems if q]
    ax.legend(handles=handles, fontsize=7, loc="lower right", ncol=2)
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOP / byte)", ylabel="GFLOP/s",
           title=f"Kernels vs the measured roof: matmul {peak_gflops:.0f} GFLOP/s, copy {copy_gbs:.1f} GB/s")
    ax.grid(True, which="both", alpha=0.3)
    if models:
        ax = axes[0, 1]
        labels = [r["label"] for r in models]
        values = [r["gflops"] for r in models]
        ax.barh(range(len(models)), values, color="tab:blue")
        ax.axvline(peak_gflops, color="black", ls=":", label="matmul peak")
        ax.set_yticks(range(len(models)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set(xlabel="GFLOP/s (forward-pass FLOPs / time)", title="Whole models")
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def heatmap_grid(images, heatmaps, path, *, boxes=None, titles=None, alpha=0.45, scale=4):
    """Heatmaps over their images in one row, with optional true boxes outlined.

    Args:
        images: `(n, H, W)` or `(n, H, W, C)` images, float in [0, 1].
        heatmaps: `(n, h, w)` in [0, 1] at any resolution (bilinearly resized).
        path: the PNG to write.
        boxes: optional `(n, 4)` `(top, left, bottom, right)` pixel boxes (exclusive ends).
        titles: optional `n` strings.
        alpha: heatmap opacity.
        scale: figure inches per image.

    Returns:
        The path written.
    """
    from ...cam import overlay  # the curriculum's overlay; TensorFlow starts only when a heatmap is drawn

    plt = pyplot()
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(scale * n * 0.6, scale * 0.7), squeeze=False)
    for i, ax in enumerate(axes[0]):
        ax.imshow(overlay(images[i], heatmaps[i], alpha=alpha), interpolation="nearest")
        if boxes is not None:
            top, left, bottom, right = (float(v) for v in boxes[i])
            ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                                       fill=False, edgecolor="white", lw=2))
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
        ax.axis("off")
    return _save(plt, fig, path)


def filters_before_after(before, after, path):
    """The first conv layer's filters before and after training, one filter per column.

    Args:
        before, after: kernels `(kh, kw, 1, filters)` (a single input channel).
        path: the PNG to write.

    Returns:
        The path written.
    """
    plt = pyplot()
    before, after = np.asarray(before), np.asarray(after)
    filters = before.shape[-1]
    fig, axes = plt.subplots(2, filters, figsize=(0.8 * filters, 2.2), squeeze=False)
    for row, (kernel, name) in enumerate(((before, "before"), (after, "after"))):
        for f in range(filters):
            weights = kernel[:, :, 0, f]
            limit = float(np.abs(weights).max()) or 1.0  # per filter: shape, not scale
            ax = axes[row, f]
            ax.imshow(weights, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(name, fontsize=9)
    fig.suptitle("First conv layer filters (red positive, blue negative)", fontsize=10)
    return _save(plt, fig, path)
