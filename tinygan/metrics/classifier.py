"""The MNIST classifier whose eyes the metrics look through.

A LeNet-style CNN, built and trained with tinygan itself (``scripts/train_classifier.py``)::

    x (N, 1, 28, 28) in [-1, 1]
      -> Conv(1, 32, 5, pad 2) -> ReLU -> MaxPool 2      (32, 14, 14)
      -> Conv(32, 64, 5, pad 2) -> ReLU -> MaxPool 2     (64, 7, 7)
      -> Flatten -> Linear(3136, 128) -> ReLU            the 128-d features (FID's space)
      -> Linear(128, 10)                                 logits

``body`` ends at the features, ``head`` is the read-out, so the features are the penultimate
activations (after ReLU), as Inception's pool3 features are for the ImageNet FID.

The trained weights ship with the package (``mnist_classifier.npz``, a plain ``np.savez`` of
the state_dict, loaded with ``allow_pickle=False``); the same file carries ``real_mu`` and
``real_sigma``, the float64 mean and covariance of the features of the 10,000 MNIST test
images, so that evaluating a GAN needs no MNIST files. ``mnist_classifier.json`` records how
the weights were made (seed, epochs, time) and what they score.

A second set of weights reads the ``edges`` domain (``tinygan.data.domains``): the same network
trained on the edge images of MNIST (``scripts/train_classifier.py --domain edges``), shipped as
``mnist_edges_classifier.npz`` / ``.json``, whose ``real_mu`` / ``real_sigma`` are the features
of the test set's edge images. An edge image has no inverse that the digit classifier could read
(it reads the outlines themselves with 63% accuracy), so a two-domain model's edge images are
read by the classifier that learned them (``load_classifier(device, domain="edges")``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tinygan import backend, nn
from tinygan.ops.activation import log_softmax
from tinygan.ops.reduce import mean
from tinygan.ops.shape import getitem
from tinygan.tensor import Tensor, no_grad

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "mnist_classifier.npz"
RECORD = HERE / "mnist_classifier.json"
DOMAIN_READERS = ("edges",)     # the domains with weights of their own
FEATURES = 128


class MnistClassifier(nn.Module):
    """LeNet-style CNN: ``features(x)`` the 128-d penultimate activations, ``forward(x)`` the logits."""

    def __init__(self, device=None):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2, device=device), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2, device=device), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, FEATURES, device=device), nn.ReLU())
        self.head = nn.Linear(FEATURES, 10, device=device)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.body(x))


def cross_entropy(logits, labels):
    """Mean negative log-likelihood of integer ``labels`` (N,) under ``logits`` (N, 10):

        L = -1/N sum_n log softmax(logits_n)[labels_n]

    log_softmax is computed stably (max subtracted); the picked entries are a getitem with
    integer arrays, whose gradient scatters back into the picked places.
    """
    y = labels.data if isinstance(labels, Tensor) else labels
    xp = backend.array_module(logits.data)
    picked = getitem(log_softmax(logits, axis=-1), (xp.arange(len(y)), xp.asarray(y)))
    return -mean(picked)


_cache = {}


def weights_path(domain=None):
    """The .npz of the classifier for ``domain`` (None: MNIST itself; or one of DOMAIN_READERS)."""
    if domain is None:
        return WEIGHTS
    if domain not in DOMAIN_READERS:
        raise ValueError(f"domain: expected None or one of {list(DOMAIN_READERS)} (the domains with a "
                         f"classifier of their own), got {domain!r}")
    return HERE / f"mnist_{domain}_classifier.npz"


def record_path(domain=None):
    return weights_path(domain).with_suffix(".json")


def load_classifier(device="cpu", domain=None):
    """The shipped classifier (of MNIST, or of ``domain``'s images) on ``device``, in eval mode
    (loaded once per process, device and domain)."""
    path = weights_path(domain)
    model = _cache.get((device, domain))
    if model is None:
        if not path.exists():
            flag = f" --domain {domain}" if domain else ""
            raise FileNotFoundError(f"the classifier's weights are missing: {path} "
                                    f"(make them with `python scripts/train_classifier.py{flag}`)")
        with np.load(path, allow_pickle=False) as archive:
            state = {k: archive[k] for k in archive.files if not k.startswith("real_")}
        model = MnistClassifier(device=device).load_state_dict(state).eval()
        _cache[(device, domain)] = model
    return model


def real_statistics(domain=None):
    """(mu, sigma): float64 mean (128,) and covariance (128, 128) of the features of the MNIST test
    set (or of its images in ``domain``, through that domain's classifier)."""
    with np.load(weights_path(domain), allow_pickle=False) as archive:
        return archive["real_mu"].astype(np.float64), archive["real_sigma"].astype(np.float64)


def record(domain=None):
    """The training record (accuracy, seed, epochs, time, real-vs-real FID) as a dict."""
    return json.loads(record_path(domain).read_text())


def features_and_probs(images, model=None, device=None, batch_size=500):
    """Features (N, 128) and class probabilities p(y|x) (N, 10) of ``images``, float64 on the host.

    ``images``: (N, 1, 28, 28) in [-1, 1], a Tensor or an array (uint8 MNIST is scaled as the
    DataLoader does). The network runs in float32 in batches, under no_grad; the softmax is
    taken in float64 from the logits, so that confident predictions keep their small entries.
    """
    model = model if model is not None else load_classifier(device or _device_of(images))
    device = model.device
    data = images.data if isinstance(images, Tensor) else images
    if data.ndim == 3:
        data = data[:, None]
    if tuple(data.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images: expected shape (N, 1, 28, 28) (or (N, 28, 28)), got {tuple(data.shape)}")
    feats, logits = [], []
    with no_grad():
        for start in range(0, len(data), batch_size):
            x = data[start:start + batch_size]
            if x.dtype == np.uint8:
                x = x.astype(np.float32) / np.float32(127.5) - np.float32(1)
            x = Tensor(backend.to_device(x.astype(np.float32, copy=False), device))
            f = model.features(x)
            feats.append(backend.to_numpy(f.data).astype(np.float64))
            logits.append(backend.to_numpy(model.head(f).data).astype(np.float64))
    feats, logits = np.concatenate(feats), np.concatenate(logits)
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return feats, probs


def _device_of(images):
    return images.device if isinstance(images, Tensor) else backend.device_of(images)
