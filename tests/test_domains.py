"""The domain transforms of tinygan.data.domains and the two-domain loader.

The negative and the rotation are checked as exact involutions / inverses and against loops
written here; the edge image (3x3 dilation minus the image) against a hand-made picture worked
out by hand and against a loop. The loader: shapes, independent orders, exact resume, disjoint halves.
"""

import numpy as np
import pytest

from tinygan.data import TwoDomainLoader
from tinygan.data.domains import DOMAINS, edges, get_domain, negative, rot90, rot90_inverse


@pytest.fixture
def u8():
    return np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)


def to_float(u):
    return u.astype(np.float32) / np.float32(127.5) - np.float32(1)


def test_negative_is_an_exact_involution_on_uint8_and_float(u8):
    assert np.array_equal(negative(u8), 255 - u8.astype(np.int64))
    assert np.array_equal(negative(negative(u8)), u8)
    x = to_float(u8)
    assert np.array_equal(negative(negative(x)), x)
    assert np.array_equal(negative(x), -x)
    np.testing.assert_allclose(to_float(negative(u8)), negative(x), atol=1e-6)  # 255 - u <-> -x


def test_rot90_matches_a_loop_and_its_inverse_is_exact(u8):
    out = rot90(u8)
    n, h, w = u8.shape
    ref = np.empty_like(u8)
    for i in range(h):
        for j in range(w):
            ref[:, i, j] = u8[:, j, w - 1 - i]  # counter-clockwise: the top row becomes the left column
    assert np.array_equal(out, ref)
    assert np.array_equal(rot90_inverse(rot90(u8)), u8)
    assert np.array_equal(rot90(rot90(rot90(rot90(u8)))), u8)
    x4 = to_float(u8)[:, None]
    assert rot90(x4).shape == x4.shape and np.array_equal(rot90_inverse(rot90(x4)), x4)


def test_edges_of_a_hand_made_image():
    img = np.zeros((1, 7, 7), dtype=np.uint8)
    img[0, 2:5, 2:5] = 200                    # a 3x3 square of 200 on black
    img[0, 3, 3] = 120                        # a darker centre: inside the stroke the ring is 0
    out = edges(img)[0]
    # dilate: 200 on the 5x5 block around the square (and at its centre); minus the image:
    # 200 on the one-pixel ring outside the square, 80 at the centre, 0 on the square itself.
    expected = np.zeros((7, 7), dtype=np.uint8)
    expected[1:6, 1:6] = 200
    expected[2:5, 2:5] = 0
    expected[3, 3] = 80
    assert np.array_equal(out, expected)
    flat = np.full((1, 5, 5), 77, dtype=np.uint8)
    assert np.array_equal(edges(flat), np.zeros_like(flat))  # no outline in a constant image


def test_edges_float_matches_uint8_and_a_loop(u8):
    ref = np.empty(u8.shape, dtype=np.int64)
    p = np.pad(u8.astype(np.int64), ((0, 0), (1, 1), (1, 1)), mode="edge")
    for i in range(28):
        for j in range(28):
            win = p[:, i:i + 3, j:j + 3].reshape(len(u8), -1)
            ref[:, i, j] = win.max(axis=1) - u8[:, i, j]
    assert np.array_equal(edges(u8), ref)          # edge padding = padding with neutral values
    np.testing.assert_allclose(edges(to_float(u8)), to_float(edges(u8)), atol=1e-5)
    assert edges(to_float(u8)).dtype == np.float32


def test_domain_view_inverts_where_it_can(u8):
    for name in ("negative", "rot90"):
        d = get_domain(name)
        assert np.array_equal(d.view(d(u8)), u8)
    assert np.array_equal(DOMAINS["edges"].view(u8), u8)  # no inverse: the image itself


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="domain_b: expected one of edges, negative, rot90, got 'blur'"):
        get_domain("blur")
    with pytest.raises(ValueError, match=r"edges: images: expected an array of shape \(N, H, W\)"):
        edges(np.zeros((28, 28), dtype=np.uint8))
    with pytest.raises(TypeError, match="negative: images: expected uint8 or float values, got bool"):
        negative(np.zeros((1, 2, 2), dtype=bool))


def batches(loader, k):
    out = []
    for (a, b), labels in loader:
        assert labels is None
        out.append((a.numpy().copy(), b.numpy().copy()))
        if len(out) == k:
            break
    return out


def test_two_domain_loader_shapes_orders_and_exact_resume():
    rng = np.random.default_rng(1)
    images_a = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    images_b = negative(images_a)                  # the same images, so equal orders would show
    loader = TwoDomainLoader(images_a, images_b, batch_size=8, seed_a=3, seed_b=4)
    assert len(loader) == 5
    first = batches(loader, 3)
    a, b = first[0]
    assert a.shape == b.shape == (8, 1, 28, 28) and a.dtype == np.float32
    assert not np.allclose(-a, b)                  # B is shuffled on its own, not paired with A
    state = loader.state_dict()
    assert loader.epoch == 0 and loader.batch == 3
    rest = batches(loader, 4)                      # crosses into epoch 1
    resumed = TwoDomainLoader(images_a, images_b, batch_size=8, seed_a=0, seed_b=0)
    resumed.load_state_dict(state)
    again = batches(resumed, 4)
    for (a1, b1), (a2, b2) in zip(rest, again):
        assert np.array_equal(a1, a2) and np.array_equal(b1, b2)
    with pytest.raises(ValueError, match="state: expected a dict with keys 'a' and 'b'"):
        resumed.load_state_dict({"seed": 0})


def _ids_of_each_stream(recipe, images, labels):
    """The ids (pixel [0, 0] of each image) that the two streams of a recipe's loader draw in an epoch."""
    loader = recipe.make_loader(images, labels, batch_size=4, device="cpu")
    ids_a = {int(round((a[0, 0, 0] + 1) * 127.5)) for (x_a, _), _ in loader for a in x_a.numpy()}
    loader.b.epoch, loader.b.batch = 0, 0
    ids_b = set()
    for x_b, _ in loader.b:
        ids_b |= {255 - int(round((b[0, 0, 0] + 1) * 127.5)) for b in x_b.numpy()}
    return ids_a, ids_b


def test_every_two_domain_recipe_sees_disjoint_halves_and_carries_the_labels_of_a():
    from tinygan.gan import CoGAN, CycleGAN
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(64)                # an id in each image
    labels = np.arange(64, dtype=np.int64) % 10
    for recipe in (CycleGAN(CycleGAN.Config(channels=2, n_res=1, domain_b="negative")),
                   CoGAN(CoGAN.Config(channels=2, z_dim=4, d_channels=2, d_hidden=4))):
        ids_a, ids_b = _ids_of_each_stream(recipe, images, labels)
        assert ids_a == set(range(32)) and ids_b == set(range(32, 64)), recipe.name
    (x_a, _), y_a = next(iter(recipe.make_loader(images, labels, batch_size=4, device="cpu")))
    ids = np.rint((x_a.numpy()[:, 0, 0, 0] + 1) * 127.5).astype(int)
    np.testing.assert_array_equal(y_a, ids % 10)   # each image of A with its own label
