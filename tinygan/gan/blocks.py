"""Pieces several GAN variants share: a layer swap, one-hot codes, and the InfoGAN generator.

The variants build on the networks of ``vanilla`` and ``dcgan`` rather than copying them; where a
paper changes one detail (WGAN-GP's critic has layer-norm where DCGAN's has batch-norm, the
seed's conditional generator has one batch-norm fewer), ``swap_layers`` says exactly that.
"""

from __future__ import annotations

from tinygan import backend, nn
from tinygan.tensor import Tensor


def swap_layers(net, kind, make):
    """A Sequential with the layers of ``net`` in order, each layer of type ``kind`` replaced by
    ``make(layer)`` (dropped when that returns None). The other layers are the same objects."""
    layers = []
    for layer in net:
        if isinstance(layer, kind):
            layer = make(layer)
        if layer is not None:
            layers.append(layer)
    return nn.Sequential(*layers)


def one_hot(indices, num_classes, dtype="float32"):
    """(N,) integer class indices (an array or a Tensor) -> a constant (N, num_classes) Tensor of
    0s and 1s, on the device of the indices."""
    idx = indices.data if isinstance(indices, Tensor) else indices
    xp = backend.array_module(idx)
    return Tensor(xp.eye(num_classes, dtype=dtype)[idx])


def infogan_generator(in_features, bn_momentum):
    """The InfoGAN paper's MNIST generator (also the LSGAN seed article's):

        Dense 1024 -> BN -> ReLU -> Dense 128*7*7 -> BN -> ReLU -> reshape (128, 7, 7)
          -> ConvT(128, 64, 4, 2, 1) -> BN -> ReLU -> ConvT(64, 1, 4, 2, 1) -> tanh

    Both dense layers are batch-normalised per feature, as in the paper. (Normalising the second
    one per channel of the reshaped map instead, as DCGAN's generator does, lets G collapse within
    ~50 steps here: the ReLU outputs feeding it are positive, so a few coherent Adam steps give each
    of the 6272 outputs a sample-independent offset that per-channel statistics do not remove and
    that swamps the part that depends on z.)"""
    return nn.Sequential(
        nn.Linear(in_features, 1024), nn.BatchNorm1d(1024, momentum=bn_momentum), nn.ReLU(),
        nn.Linear(1024, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7, momentum=bn_momentum), nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64, momentum=bn_momentum), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())


__all__ = ["infogan_generator", "one_hot", "swap_layers"]
