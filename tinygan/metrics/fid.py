"""Fréchet distance between two sets of features (FID, Heusel et al. 2017), with NumPy alone.

Each set is summarised by a Gaussian: its mean mu and covariance S (float64). The squared
2-Wasserstein distance between N(mu1, S1) and N(mu2, S2) is

    FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^{1/2} S2 S1^{1/2})^{1/2})

The last trace is that of the square root of a symmetric positive semi-definite matrix, so it
is computed with symmetric eigendecompositions only (no scipy.linalg.sqrtm, whose general
Schur method can return complex values for near-singular covariances):

    S1^{1/2} = V diag(sqrt(max(l, 0))) V^T        S1 = V diag(l) V^T   (eigh)
    tr((S1^{1/2} S2 S1^{1/2})^{1/2}) = sum sqrt(max(eigenvalues of S1^{1/2} S2 S1^{1/2}, 0))

Rounding makes tiny negative eigenvalues out of a rank-deficient covariance (fewer samples than
dimensions, or dead ReLU features); clipping them to 0 is exact for the PSD matrix meant.
"""

from __future__ import annotations

import numpy as np

from tinygan import backend


def feature_statistics(features):
    """(mu, sigma) of features (N, D): the mean (D,) and the unbiased covariance (D, D), float64
    on the host (``features`` may live on any device)."""
    f = np.asarray(backend.to_numpy(features), dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"features: expected a 2-d array (N, D) with N >= 2, got shape {f.shape}")
    mu = f.mean(axis=0)
    centred = f - mu
    return mu, centred.T @ centred / (len(f) - 1)


def sqrtm_psd(matrix):
    """The symmetric square root of a symmetric PSD matrix, by eigh (negative eigenvalues -> 0)."""
    m = np.asarray(matrix, dtype=np.float64)
    values, vectors = np.linalg.eigh((m + m.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(sigma1, sigma2):
    """tr((S1 S2)^{1/2}) = tr((S1^{1/2} S2 S1^{1/2})^{1/2}), the cross term of the FID."""
    root1 = sqrtm_psd(sigma1)
    middle = root1 @ np.asarray(sigma2, dtype=np.float64) @ root1
    values = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """FID between N(mu1, sigma1) and N(mu2, sigma2); clipped at 0 (rounding can dip below it)."""
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(f"frechet_distance: expected means (D,) and covariances (D, D) of one D, got "
                         f"{mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    fid = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return max(float(fid), 0.0)


def fid_from_features(features1, features2):
    """FID between two feature sets (N1, D) and (N2, D)."""
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))
