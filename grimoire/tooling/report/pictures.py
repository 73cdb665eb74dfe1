"""The report's pictures: the roofline, Grad-CAM overlays and the digits convnet's filters.

Each `draw_*` takes the folder the run writes into (holding this run's `benchmarks.json`) and the
quick flag, and returns the path of the PNG it wrote. The curriculum (`cam`, `digits`, `synthetic`)
is imported when a picture needs it, not with the report: `grimoire --help` should not start
TensorFlow.
"""

import functools
import json
from pathlib import Path

from .. import benchschema as schema
from . import plots
from .markdown import benchmark_rows, peak_of


def draw_roofline(out, quick):
    path = Path(out) / "benchmarks.json"
    if not path.is_file():
        raise FileNotFoundError("no benchmarks.json: run the benchmarks phase first")
    rows = benchmark_rows(json.loads(path.read_text(encoding="utf-8")))
    peak = peak_of(rows)
    if not peak:
        raise ValueError("benchmarks.json has no matmul peak to compare with")
    plotted = [
        {"label": f"{r['path']} {r['case']}", "path": r["path"], "gflops": r["gflops"], "intensity": r.get("intensity"),
         "problem": r["case"]}
        for r in rows
        if r["path"] != schema.COPY and r["device"] == "cpu"
    ]
    return plots.roofline(plotted, peak["gflops"], peak["copy_gbs"], Path(out) / "roofline.png")


@functools.cache
def _shapes_model(quick):
    # Trained once for both shapes pictures.
    from ... import synthetic

    return synthetic.train_shapes_model(seed=0, **({"epochs": 2} if quick else {}))


def _one_per_class(labels, classes):
    return [int(next(i for i, y in enumerate(labels) if y == c)) for c in range(classes)]


def draw_shapes_gradcam(out, quick):
    from ... import cam, synthetic

    model, (images, labels, boxes) = _shapes_model(quick)
    picks = _one_per_class(labels, len(synthetic.SHAPES))
    heat = cam.grad_cam(model, images[picks])
    predicted = model.predict(images[picks], verbose=0).argmax(axis=-1)
    titles = [f"{synthetic.SHAPES[labels[i]]} (pred: {synthetic.SHAPES[p]})" for i, p in zip(picks, predicted)]
    return plots.heatmap_grid(images[picks, ..., 0], heat, Path(out) / "gradcam_shapes.png", boxes=boxes[picks], titles=titles)


def draw_cam_methods(out, quick):
    from ... import synthetic
    from .methods import figure_methods

    model, (images, labels, _) = _shapes_model(quick)
    picks = _one_per_class(labels, len(synthetic.SHAPES))
    path = Path(out) / "cam_methods.png"
    figure_methods(model, images[picks], labels[picks], path=path, class_names=synthetic.SHAPES)
    return path


@functools.cache
def _digits_model(quick):
    # Trained once for both digits pictures.
    from ... import digits

    return digits.train_convnet(seed=0, **({"epochs": 2} if quick else {}))


def draw_digits_gradcam(out, quick):
    from ... import cam, digits

    model, _ = _digits_model(quick)
    _, _, x_test, y_test = digits.load()
    picks = list(range(8))
    heat = cam.grad_cam(model, x_test[picks])
    predicted = model.predict(x_test[picks], verbose=0).argmax(axis=-1)
    titles = [f"{y_test[i]} (pred {p})" for i, p in zip(picks, predicted)]
    images = x_test[picks, ..., 0]
    images = (images - images.min()) / (images.max() - images.min() or 1.0)
    return plots.heatmap_grid(images, heat, Path(out) / "gradcam_digits.png", titles=titles)


def draw_digits_filters(out, quick):
    from ... import digits

    model, _ = _digits_model(quick)
    after = model.get_layer(digits.FIRST_CONV).kernel.numpy()
    return plots.filters_before_after(model.initial_first_kernel, after, Path(out) / "digits_filters.png")


PICTURES = [
    ("roofline", draw_roofline),
    ("Grad-CAM on the synthetic shapes", draw_shapes_gradcam),
    ("CAM methods side by side, with deletion curves", draw_cam_methods),
    ("Grad-CAM on digits", draw_digits_gradcam),
    ("digits convnet filters", draw_digits_filters),
]
