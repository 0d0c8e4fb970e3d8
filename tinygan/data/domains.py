"""Second image domains made from MNIST: the negative, the edge image and the 90-degree rotation.

The two-domain GANs (CoGAN, DiscoGAN, CycleGAN) need a domain A and a domain B. Here A is MNIST
and B is MNIST passed through a known transform T, so that what a model learns can be measured
against T itself and the digit can still be read by the project's MNIST classifier:

    negative   T(x) = -x on [-1, 1]   (255 - u on uint8); T is its own inverse
    edges      T(x) = dilate(x) - erode(x), 3x3 square structuring element: the morphological
               gradient, bright on the strokes' outlines; not invertible (the fill is lost).
               On [-1, 1] the difference (in [0, 2]) is shifted by -1 so that it stays in [-1, 1]
               and matches the uint8 version u_max - u_min scaled as the DataLoader scales it.
    rot90      T(x) = x rotated by 90 degrees counter-clockwise in the image plane; T^-1 rotates
               back (k = -1). No pixelwise map can produce it: every output pixel comes from
               another place.

The negative and the edge image are the coupled-GAN paper's own MNIST tasks (Liu & Tuzel 2016).

Every transform takes images (N, H, W) or (N, C, H, W), uint8 or float in [-1, 1], as NumPy or
CuPy arrays (the array module comes from the input), and returns the same shape and dtype.
``Domain.view`` is what the classifier should look at to read the digit of a domain-B image:
T^-1(x) where T is invertible, x itself for the edge image (an approximation: the classifier
was trained on filled strokes; ``tinygan.metrics.translation`` reports how well it reads real
edge images, so that figure can be judged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from tinygan import backend


def _check(images, name):
    if not hasattr(images, "ndim") or images.ndim not in (3, 4):
        raise ValueError(f"{name}: images: expected an array of shape (N, H, W) or (N, C, H, W), "
                         f"got {getattr(images, 'shape', type(images).__name__)}")
    if images.dtype.kind not in "uf":
        raise TypeError(f"{name}: images: expected uint8 or float values, got {images.dtype}")


def negative(images):
    """-x on [-1, 1]; 255 - u on uint8. Its own inverse."""
    _check(images, "negative")
    if images.dtype.kind == "u":
        return (255 - images).astype(images.dtype)
    return -images


def rot90(images, k=1):
    """Rotate by k * 90 degrees counter-clockwise in the plane of the last two axes."""
    _check(images, "rot90")
    xp = backend.array_module(images)
    return xp.ascontiguousarray(xp.rot90(images, k, axes=(-2, -1)))


def rot90_inverse(images):
    return rot90(images, k=-1)


def _window_extreme(images, reduce):
    """max (or min) over every 3x3 window, edges padded with the value that changes nothing."""
    xp = backend.array_module(images)
    h, w = images.shape[-2:]
    fill = -xp.inf if reduce is xp.maximum else xp.inf
    if images.dtype.kind == "u":
        fill = 0 if reduce is xp.maximum else 255
    lead = ((0, 0),) * (images.ndim - 2)
    padded = xp.pad(images, lead + ((1, 1), (1, 1)), constant_values=fill)
    out = padded[..., 0:h, 0:w]
    for dy in range(3):
        for dx in range(3):
            out = reduce(out, padded[..., dy:dy + h, dx:dx + w])
    return out


def edges(images):
    """The morphological gradient dilate(x) - erode(x) with a 3x3 square (uint8: in [0, 255];
    float on [-1, 1]: the difference minus 1)."""
    _check(images, "edges")
    xp = backend.array_module(images)
    grad = _window_extreme(images, xp.maximum) - _window_extreme(images, xp.minimum)
    if images.dtype.kind == "u":
        return grad.astype(images.dtype)
    return (grad - images.dtype.type(1)).astype(images.dtype)


def _identity(images):
    return images


@dataclass(frozen=True)
class Domain:
    """A transform T of MNIST that makes domain B, its inverse (None if T has none), and a note."""

    name: str
    forward: Callable
    inverse: Optional[Callable]
    note: str

    def view(self, images):
        """What the MNIST classifier reads a domain-B image through: T^-1(x), or x if T has no inverse."""
        return self.inverse(images) if self.inverse is not None else _identity(images)

    def __call__(self, images):
        return self.forward(images)


DOMAINS = {
    "negative": Domain("negative", negative, negative, "-x: inverted intensities"),
    "edges": Domain("edges", edges, None, "dilation minus erosion (3x3): outlines; no inverse"),
    "rot90": Domain("rot90", rot90, rot90_inverse, "rotated 90 degrees counter-clockwise"),
}


def get_domain(name):
    """The Domain called ``name``; a clear error listing the known ones otherwise."""
    try:
        return DOMAINS[name]
    except KeyError:
        raise ValueError(f"domain_b: expected one of {', '.join(sorted(DOMAINS))}, got {name!r}") from None


__all__ = ["DOMAINS", "Domain", "edges", "get_domain", "negative", "rot90", "rot90_inverse"]
