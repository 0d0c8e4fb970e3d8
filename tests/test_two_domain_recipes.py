"""CoGAN, DiscoGAN and CycleGAN: their new layer, their history buffer, their weight sharing,
their measures, and short training runs through the real Trainer on real MNIST.

- InstanceNorm2d: first and second derivatives by central differences (float64), and its
  forward against a per-sample, per-channel loop.
- The history buffer: fills first, then returns each new image or a stored one, swapping them;
  its state round-trips exactly; size 0 passes the fakes through.
- CoGAN's sharing: everything but G's output layers and D's first layers is one Parameter object
  reached by both domains' paths, listed once, whose gradient is the sum of the two paths' gradients.
- The measures on oracle "generators" that apply the true transform: preservation and pair
  consistency 1, cycle and transform errors 0; on a constant generator: kappa 0.
- Each recipe trains a few dozen steps with narrow networks and must learn something; CycleGAN's
  run resumes exactly (its history buffer is part of the checkpoint); ``tinygan sample`` draws a
  translation grid; CoGAN's domain adaptation reads domain B's digits clearly better than the
  source-only classifier trained beside it (which reads negatives below chance).
"""


import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, gradcheck, gradgradcheck, nn
from tinygan.data import load_mnist
from tinygan.data.domains import get_domain
from tinygan.gan import CoGAN, CycleGAN, DiscoGAN, TrainConfig, Trainer
from tinygan.gan.history import HistoryBuffer
from tinygan.metrics import classifier
from tinygan.metrics.translation import agreement, chance_agreement, evaluate_pairs, evaluate_translation, kappa
from tinygan.tensor import Tensor
from tinygan.viz import read_metrics

from helpers import load_script, tensor



# -- InstanceNorm2d ---------------------------------------------------------------------------
def _instance_norm(device, rng):
    m = nn.InstanceNorm2d(3).to(device).double()
    m.weight.data[...] = backend.to_device(rng.uniform(0.5, 1.5, 3), device)
    m.bias.data[...] = backend.to_device(rng.normal(0, 1, 3), device)
    return m


def test_instance_norm_gradcheck_and_gradgradcheck(device):
    rng = np.random.default_rng(0)
    m = _instance_norm(device, rng)
    x = tensor(rng.normal(0, 1, (2, 3, 3, 4)), device, requires_grad=True)
    assert gradcheck(lambda x, *p: m(x), [x, *m.parameters()])
    assert gradgradcheck(lambda x, *p: m(x), [x, *m.parameters()])


def test_instance_norm_matches_a_loop_and_is_the_same_in_eval(device):
    rng = np.random.default_rng(1)
    m = _instance_norm(device, rng)
    x = rng.normal(2, 3, (2, 3, 4, 5))
    out = m(tensor(x, device)).numpy()
    w, b = m.weight.numpy(), m.bias.numpy()
    for n in range(2):
        for c in range(3):
            v = x[n, c]
            ref = (v - v.mean()) / np.sqrt(v.var() + 1e-5) * w[c] + b[c]
            np.testing.assert_allclose(out[n, c], ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(m.eval()(tensor(x, device)).numpy(), out)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="InstanceNorm2d: expected more than 1 value per channel"):
        nn.InstanceNorm2d(2)(Tensor(np.zeros((1, 2, 1, 1), dtype=np.float32)))
    with pytest.raises(ValueError, match="num_features: expected a positive integer, got 0"):
        nn.InstanceNorm2d(0)


# -- the history buffer ------------------------------------------------------------------------
def _fakes(start, n):
    """Images whose every pixel is their id, so that which image came back can be read off."""
    return Tensor(np.arange(start, start + n, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 2, 2), np.float32))


def ids(t):
    return [int(v) for v in t.numpy()[:, 0, 0, 0]]


