"""StackGAN++ (StackGAN-v2, Zhang et al. 2018), with the digit label as the "text": a tree of
generators 7 -> 14 -> 28 and one discriminator per branch, trained jointly, end to end.

One conditioning augmentation c_hat = mu(phi_t) + sigma(phi_t) * eps feeds every branch. The
hidden features of branch i are h_0 = F_0([z, c_hat]), h_i = F_i(h_{i-1}, c_hat), and branch i
draws s_i = G_i(h_i), an image at scale i:
    F_0: Linear -> BN -> ReLU -> (ngf, 7, 7)                       G_0: Conv3x3 -> tanh (7x7)
    F_1: join c_hat -> Conv3x3 -> BN -> ReLU -> n_res residual blocks -> gated up-sample block
         -> (ngf/2, 14, 14)                                        G_1: Conv3x3 -> tanh (14x14)
    F_2: the same on h_1 -> (ngf/4, 28, 28)                        G_2: Conv3x3 -> tanh (28x28)
Real images of the three scales are MNIST average-pooled 28 -> 7 and 28 -> 14, and 28 itself.

Each D_i (``stack_blocks.StageDiscriminator`` with both heads) approximates the conditional and
the unconditional image distribution of its scale jointly (the paper's eq. 5 and 6). As in the
authors' StackGAN-v2 code, the conditional term is matching-aware (a real image with a
mismatched label y' is a negative too) and every pair of D's inputs counts once, each with its
unconditional term beside its conditional one (the mismatched pair's image is real):

    L_Di = [-E log D_i(x_i, y)  - E log D_i(x_i)]               real
         + [-E log(1 - D_i(x_i, y')) - E log D_i(x_i)]          wrong: a real image, the wrong label
         + [-E log(1 - D_i(s_i, y))  - E log(1 - D_i(s_i))]     fake
    L_G  = sum_i [-E log D_i(s_i, y) - E log D_i(s_i)] + lambda D_KL(N(mu, Sigma) || N(0, I))

with the unconditional terms weighted by ``uncond_weight`` (1, theirs). With it at 0 the loss is
StackGAN's -E log D(x, y) - 1/2 [E log(1 - D(s, y)) + E log(1 - D(x, y'))], as their code falls
back to it. The colour-consistency regulariser is left out: the paper uses it for unconditional
generation, and MNIST has one channel. All three discriminators are summed into one loss and one
Adam (Adam is per-parameter, so this is three optimizers), G's branches share one: Adam(2e-4,
beta1 = 0.5), DCGAN initialisation. lambda = 1 multiplies the KL averaged over the c_dim
dimensions (the authors' code). The up-sampling blocks are gated, as the authors': nearest x2 ->
Conv3x3 to twice the channels -> BN -> GLU (a * sigmoid(b)); their code gates the joining
convolution, the residual blocks and the first dense layer too, which here keep ReLU.
One deviation from DCGAN initialisation: the mean rows of the CA's Linear are drawn from
N(0, ca_mean_std^2), std 1 (``stack_blocks.spread_ca_means_``). At 0.02 every digit starts with
nearly the same mu, so c_hat is the noise sigma * eps alone and G has nothing to follow; short runs
then barely follow the label (label accuracy 0.18 after 1,200 steps with 0.02, 0.10 by chance;
measured with the earlier recipe, before the StackGAN-v2 loss weights and the gated up-sampling).
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.gan.stack_blocks import (NUM_CLASSES, StackedConditional, StageDiscriminator, check_stack_config, join,
                                      spread_ca_means_, text_embedding, up_block)
from tinygan.nn.init import dcgan_init_
from tinygan.ops import avg_pool2d, concat, mean, sigmoid, upsample_nearest
from tinygan.optim import Adam
from tinygan.tensor import no_grad

SIZES = (7, 14, 28)


@dataclasses.dataclass
class StackGANppConfig(RecipeConfig):
    c_dim: int = 16            # conditioning augmentation's c_hat
    cond_dim: int = 16         # phi_t compressed in each D
    ngf: int = 32
    ndf: int = 16
    n_res: int = 1             # residual blocks in F_1 and F_2 (the paper: 2)
    kl_weight: float = 1.0     # lambda
    ca_mean_std: float = 1.0   # initial std of the CA's mean weights (DCGAN's 0.02 leaves c_hat label-blind)
    uncond_weight: float = 1.0
    bn_momentum: float = 0.1

    def __post_init__(self):
        check_stack_config(self, ("c_dim", "cond_dim", "ngf", "ndf"))
        if not self.uncond_weight >= 0:
            raise ValueError(f"uncond_weight: expected a non-negative number, got {self.uncond_weight!r}")


class Branch(nn.Module):
    """F_i for i > 0: h_{i-1} (C, H, W) and c_hat -> h_i (C/2, 2H, 2W)."""

    def __init__(self, channels, c_dim, n_res, m):
        super().__init__()
        self.joint = nn.Sequential(nn.Conv2d(channels + c_dim, channels, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(channels, momentum=m), nn.ReLU(),
                                   *[nn.ResidualBlock(channels, m) for _ in range(n_res)],
                                   up_block(channels, channels // 2, m, gated=True))

    def forward(self, h, c_hat):
        return self.joint(join(h, c_hat))


class TreeGenerator(nn.Module):
    """(z, labels, eps) -> ([s_0 (7x7), s_1 (14x14), s_2 (28x28)], D_KL of c_hat)."""

    def __init__(self, z_dim, c_dim, ngf, n_res, m):
        super().__init__()
        self.ca = nn.ConditioningAugmentation(NUM_CLASSES, c_dim)
        self.F0 = nn.Sequential(nn.Linear(z_dim + c_dim, ngf * 7 * 7, bias=False), nn.BatchNorm1d(ngf * 7 * 7, momentum=m),
                                nn.ReLU(), nn.Unflatten(1, (ngf, 7, 7)))
        self.F = nn.ModuleList([Branch(ngf, c_dim, n_res, m), Branch(ngf // 2, c_dim, n_res, m)])
        self.G = nn.ModuleList([nn.Sequential(nn.Conv2d(ch, 1, 3, padding=1), nn.Tanh()) for ch in (ngf, ngf // 2, ngf // 4)])

    def forward(self, z, labels, eps):
        c_hat, kl = self.ca(text_embedding(labels), eps)
        h = self.F0(concat([z, c_hat], axis=1))
        images = [self.G[0](h)]
        for F, G in zip(self.F, list(self.G)[1:]):
            h = F(h, c_hat)
            images.append(G(h))
        return images, kl


class StackGANpp(StackedConditional, Recipe):
    name = "stackganpp"
    paper = "Zhang et al. 2018, StackGAN++: Realistic Image Synthesis with Stacked GANs (arXiv:1710.10916)"
    Config = StackGANppConfig
    loss_formulas = {
        "D_i (i = 7, 14, 28)": "[-E log D_i(x_i, y) - E log D_i(x_i)] + [-E log(1 - D_i(x_i, y_wrong)) - E log D_i(x_i)] "
                               "+ [-E log(1 - D_i(s_i, y)) - E log(1 - D_i(s_i))]   (uncond terms x uncond_weight)",
        "G": "sum_i [-E log D_i(s_i) - E log D_i(s_i, y)] + lambda KL(N(mu, Sigma) || N(0, I))",
    }

    def build(self):
        c, m = self.config, self.config.bn_momentum
        self.G = TreeGenerator(c.z_dim, c.c_dim, c.ngf, c.n_res, m).to(self.device).apply(dcgan_init_)
        spread_ca_means_(self.G.ca, c.ca_mean_std)
        self.D = nn.ModuleList([StageDiscriminator(size, c.ndf, c.cond_dim, m, unconditional_head=True)
                                for size in SIZES]).to(self.device).apply(dcgan_init_)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))

    def sample_latent(self, n, labels=None):
        """(z, y, eps)."""
        z, y = self.noise_and_labels(n, labels)
        return z, y, self.randn(n, self.config.c_dim)

    def generate(self, latent):
        return self.G(*latent)[0][-1]

    def sample_images(self, latent):
        """The three branches side by side, up-sampled to 28x28: (N, 1, 28, 84)."""
        images = self.G(*latent)[0]
        return concat([upsample_nearest(s, 28 // s.shape[2]) if s.shape[2] < 28 else s for s in images], axis=3)

    @staticmethod
    def scales(real):
        """Real images of the three scales: 28 -> 7, 28 -> 14 (average pooling), 28."""
        return [avg_pool2d(real, 4), avg_pool2d(real, 2), real]

    def d_loss(self, real, labels):
        latent = self.sample_latent(real.shape[0], labels)
        y, y_wrong = latent[1], self.wrong_labels(latent[1])
        with no_grad():
            fakes = self.G(*latent)[0]
        w = self.config.uncond_weight
        total, info = 0.0, {}
        for size, D, x, s in zip(SIZES, self.D, self.scales(real), fakes):
            h_real, h_fake = D.encode(x), D.encode(s)
            real_c, wrong_c, fake_c = D.cond(h_real, y), D.cond(h_real, y_wrong), D.cond(h_fake, y)
            if w > 0:
                real_u, fake_u = D.uncond(h_real), D.uncond(h_fake)
                loss = (losses.bce_with_logits(real_c, 1.0) + losses.bce_with_logits(real_u, 1.0) * w      # real
                        + losses.bce_with_logits(wrong_c, 0.0) + losses.bce_with_logits(real_u, 1.0) * w  # wrong
                        + losses.bce_with_logits(fake_c, 0.0) + losses.bce_with_logits(fake_u, 0.0) * w)  # fake
                info[f"D{size}(G(z))"] = mean(sigmoid(fake_u)).detach()
            else:   # StackGAN's matching-aware loss, as the authors' code falls back to it
                loss = losses.bce_with_logits(real_c, 1.0) + (losses.bce_with_logits(wrong_c, 0.0)
                                                              + losses.bce_with_logits(fake_c, 0.0)) * 0.5
            info[f"D{size}(G(z),y)"] = mean(sigmoid(fake_c)).detach()
            total = total + loss
        info["d_loss"] = total.detach()
        return total, info

    def g_loss(self, n, labels):
        z, y, eps = self.sample_latent(n, labels)
        fakes, kl = self.G(z, y, eps)
        adv = 0.0
        for D, s in zip(self.D, fakes):
            h = D.encode(s)
            adv = adv + losses.g_loss_nonsaturating(D.cond(h, y)) + \
                losses.g_loss_nonsaturating(D.uncond(h)) * self.config.uncond_weight
        loss = adv + kl * (self.config.kl_weight / self.config.c_dim)
        return loss, {"g_loss": adv.detach(), "kl": kl.detach()}
