"""The measures of what map a translation model learned (tinygan.metrics.mapping): the receptive
field of a convolution against a loop, its reach for a pixelwise and a rotating transform worked
out by hand, and the digit-mapping and correlation summaries on hand-made cases."""

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.data.domains import get_domain
from tinygan.metrics.mapping import class_mapping, pixel_correlation, receptive_field_mask, receptive_field_reach

from helpers import load_script


def test_receptive_field_of_a_3x3_convolution_and_its_reach(device):
    tg.manual_seed(0)
    conv = nn.Conv2d(1, 1, 3, padding=1).to(device)
    mask = receptive_field_mask(conv, 5, 5, samples=1, chunk=7, device=device)
    for p in range(25):
        for q in range(25):
            assert mask[p, q] == (abs(p // 5 - q // 5) <= 1 and abs(p % 5 - q % 5) <= 1), (p, q)
    assert receptive_field_reach(conv, get_domain("negative"), 5, 5, samples=1, device=device)["reach"] == 1.0
    # rot90 sends input (j, 4 - i) to output (i, j): seen only where |i - j| <= 1 and |4 - i - j| <= 1
    by_hand = sum(abs(i - j) <= 1 and abs(4 - i - j) <= 1 for i in range(5) for j in range(5)) / 25
    rot = receptive_field_reach(conv, get_domain("rot90"), 5, 5, samples=1, device=device)
    assert rot["reach"] == by_hand == 0.2
    assert rot["receptive_field_pixels"] == pytest.approx((4 * 4 + 4 * 3 * 6 + 9 * 9) / 25)


def test_class_mapping_of_a_relabelling_a_copy_and_a_mixture():
    y = np.arange(100) % 10
    shifted = class_mapping(y, (y + 1) % 10)
    assert shifted["preserved"] == 0.0 and shifted["consistency"] == 1.0 and shifted["mapping"] == [1, 2, 3, 4, 5,
                                                                                                     6, 7, 8, 9, 0]
    assert class_mapping(y, y)["preserved"] == 1.0
    half = np.where(np.arange(100) < 50, y, 3)            # half kept, half sent to 3
    m = class_mapping(y, half)
    assert m["preserved"] == pytest.approx(0.55) and m["consistency"] == pytest.approx(0.55)
    assert np.array(m["confusion"]).sum() == 100
    with pytest.raises(ValueError, match="one length"):
        class_mapping(y, y[:5])


def test_pixel_correlation():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 1, 3, 3))
    assert pixel_correlation(a, 2 * a + 1) == pytest.approx(1.0)
    assert pixel_correlation(a, -a) == pytest.approx(-1.0)
    assert pixel_correlation(np.ones((2, 3, 3)), a[:2, 0]) == 0.0


class _Maps:
    """A 'translation model' whose G_AB and G_BA are given functions of arrays."""

    def __init__(self, g_ab, g_ba):
        self.domain, self.device = get_domain("rot90"), "cpu"
        self.G_AB = lambda x: tg.Tensor(g_ab(x.data))
        self.G_BA = lambda x: tg.Tensor(g_ba(x.data))


def test_rot90_experiment_reads_the_true_map_and_a_pixelwise_one_apart(mnist_root):
    """The experiment's learned-map measures on two known maps: the rotation itself (the digit kept
    in B, correlation 1 with T(x)) and the identity, a pixelwise map whose cycle closes and which
    keeps the digit only where one reads it unrotated."""
    from tinygan.data import load_mnist
    from tinygan.data.domains import rot90, rot90_inverse
    script = load_script("rot90_experiment")
    images, labels = load_mnist("test", root=mnist_root)
    images, labels = images[:300], labels[:300]
    true = script.learned_map(_Maps(rot90, rot90_inverse), images, labels)
    assert true["preserved_in_b"] > 0.97 and true["preserved_through_cycle"] > 0.97
    assert true["correlation_with_T(x)"] == pytest.approx(1.0) and true["correlation_with_x"] < 0.5
    local = script.learned_map(_Maps(lambda x: x, lambda x: x), images, labels)
    assert local["read_as_is"] > 0.97 and local["preserved_through_cycle"] > 0.97
    assert local["preserved_in_b"] < 0.5 and local["correlation_with_x"] == pytest.approx(1.0)