def test_history_buffer_fills_then_mixes_old_and_new():
    tg.manual_seed(0)
    buf = HistoryBuffer(4)
    assert ids(buf.query(_fakes(0, 3))) == [0, 1, 2] and len(buf) == 3
    out = ids(buf.query(_fakes(3, 3)))            # one more fills it; the next two may swap
    assert out[0] == 3 and len(buf) == 4
    seen, swaps = set(range(6)), 0
    for step in range(2, 40):
        new = list(range(3 * step, 3 * step + 3))
        stored_before = set(ids(Tensor(buf.images)))
        out = ids(buf.query(_fakes(3 * step, 3)))
        for i, (o, n) in enumerate(zip(out, new)):
            # the new image, or one stored before it (images are processed in order, so an
            # earlier image of the same batch may already have been swapped in)
            assert o == n or o in stored_before | set(new[:i])
            swaps += o != n
        stored_after = set(ids(Tensor(buf.images)))
        assert stored_after <= seen | set(new) and len(buf) == 4
        seen |= set(new)
    assert 0.3 < swaps / (38 * 3) < 0.7           # about half the images come from the history


def test_history_buffer_state_resumes_exactly_and_size_zero_passes_through():
    tg.manual_seed(1)
    buf = HistoryBuffer(5)
    for k in range(4):
        buf.query(_fakes(10 * k, 3))
    state, rng = buf.state_dict(), tg.random.get_rng_state()
    after = [ids(buf.query(_fakes(100 + 3 * k, 3))) for k in range(5)]
    other = HistoryBuffer(5)
    other.load_state_dict({k: np.asarray(v) if hasattr(v, "shape") else v for k, v in state.items()})
    tg.random.set_rng_state(rng)
    assert [ids(other.query(_fakes(100 + 3 * k, 3))) for k in range(5)] == after
    assert ids(HistoryBuffer(0).query(_fakes(7, 2))) == [7, 8]
    with pytest.raises(ValueError, match="HistoryBuffer: size: expected a non-negative integer"):
        HistoryBuffer(-1)


# -- CoGAN's weight sharing ----------------------------------------------------------------------
def test_cogan_shares_one_parameter_whose_gradient_is_the_sum_of_both_paths():
    tg.manual_seed(0)
    recipe = CoGAN(CoGAN.Config(z_dim=8, channels=4, d_channels=4, d_hidden=16))
    G, D = recipe.G, recipe.D
    shared = G.shared[0].weight
    names = [name for name, p in G.named_parameters() if p is shared]
    assert names == ["shared.0.weight"]                 # listed (and checkpointed) once
    assert len(list(G.parameters())) == len({id(p) for p in G.parameters()})
    z = recipe.sample_latent(6)

    def grads(which):
        G.zero_grad()
        D.zero_grad()
        a, b = G(*z)
        loss = sum(tg.ops.sum(t * t) for t in ((a,) if which == "a" else (b,) if which == "b" else (a, b)))
        loss = loss + tg.ops.sum(D(a, "A")) * (which != "b") + tg.ops.sum(D(b, "B")) * (which != "a")
        loss.backward()
        return shared.grad.numpy().copy(), D.shared[0].weight.grad.numpy().copy()

    (ga, da), (gb, db), (gab, dab) = grads("a"), grads("b"), grads("ab")
    assert np.abs(ga).max() > 0 and np.abs(gb).max() > 0 and not np.allclose(ga, gb)
    # float32 sums of many terms, added in another order: agreement to ~1e-5 of the gradients' scale
    np.testing.assert_allclose(gab, ga + gb, rtol=1e-4, atol=1e-5 * np.abs(ga + gb).max())
    np.testing.assert_allclose(dab, da + db, rtol=1e-4, atol=1e-5 * np.abs(da + db).max())
    a, b = G(*z)                                        # one z, two images from one shared code
    assert a.shape == b.shape == (6, 1, 28, 28)
    assert G.head_a[0].weight is not G.head_b[0].weight
    # all of G but its output layer, all of D but its first layer, as the authors share them
    assert {n.split(".")[0] for n, _ in G.named_parameters()} == {"shared", "head_a", "head_b"}
    assert [n for n, _ in G.named_parameters() if n.startswith("head_a")] == ["head_a.0.weight", "head_a.0.bias"]
    assert {n for n, _ in D.named_parameters() if not n.startswith(("shared.", "out."))} == {
        "first_a.0.weight", "first_a.0.bias", "first_b.0.weight", "first_b.0.bias"}


