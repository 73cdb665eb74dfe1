"""A Python on Keras' JAX backend that runs Grad-CAM on Xception when asked: the JAX side of the benchmark.

The Keras backend is fixed per process, so a TensorFlow benchmark session starts this worker with
KERAS_BACKEND=jax and times each request's round trip (a line over a pipe: microseconds, against
the ~1 s of an Xception Grad-CAM on a 2-core CPU):

    python -m spec.benchmarks.jax_gradcam_worker <implementation> <weights.h5> <images.npz> <maps.npz> <device>

At start it rebuilds Xception, loads the weights, computes (and so compiles) Grad-CAM and the forward
pass for every batch in <images.npz> (keys "batch-<n>"), writes the heatmaps to <maps.npz> for the
session to check, and prints "ready". Then, per input line:

    gradcam <n>   ->  "done": grad_cam on batch n, waited for (numpy result)
    forward <n>   ->  "done": the compiled forward pass alone
    quit          ->  exits
"""

import sys

import numpy as np

from grimoire.tooling.files import replacing

TARGET = "block14_sepconv2_act"


def _reply(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv):
    origin, weights, images, maps, device = argv
    import jax
    import keras

    from grimoire.tooling.implementation import Implementation

    from ..g_perf import jax_ladder

    impl = Implementation.load(origin)
    with jax.default_device(jax_ladder.jax_device(device)):
        model = keras.applications.Xception(weights=None)
        model.load_weights(weights)
        with np.load(images) as data:
            batches = {int(key.split("-")[1]): data[key] for key in data.files}
        forward = jax_ladder_forward(model)
        runs = {
            "gradcam": lambda n: np.asarray(impl.cam.grad_cam(model, batches[n], layer_name=TARGET)),
            "forward": lambda n: np.asarray(forward(batches[n])),
        }
        found = {f"batch-{n}": runs["gradcam"](n) for n in batches}  # traces and compiles
        for n in batches:
            runs["forward"](n)
        with replacing(maps) as partial, open(partial, "wb") as file:
            np.savez(file, **found)
        _reply("ready")
        for line in sys.stdin:
            words = line.split()
            if not words or words[0] == "quit":
                break
            runs[words[0]](int(words[1]))
            _reply("done")
    return 0


def jax_ladder_forward(model):
    """The model's forward pass under `jax.jit`, its variables passed in (as the Grad-CAM step does)."""
    import jax

    variables = [v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables]
    step = jax.jit(lambda trainable, other, x: model.stateless_call(trainable, other, x, training=False)[0])
    return lambda x: step(*variables, x)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
