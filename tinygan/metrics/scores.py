"""What the classifier says about a set of samples: the classifier score and mode coverage.

Classifier score (the Inception Score of Salimans et al. 2016, with the MNIST classifier in
place of Inception), from the predicted distributions p(y|x) of N samples:

    p(y) = 1/N sum_x p(y|x)
    CS   = exp( 1/N sum_x KL(p(y|x) || p(y)) ) = exp( H(p(y)) - 1/N sum_x H(p(y|x)) )

High when each sample is confidently one digit (low H(p(y|x))) and the digits are varied (high
H(p(y))): 10 for confident, perfectly balanced samples, 1 when every sample is one digit.
Since KL averaged over x is the mutual information of x and y, it lies in [0, log K]; the
exponent is clipped to that range, so rounding cannot push the score above K.

Mode coverage, from the predicted labels argmax_y p(y|x):

    histogram[k]     the number of samples predicted as digit k
    classes covered  the digits that hold at least ``threshold`` of the samples (default 1%:
                     a tenth of their fair share of 10%, so a digit a GAN draws only by
                     accident, a handful of samples among thousands, does not count)
    KL(h || uniform) = sum_k h_k log(K h_k)  (h the normalised histogram): 0 when balanced,
                     log K when everything is one digit.
"""

from __future__ import annotations

import numpy as np

from tinygan import backend

COVERAGE_THRESHOLD = 0.01


def _xlogx(p):
    """p log p elementwise, with 0 log 0 = 0."""
    p = np.asarray(p, dtype=np.float64)
    return np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)


def classifier_score(probs):
    """exp(E_x KL(p(y|x) || p(y))) for probabilities (N, K) on any device, in float64; in [1, K]."""
    p = np.asarray(backend.to_numpy(probs), dtype=np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"probs: expected a non-empty 2-d array (N, K), got shape {p.shape}")
    marginal_entropy = -_xlogx(p.mean(axis=0)).sum()
    conditional_entropy = -_xlogx(p).sum(axis=1).mean()
    mutual_information = np.clip(marginal_entropy - conditional_entropy, 0.0, np.log(p.shape[1]))
    return float(np.exp(mutual_information))


def class_histogram(labels, num_classes=10):
    """Counts of each class among integer ``labels`` (N,) on any device, as a list of ints."""
    labels = np.asarray(backend.to_numpy(labels))
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels: expected values in [0, {num_classes - 1}], got {labels.min()}..{labels.max()}")
    return [int(c) for c in np.bincount(labels.ravel(), minlength=num_classes)]


def classes_covered(histogram, threshold=COVERAGE_THRESHOLD):
    """The number of classes that hold at least ``threshold`` (a fraction) of the samples."""
    h = np.asarray(histogram, dtype=np.float64)
    total = h.sum()
    if total <= 0:
        return 0
    return int((h / total >= threshold).sum())


def kl_to_uniform(histogram):
    """KL(h || uniform) of a class histogram: sum_k h_k log(K h_k); 0 to log K."""
    h = np.asarray(histogram, dtype=np.float64)
    total = h.sum()
    if total <= 0:
        raise ValueError("histogram: expected at least one sample")
    h = h / total
    return max(float(_xlogx(h).sum() + np.log(len(h))), 0.0)


def mode_coverage(probs, threshold=COVERAGE_THRESHOLD):
    """{"class_histogram", "classes_covered", "kl_to_uniform"} of predictions (N, K) on any device."""
    p = np.asarray(backend.to_numpy(probs))
    histogram = class_histogram(p.argmax(axis=1), p.shape[1])
    return {"class_histogram": histogram, "classes_covered": classes_covered(histogram, threshold),
            "kl_to_uniform": kl_to_uniform(histogram)}