# -- the measures ---------------------------------------------------------------------------------
def test_agreement_chance_and_kappa_closed_forms():
    p = np.eye(10)[[0, 0, 0, 1]]
    q = np.eye(10)[[0, 0, 1, 1]]
    assert agreement(p, q) == 0.75
    assert chance_agreement(p, q) == pytest.approx(0.75 * 0.5 + 0.25 * 0.5)
    assert kappa(0.75, 0.5) == 0.5 and kappa(1.0, 1.0) == 0.0


class OracleTranslation:
    """G_AB = T and G_BA = T^-1 exactly: what a perfect translation model would do."""

    def __init__(self, domain_b):
        self.domain, self.device = get_domain(domain_b), "cpu"
        self.G_AB = lambda x: Tensor(self.domain(x.data))
        self.G_BA = lambda x: Tensor(self.domain.inverse(x.data))

    def networks(self):
        return {}

    def translate(self, x_a, x_b):
        return self.G_AB(x_a), self.G_BA(x_b)


@pytest.mark.parametrize("domain_b", ["negative", "rot90"])
def test_translation_measures_of_an_oracle(domain_b, mnist_root):
    s = evaluate_translation(OracleTranslation(domain_b), n=200, data=mnist_root)
    assert s["preservation_ab"] == 1.0 and s["preservation_ba"] == 1.0
    assert s["preservation_ab_kappa"] == 1.0
    for k in ("cycle_l1_a", "cycle_l1_b", "transform_l1_ab", "transform_l1_ba"):
        assert s[k] < 1e-6
    assert s["classifier_accuracy_real_b"] > 0.99
    assert s["fid_ab"] < 50 and s["fid_ba"] < 50  # 200 real images (FID is biased up at small n; noise: ~3000)


class PairsFrom:
    """A 'CoGAN' whose pairs are (x, T(x)) or (x, T(constant)) for real test images x."""

    def __init__(self, domain_b, images, consistent):
        self.domain, self.device, self.images, self.consistent = get_domain(domain_b), "cpu", images, consistent
        self.used = 0

    def networks(self):
        return {}

    def sample_inputs(self, n):
        x = self.images[self.used:self.used + n]
        self.used += n
        return (x,)

    def generate_pair(self, latent):
        x = latent[0].astype(np.float32) / np.float32(127.5) - 1
        b = self.domain(x if self.consistent else np.repeat(x[:1], len(x), axis=0))
        return Tensor(x[:, None]), Tensor(b[:, None])


def test_pair_consistency_of_true_pairs_and_of_a_collapsed_domain(mnist_root):
    images, _ = load_mnist("test", root=mnist_root)
    good = evaluate_pairs(PairsFrom("negative", images, True), n=200, data=mnist_root)
    assert good["pair_consistency"] == 1.0 and good["pair_consistency_kappa"] == 1.0
    assert good["classes_covered_a"] == good["classes_covered_b"] == 10
    bad = evaluate_pairs(PairsFrom("negative", images, False), n=200, data=mnist_root)
    assert bad["classes_covered_b"] == 1 and abs(bad["pair_consistency_kappa"]) < 1e-9
    assert bad["fid_b"] > 10 * good["fid_b"]
    # through the true T: the negative's view inverts it, so a perfect pair reads 1 whatever G_A drew;
    # the collapsed B agrees with T(G_A(z)) only where G_A drew the one digit B always draws
    assert good["pair_consistency_ceiling"] == bad["pair_consistency_ceiling"] == 1.0
    assert good["pair_consistency_t"] == 1.0 and bad["pair_consistency_t"] < 0.3


