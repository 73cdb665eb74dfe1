"""Deletion and insertion: the maps of a trained model beat maps that ignore it, and lose that edge with its weights."""

import keras
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from spec.f_cam import oracles, oracles_methods
from spec.tolerances import ATOL_BILINEAR_FLOAT32, ATOL_FLOAT32_DOT, ATOL_SAME_GRAPH, RTOL_SAME_GRAPH, Z_STATISTICAL

pytestmark = pytest.mark.claim("cam-faithfulness")

METHODS = ("grad_cam", "hires_cam", "grad_cam_plus_plus", "layer_cam")
BASELINES = ("random", "centre")
N_IMAGES = 192  # 48 per class; all steps of all of them go through the model in a few large batches
STEPS = 8
# A paired advantage counts when its mean exceeds Z_STATISTICAL standard errors of the per-image
# differences (the differences are bounded in [-1, 1], so with 192 images their mean is close to normal).
K = Z_STATISTICAL
# "Lost": on the randomised copy the advantage, even at its upper K-SE bound, is below a tenth of the
# trained advantage at its lower K-SE bound: an order of magnitude gone, allowing for sampling error on both.
LOST_FRACTION = 0.1
CASCADE = ("predictions", "features", "conv2", "conv1")  # as in the gradcam-sanity claim


@pytest.fixture(scope="module")
def randomised(shapes):
    """A copy of the trained shapes model with every layer re-initialised (Glorot, zero bias); the fixture stays trained."""
    model = keras.models.clone_model(shapes.model)
    model.set_weights(shapes.model.get_weights())
    for seed, name in enumerate(CASCADE, start=1):
        layer = model.get_layer(name)
        kernel, bias = layer.get_weights()
        layer.set_weights([np.asarray(keras.initializers.GlorotUniform(seed=seed)(kernel.shape)), np.zeros_like(bias)])
    return model


def _maps(impl, model, images, labels):
    """Each method's heatmaps of the true class, and the two model-blind maps, all at the 8x8 feature resolution."""
    maps = {name: getattr(impl.cam, name)(model, images, class_index=labels) for name in METHODS}
    shape = maps[METHODS[0]].shape
    maps["random"] = impl.cam.random_map(shape, seed=0)
    maps["centre"] = impl.cam.centre_map(shape)
    return maps


def _aucs(impl, model, images, labels, maps):
    return {
        name: (impl.cam.deletion_auc(model, images, m, class_index=labels, steps=STEPS),
               impl.cam.insertion_auc(model, images, m, class_index=labels, steps=STEPS))
        for name, m in maps.items()
    }


