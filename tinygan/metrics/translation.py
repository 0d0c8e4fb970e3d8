"""Measures of two-domain GANs through the MNIST classifier's eyes.

Domain B is T(MNIST) for a known transform T (``tinygan.data.domains``). The classifier reads a
domain-B image x through ``domain.view``: T^-1(x) where T is invertible (negative, rot90); the
edge image, which has no inverse, is read by the classifier trained on edge images
(``domain.reader``), and FIDs of edge images are measured on that classifier's features. The
reader's accuracy on real domain-B test images (``classifier_accuracy_real_b``) is reported beside
every figure, so that one can see how far to trust the readings.

Translation models (G_AB: A -> B, G_BA: B -> A), on n MNIST test images x (labels y):

    preservation_ab   P[ argmax p(y | x_a) = argmax p(y | view(G_AB(x_a))) ]  the digit survives A -> B
    preservation_ba   P[ argmax p(y | view(x_b)) = argmax p(y | G_BA(x_b)) ]  the digit survives B -> A
    cycle_l1_a        E |G_BA(G_AB(x_a)) - x_a|   (mean absolute error per pixel, images in [-1, 1])
    cycle_l1_b        E |G_AB(G_BA(x_b)) - x_b|
    transform_l1_ab   E |G_AB(x_a) - T(x_a)|      how far the translation is from the true T,
    transform_l1_ba   E |G_BA(T(x)) - x|          a pairing the training data never showed
    fid_ab, fid_ba    FID of the translations in the classifier's feature space against real
                      images of the target domain (viewed as the classifier views them)

with x_a and x (x_b = T(x)) two disjoint random sets of test images.

Every agreement P (preservation, pair consistency) comes with the agreement that chance alone
would give with the same predicted-digit frequencies, p_e = sum_k h_1(k) h_2(k), and Cohen's
kappa (P - p_e) / (1 - p_e): an untrained generator draws nearly one "digit" for everything,
which agrees with itself almost always (P ~ 1, p_e ~ 1, kappa ~ 0).

CoGAN, on n pairs (G_A(z), G_B(z)):

    pair_consistency  P[ argmax p(y | G_A(z)) = argmax p(y | view(G_B(z))) ]
    fid_a, fid_b      each domain's FID against real test images of that domain

and two readings that separate the generator from its readers, through the true T:

    pair_consistency_ceiling  P[ argmax p(y | G_A(z)) = argmax p(y | view(T(G_A(z)))) ]
    pair_consistency_t        P[ argmax p(y | view(G_B(z))) = argmax p(y | view(T(G_A(z)))) ]

The ceiling is what a perfect pair, G_B(z) = T(G_A(z)), would score: 1 where view inverts T (the
same classifier reads both), below 1 for edges, whose reader can disagree with the MNIST
classifier on a generated digit that is hard to read. ``pair_consistency_t`` asks whether G_B drew
what T makes of G_A's digit, both images read by the one reader of domain B.
"""

from __future__ import annotations

import numpy as np

from tinygan import backend
from tinygan.data.two_domain import mnist_test_images, to_unit_range
from tinygan.metrics import classifier
from tinygan.metrics.evaluate import eval_mode, real_statistics, seeded
from tinygan.metrics.fid import feature_statistics, frechet_distance
from tinygan.metrics.scores import classifier_score, mode_coverage
from tinygan.tensor import Tensor, no_grad

_cache = {}


def agreement(probs_1, probs_2):
    """The fraction of rows where two sets of p(y|x) (N, 10) predict the same digit."""
    probs_1, probs_2 = np.asarray(probs_1), np.asarray(probs_2)
    if probs_1.shape != probs_2.shape or probs_1.ndim != 2:
        raise ValueError(f"agreement: expected two arrays (N, K) of one shape, got {probs_1.shape} and "
                         f"{probs_2.shape}")
    return float(np.mean(probs_1.argmax(axis=1) == probs_2.argmax(axis=1)))