def test_pair_consistency_ceiling_on_edges_is_the_two_readers_agreement(mnist_root):
    """For true pairs (x, T(x)) on edges, the pair consistency is the ceiling itself: the MNIST
    classifier on x against the edge reader on T(x), computed here directly."""
    images, _ = load_mnist("test", root=mnist_root)
    s = evaluate_pairs(PairsFrom("edges", images[:300], True), n=300, data=mnist_root)
    x = images[:300].astype(np.float32) / np.float32(127.5) - 1
    p_a = classifier.features_and_probs(x[:, None], model=classifier.load_classifier("cpu"))[1]
    p_t = classifier.features_and_probs(get_domain("edges")(x)[:, None],
                                        model=classifier.load_classifier("cpu", domain="edges"))[1]
    assert s["pair_consistency_ceiling"] == np.mean(p_a.argmax(1) == p_t.argmax(1)) == s["pair_consistency"]
    assert s["pair_consistency_t"] == 1.0 and s["pair_consistency_ceiling"] > 0.95


# -- short training runs -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist(mnist_root):
    """256 real training digits, their labels, and where MNIST was found."""
    images, labels = load_mnist("train", root=mnist_root)
    idx = np.random.default_rng(0).choice(len(images), 256, replace=False)
    return images[idx], labels[idx], mnist_root


def train(recipe, mnist, out, steps, batch_size=8, resume=False):
    images, labels, recipe.data_root = mnist
    loader = recipe.make_loader(images, labels, batch_size=batch_size, device="cpu")
    config = TrainConfig(steps=steps, log_every=1, sample_every=10_000, checkpoint_every=steps)
    trainer = Trainer(recipe, loader, out, config, log=lambda line: None)
    trainer.fit(resume=resume)
    for name, m in recipe.networks().items():
        for p in m.parameters():  # after a generator step the discriminators hold no gradient
            assert p.data.dtype == np.float32 and (p.grad is None or p.grad.dtype == np.float32)
            assert p.grad is not None or name in recipe.frozen_in_g_step
    return [r for r in read_metrics(out / "metrics.jsonl") if "it_per_s" in r]


