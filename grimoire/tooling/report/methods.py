"""The CAM methods side by side, with their deletion curves: a figure for the report.

It only draws what `grimoire.cam` computes; nothing here is checked by a claim. Importing it starts
TensorFlow, so the report imports it when it draws.

Example (not run: it needs a trained model):

    model, (images, labels, _) = grimoire.synthetic.train_shapes_model(seed=0)
    figure_methods(model, images[:4], labels[:4], path="report/cam_methods.png")
"""


import numpy as np

from ... import cam
from .plots import pyplot, save_png

METHODS = {
    "Grad-CAM": cam.grad_cam,
    "HiResCAM": cam.hires_cam,
    "Grad-CAM++": cam.grad_cam_plus_plus,
    "LayerCAM": cam.layer_cam,
}


def figure_methods(model, images, labels, *, path=None, steps=16, class_names=None, dpi=120):
    """One row per image: the image, each method's overlay, and the deletion curves of all maps.

    The curves include the two model-blind maps (`random_map`, `centre_map`) as dashed lines, and the
    legend gives each curve's deletion AUC (lower is better).

    Args:
        model: a trained `keras.Model` with output `(batch, classes)`, e.g. the shapes convnet.
        images: (n, height, width, channels), a few images (one row each).
        labels: (n,) ints, the class explained and scored for each image.
        path: None, or a PNG path to write (written to a temporary file first, then moved in place).
        steps: int, deletion steps.
        class_names: None or a sequence of names for the row titles.
        dpi: int, resolution of the saved file.

    Returns:
        The matplotlib `Figure`.
    """
    plt = pyplot()

    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    if images.ndim != 4 or labels.shape != (len(images),):
        raise ValueError(
            "Arguments `images` and `labels` must be (n, height, width, channels) and (n,). "
            f"Received: images with shape {images.shape}, labels with shape {labels.shape}"
        )
    heatmaps = {name: method(model, images, class_index=labels) for name, method in METHODS.items()}
    shape = next(iter(heatmaps.values())).shape
    blind = {"random": cam.random_map(shape, seed=0), "centre": cam.centre_map(shape)}
    curves = {
        name: cam.deletion(model, images, maps, class_index=labels, steps=steps)
        for name, maps in {**heatmaps, **blind}.items()
    }

    rows, cols = len(images), len(METHODS) + 2
    figure, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.2 * rows), squeeze=False)
    for row in range(rows):
        picture = images[row, ..., 0] if images.shape[-1] == 1 else images[row]
        title = str(labels[row]) if class_names is None else class_names[int(labels[row])]
        axes[row, 0].imshow(picture, cmap="gray" if picture.ndim == 2 else None)
        axes[row, 0].set_title(title, fontsize=9)
        for col, (name, maps) in enumerate(heatmaps.items(), start=1):
            axes[row, col].imshow(cam.overlay(images[row], maps[row]))
            axes[row, col].set_title(f"{name}\nAUC {curves[name].auc[row]:.2f}", fontsize=8)
        for axis in axes[row, :-1]:
            axis.set_axis_off()
        plot = axes[row, -1]
        for name, result in curves.items():
            style = "--" if name in blind else "-"
            plot.plot(result.fractions, result.scores[row], style, label=f"{name} {result.auc[row]:.2f}")
        plot.set_ylim(0, 1.02)
        plot.set_xlabel("fraction deleted", fontsize=8)
        plot.set_ylabel("probability", fontsize=8)
        plot.tick_params(labelsize=7)
        plot.legend(fontsize=6, loc="upper right")
    figure.tight_layout()
    if path is not None:
        save_png(figure, path, dpi)
    return figure