def chance_agreement(probs_1, probs_2):
    """The agreement two independent labelings with these predicted-digit frequencies would reach:
    p_e = sum_k h_1(k) h_2(k). A generator that draws one digit everywhere agrees with itself by
    chance (p_e = 1), so agreement alone does not show that a pair or translation kept the digit."""
    k = np.asarray(probs_1).shape[1]
    h_1 = np.bincount(np.asarray(probs_1).argmax(axis=1), minlength=k) / len(probs_1)
    h_2 = np.bincount(np.asarray(probs_2).argmax(axis=1), minlength=k) / len(probs_2)
    return float(h_1 @ h_2)


def kappa(observed, chance):
    """Cohen's kappa (p_o - p_e) / (1 - p_e): 0 for agreement at chance level, 1 for perfect; 0
    when p_e = 1 (every image one digit: nothing beyond chance can be shown)."""
    return 0.0 if chance >= 1.0 else float((observed - chance) / (1.0 - chance))


def _agreement_scores(name, probs_1, probs_2):
    observed, chance = agreement(probs_1, probs_2), chance_agreement(probs_1, probs_2)
    return {name: observed, f"{name}_chance": chance, f"{name}_kappa": kappa(observed, chance)}


def mean_l1(x, y):
    """E |x - y| over every value (a float); x, y Tensors or arrays of one shape."""
    x = x.data if isinstance(x, Tensor) else x
    y = y.data if isinstance(y, Tensor) else y
    if x.shape != y.shape:
        raise ValueError(f"mean_l1: expected two arrays of one shape, got {x.shape} and {y.shape}")
    xp = backend.array_module(x)
    return float(xp.abs(x.astype("float64") - y.astype("float64")).mean())


def _array(images):
    return images.data if isinstance(images, Tensor) else images


def _test_set(data):
    return mnist_test_images(data)


def reader_b(domain, device):
    """The classifier that reads domain B's images (after ``domain.view``): the MNIST classifier,
    or the domain's own (``domain.reader``)."""
    return classifier.load_classifier(device, domain=domain.reader)


def real_b_reference(domain, data=None):
    """For domain B: (mu, sigma) of the reader's features of view(T(x)) over the 10,000 MNIST test
    images, and the reader's accuracy on them. For an invertible T, view(T(x)) = x and these are
    MNIST's own; a domain with a reader of its own ships them with its weights."""
    if domain.name not in _cache:
        images, labels = _test_set(data)
        viewed = domain.view(domain(images))
        _, probs = classifier.features_and_probs(viewed, model=reader_b(domain, "cpu"))
        if domain.reader is not None:
            stats = classifier.real_statistics(domain.reader)
        else:
            stats = real_statistics(data)
        _cache[domain.name] = (stats, float(np.mean(probs.argmax(axis=1) == labels)))
    return _cache[domain.name]


def _classify(model, images, batch_size):
    return classifier.features_and_probs(images, model=model, batch_size=batch_size)


