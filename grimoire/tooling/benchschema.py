"""The benchmarks' schema: the names `spec/benchmarks` records and the report reads.

Each benchmark stores facts in pytest-benchmark's `extra_info` under the keys below; `path` is the
rung of a ladder (how the work is done) and `case` the problem (what is done). The report matches
rows on these names only, so both sides import them from here.

Example:

>>> conv_case("forward", "3x3")
'forward 3x3'
>>> gradcam_case(8)
'xception-299 batch 8'
>>> interleaved_ratio_key(FORWARD_ONLY)
'interleaved_ratio_to_forward-only'
"""

from dataclasses import dataclass

# --- paths: the rungs ----------------------------------------------------------------------------

MATMUL = "matmul"  # the machine's compute ceiling
COPY = "copy"  # the machine's bandwidth ceiling
GRADCAM_COMPILED = "grimoire-compiled"
GRADCAM_XLA = "grimoire-xla"
EAGER_TEXTBOOK = "eager-textbook"
FORWARD_ONLY = "forward-only"
TF_KERAS_VIS = "tf-keras-vis"
GRADCAM_PLUS_PLUS_COMPILED = "grimoire-gradcam++-compiled"
LAYERCAM_COMPILED = "grimoire-layercam-compiled"
GRADCAM_PATHS = (GRADCAM_COMPILED, GRADCAM_XLA, EAGER_TEXTBOOK, FORWARD_ONLY, TF_KERAS_VIS,
                 GRADCAM_PLUS_PLUS_COMPILED, LAYERCAM_COMPILED)
# The same Grad-CAM step on Keras' JAX backend (jax.jit), and JAX's compiled forward pass alone.
GRADCAM_JAX = "grimoire-jax-jit"
JAX_FORWARD_ONLY = "jax-forward-only"
# The same step on Keras' torch backend (eager: torch has no XLA), and torch's forward pass alone.
GRADCAM_TORCH = "grimoire-torch-eager"
TORCH_FORWARD_ONLY = "torch-forward-only"


def tf_path(mode):
    """A TensorFlow rung: `mode` is "eager", "function" or "xla"."""
    return f"tf-{mode}"


def jax_path():
    """The JAX rung: `jax.jit` of XLA's operation."""
    return "jax-jit"


def torch_path():
    """The torch rung: torch's own operation, eager."""
    return "torch-eager"


def numpy_path(kind):
    """A numpy rung: `kind` is "reference" or "im2col"."""
    return f"numpy-{kind}"


# --- cases: the problems -------------------------------------------------------------------------


def conv_case(direction, size):
    """A convolution problem: `direction` is "forward", "backward-input" or "backward-filter"."""
    return f"{direction} {size}"


def gradcam_case(batch):
    """Grad-CAM on Xception at 299x299 for a batch of `batch` images."""
    return f"xception-299 batch {batch}"


# --- extra_info keys -----------------------------------------------------------------------------

PATH, CASE, DEVICE, PRECISION, BATCH_SIZE = "path", "case", "device", "precision", "batch_size"
BACKEND = "backend"  # "tensorflow", "jax", "torch" or "numpy": the peak a rung is compared with is its backend's
FLOPS, BYTES, INTENSITY = "flops", "bytes", "intensity"
GFLOPS, GBS, FRACTION_OF_PEAK = "gflops", "gbs", "fraction_of_peak"
PEAK_GFLOPS, PEAK_COPY_GBS = "peak_gflops", "peak_copy_gbs"
INTERLEAVED = "interleaved_"  # prefix of the values measured with two paths alternating in one loop
INTERLEAVED_FRACTION_OF_PEAK = INTERLEAVED + FRACTION_OF_PEAK


def interleaved_ratio_key(other):
    """The key of this path's time divided by `other`'s, both timed alternately in one loop."""
    return f"{INTERLEAVED}ratio_to_{other}"


# Learning mode's time to verdict (spec/benchmarks/test_time_to_verdict.py): wall seconds of one
# check as a learner runs it, the load average then, and the target in seconds (None: no target).
VERDICT_SECONDS, VERDICT_LOAD, VERDICT_TARGET = "seconds", "load", "target_s"
VERDICT_FIRST = "first_check_s"  # the kernel row: the first check in a new kernel, before the timed re-check


# --- quick mode (`pytest --benchmark-quick`, `grimoire report --quick`) ---------------------------

# The slowest cases (seconds per call on 2 cores), left out in quick mode; matched on test ids.
QUICK_LEAVE_OUT = ("batch-8", "depthwise-xla", "grimoire-xla")
QUICK_ROUNDS = 1
# pytest-benchmark's own options for a quick run: one round, a very short time budget.
QUICK_PYTEST_ARGS = ("--benchmark-min-rounds=1", "--benchmark-max-time=0.05")

# A fraction of the measured peak above this is a measurement error, not a result: the peak is
# measured to bound every benchmark on its device (several sizes, best of several rounds), and
# timing noise of a few percent is all that may push a well-measured rung past it.
FRACTION_OF_PEAK_CEILING = 1.05


# --- targets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A ratio the benchmarks should reach on a 2-core CPU, measured within one run.

    `kind` is "fraction" (the `path`'s fraction of the matmul peak on `case`) or "ratio" (the
    `path`'s time divided by the `other` path's, on `case`); `at_least` says which side is good.
    """

    what: str
    kind: str
    case: str
    path: str
    bound: float
    at_least: bool
    other: str = ""


TARGETS = (
    Target("3x3 conv forward, graph mode: fraction of matmul peak", "fraction", conv_case("forward", "3x3"),
           tf_path("function"), 0.85, True),
    *(Target(f"3x3 conv backward ({wrt} gradient), graph mode: fraction of peak", "fraction",
             conv_case(f"backward-{wrt}", "3x3"), tf_path("function"), 0.70, True) for wrt in ("input", "filter")),
    *(Target(f"{label}, batch {batch}", "ratio", gradcam_case(batch), path, bound, at_least, other)
      for batch in (1, 8) for label, path, bound, at_least, other in (
          ("Grad-CAM compiled / forward-only time", GRADCAM_COMPILED, 1.1, False, FORWARD_ONLY),
          ("eager textbook / compiled Grad-CAM time", EAGER_TEXTBOOK, 5.0, True, GRADCAM_COMPILED),
          ("tf-keras-vis / compiled Grad-CAM time", TF_KERAS_VIS, 5.0, True, GRADCAM_COMPILED),
          ("Grad-CAM++ / Grad-CAM time, compiled", GRADCAM_PLUS_PLUS_COMPILED, 1.1, False, GRADCAM_COMPILED),
          ("LayerCAM / Grad-CAM time, compiled", LAYERCAM_COMPILED, 1.1, False, GRADCAM_COMPILED),
          ("Grad-CAM on JAX / JAX forward-only time", GRADCAM_JAX, 1.1, False, JAX_FORWARD_ONLY),
      )),
)
