"""Measuring what a GAN learned, through the eyes of an MNIST classifier trained with tinygan.

``classifier`` (the network, its shipped weights, features and p(y|x)), ``fid`` (Fréchet
distance on its 128-d features), ``scores`` (classifier score, mode coverage), ``evaluate``
(a recipe's samples in, a JSON-serialisable dict of all of them out). The two-domain models
have ``translation`` (label preservation, cycle error, pair consistency), ``domain_adaptation``
(CoGAN's classifier read on domain B, before and after) and ``mapping`` (what map a translation
model learned, and whether its generator can reach the true one).
"""

from tinygan.metrics.classifier import MnistClassifier, cross_entropy, features_and_probs, load_classifier
from tinygan.metrics.evaluate import evaluate_recipe, make_evaluator
from tinygan.metrics.label_accuracy import label_accuracy, label_accuracy_from_probs
from tinygan.metrics.fid import feature_statistics, fid_from_features, frechet_distance, sqrtm_psd
from tinygan.metrics.scores import classes_covered, class_histogram, classifier_score, kl_to_uniform, mode_coverage

__all__ = [
    "MnistClassifier", "class_histogram", "classes_covered", "classifier_score", "cross_entropy", "evaluate_recipe",
    "feature_statistics", "features_and_probs", "fid_from_features", "frechet_distance", "kl_to_uniform", "label_accuracy",
    "label_accuracy_from_probs",
    "load_classifier", "make_evaluator", "mode_coverage", "sqrtm_psd",
]
