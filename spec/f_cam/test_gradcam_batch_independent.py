"""An image's map does not depend on its batch mates, on how the class is given, or on how the step runs."""

import numpy as np
import keras
import pytest

from spec.f_cam import oracles
from spec.gradients import traces
from spec.tolerances import ATOL_NORMALISED_MAPS

pytestmark = pytest.mark.claim("gradcam-batch-independent")


def test_a_map_in_a_batch_equals_the_map_alone(impl, shapes):
    """Twelve images at once give each image the map it gets alone (gradients pooled per image)."""
    images = shapes.images[:12]
    batch = impl.cam.grad_cam_details(shapes.model, images)
    alone = np.concatenate([impl.cam.grad_cam(shapes.model, image[None]) for image in images])
    np.testing.assert_allclose(batch.heatmaps, alone, atol=ATOL_NORMALISED_MAPS)
    # Test power: pooling the gradients over the batch axis too (a common bug) would fail this.
    pooled_over_batch = batch.gradients.astype(np.float64).mean(axis=(0, 1, 2))
    wrong = oracles.normalized(np.einsum("bijc,c->bij", batch.features.astype(np.float64), pooled_over_batch))
    assert np.abs(wrong - alone).max() > 100 * ATOL_NORMALISED_MAPS


def test_one_class_index_broadcasts_and_a_list_is_per_image(impl, shapes):
    """class_index=2 equals [2] * n; a per-image list equals computing each image alone with its class."""
    model, images = shapes.model, shapes.images[:8]
    np.testing.assert_allclose(
        impl.cam.grad_cam(model, images, class_index=2),
        impl.cam.grad_cam(model, images, class_index=[2] * 8),
        atol=ATOL_NORMALISED_MAPS,
    )
    classes = [3, 0, 1, 2, 2, 1, 0, 3]
    mixed = impl.cam.grad_cam_details(model, images, class_index=classes)
    assert mixed.class_index.tolist() == classes
    alone = np.concatenate([impl.cam.grad_cam(model, image[None], class_index=k) for image, k in zip(images, classes)])
    np.testing.assert_allclose(mixed.heatmaps, alone, atol=ATOL_NORMALISED_MAPS)


def test_eager_compiled_and_xla_steps_give_the_same_maps(impl, shapes):
    """The same maps from a plain eager step, a compiled step and an XLA-compiled one (on JAX both compiled steps are jax.jit)."""
    model, images = shapes.model, shapes.images[:8]
    compiled = impl.cam.GradCAM(model)(images)
    eager = impl.cam.GradCAM(model, run_eagerly=True)(images)
    xla = impl.cam.GradCAM(model, jit_compile=True)(images)
    np.testing.assert_allclose(eager, compiled, atol=ATOL_NORMALISED_MAPS)
    np.testing.assert_allclose(xla, compiled, atol=ATOL_NORMALISED_MAPS)


def test_new_images_reuse_the_compiled_step_without_retracing(impl, shapes):
    """Built once, the step is traced once: new images and other classes reuse it, and on TensorFlow other batch sizes too.

    `jax.jit` specialises on shapes, so on JAX each new batch size is one more trace, and only that.
    """
    model, images = shapes.model, shapes.images
    step = impl.cam.GradCAM(model)
    step(images[:8])
    step(images[8:16], class_index=1)
    step(images[16:19], class_index=[0, 1, 2])
    assert step.trace_count == traces([8, 8, 3])
    # grad_cam() keeps its step per (model, layer, score): repeated calls do not rebuild or retrace.
    cached = impl.cam.explainer(impl.cam.GradCAM, model)
    before = cached.trace_count  # other tests may have used this session-wide model's step already
    impl.cam.grad_cam(model, images[:4])
    impl.cam.grad_cam(model, images[4:8], class_index=3)
    assert impl.cam.explainer(impl.cam.GradCAM, model) is cached
    if keras.config.backend() == "tensorflow":
        assert cached.trace_count == 1
    else:  # at most one new trace, for the batch size 4
        assert cached.trace_count - before <= traces([4, 4])


@pytest.mark.runs_on("tensorflow", "jax", why="torch has no XLA: its step runs eagerly, so there is no compiled program to count")
def test_under_xla_one_program_serves_every_image_and_class(impl, shapes):
    """Under jit_compile=True: one trace, and the compiled program (HLO) does not depend on the class or images.

    A class picked with `scores[:, k]` for a tensor k must be a compile-time constant under XLA:
    the program then changes with k and is recompiled for each new class. Selecting the score with
    a one-hot product keeps one program.
    """
    model, images = shapes.model, shapes.images
    step = impl.cam.GradCAM(model, jit_compile=True)
    step(images[:8], class_index=0)
    step(images[8:16], class_index=3)
    step(images[16:24])
    assert step.trace_count == 1
    if keras.config.backend() == "jax":
        # jax.jit: `lower` gives the program XLA compiles for these arguments.
        first = step.step.lower(images[:8], np.full(8, 0, np.int32)).as_text()
        second = step.step.lower(images[8:16], np.full(8, 3, np.int32)).as_text()
        assert first == second
        # A traced index is a dynamic slice under jax.jit, one program for every class: the sliced
        # selection's recompiling is a tf.function + XLA behaviour, checked on TensorFlow only.
        return
    import tensorflow as tf

    def hlo(function, *args):
        return function.experimental_get_compiler_ir(*args)(stage="hlo")

    first = hlo(step.step, tf.constant(images[:8]), tf.constant(np.full(8, 0, np.int32)))
    second = hlo(step.step, tf.constant(images[8:16]), tf.constant(np.full(8, 3, np.int32)))
    assert first == second

    # Test power: the sliced textbook selection yields a different program per class index.
    grad_model = step.gradient_model

    @tf.function(jit_compile=True)
    def sliced(batch, k):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            features, scores, _ = grad_model(batch)
            score = scores[:, k]
        return tape.gradient(score, features)

    batch = tf.constant(images[:8])
    assert hlo(sliced, batch, tf.constant(0)) != hlo(sliced, batch, tf.constant(3))
