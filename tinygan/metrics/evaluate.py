"""Evaluate a GAN recipe: FID, classifier score and mode coverage of its samples.

    scores = evaluate_recipe(recipe, n=10000, seed=0)          # `tinygan eval`
    evaluator = make_evaluator(n=2000); evaluator(recipe)       # the Trainer, every eval_every steps

Samples are drawn in eval mode (batch-norm's running statistics) under no_grad, in batches; a
conditional recipe gets balanced labels (0, 1, ..., 9, 0, 1, ...). The latents come from
tinygan's generator re-seeded with ``seed``, so the same seed gives the same numbers; the
generators' previous state is put back afterwards, so an evaluation in the middle of training
does not change the training run's random stream. A conditional recipe's samples are also scored
by their label accuracy (``tinygan.metrics.label_accuracy``). The shipped classifier
(``tinygan.metrics.classifier``) runs on the recipe's device and gives the features and p(y|x);
the statistics are float64 on the host. The real statistics are those of the MNIST test set,
shipped inside the classifier's .npz (computed from MNIST only if that file lacks them).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from tinygan import backend
from tinygan.random import seeded
from tinygan.metrics import classifier
from tinygan.metrics.fid import feature_statistics, frechet_distance
from tinygan.metrics.label_accuracy import balanced_labels, label_accuracy_from_probs
from tinygan.metrics.scores import classifier_score, mode_coverage
from tinygan.tensor import no_grad

_real = {}


def real_statistics(data=None):
    """(mu, sigma) of the classifier's features on the MNIST test set, float64; once per process."""
    if "stats" not in _real:
        with np.load(classifier.WEIGHTS, allow_pickle=False) as archive:
            shipped = "real_mu" in archive.files and "real_sigma" in archive.files
        if shipped:
            _real["stats"] = classifier.real_statistics()
        else:
            from tinygan.data import load_mnist
            images, _ = load_mnist("test", root=data)
            _real["stats"] = feature_statistics(classifier.features_and_probs(images, device="cpu")[0])
    return _real["stats"]


def real_vs_real_baseline():
    """The FID of MNIST train (10,000 images) against MNIST test, recorded when the weights were made."""
    try:
        return classifier.record().get("fid_real_vs_real")
    except OSError:
        return None


@contextmanager
def eval_mode(modules):
    """Every module (and sub-module) in eval mode inside the block; each one's own flag restored after."""
    flags = [(m, m.training) for net in modules for m in net.modules()]
    for net in modules:
        net.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            object.__setattr__(m, "training", flag)


def sample_features(recipe, n, seed=0, batch_size=500):
    """Features (n, 128) and p(y|x) (n, 10) of n samples of ``recipe``, float64 on the host."""
    if n < 2:
        raise ValueError(f"n: expected at least 2 samples (a covariance needs two), got {n}")
    model = classifier.load_classifier(recipe.device)
    xp = backend.xp_for(recipe.device)
    feats, probs = [], []
    with seeded(seed), eval_mode(list(recipe.networks().values())), no_grad():
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            labels = xp.asarray(balanced_labels(n)[start:start + count]) if recipe.conditional else None
            images = recipe.generate(recipe.sample_inputs(count, labels))
            f, p = classifier.features_and_probs(images, model=model, batch_size=batch_size)
            feats.append(f)
            probs.append(p)
    return np.concatenate(feats), np.concatenate(probs)


def evaluate_recipe(recipe, n=10000, seed=0, data=None, batch_size=500):
    """FID, classifier score and mode coverage of n samples of ``recipe`` (a JSON-serialisable dict);
    for a conditional recipe also the label accuracy of the same samples."""
    feats, probs = sample_features(recipe, n, seed, batch_size)
    mu, sigma = feature_statistics(feats)
    scores = {"fid": frechet_distance(mu, sigma, *real_statistics(data)),
              "classifier_score": classifier_score(probs)}
    scores.update(mode_coverage(probs))
    if recipe.conditional:
        scores.update(label_accuracy_from_probs(probs, balanced_labels(n)))
    scores.update({"n": int(n), "seed": int(seed), "fid_real_vs_real": real_vs_real_baseline()})
    return scores


def make_evaluator(n=2000, device=None, data=None):
    """A function ``evaluator(recipe) -> {"fid", "classifier_score", "classes_covered"}`` for the Trainer
    (the scores named by the recipe's ``tracked_scores``, from its ``evaluate``).

    It loads the classifier (on ``device``) and the real statistics now, so that a missing file
    is an error before training starts, and always uses seed 0: every evaluation of a run sees
    the same latents, so its curve shows the generator changing, not the noise.
    """
    classifier.load_classifier(device or backend.get_default_device())
    real_statistics(data)

    def evaluator(recipe):
        scores = recipe.evaluate(n=n, seed=0, data=data)
        return {k: scores[k] for k in recipe.tracked_scores}

    return evaluator
