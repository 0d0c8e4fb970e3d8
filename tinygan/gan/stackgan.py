"""StackGAN (Zhang et al. 2017), with the digit label as the "text": sketch at 14x14, then refine to 28x28.

The text embedding phi_t (here the one-hot label, ``stack_blocks.text_embedding``) enters each
generator through conditioning augmentation (``nn.ConditioningAugmentation``): c_hat = mu(phi_t)
+ sigma(phi_t) * eps, with lambda D_KL(N(mu, Sigma) || N(0, I)) added to the generator's loss.

Stage-I GAN sketches a low-resolution image, s_0 = G_0(z, c_hat_0), against real MNIST
down-sampled 28 -> 14 by 2x2 average pooling:
    G_0: [z, c_hat_0] -> Linear -> BN -> ReLU -> (ngf, 7, 7) -> up-sample block -> (ngf/2, 14, 14)
         -> Conv3x3 -> tanh
    L_D0 = -E log D_0(I_0, phi_t) - E log(1 - D_0(s_0, phi_t))
    L_G0 = -E log D_0(s_0, phi_t) + lambda D_KL(N(mu_0, Sigma_0) || N(0, I))   (non-saturating)
Stage-II GAN has no z: it refines the Stage-I sketch, with its own conditioning augmentation,
    s = G(s_0, c_hat):  s_0 -> Conv3x3 -> ReLU -> Conv4x4/2 -> BN -> ReLU (down-sampling to 7x7)
         -> join c_hat spatially -> Conv3x3 -> BN -> ReLU -> n_res residual blocks
         -> 2 up-sample blocks (7 -> 14 -> 28) -> Conv3x3 -> tanh
    L_D = -E log D(I, phi_t) - E log(1 - D(s, phi_t)),  L_G = -E log D(s, phi_t) + lambda D_KL
Both discriminators (``stack_blocks.StageDiscriminator``) encode the image down to 7x7, join
phi_t compressed to N_d numbers, mix with a 1x1 convolution and read out one logit. They are
matching-aware, as the paper says (Reed et al.'s GAN-CLS): negatives are the fakes with their
labels AND real images with a mismatched label (y + U{1..9} mod 10); as in the authors' code the
two negative terms are weighted 1/2 each.

Schedule (the paper's order, not its length): Stage-I is trained for ``stage1_steps`` generator
steps; then G_0 is frozen (weights and batch-norm statistics: it runs in eval mode) and Stage-II is
trained for ``stage2_steps`` (the length of ``tinygan train stackgan`` when --steps and --epochs are
not given; with them, Stage-II lasts until the run ends). The stage is recipe state, set by
``before_step`` from the step count and saved in checkpoints; which optimizers step and which
networks are frozen follow it (``current_phase``). The paper trains each stage for 600 epochs and
halves the learning rate every 100 epochs; here the learning rate is constant and the stages as
long as the two options say.
Adam(2e-4, beta1 = 0.5), batch 64, DCGAN initialisation, lambda = 1: the paper's. lambda multiplies
the KL averaged over the c_dim dimensions, as the authors' code computes it (the sum over 16
dimensions would weigh it 16 times more). Sizes are the CPU's, not the paper's (N_g = 128, N_d = 128).
One deviation from DCGAN initialisation: the mean rows of each CA's Linear are drawn from
N(0, ca_mean_std^2), std 1 (``stack_blocks.spread_ca_means_``). At 0.02 every digit starts with
nearly the same mu, so c_hat is the noise sigma * eps alone and G has nothing to follow; short runs
then barely follow the label (label accuracy 0.20 with 0.02, against 0.10 by chance).
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan import losses
from tinygan.gan.recipe import Phase, Recipe, RecipeConfig
from tinygan.gan.stack_blocks import (NUM_CLASSES, StackedConditional, StageDiscriminator, check_stack_config, join,
                                      spread_ca_means_, text_embedding, up_block)
from tinygan.nn.init import dcgan_init_
from tinygan.ops import avg_pool2d, concat, upsample_nearest
from tinygan.optim import Adam
from tinygan.tensor import no_grad


@dataclasses.dataclass
class StackGANConfig(RecipeConfig):
    c_dim: int = 16            # N_g: conditioning augmentation's c_hat
    cond_dim: int = 16         # N_d: phi_t compressed in D
    ngf: int = 32
    ndf: int = 32
    n_res: int = 2             # residual blocks of the Stage-II generator
    kl_weight: float = 1.0     # lambda
    ca_mean_std: float = 1.0   # initial std of the CAs' mean weights (DCGAN's 0.02 leaves c_hat label-blind)
    stage1_steps: int = 1800
    stage2_steps: int = dataclasses.field(default=1300, metadata={
        "help": "Stage-II's steps: the run is stage1_steps + stage2_steps long unless --steps or --epochs "
                "says otherwise"})
    bn_momentum: float = 0.1

    def __post_init__(self):
        check_stack_config(self, ("c_dim", "cond_dim", "ngf", "ndf", "stage1_steps", "stage2_steps"))


class StageIGenerator(nn.Module):
    """(z, labels, eps) -> (s_0 (N, 1, 14, 14), D_KL of c_hat_0)."""

    def __init__(self, z_dim, c_dim, ngf, m):
        super().__init__()
        self.ca = nn.ConditioningAugmentation(NUM_CLASSES, c_dim)
        self.fc = nn.Sequential(nn.Linear(z_dim + c_dim, ngf * 7 * 7, bias=False), nn.BatchNorm1d(ngf * 7 * 7, momentum=m),
                                nn.ReLU(), nn.Unflatten(1, (ngf, 7, 7)))
        self.up = up_block(ngf, ngf // 2, m)
        self.to_image = nn.Sequential(nn.Conv2d(ngf // 2, 1, 3, padding=1), nn.Tanh())

    def forward(self, z, labels, eps):
        c_hat, kl = self.ca(text_embedding(labels), eps)
        return self.to_image(self.up(self.fc(concat([z, c_hat], axis=1)))), kl


class StageIIGenerator(nn.Module):
    """(s_0, labels, eps) -> (s (N, 1, 28, 28), D_KL of c_hat)."""

    def __init__(self, c_dim, ngf, n_res, m):
        super().__init__()
        self.ca = nn.ConditioningAugmentation(NUM_CLASSES, c_dim)
        self.down = nn.Sequential(nn.Conv2d(1, ngf // 2, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(ngf // 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf, momentum=m), nn.ReLU())
        self.joint = nn.Sequential(nn.Conv2d(ngf + c_dim, ngf, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(ngf, momentum=m), nn.ReLU(),
                                   *[nn.ResidualBlock(ngf, m) for _ in range(n_res)])
        self.up = nn.Sequential(up_block(ngf, ngf // 2, m), up_block(ngf // 2, ngf // 4, m),
                                nn.Conv2d(ngf // 4, 1, 3, padding=1), nn.Tanh())

    def forward(self, s0, labels, eps):
        c_hat, kl = self.ca(text_embedding(labels), eps)
        return self.up(self.joint(join(self.down(s0), c_hat))), kl


class StackGAN(StackedConditional, Recipe):
    name = "stackgan"
    paper = "Zhang et al. 2017, StackGAN: Text to Photo-realistic Image Synthesis with Stacked GANs (arXiv:1612.03242)"
    Config = StackGANConfig
    loss_formulas = {
        "D (each stage)": "-E log D(x, y) - 1/2 E log(1 - D(G(.), y)) - 1/2 E log(1 - D(x, y_wrong))",
        "G_0 (Stage-I)": "-E log D_0(G_0(z, c_hat_0), y) + lambda KL(N(mu_0, Sigma_0) || N(0, I))",
        "G (Stage-II)": "-E log D(G(s_0, c_hat), y) + lambda KL(N(mu, Sigma) || N(0, I))",
    }

    def build(self):
        c, m = self.config, self.config.bn_momentum
        self.G1 = StageIGenerator(c.z_dim, c.c_dim, c.ngf, m).to(self.device).apply(dcgan_init_)
        self.D1 = StageDiscriminator(14, c.ndf, c.cond_dim, m).to(self.device).apply(dcgan_init_)
        self.G2 = StageIIGenerator(c.c_dim, c.ngf, c.n_res, m).to(self.device).apply(dcgan_init_)
        self.D2 = StageDiscriminator(28, c.ndf, c.cond_dim, m).to(self.device).apply(dcgan_init_)
        for G in (self.G1, self.G2):
            spread_ca_means_(G.ca, c.ca_mean_std)
        self.opts = {name: Adam(net.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
                     for name, net in self.networks().items()}
        self.stage = 1

    def networks(self):
        return {"G1": self.G1, "D1": self.D1, "G2": self.G2, "D2": self.D2}

    def optimizers(self):
        return self.opts

    # -- the schedule: Stage-I, then Stage-II with Stage-I frozen -------------------------------
    STAGES = {1: Phase(d_optimizers=("D1",), g_optimizers=("G1",), frozen_in_g_step=("D1",)),
              2: Phase(d_optimizers=("D2",), g_optimizers=("G2",), frozen_in_g_step=("G1", "D1", "D2"))}
    length_options = ("stage2_steps",)

    def current_phase(self):
        return self.STAGES[self.stage]

    def default_steps(self, batch_size):
        return self.config.stage1_steps + self.config.stage2_steps

    def before_step(self, step, batch_size):
        """Stage-I for the first stage1_steps generator steps, then Stage-II."""
        self.set_stage(1 if step < self.config.stage1_steps else 2)

    def set_stage(self, stage):
        self.stage = stage
        if stage == 2:
            self.G1.eval()  # frozen: its batch-norm layers use (and keep) their running statistics

    def state_dict(self):
        return {"stage": self.stage}

    def load_state_dict(self, state):
        if set(state) != {"stage"} or state["stage"] not in (1, 2):
            raise ValueError(f"{self.name}: state: expected {{'stage': 1 or 2}}, got {state!r}")
        self.set_stage(int(state["stage"]))

    # -- sampling: latent = (z, y, eps_0, eps) -------------------------------------------------
    def sample_latent(self, n, labels=None):
        c = self.config
        z, y = self.noise_and_labels(n, labels)
        return z, y, self.randn(n, c.c_dim), self.randn(n, c.c_dim)

    def stage1(self, latent):
        z, y, eps0, _ = latent
        return self.G1(z, y, eps0)

    def generate(self, latent):
        """The final image: Stage-II's (Stage-I's up-sampled x2 while Stage-II is not trained yet)."""
        s0, _ = self.stage1(latent)
        if self.stage == 1:
            return upsample_nearest(s0, 2)
        return self.G2(s0, latent[1], latent[3])[0]

    def sample_images(self, latent):
        """Stage-I (up-sampled x2) beside Stage-II: (N, 1, 28, 56); Stage-I alone during Stage-I."""
        s0 = upsample_nearest(self.stage1(latent)[0], 2)
        return s0 if self.stage == 1 else concat([s0, self.generate(latent)], axis=3)

    # -- the losses of the current stage -------------------------------------------------------
    def d_loss(self, real, labels):
        latent = self.sample_latent(real.shape[0], labels)
        with no_grad():
            fake = self.stage1(latent)[0] if self.stage == 1 else self.generate(latent)
        D = self.D1 if self.stage == 1 else self.D2
        x = avg_pool2d(real, 2) if self.stage == 1 else real
        return self.matching_aware_d_loss(D, D.encode(x), D.encode(fake), latent[1])

    def g_loss(self, n, labels):
        latent = self.sample_latent(n, labels)
        if self.stage == 1:
            fake, kl = self.stage1(latent)
            D = self.D1
        else:
            with no_grad():
                s0 = self.stage1(latent)[0]
            fake, kl = self.G2(s0, latent[1], latent[3])
            D = self.D2
        adv = losses.g_loss_nonsaturating(D(fake, latent[1]))
        loss = adv + kl * (self.config.kl_weight / self.config.c_dim)
        return loss, {"g_loss": adv.detach(), "kl": kl.detach()}
