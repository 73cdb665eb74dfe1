"""`grimoire gpu`: a bundle for a GPU machine without TensorFlow or network, its offline install and run.

No GPU here: the dry run goes the whole way (the bundle built, a fresh venv over this Python with
TensorFlow hidden, an offline install from the bundle's wheels, each installed backend measured on
the CPU at small sizes) and the GPU numbers come only from a real GPU machine.
"""

import importlib.util

import numpy as np
import pytest

from grimoire.tooling import gpu

pytestmark = pytest.mark.tooling

INSTALLED = [b for b in gpu.BACKENDS if importlib.util.find_spec(b) is not None]


@pytest.fixture(scope="module")
def dry(tmp_path_factory):
    if not INSTALLED:
        pytest.skip("neither jax nor torch is installed (pip install -e .[jax] or .[torch]): nothing to run without TensorFlow")
    if importlib.util.find_spec("pip") is None:
        pytest.skip("this Python has no pip (a `uv venv`): the bundle is built with pip wheel and pip download")
    out = tmp_path_factory.mktemp("gpu")
    return out, gpu.dry_run(out, log=lambda *_: None)


def test_the_dry_run_installs_offline_and_measures_every_installed_backend_without_tensorflow(dry):
    out, data = dry
    assert data["schema"] == gpu.SCHEMA and data["sizes"] == "dry"
    assert (out / "venv").is_dir() and list((out / "bundle" / "wheels").glob("grimoire-*.whl"))
    for backend in INSTALLED:
        found = data["backends"][backend]
        assert found["status"] == "measured", found.get("error")
        assert found["backend"] == backend and found["device"]["platform"] == "cpu"
        assert not found["tensorflow_loaded"]
        assert [row["batch"] for row in found["gradcam"]] == list(gpu.SIZES["dry"]["batches"])
        assert all(row["images_per_second"] > 0 and row["forward_gflops"] > 0 for row in found["gradcam"])
        assert len(found["conv_ladder"]) == len(gpu.SIZES["dry"]["ladder"])
        assert min(found["peak_gflops"].values()) > 0


def test_the_report_shows_the_run_as_a_gpu_section(dry):
    _, data = dry
    text = gpu.markdown(data)
    assert "--dry` (small sizes" in text
    for backend in INSTALLED:
        assert f"### {backend} on cpu" in text
    assert text.count("| Grad-CAM Xception 71px |") == len(INSTALLED) * len(gpu.SIZES["dry"]["batches"])


def test_the_convolution_check_catches_a_flipped_kernel():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 6, 6, 3)).astype(np.float32)
    w = rng.normal(size=(3, 3, 3, 2)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
    right = np.einsum("bhwcij,ijco->bhwo", windows, w).astype(np.float32)
    flipped = np.einsum("bhwcij,ijco->bhwo", windows, w[::-1, ::-1]).astype(np.float32)  # a convolution, not Keras' correlation
    assert gpu._conv_error(right, x, w) <= gpu.TF32_ROUNDING
    with pytest.raises(AssertionError, match="beyond the TF32 bound"):
        gpu._conv_error(flipped, x, w)


def test_a_bundle_never_replaces_a_folder_it_did_not_write(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"Argument `out` must be a new or empty folder.*Received: .*notes"):
        gpu.bundle(mine)
    assert (mine / "thesis.txt").read_text() == "keep me"


def test_the_report_refuses_a_file_that_is_not_a_gpu_run():
    assert "Not a `grimoire gpu run` file" in gpu.markdown({"schema": "other"})