def _mean(records, key, part):
    vals = [r[key] for r in records]
    k = max(1, len(vals) // 4)
    return float(np.mean(vals[:k] if part == "first" else vals[-k:]))


def test_cogan_trains(mnist, tmp_path):
    tg.manual_seed(0)
    recipe = CoGAN(CoGAN.Config(z_dim=16, channels=8, d_channels=6, d_hidden=32, domain_b="negative", lr=1e-3))
    records = train(recipe, mnist, tmp_path, steps=30)
    # D learns to tell each domain's reals from the fakes: its loss, a sum over the two domains,
    # falls below the 4 log 2 = 2.77 of a discriminator that cannot tell them apart.
    assert _mean(records, "d_loss", "last") < min(_mean(records, "d_loss", "first"), 4 * np.log(2))
    grid = recipe.sample_images(recipe.sample_latent(4))
    assert grid.shape == (8, 1, 28, 28) and recipe.grid_columns(recipe.sample_latent(4)) == 4


def test_cogan_domain_adaptation_reads_b_better_than_the_source_only_classifier(mnist_root, tmp_path, capsys):
    """With --adapt, D's shared layers carry a digit classifier trained on A's labels only. On the
    negative domain the source-only classifier (same layers, same start, same batches, no GAN)
    reads B's test digits below chance; after 80 coupled steps the adapted one reads far more."""
    from tinygan.metrics.domain_adaptation import evaluate_adaptation
    images, labels = load_mnist("train", root=mnist_root)
    idx = np.random.default_rng(0).choice(len(images), 512, replace=False)
    tg.manual_seed(0)
    recipe = CoGAN(CoGAN.Config(z_dim=32, channels=4, d_channels=8, d_hidden=32, domain_b="negative", lr=1e-3,
                                adapt=True))
    assert set(recipe.networks()) == {"G", "D", "C_src"} and recipe.frozen_in_g_step == ("D", "C_src")
    for a, b in zip(recipe.C_src.parameters(), [*recipe.D.first_a.parameters(), *recipe.D.shared.parameters(),
                                                *recipe.D.classifier.parameters()]):
        assert np.array_equal(a.numpy(), b.numpy())   # the two classifiers start equal
    records = train(recipe, (images[idx], labels[idx], mnist_root), tmp_path, steps=80, batch_size=32)
    assert records[-1]["cls"] < 0.8 * records[0]["cls"] and records[-1]["cls_src"] < 0.8 * records[0]["cls_src"]
    s = evaluate_adaptation(recipe, n=2000, data=mnist_root)
    assert s["adapt_accuracy_a"] > 0.5 and s["source_only_accuracy_a"] > 0.5   # both learned A's digits
    assert s["source_only_accuracy_b"] < 0.15                                   # 80 steps: 0.016 here
    assert s["adapt_accuracy_b"] > s["source_only_accuracy_b"] + 0.15           # 80 steps: 0.29 here
    scores = recipe.evaluate(n=200, data=mnist_root)                            # `tinygan eval` reports them
    assert scores["adapt_accuracy_b"] == evaluate_adaptation(recipe, n=200, data=mnist_root)["adapt_accuracy_b"]
    assert "pair_consistency" in scores
    script = load_script("domain_adaptation")                                       # and the script, from the checkpoint
    assert script.main([str(tmp_path / "checkpoint.npz"), "--n", "2000", "--data", str(mnist_root)]) == 0
    assert f"| {tmp_path.name} | negative | 80 | {s['source_only_accuracy_b']:.3f} | {s['adapt_accuracy_b']:.3f} |" \
        in capsys.readouterr().out
    with pytest.raises(ValueError, match="expected a CoGAN trained with adapt=True"):
        evaluate_adaptation(CoGAN(CoGAN.Config(channels=2, z_dim=4, d_channels=2, d_hidden=4)))


def test_discogan_learns_to_reconstruct(mnist, tmp_path):
    tg.manual_seed(0)
    recipe = DiscoGAN(DiscoGAN.Config(channels=8, domain_b="negative", lr=1e-3))
    records = train(recipe, mnist, tmp_path, steps=30)
    for key in ("const_a", "const_b"):
        assert _mean(records, key, "last") < 0.85 * _mean(records, key, "first")  # 30 steps: 0.91 -> 0.72


def test_cyclegan_learns_to_reconstruct_resumes_exactly_and_samples(mnist, tmp_path):
    from tinygan import cli
    cfg = CycleGAN.Config(channels=4, n_res=1, domain_b="rot90", lr=1e-3, pool_size=6)
    tg.manual_seed(0)
    full = train(CycleGAN(cfg), mnist, tmp_path / "full", steps=24)
    assert _mean(full, "cycle", "last") < 0.7 * _mean(full, "cycle", "first")
    tg.manual_seed(0)
    half = CycleGAN(cfg)
    train(half, mnist, tmp_path / "half", steps=12)
    assert len(half.history_a) == 6                      # 12 steps of 8 fakes: the buffer is full
    tg.manual_seed(5)                                    # the resumed run must not depend on this
    resumed = train(CycleGAN(cfg), mnist, tmp_path / "half", steps=24, resume=True)
    assert [r["g_loss"] for r in resumed] == [r["g_loss"] for r in full]
    assert [r["d_loss"] for r in resumed] == [r["d_loss"] for r in full]
    out = tmp_path / "grid.png"
    assert cli.main(["sample", str(tmp_path / "full" / "checkpoint.npz"), "--n", "9", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    recipe, _ = cli.load_run(tmp_path / "full" / "checkpoint.npz")
    latent = recipe.sample_inputs(9)
    assert recipe.sample_images(latent).shape == (18, 1, 28, 28) and recipe.grid_columns(latent) == 3
