"""Coupled GANs (Liu & Tuzel, 2016): a joint distribution of two domains from unpaired data.

Two GANs, one per domain, whose generators share every layer but the output layer and whose
discriminators share every layer but the first. The first layers of a generator decode
high-level semantics (which digit, its slant and thickness), the last one renders them in a
domain's pixels; sharing the first forces one z to mean the same digit in both domains. Sharing
the discriminators' last layers (high-level features) does the same on the other side and
halves their parameters. Trained on unpaired images of A and B (disjoint halves of MNIST, as
the authors split it), one z then draws a *pair*: (G_A(z), G_B(z)) show the same digit.

    h = g_shared(z);  G_A(z) = g_A(h),  G_B(z) = g_B(h)
    D_A(x) = f_out(f_shared(f_A(x))),  D_B(x) = f_out(f_shared(f_B(x)))

    min_D  sum_{d in A,B}  -E log D_d(x_d) - E log(1 - D_d(G_d(z)))
    min_G  sum_{d in A,B}  -E log D_d(G_d(z))        (the non-saturating cost)

A shared layer is one Parameter object reached by both paths, so its gradient is the sum of the
two domains' gradients, as in the paper's weight-sharing constraint. The networks are the
authors' CoGen28x28 / CoDis28x28 (their released code), narrower for a CPU:

    g_shared: z (64) -> Dense 2c*7*7 -> BN -> ReLU -> ConvT(2c, c, 4, 2, 1) -> BN -> ReLU
              -> ConvT(c, c/2, 4, 2, 1) -> BN -> ReLU                                   (c/2, 28, 28)
    g_A, g_B: Conv(c/2, 1, 5, 1, 2) -> tanh                    the output layer, one per domain
    f_A, f_B: Conv(1, d, 5) -> MaxPool 2                       (d, 12, 12), one per domain
    f_shared: Conv(d, 5d/2, 5) -> MaxPool 2 -> Dense(hidden) -> LReLU 0.2     the last hidden layer
    f_out:    Dense 1                                          one logit (shared)

with c = 32 (the paper: 1024-512-256-128 transposed convolutions), and D at the paper's own
widths d = 20, 5d/2 = 50, hidden = 500 (a LeNet, PReLU there, LeakyReLU here; no batch-norm, as
theirs). Adam(2e-4, beta1 = 0.5) as in the paper; the authors' initialisation (``cogan_init_``):
Xavier-uniform weights with gain sqrt(2), biases 0.1. (DCGAN's N(0, 0.02) starves this D, which
has no batch-norm to rescale it: its classifier's loss had barely moved after 100 steps.)

**Domain adaptation** (``adapt=True``, the paper's application): a softmax classifier C on the
discriminator's last hidden layer, C_d(x) = f_cls(f_shared(f_d(x))), is trained with the labels
of domain A alone, inside D's step; B's images never come with labels. Because f_shared is fed
corresponding pairs (G_A(z), G_B(z)) through f_A and f_B, it learns to see both domains alike,
and C_B reads domain B's digits. The authors' released code weights the classification loss 10
and adds a small feature-matching term on the pairs, which this recipe keeps:

    min_D  L_GAN + CLS_WEIGHT CE(C_A(x_a), y_a) + FEATURE_WEIGHT E ||f_shared(f_A(G_A(z))) - f_shared(f_B(G_B(z)))||^2

(CLS_WEIGHT 10, FEATURE_WEIGHT 0.01, their values; the squared norm summed over the hidden units). To measure
what the coupling buys, the same step trains a *source-only* classifier C_src: the same layers,
the same initial weights, the same labelled batches, no GAN (``tinygan.metrics.domain_adaptation``
reads both on domain B's test images: "before" and "after").
"""

from __future__ import annotations

import dataclasses
import math

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.two_domain import TwoDomainConfig, TwoDomainRecipe
from tinygan.metrics.classifier import cross_entropy
from tinygan.nn.init import constant_, xavier_uniform_
from tinygan.ops import mean, reshape, stack, sum
from tinygan.optim import Adam
from tinygan.tensor import no_grad


CLS_WEIGHT = 10.0        # domain adaptation: the classification loss's weight in D's step (the authors' code)
FEATURE_WEIGHT = 0.01    # domain adaptation: the generated pairs' feature-matching term (the authors' code)