def evaluate_translation(recipe, n=5000, seed=0, data=None, batch_size=500):
    """The measures above for a translation recipe (G_AB, G_BA, ``domain``), as a JSON-ready dict."""
    images, _ = _test_set(data)
    if not 2 <= n <= len(images) // 2:
        raise ValueError(f"n: expected 2..{len(images) // 2} test images per domain, got {n}")
    domain, device = recipe.domain, recipe.device
    model, model_b = classifier.load_classifier(device), reader_b(domain, device)
    order = np.random.default_rng(seed).permutation(len(images))
    source_a, source_b = images[order[:n]], images[order[n:2 * n]]
    sums = dict(cycle_l1_a=0.0, cycle_l1_b=0.0, transform_l1_ab=0.0, transform_l1_ba=0.0)
    parts = {k: [] for k in ("p_a", "p_ab", "p_b", "p_ba", "f_ab", "f_ba")}
    with seeded(seed), eval_mode(list(recipe.networks().values())), no_grad():
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            x_a = to_unit_range(source_a[start:stop], device)
            x = to_unit_range(source_b[start:stop], device)
            x_b = Tensor(domain(x.data))
            fake_b, fake_a = recipe.translate(x_a, x_b)
            weight = (stop - start) / n
            sums["cycle_l1_a"] += weight * mean_l1(recipe.G_BA(fake_b), x_a)
            sums["cycle_l1_b"] += weight * mean_l1(recipe.G_AB(fake_a), x_b)
            sums["transform_l1_ab"] += weight * mean_l1(fake_b, domain(x_a.data))
            sums["transform_l1_ba"] += weight * mean_l1(fake_a, x)
            for key, imgs in (("a", x_a.data), ("ab", domain.view(fake_b.data)), ("b", domain.view(x_b.data)),
                              ("ba", fake_a.data)):
                f, p = _classify(model_b if key in ("ab", "b") else model, imgs, batch_size)
                parts["p_" + key].append(p)
                if key in ("ab", "ba"):
                    parts["f_" + key].append(f)
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    (mu_b, sigma_b), accuracy_b = real_b_reference(domain, data)
    scores = {
        **_agreement_scores("preservation_ab", cat["p_a"], cat["p_ab"]),
        **_agreement_scores("preservation_ba", cat["p_b"], cat["p_ba"]),
        **{k: float(v) for k, v in sums.items()},
        "fid_ab": frechet_distance(*feature_statistics(cat["f_ab"]), mu_b, sigma_b),
        "fid_ba": frechet_distance(*feature_statistics(cat["f_ba"]), *real_statistics(data)),
        "classifier_accuracy_real_b": accuracy_b,
        "domain_b": domain.name, "n": int(n), "seed": int(seed),
    }
    return scores


def evaluate_pairs(recipe, n=10000, seed=0, data=None, batch_size=500):
    """CoGAN's measures on n pairs (G_A(z), G_B(z)): pair consistency (with its ceiling and G_B
    against T(G_A), through the true T), each domain's FID, and the classifier score and mode
    coverage of domain A."""
    if n < 2:
        raise ValueError(f"n: expected at least 2 pairs, got {n}")
    domain, device = recipe.domain, recipe.device
    model, model_b = classifier.load_classifier(device), reader_b(domain, device)
    parts = {k: [] for k in ("f_a", "p_a", "f_b", "p_b", "p_t")}
    with seeded(seed), eval_mode(list(recipe.networks().values())), no_grad():
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            a, b = recipe.generate_pair(recipe.sample_inputs(count))
            for key, imgs, reader in (("a", a.data, model), ("b", domain.view(b.data), model_b),
                                      ("t", domain.view(domain(a.data)), model_b)):
                f, p = _classify(reader, imgs, batch_size)
                parts["p_" + key].append(p)
                if key != "t":
                    parts["f_" + key].append(f)
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    (mu_b, sigma_b), accuracy_b = real_b_reference(domain, data)
    scores = {
        **_agreement_scores("pair_consistency", cat["p_a"], cat["p_b"]),
        "pair_consistency_ceiling": agreement(cat["p_a"], cat["p_t"]),
        "pair_consistency_t": agreement(cat["p_b"], cat["p_t"]),
        "fid_a": frechet_distance(*feature_statistics(cat["f_a"]), *real_statistics(data)),
        "fid_b": frechet_distance(*feature_statistics(cat["f_b"]), mu_b, sigma_b),
        "classifier_score_a": classifier_score(cat["p_a"]),
        "classes_covered_a": mode_coverage(cat["p_a"])["classes_covered"],
        "classes_covered_b": mode_coverage(cat["p_b"])["classes_covered"],
        "classifier_accuracy_real_b": accuracy_b,
        "domain_b": domain.name, "n": int(n), "seed": int(seed),
    }
    return scores


__all__ = ["agreement", "chance_agreement", "evaluate_pairs", "kappa", "evaluate_translation", "mean_l1", "reader_b",
           "real_b_reference"]
