"""tinygan.metrics: FID against closed forms, the classifier score and mode coverage on crafted
predictions, the shipped classifier on the real MNIST test set, and evaluate_recipe end to end.

No training here: the classifier's weights ship with the package (scripts/train_classifier.py).
"""

import json
import math

import numpy as np
import pytest

import tinygan
from tinygan import Tensor, random as tg_random
from tinygan.metrics import classifier, evaluate, fid, scores



# ----------------------------------------------------------------------------------------------
# FID
# ----------------------------------------------------------------------------------------------


def test_fid_of_a_set_against_itself_is_zero(rng):
    f = rng.standard_normal((500, 32)) @ rng.standard_normal((32, 32))
    assert abs(fid.fid_from_features(f, f)) < 1e-6


def test_fid_of_diagonal_gaussians_is_the_closed_form(rng):
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    a, b = rng.uniform(0.1, 3.0, 6), rng.uniform(0.1, 3.0, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert fid.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_fid_of_commuting_covariances_in_a_rotated_basis(rng):
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    a, b = rng.uniform(0.1, 2.0, 5), rng.uniform(0.1, 2.0, 5)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert fid.frechet_distance(np.zeros(5), s1, np.zeros(5), s2) == pytest.approx(expected, rel=1e-9)


def test_trace_sqrt_product_matches_the_eigenvalues_of_the_plain_product(rng):
    """Non-commuting covariances: S1 S2 is not symmetric, but it is similar to S1^1/2 S2 S1^1/2,
    so tr((S1 S2)^1/2) is the sum of the square roots of its (real, non-negative) eigenvalues."""
    x, y = rng.standard_normal((7, 7)), rng.standard_normal((7, 7))
    s1, s2 = x @ x.T + 0.1 * np.eye(7), y @ y.T + 0.1 * np.eye(7)
    naive = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
    assert fid.trace_sqrt_product(s1, s2) == pytest.approx(naive, rel=1e-9)


def test_sqrtm_psd_squares_back_and_clips_negative_rounding(rng):
    x = rng.standard_normal((6, 3))
    s = x @ x.T  # rank 3
    root = fid.sqrtm_psd(s - 1e-12 * np.eye(6))  # tiny negative eigenvalues
    assert np.all(np.isfinite(root))
    assert np.allclose(root @ root, s, atol=1e-6)
    assert np.allclose(root, root.T)


def test_fid_is_stable_for_rank_deficient_covariances(rng):
    """Fewer samples than dimensions, and dead (always-zero) features, as ReLU features have."""
    f1 = np.maximum(rng.standard_normal((20, 128)), 0)
    f2 = np.maximum(rng.standard_normal((30, 128)) + 0.5, 0)
    f1[:, :10] = f2[:, :10] = 0.0
    value = fid.fid_from_features(f1, f2)
    assert np.isfinite(value) and value > 0
    assert abs(fid.fid_from_features(f1, f1)) < 1e-5


def test_feature_statistics_are_the_float64_mean_and_unbiased_covariance(rng):
    f = rng.standard_normal((50, 4)).astype(np.float32)
    mu, sigma = fid.feature_statistics(f)
    assert mu.dtype == sigma.dtype == np.float64
    assert np.allclose(mu, f.mean(axis=0)) and np.allclose(sigma, np.cov(f.astype(np.float64), rowvar=False))


def test_frechet_distance_checks_shapes():
    with pytest.raises(ValueError, match="one D"):
        fid.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# ----------------------------------------------------------------------------------------------
# Classifier score and mode coverage
# ----------------------------------------------------------------------------------------------


def _naive_classifier_score(probs):
    """exp(1/N sum_x sum_y p(y|x) log(p(y|x) / p(y))) with loops, 0 log 0 = 0."""
    n, k = probs.shape
    marginal = [sum(probs[i, y] for i in range(n)) / n for y in range(k)]
    total = 0.0
    for i in range(n):
        for y in range(k):
            if probs[i, y] > 0:
                total += probs[i, y] * math.log(probs[i, y] / marginal[y])
    return math.exp(total / n)


def test_classifier_score_is_10_for_confident_balanced_predictions():
    probs = np.eye(10)[np.arange(500) % 10]
    assert scores.classifier_score(probs) == pytest.approx(10.0, rel=1e-12)


def test_classifier_score_is_1_for_a_single_class_or_uninformative_predictions():
    assert scores.classifier_score(np.eye(10)[np.full(100, 3)]) == pytest.approx(1.0)
    assert scores.classifier_score(np.full((100, 10), 0.1)) == pytest.approx(1.0)


def test_classifier_score_lies_between_1_and_10_and_matches_the_loop_version(rng):
    for sharpness in (0.1, 1.0, 10.0, 1000.0):
        probs = rng.dirichlet(np.full(10, 1.0 / sharpness), size=200)
        value = scores.classifier_score(probs)
        assert 1.0 <= value <= 10.0
        assert value == pytest.approx(_naive_classifier_score(probs), rel=1e-9)
    three = np.eye(10)[np.arange(300) % 3]  # confident, three digits equally often
    assert scores.classifier_score(three) == pytest.approx(3.0)


def test_coverage_of_all_ten_classes():
    probs = np.eye(10)[np.arange(1000) % 10]
    cov = scores.mode_coverage(probs)
    assert cov["class_histogram"] == [100] * 10
    assert cov["classes_covered"] == 10
    assert cov["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)


def test_coverage_of_three_classes_uses_the_argmax():
    probs = np.full((300, 10), 0.05)
    probs[np.arange(300), [2, 5, 7] * 100] = 0.55
    cov = scores.mode_coverage(probs)
    assert cov["classes_covered"] == 3
    assert cov["class_histogram"] == [0, 0, 100, 0, 0, 100, 0, 100, 0, 0]
    assert cov["kl_to_uniform"] == pytest.approx(math.log(10 / 3))


def test_coverage_threshold():
    histogram = [989, 10, 1, 0, 0, 0, 0, 0, 0, 0]  # 98.9%, 1.0%, 0.1%
    assert scores.classes_covered(histogram) == 2  # the default threshold, 1%, is inclusive
    assert scores.classes_covered(histogram, threshold=0.02) == 1
    assert scores.classes_covered(histogram, threshold=0.001) == 3
    assert scores.classes_covered([0] * 10) == 0


def test_kl_to_uniform_is_log10_for_one_class():
    assert scores.kl_to_uniform([0, 0, 0, 50, 0, 0, 0, 0, 0, 0]) == pytest.approx(math.log(10))
    assert scores.kl_to_uniform([7] * 10) == pytest.approx(0.0, abs=1e-12)


def test_class_histogram_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        scores.class_histogram(np.array([0, 10]))


# ----------------------------------------------------------------------------------------------
# The classifier
# ----------------------------------------------------------------------------------------------


def test_cross_entropy_value_and_gradient(rng):
    logits = rng.standard_normal((6, 10))
    labels = np.array([0, 3, 9, 3, 1, 5])
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(6), labels].mean()
    assert classifier.cross_entropy(Tensor(logits), labels).item() == pytest.approx(expected, rel=1e-12)
    assert tinygan.gradcheck(lambda x: classifier.cross_entropy(x, labels), [Tensor(logits, requires_grad=True)])


def test_classifier_shapes_and_probabilities(rng):
    model = classifier.MnistClassifier()
    x = rng.uniform(-1, 1, (3, 1, 28, 28)).astype(np.float32)
    feats, probs = classifier.features_and_probs(x, model=model.eval(), batch_size=2)
    assert feats.shape == (3, 128) and probs.shape == (3, 10)
    assert feats.dtype == probs.dtype == np.float64
    assert np.all(feats >= 0)  # after ReLU
    assert np.allclose(probs.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        classifier.features_and_probs(np.zeros((2, 1, 32, 32), np.float32), model=model)


def test_shipped_weights_load_without_pickle_and_carry_the_real_statistics():
    with np.load(classifier.WEIGHTS, allow_pickle=False) as archive:
        names = set(archive.files)
        mu, sigma = archive["real_mu"], archive["real_sigma"]
    assert set(classifier.MnistClassifier().state_dict()) | {"real_mu", "real_sigma"} == names
    assert mu.shape == (128,) and sigma.shape == (128, 128) and sigma.dtype == np.float64
    assert np.allclose(sigma, sigma.T) and np.linalg.eigvalsh(sigma).min() > -1e-8
    record = json.loads(classifier.RECORD.read_text())
    assert record["test_accuracy"] >= 0.99
    assert record["fid_real_vs_real"] > 0
    model = classifier.load_classifier("cpu")
    assert not model.training and all(p.dtype == np.float32 for p in model.parameters())


@pytest.fixture(scope="module")
def mnist_test(mnist_root):
    from tinygan.data import load_mnist
    return load_mnist("test", root=mnist_root)


def test_shipped_classifier_reaches_99_percent_on_the_mnist_test_set(mnist_test):
    images, labels = mnist_test
    feats, probs = classifier.features_and_probs(images)
    assert (probs.argmax(axis=1) == labels).mean() >= 0.99
    mu, sigma = fid.feature_statistics(feats)  # what the script shipped
    shipped_mu, shipped_sigma = classifier.real_statistics()
    assert np.allclose(mu, shipped_mu, rtol=1e-5, atol=1e-6)
    assert np.allclose(sigma, shipped_sigma, rtol=1e-4, atol=1e-6)


def test_edge_domain_has_a_reader_of_its_own(mnist_test):
    """The edge images (3x3 dilation minus the image) are read by the classifier trained on them:
    its weights ship with their test-set statistics, it reads real edge images at least as well as
    its record says, and far better than the MNIST classifier reads those outlines."""
    from tinygan.data.domains import get_domain
    edges = get_domain("edges")
    assert edges.reader == "edges" and get_domain("negative").reader is None
    record = classifier.record("edges")
    assert record["domain"] == "edges" and record["test_accuracy"] >= 0.98
    images, labels = mnist_test[0][:1000], mnist_test[1][:1000]
    feats, probs = classifier.features_and_probs(edges(images), model=classifier.load_classifier("cpu", "edges"))
    assert (probs.argmax(axis=1) == labels).mean() >= 0.97
    _, mnist_probs = classifier.features_and_probs(edges(images))
    assert (mnist_probs.argmax(axis=1) == labels).mean() < 0.8
    mu, _ = classifier.real_statistics("edges")
    assert mu.shape == (128,) and np.abs(feats.mean(axis=0) - mu).max() < 0.2 * np.abs(mu).max()
    with pytest.raises(ValueError, match="domain: expected None or one of"):
        classifier.load_classifier("cpu", "rot90")


def test_fid_grows_with_noise(mnist_test):
    images = mnist_test[0][:600].astype(np.float32) / 127.5 - 1.0
    reference = classifier.features_and_probs(images[:300])[0]
    other = images[300:, None]
    noise = np.random.default_rng(0).standard_normal(other.shape).astype(np.float32)
    values = [fid.fid_from_features(reference, classifier.features_and_probs(np.clip(other + s * noise, -1, 1))[0])
              for s in (0.0, 0.1, 0.3, 0.6)]
    assert all(a < b for a, b in zip(values, values[1:])), values


# ----------------------------------------------------------------------------------------------
# evaluate_recipe
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dcgan():
    from tinygan.gan.dcgan import DCGAN
    tinygan.manual_seed(0)
    return DCGAN()


KEYS = {"fid", "classifier_score", "classes_covered", "class_histogram", "kl_to_uniform", "n", "seed",
        "fid_real_vs_real"}


def test_evaluate_recipe_returns_every_score_deterministically(dcgan):
    a = evaluate.evaluate_recipe(dcgan, n=200, seed=3, batch_size=64)  # 64, 64, 64, 8
    assert set(a) == KEYS
    json.dumps(a)  # serialisable as it is
    for key in ("fid", "classifier_score", "kl_to_uniform", "fid_real_vs_real"):
        assert math.isfinite(a[key]), key
    assert 1.0 <= a["classifier_score"] <= 10.0
    assert sum(a["class_histogram"]) == 200 and len(a["class_histogram"]) == 10
    assert 0 <= a["classes_covered"] <= 10 and a["n"] == 200 and a["seed"] == 3
    assert evaluate.evaluate_recipe(dcgan, n=200, seed=3, batch_size=64) == a
    b = evaluate.evaluate_recipe(dcgan, n=200, seed=4, batch_size=64)
    assert b["fid"] != a["fid"]


def test_evaluate_recipe_leaves_the_random_stream_and_the_training_mode_alone(dcgan):
    tinygan.manual_seed(11)
    tg_random.randn(5)
    expected = tg_random.randn(3)
    tinygan.manual_seed(11)
    tg_random.randn(5)
    dcgan.G.train()
    evaluate.evaluate_recipe(dcgan, n=20, seed=0, batch_size=16)
    assert np.array_equal(tg_random.randn(3), expected)
    assert tg_random._seed == 11
    assert dcgan.G.training and all(m.training for m in dcgan.G.modules())


def test_a_conditional_recipe_gets_balanced_labels():
    from tinygan.gan.recipe import Recipe

    class Recorder(Recipe):
        name, conditional = "recorder", True

        def build(self):
            self.G = self.D = tinygan.nn.Identity()
            self.seen = []

        def sample_latent(self, n, labels=None):
            self.seen.append(np.asarray(labels))
            return (self.randn(n, 1, 28, 28).clip(-1, 1),)

        def generate(self, latent):
            return latent[0]

    recipe = Recorder()
    evaluate.evaluate_recipe(recipe, n=25, seed=0, batch_size=10)
    assert np.array_equal(np.concatenate(recipe.seen), np.arange(25) % 10)
    assert recipe.seen[0].dtype == np.int64


def test_make_evaluator_returns_the_three_scores_the_trainer_logs(dcgan):
    evaluator = evaluate.make_evaluator(n=50, device="cpu")
    out = evaluator(dcgan)
    assert set(out) == {"fid", "classifier_score", "classes_covered"}
    assert out == evaluator(dcgan)  # the same latents every call