@pytest.fixture(scope="module")
def table(impl, shapes, randomised):
    """Per-image (deletion AUC, insertion AUC) of every map, in three settings.

    trained:      the trained model's maps, scored on the trained model;
    randomised:   the randomised copy's maps, scored on the randomised copy;
    transplanted: the randomised copy's maps, scored on the trained model.
    """
    images, labels = shapes.images[:N_IMAGES], shapes.labels[:N_IMAGES]
    assert np.bincount(labels).tolist() == [N_IMAGES // 4] * 4
    trained_maps = _maps(impl, shapes.model, images, labels)
    random_maps = _maps(impl, randomised, images, labels)
    trained = _aucs(impl, shapes.model, images, labels, trained_maps)
    transplanted = {**_aucs(impl, shapes.model, images, labels, {m: random_maps[m] for m in METHODS}),
                    **{b: trained[b] for b in BASELINES}}
    result = {
        "trained": trained,
        "randomised": _aucs(impl, randomised, images, labels, random_maps),
        "transplanted": transplanted,
    }
    for setting, aucs in result.items():
        print(f"\n{setting}: mean ± sd over {N_IMAGES} images, {STEPS} steps")
        for name, (deletion, insertion) in aucs.items():
            print(f"  {name:20s} deletion {deletion.mean():.3f} ± {deletion.std(ddof=1):.3f}   "
                  f"insertion {insertion.mean():.3f} ± {insertion.std(ddof=1):.3f}")
    return result


def _advantages(aucs, method, baseline):
    """Per-image paired advantages of `method` over `baseline`: (deletion: lower is better, insertion: higher is better)."""
    return aucs[baseline][0] - aucs[method][0], aucs[method][1] - aucs[baseline][1]


@pytest.mark.parametrize("method", METHODS)
def test_every_method_beats_both_model_blind_maps_on_the_trained_model(table, method):
    """Lower mean deletion AUC and higher mean insertion AUC than random and centre maps, by > K standard errors."""
    for baseline in BASELINES:
        for mode, advantage in zip(("deletion", "insertion"), _advantages(table["trained"], method, baseline)):
            t = oracles_methods.paired_t(advantage)
            print(f"{method} vs {baseline}, {mode}: advantage {advantage.mean():.3f}, t = {t:.1f}")
            assert t > K, (method, baseline, mode, t)


@pytest.mark.parametrize("method", METHODS)
def test_on_a_randomised_copy_the_advantage_is_lost(table, method):
    """Repeated on the randomised copy, each advantage (upper K-SE bound) is below a tenth of the trained one (lower bound)."""
    for baseline in BASELINES:
        trained = _advantages(table["trained"], method, baseline)
        randomised = _advantages(table["randomised"], method, baseline)
        for mode, kept, lost in zip(("deletion", "insertion"), trained, randomised):
            floor = kept.mean() - K * oracles_methods.standard_error(kept)
            ceiling = lost.mean() + K * oracles_methods.standard_error(lost)
            print(f"{method} vs {baseline}, {mode}: trained >= {floor:.4f}, randomised <= {ceiling:.4f}")
            assert floor > 0 and ceiling < LOST_FRACTION * floor, (method, baseline, mode, floor, ceiling)


@pytest.mark.parametrize("method", METHODS)
def test_maps_of_the_randomised_copy_are_less_faithful_to_the_trained_model(table, method):
    """On the trained model, its own maps beat the randomised copy's maps (paired, > K standard errors, both measures)."""
    own, foreign = table["trained"][method], table["transplanted"][method]
    for mode, advantage in (("deletion", foreign[0] - own[0]), ("insertion", own[1] - foreign[1])):
        t = oracles_methods.paired_t(advantage)
        kept = [_advantages(table["transplanted"], method, b)[mode == "insertion"].mean()
                / _advantages(table["trained"], method, b)[mode == "insertion"].mean() for b in BASELINES]
        print(f"{method}, {mode}: own maps better by {advantage.mean():.3f} (t = {t:.1f}); the randomised maps "
              f"keep {kept[0]:.0%} / {kept[1]:.0%} of the advantage over random / centre")
        assert t > K, (method, mode, t)


@pytest.mark.parametrize("mode", ["deletion", "insertion"])
@pytest.mark.parametrize("baseline", ["zeros", "mean", "blur", "array"])
def test_curves_match_a_numpy_oracle(impl, shapes, rng, mode, baseline):
    """Full-resolution maps without ties: scores, fractions and AUC equal a pixel-by-pixel numpy construction."""
    model, images, labels = shapes.model, shapes.images[:3], shapes.labels[:3]
    maps = rng.uniform(size=(3, 32, 32))
    counts = np.rint(np.arange(STEPS + 1) * 1024 / STEPS).astype(int)
    background = {
        "zeros": np.zeros_like(images),
        "mean": np.broadcast_to(images.mean(axis=(1, 2), keepdims=True, dtype=np.float64), images.shape),
        "blur": impl.cam.blurred(images),
        "array": rng.uniform(size=images.shape),
    }[baseline]
    argument = background.astype("float32") if baseline == "array" else baseline
    run = getattr(impl.cam, mode)
    curves = run(model, images, maps, class_index=None, steps=STEPS, baseline=argument)
    predict = lambda x: keras.ops.convert_to_numpy(model(x.astype("float32"), training=False))  # one eager call, no predict loop
    top = predict(images).argmax(axis=1)
    scores, auc = oracles_methods.perturbation_curves(
        predict, images, maps, background, counts, top,
        insert=mode == "insertion",
    )
    np.testing.assert_array_equal(curves.class_index, top)
    np.testing.assert_array_equal(curves.fractions, counts / 1024)
    np.testing.assert_allclose(curves.scores, scores, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    np.testing.assert_allclose(curves.auc, auc, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)
    np.testing.assert_allclose(getattr(impl.cam, f"{mode}_auc")(model, images, maps, steps=STEPS, baseline=argument), curves.auc)
    # The intact image sits at the start of a deletion curve and at the end of an insertion curve.
    intact = predict(images)[np.arange(3), top]
    np.testing.assert_allclose(curves.scores[:, 0 if mode == "deletion" else -1], intact, rtol=RTOL_SAME_GRAPH, atol=ATOL_SAME_GRAPH)


def test_blur_is_a_gaussian_with_mirrored_edges(impl, shapes):
    """The insertion baseline equals scipy's gaussian_filter (sigma = side / 16, 3 sd, mirrored edges) per channel."""
    images = shapes.images[:4]
    expected = np.stack([gaussian_filter(image[..., 0].astype(np.float64), sigma=2.0, mode="mirror", truncate=3.0)
                         for image in images])[..., None]
    np.testing.assert_allclose(impl.cam.blurred(images), expected, atol=ATOL_FLOAT32_DOT)


def test_pixels_are_ranked_by_the_upsampled_map_and_ties_in_a_seeded_random_order(impl, rng):
    """Along the ranking the float64 bilinear map never rises; a constant map gives a seed-dependent, non-raster order."""
    maps = rng.uniform(size=(2, 8, 8))
    ranks = impl.cam.pixel_ranks(maps, (32, 32))
    upsampled = oracles.bilinear(maps, (32, 32)).reshape(2, -1)
    for image, rank in zip(upsampled, ranks.reshape(2, -1)):
        assert sorted(rank) == list(range(1024))
        along = image[np.argsort(rank)]
        assert np.all(np.diff(along) <= 2 * ATOL_BILINEAR_FLOAT32)  # float32 resizing may swap near-ties only

    flat = np.ones((1, 8, 8))
    first, again, other = (impl.cam.pixel_ranks(flat, (32, 32), seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # A raster sweep would take the top rows first: the first 10% of a random order cover most rows.
    assert len(np.unique(np.nonzero(first[0] < 102)[0])) > 16


def test_the_model_blind_maps(impl):
    """random_map: seeded uniform [0, 1); centre_map: 1 at the centre, falling with the distance from it."""
    a, b = impl.cam.random_map((2, 8, 8), seed=3), impl.cam.random_map((2, 8, 8), seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() < 1 and len(np.unique(a)) == a.size
    assert not np.array_equal(a, impl.cam.random_map((2, 8, 8), seed=4))
    centre = impl.cam.centre_map((9, 9)).astype(np.float64)
    rows, cols = np.mgrid[0:9, 0:9]
    distance = np.hypot(rows - 4, cols - 4).ravel()
    assert centre[4, 4] == 1.0
    order = np.argsort(distance, kind="stable")
    assert np.all(np.diff(centre.ravel()[order]) <= 0)  # never rises with the distance
    assert np.all(np.diff(centre.ravel()[order])[np.diff(distance[order]) > 0] < 0)  # strictly, between distances
    np.testing.assert_array_equal(impl.cam.centre_map((3, 9, 9)), np.broadcast_to(impl.cam.centre_map((9, 9)), (3, 9, 9)))
