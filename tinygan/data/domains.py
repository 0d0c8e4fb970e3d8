"""Second image domains made from MNIST: the negative, the edge image and the 90-degree rotation.

The two-domain GANs (CoGAN, DiscoGAN, CycleGAN) need a domain A and a domain B. Here A is MNIST
and B is MNIST passed through a known transform T, so that what a model learns can be measured
against T itself and the digit can still be read by the project's MNIST classifier:

    negative   T(x) = -x on [-1, 1]   (255 - u on uint8); T is its own inverse
    edges      T(x) = dilate(x) - x, 3x3 square structuring element: the ring of pixels just
               outside each stroke, as the coupled-GAN authors make their MNIST edge domain
               (a 3x3 dilation minus the image); not invertible (the fill is lost). On [-1, 1]
               the difference (in [0, 2]) is shifted by -1 so that it stays in [-1, 1] and
               matches the uint8 version u_max - u scaled as the DataLoader scales it.
    rot90      T(x) = x rotated by 90 degrees counter-clockwise in the image plane; T^-1 rotates
               back (k = -1). No pixelwise map can produce it: every output pixel comes from
               another place.

The negative and the edge image are the coupled-GAN paper's own MNIST tasks (Liu & Tuzel 2016).

Every transform takes images (N, H, W) or (N, C, H, W), uint8 or float in [-1, 1], as NumPy or
CuPy arrays (the array module comes from the input), and returns the same shape and dtype.
``Domain.view`` is what the classifier should look at to read the digit of a domain-B image:
T^-1(x) where T is invertible, x itself for the edge image, which is read by a classifier of its
own (``Domain.reader``: the MNIST classifier reads outlines with only 63% accuracy, the one
trained on edge images with the accuracy its record states; ``tinygan.metrics.translation``
reports the reader's accuracy on real domain-B images beside every figure).
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


def dilate(images):
    """The maximum over every 3x3 window (a grey-scale dilation by a 3x3 square); outside the
    image counts as the lowest value, so the border changes nothing."""
    xp = backend.array_module(images)
    h, w = images.shape[-2:]
    fill = 0 if images.dtype.kind == "u" else -xp.inf
    lead = ((0, 0),) * (images.ndim - 2)
    padded = xp.pad(images, lead + ((1, 1), (1, 1)), constant_values=fill)
    out = padded[..., 0:h, 0:w]
    for dy in range(3):
        for dx in range(3):
            out = xp.maximum(out, padded[..., dy:dy + h, dx:dx + w])
    return out


def edges(images):
    """dilate(x) - x with a 3x3 square: the outline just outside the strokes (uint8: in [0, 255];
    float on [-1, 1]: the difference minus 1)."""
    _check(images, "edges")
    ring = dilate(images) - images
    if images.dtype.kind == "u":
        return ring.astype(images.dtype)
    return (ring - images.dtype.type(1)).astype(images.dtype)


def _identity(images):
    return images


@dataclass(frozen=True)
class Domain:
    """A transform T of MNIST that makes domain B, its inverse (None if T has none), a note, and
    the classifier that reads its images (``reader``: None for the MNIST classifier through
    ``view``, else the name of the domain whose own classifier reads them)."""

    name: str
    forward: Callable
    inverse: Optional[Callable]
    note: str
    reader: Optional[str] = None

    def view(self, images):
        """What the MNIST classifier reads a domain-B image through: T^-1(x), or x if T has no inverse."""
        return self.inverse(images) if self.inverse is not None else _identity(images)

    def __call__(self, images):
        return self.forward(images)


DOMAINS = {
    "negative": Domain("negative", negative, negative, "-x: inverted intensities"),
    "edges": Domain("edges", edges, None, "3x3 dilation minus the image: outlines; no inverse", reader="edges"),
    "rot90": Domain("rot90", rot90, rot90_inverse, "rotated 90 degrees counter-clockwise"),
}


def get_domain(name):
    """The Domain called ``name``; a clear error listing the known ones otherwise."""
    try:
        return DOMAINS[name]
    except KeyError:
        raise ValueError(f"domain_b: expected one of {', '.join(sorted(DOMAINS))}, got {name!r}") from None


__all__ = ["DOMAINS", "Domain", "dilate", "edges", "get_domain", "negative", "rot90", "rot90_inverse"]