def cogan_init_(module):
    """The authors' initialisation, for ``model.apply(cogan_init_)``: every convolution, transposed
    convolution and dense layer gets Xavier-uniform weights with gain sqrt(2) and biases 0.1;
    batch-norm keeps (1, 0)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        xavier_uniform_(module.weight, gain=math.sqrt(2.0))
        if module.bias is not None:
            constant_(module.bias, 0.1)


@dataclasses.dataclass
class CoGANConfig(TwoDomainConfig):
    z_dim: int = 64
    channels: int = 32          # c: G's width (g_shared starts at 2c and ends at c/2 channels)
    d_channels: int = 20        # d: D's first convolution (its second has 5d/2)
    d_hidden: int = 500         # D's last hidden layer (the paper's 500)
    bn_momentum: float = 0.1
    adapt: bool = dataclasses.field(default=False, metadata={
        "help": "domain adaptation: train a digit classifier on D's shared layers with A's labels"})

    def __post_init__(self):
        super().__post_init__()
        for name in ("channels", "d_channels", "d_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 2:
                raise ValueError(f"{name}: expected an integer of at least 2, got {value!r}")
        if self.channels % 2:
            raise ValueError(f"channels: expected an even number (G ends with channels / 2), got {self.channels}")


class CoupledGenerator(nn.Module):
    """g_shared followed by one output layer per domain: ``forward(z) -> (G_A(z), G_B(z))``."""

    def __init__(self, z_dim, ch, bn_momentum):
        super().__init__()
        m = bn_momentum
        self.shared = nn.Sequential(
            nn.Linear(z_dim, 2 * ch * 7 * 7), nn.BatchNorm1d(2 * ch * 7 * 7, momentum=m), nn.ReLU(),
            nn.Unflatten(1, (2 * ch, 7, 7)),
            nn.ConvTranspose2d(2 * ch, ch, 4, 2, 1), nn.BatchNorm2d(ch, momentum=m), nn.ReLU(),
            nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1), nn.BatchNorm2d(ch // 2, momentum=m), nn.ReLU())
        self.head_a, self.head_b = (nn.Sequential(nn.Conv2d(ch // 2, 1, 5, 1, 2), nn.Tanh()) for _ in range(2))

    def forward(self, z):
        h = self.shared(z)
        return self.head_a(h), self.head_b(h)


def first_layer(d):
    """f_A or f_B: Conv(1, d, 5) -> MaxPool 2: (1, 28, 28) -> (d, 12, 12)."""
    return nn.Sequential(nn.Conv2d(1, d, 5), nn.MaxPool2d(2))


def shared_trunk(d, hidden):
    """f_shared: Conv(d, 5d/2, 5) -> MaxPool 2 -> Dense(hidden) -> LReLU: (d, 12, 12) -> (hidden,)."""
    return nn.Sequential(nn.Conv2d(d, 5 * d // 2, 5), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(5 * d // 2 * 4 * 4, hidden), nn.LeakyReLU(0.2))


class CoupledDiscriminator(nn.Module):
    """One first layer per domain, then f_shared and the read-outs: ``forward(x, domain)`` is the
    real/fake logit, ``classify(x, domain)`` the digit logits (with ``classes``), ``features`` the
    last hidden layer; domain "A" or "B"."""

    def __init__(self, d, hidden, classes=0):
        super().__init__()
        self.first_a, self.first_b = first_layer(d), first_layer(d)
        self.shared = shared_trunk(d, hidden)
        self.out = nn.Linear(hidden, 1)
        if classes:
            self.classifier = nn.Linear(hidden, classes)

    def features(self, x, domain):
        if domain not in ("A", "B"):
            raise ValueError(f"CoupledDiscriminator: domain: expected 'A' or 'B', got {domain!r}")
        return self.shared((self.first_a if domain == "A" else self.first_b)(x))

    def forward(self, x, domain):
        return self.out(self.features(x, domain))

    def classify(self, x, domain):
        return self.classifier(self.features(x, domain))


class SourceOnlyClassifier(nn.Module):
    """C_src: D's path for domain A and its classifier, as one plain network trained on A alone."""

    def __init__(self, d, hidden, classes):
        super().__init__()
        self.first, self.shared, self.classifier = first_layer(d), shared_trunk(d, hidden), nn.Linear(hidden, classes)

    def forward(self, x):
        return self.classifier(self.shared(self.first(x)))

    def copy_from(self, D):
        """Start from D's initial weights for domain A: the two classifiers then differ only by the GAN."""
        pairs = [(self.first, D.first_a), (self.shared, D.shared), (self.classifier, D.classifier)]
        for mine, theirs in pairs:
            for p, q in zip(mine.parameters(), theirs.parameters()):
                p.data[...] = q.data
        return self


