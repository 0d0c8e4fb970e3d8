"""Unsupervised domain adaptation, measured: a digit classifier that saw labels of domain A only,
read on domain B's test images.

CoGAN's application (Liu & Tuzel 2016, the MNIST -> USPS task; here MNIST -> T(MNIST)): with
``--adapt true`` the recipe trains a classifier on its discriminator's shared layers with A's
labels, and beside it a *source-only* classifier of the same layers, the same initial weights
and the same labelled batches, without the GAN. Both are read here on the 10,000 MNIST test
images passed through T (labels known to the test, never to the training):

    adapt_accuracy_b        P[ argmax C_B(T(x)) = y ]     after: CoGAN's classifier, through D's path for B
    source_only_accuracy_b  P[ argmax C_src(T(x)) = y ]   before: the plain classifier trained on A
    adapt_accuracy_a, source_only_accuracy_a              the same on the test images of A itself

A classifier that ignores its input scores about 0.1; the gap between the two B figures is what
the coupling bought.
"""

from __future__ import annotations

import numpy as np

from tinygan import backend
from tinygan.data.two_domain import mnist_test_images, to_unit_range
from tinygan.metrics.evaluate import eval_mode
from tinygan.tensor import no_grad


def accuracy(classify, images_u8, labels, device, batch_size=500):
    """The fraction of uint8 images (N, 28, 28) whose argmax of ``classify(x)`` (logits (N, K), x a
    float32 Tensor (N, 1, 28, 28) in [-1, 1] on ``device``) equals the label."""
    images_u8, labels = np.asarray(images_u8), np.asarray(labels)
    if images_u8.ndim != 3 or len(images_u8) != len(labels) or len(labels) == 0:
        raise ValueError(f"images, labels: expected (N, H, W) images and N labels, N > 0, got shapes "
                         f"{images_u8.shape} and {labels.shape}")
    right = 0
    with no_grad():
        for start in range(0, len(labels), batch_size):
            logits = classify(to_unit_range(images_u8[start:start + batch_size], device))
            predicted = backend.to_numpy(logits.data).argmax(axis=1)
            right += int((predicted == labels[start:start + batch_size]).sum())
    return right / len(labels)


def evaluate_adaptation(recipe, n=10000, data=None):
    """Both classifiers of a CoGAN trained with ``adapt`` on the first n MNIST test images, in
    domain B (T(x)) and in domain A (x): a JSON-ready dict."""
    if not getattr(recipe.config, "adapt", False):
        raise ValueError(f"recipe: expected a CoGAN trained with adapt=True (it has the classifiers), "
                         f"got {recipe.name} with adapt={getattr(recipe.config, 'adapt', None)}")
    images, labels = mnist_test_images(data)
    if not 1 <= n <= len(images):
        raise ValueError(f"n: expected 1..{len(images)} test images, got {n}")
    images, labels = images[:n], labels[:n]
    images_b = recipe.domain(images)
    D, C_src, device = recipe.D, recipe.C_src, recipe.device
    with eval_mode(list(recipe.networks().values())):
        scores = {
            "adapt_accuracy_b": accuracy(lambda x: D.classify(x, "B"), images_b, labels, device),
            "source_only_accuracy_b": accuracy(C_src, images_b, labels, device),
            "adapt_accuracy_a": accuracy(lambda x: D.classify(x, "A"), images, labels, device),
            "source_only_accuracy_a": accuracy(C_src, images, labels, device),
        }
    return {**scores, "adaptation_n": int(n)}


__all__ = ["accuracy", "evaluate_adaptation"]
