"""What map did a translation model learn, and could its generator express the true one?

Three measures for the question a failed translation raises (DiscoGAN and CycleGAN on ``rot90``
close their cycles but keep the digit only at chance level):

``receptive_field_reach(G, domain)``
    The fraction of output pixels p of G whose *source* pixel under the true transform T lies in
    p's receptive field: the input pixels with a nonzero derivative dG(x)_p / dx_q. For a
    pixelwise T (negative, edges) the source of p is p itself; for rot90 it is the pixel T moves
    to p, across the image. A generator that cannot reach a pixel's source cannot compute T there,
    whatever the losses ask. The derivatives are taken at random inputs with the networks in eval
    mode (each image on its own), and a pixel counts as reached if any input reaches it.

``class_mapping(source_labels, target_labels)``
    How the digit of x relates to the digit read in G(x): the confusion matrix M (10 x 10, rows:
    the source digit), ``preserved`` = trace M / N, and ``consistency`` = sum_k max_j M[k, j] / N,
    the agreement of the best digit-to-digit map. Consistency near 1 with low preservation is a
    relabelling (each digit sent to one other digit); both near 0.1 is a scramble: the digit is
    hidden in G(x) where the classifier cannot see it, yet the other generator can decode it.

``pixel_correlation(a, b)``
    The mean over images of the Pearson correlation of their pixels: is G(x) closer to x (a local,
    pixelwise map) or to T(x)?
"""

from __future__ import annotations

import numpy as np

from tinygan import backend
from tinygan.tensor import Tensor


def source_pixels(domain, h, w):
    """For each output pixel (flat index), the flat index of the input pixel that T copies there:
    T applied to a grid of indices for a domain that moves pixels (rot90), the pixel itself for a
    pixelwise one (negative, edges)."""
    index = np.arange(h * w, dtype=np.float64).reshape(1, h, w)
    if domain.name == "rot90":
        index = domain(index)
    return np.asarray(index).reshape(-1).astype(np.int64)


def receptive_field_mask(generator, h=28, w=28, samples=2, chunk=196, seed=0, device="cpu"):
    """(h*w, h*w) booleans: [p, q] is True where output pixel p of ``generator`` has a nonzero
    derivative with respect to input pixel q at any of ``samples`` random inputs in [-1, 1]."""
    rng = np.random.default_rng(seed)
    n = h * w
    mask = np.zeros((n, n), dtype=bool)
    was_training = [(m, m.training) for m in generator.modules()]
    generator.eval()
    try:
        for s in range(samples):
            x0 = rng.uniform(-1, 1, (1, 1, h, w)).astype(np.float32)
            for start in range(0, n, chunk):
                pixels = np.arange(start, min(n, start + chunk))
                x = Tensor(backend.to_device(np.repeat(x0, len(pixels), axis=0), device), requires_grad=True)
                y = generator(x)
                if tuple(y.shape[1:]) != (1, h, w):
                    raise ValueError(f"generator: expected outputs of shape (N, 1, {h}, {w}), got {y.shape}")
                rows, cols = np.divmod(pixels, w)
                xp = backend.array_module(y.data)
                picked = y[xp.arange(len(pixels)), 0, xp.asarray(rows), xp.asarray(cols)]
                picked.sum().backward()
                mask[pixels] |= backend.to_numpy(x.grad.data).reshape(len(pixels), n) != 0
    finally:
        for m, flag in was_training:
            object.__setattr__(m, "training", flag)
    return mask


def receptive_field_reach(generator, domain, h=28, w=28, samples=2, seed=0, device="cpu"):
    """The fraction of output pixels whose source pixel under ``domain``'s T they can see, and the
    receptive field's mean size in pixels: {"reach", "receptive_field_pixels"}."""
    mask = receptive_field_mask(generator, h, w, samples, seed=seed, device=device)
    source = source_pixels(domain, h, w)
    return {"reach": float(mask[np.arange(h * w), source].mean()),
            "receptive_field_pixels": float(mask.sum(axis=1).mean())}


def class_mapping(source_labels, target_labels, classes=10):
    """The confusion matrix of digits (source -> target) and its ``preserved`` and ``consistency``
    fractions, with the best digit-to-digit map (``mapping[k]``: the digit k is most often sent to)."""
    source_labels, target_labels = np.asarray(source_labels), np.asarray(target_labels)
    if source_labels.shape != target_labels.shape or source_labels.ndim != 1 or len(source_labels) == 0:
        raise ValueError(f"source_labels, target_labels: expected two non-empty 1-d arrays of one length, got "
                         f"shapes {source_labels.shape} and {target_labels.shape}")
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (source_labels, target_labels), 1)
    n = len(source_labels)
    return {"preserved": float(np.trace(m) / n), "consistency": float(m.max(axis=1).sum() / n),
            "mapping": [int(j) for j in m.argmax(axis=1)], "confusion": m.tolist()}


def pixel_correlation(a, b):
    """Mean over images of the Pearson correlation between the pixels of a[i] and b[i] (arrays or
    Tensors of one shape (N, ...)); an image with constant pixels counts 0."""
    a = backend.to_numpy(a.data if isinstance(a, Tensor) else a).astype(np.float64)
    b = backend.to_numpy(b.data if isinstance(b, Tensor) else b).astype(np.float64)
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(f"pixel_correlation: expected two arrays (N, ...) of one shape, got {a.shape} and {b.shape}")
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(axis=1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    corr = np.divide((a * b).sum(axis=1), norm, out=np.zeros(len(a)), where=norm > 0)
    return float(corr.mean())


__all__ = ["class_mapping", "pixel_correlation", "receptive_field_mask", "receptive_field_reach", "source_pixels"]
