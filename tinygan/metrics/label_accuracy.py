"""Does a conditional GAN draw the digit it is asked for? The fraction of its samples that the
MNIST classifier assigns to their label.

    label_accuracy(recipe, n=10000)   # {"label_accuracy": 0.97, "label_accuracy_per_digit": [...]}

The samples have balanced labels, 0, 1, ..., 9, 0, 1, ... (those ``tinygan eval`` draws, so the
numbers come from the same images as its FID); a sample counts when argmax_k p(k | x) is its
label. A generator that ignores the label scores about 0.1; the classifier on real MNIST test
digits scores about 0.99 (its test accuracy, ``tinygan.metrics.classifier.record()``).
"""

from __future__ import annotations

import numpy as np


def balanced_labels(n):
    """The labels the evaluation draws with: 0, 1, ..., 9, 0, 1, ... (n of them)."""
    return np.arange(n, dtype=np.int64) % 10


def label_accuracy_from_probs(probs, labels):
    """{"label_accuracy": mean of [argmax p(.|x_i) == y_i], "label_accuracy_per_digit": the same for
    each digit 0-9 (None for a digit with no sample)} from p(y|x) (n, 10) and the labels (n,)."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] != 10:
        raise ValueError(f"probs: expected shape (n, 10), got {probs.shape}")
    if labels.shape != (probs.shape[0],):
        raise ValueError(f"labels: expected shape ({probs.shape[0]},) (one per row of probs), got {labels.shape}")
    hit = probs.argmax(axis=1) == labels
    per_digit = [float(hit[labels == d].mean()) if (labels == d).any() else None for d in range(10)]
    return {"label_accuracy": float(hit.mean()), "label_accuracy_per_digit": per_digit}


def label_accuracy(recipe, n=10000, seed=0, batch_size=500):
    """Label accuracy of n samples of a conditional ``recipe`` (balanced labels, latents seeded with ``seed``)."""
    from tinygan.metrics.evaluate import sample_features
    if not recipe.conditional:
        raise ValueError(f"recipe: label accuracy needs a conditional recipe; {recipe.name} takes no label")
    _, probs = sample_features(recipe, n, seed, batch_size)
    return label_accuracy_from_probs(probs, balanced_labels(n))
