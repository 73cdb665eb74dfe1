"""Model-randomisation sanity check (Adebayo et al. 2018): randomising the weights, top first, changes the map."""

import keras
import numpy as np
import pytest

from spec.f_cam import oracles

pytestmark = pytest.mark.claim("gradcam-sanity")

CASCADE = ("predictions", "features", "conv2", "conv1")  # top layer first, as in the paper

# Threshold on the mean Spearman rank correlation (per image, over the 64 positions of the 8x8 map)
# between the trained model's map and the map after randomising the WHOLE cascade.
# - A map that ignores the weights stays at its noise floor: we measure, in this test, the trained
#   model's maps of the same images plus imperceptible noise (sd 0.02); it is ~0.99.
# - 0.5 leaves room for what a random ReLU convnet still does (it responds to the bright object,
#   so rho stays ~0.3, not 0) and still means the ranks share at most a quarter of their variance.
# - Sampling error: per-image rho has sd ~0.3 here, so the mean over 64 images has sd ~0.3 / 8 = 0.04;
#   0.5 is > 4 such sd away from both the measured ~0.3 and the noise floor's ~0.99 - 0.3 margin.
MAX_MEAN_RHO_RANDOMISED = 0.5
# Every intermediate stage must already move the map clearly off the noise floor.
MIN_DROP_PER_STAGE = 0.3
N_IMAGES = 64


def _reinitialise(layer, seed):
    kernel, bias = layer.get_weights()
    fresh = keras.initializers.GlorotUniform(seed=seed)(kernel.shape)
    layer.set_weights([np.asarray(fresh), np.zeros_like(bias)])


def test_cascading_randomisation_destroys_the_map(impl, shapes):
    """Each randomised stage lowers the rank correlation with the trained map; all layers: mean rho < 0.5."""
    images, labels = shapes.images[:N_IMAGES], shapes.labels[:N_IMAGES]
    trained = impl.cam.grad_cam(shapes.model, images, class_index=labels)
    noisy = np.clip(images + np.random.default_rng(0).normal(0, 0.02, images.shape), 0, 1).astype("float32")
    floor = oracles.rank_correlations(trained, impl.cam.grad_cam(shapes.model, noisy, class_index=labels)).mean()
    assert floor >= 0.9, f"the trained maps should be stable under imperceptible noise, rho={floor:.2f}"

    model = keras.models.clone_model(shapes.model)  # the session model stays trained
    model.set_weights(shapes.model.get_weights())
    step = impl.cam.GradCAM(model)  # reads the variables at call time: randomise in place, reuse
    stages = {}
    for seed, name in enumerate(CASCADE, start=1):
        _reinitialise(model.get_layer(name), seed)
        randomised = step(images, class_index=labels)
        assert np.all(np.isfinite(randomised))
        stages[name] = oracles.rank_correlations(trained, randomised).mean()
    print(f"noise floor {floor:.3f}; mean rho after randomising down to: "
          + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()))
    assert all(rho <= floor - MIN_DROP_PER_STAGE for rho in stages.values()), stages
    assert stages[CASCADE[-1]] < MAX_MEAN_RHO_RANDOMISED