class CoGAN(TwoDomainRecipe):
    name = "cogan"
    paper = "Liu & Tuzel 2016, Coupled Generative Adversarial Networks (arXiv:1606.07536)"
    Config = CoGANConfig
    tracked_scores = ("pair_consistency", "pair_consistency_kappa", "fid_a", "fid_b")
    loss_formulas = {
        "D": "sum_d [ -E log D_d(x_d) - E log(1 - D_d(G_d(z))) ],  d in {A, B}   "
             "[adapt: + 10 CE(C_A(x_a), y_a) + 0.01 E||f(G_A(z)) - f(G_B(z))||^2]",
        "G": "sum_d -E log D_d(G_d(z))   (G_A, G_B share all but their output layer; D_A, D_B all but their first)",
    }

    def build(self):
        c = self.config
        self.G = CoupledGenerator(c.z_dim, c.channels, c.bn_momentum).to(self.device).apply(cogan_init_)
        self.D = CoupledDiscriminator(c.d_channels, c.d_hidden, 10 if c.adapt else 0).to(self.device).apply(cogan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        d_params = list(self.D.parameters())
        self.frozen_in_g_step = ("D",)
        if c.adapt:
            self.C_src = SourceOnlyClassifier(c.d_channels, c.d_hidden, 10).to(self.device).copy_from(self.D)
            d_params += list(self.C_src.parameters())   # Adam is per parameter: two optimizers in one
            self.frozen_in_g_step = ("D", "C_src")
        self.opt_d = Adam(d_params, lr=c.lr, betas=(c.beta1, c.beta2))

    def networks(self):
        nets = {"G": self.G, "D": self.D}
        if self.config.adapt:
            nets["C_src"] = self.C_src
        return nets

    def generate_pair(self, latent):
        return self.G(*latent)

    def generate(self, latent):
        return self.G(*latent)[0]

    def d_loss(self, real, labels):
        x_a, x_b = real
        with no_grad():
            fake_a, fake_b = self.generate_pair(self.sample_latent(x_a.shape[0]))
        h_real_a, h_fake_a = self.D.features(x_a, "A"), self.D.features(fake_a, "A")
        h_fake_b = self.D.features(fake_b, "B")
        loss_a = losses.d_loss_bce(self.D.out(h_real_a), self.D.out(h_fake_a))
        loss_b = losses.d_loss_bce(self.D(x_b, "B"), self.D.out(h_fake_b))
        loss = loss_a + loss_b
        info = {"d_loss": loss.detach(), "d_loss_a": loss_a.detach(), "d_loss_b": loss_b.detach()}
        if self.config.adapt:
            if labels is None:
                raise ValueError("cogan --adapt: the batches carry no labels of domain A (make the loader "
                                 "with the recipe's make_loader and MNIST's labels)")
            cls = cross_entropy(self.D.classifier(h_real_a), labels)
            feature = mean(sum((h_fake_a - h_fake_b) ** 2, axis=1))
            src = cross_entropy(self.C_src(x_a), labels)
            loss = loss + cls * CLS_WEIGHT + feature * FEATURE_WEIGHT + src * CLS_WEIGHT
            info.update(cls=cls.detach(), feature=feature.detach(), cls_src=src.detach())
        return loss, info

    def g_loss(self, n, labels):
        fake_a, fake_b = self.generate_pair(self.sample_latent(n))
        loss_a = losses.g_loss_nonsaturating(self.D(fake_a, "A"))
        loss_b = losses.g_loss_nonsaturating(self.D(fake_b, "B"))
        loss = loss_a + loss_b
        return loss, {"g_loss": loss.detach(), "g_loss_a": loss_a.detach(), "g_loss_b": loss_b.detach()}

    def sample_images(self, latent):
        """Pairs side by side: G_A(z_1), G_B(z_1), G_A(z_2), G_B(z_2), ..."""
        a, b = self.generate_pair(latent)
        pairs = stack([a, b], axis=1)                     # (N, 2, 1, 28, 28)
        return reshape(pairs, (2 * a.shape[0],) + tuple(a.shape[1:]))

    def grid_columns(self, latent):
        return 2 * max(1, int(round(latent[0].shape[0] ** 0.5)))

    def evaluate(self, n=10000, seed=0, data=None):
        from tinygan.metrics.translation import evaluate_pairs
        scores = evaluate_pairs(self, n=n, seed=seed, data=data)
        if self.config.adapt:
            from tinygan.metrics.domain_adaptation import evaluate_adaptation
            scores.update(evaluate_adaptation(self, n=min(n, 10000), data=data))
        return scores
