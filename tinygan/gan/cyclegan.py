"""CycleGAN (Zhu, Park, Isola & Efros, 2017): unpaired image-to-image translation.

Two mappings G: A -> B and F: B -> A (here G_AB and G_BA), two discriminators D_B and D_A. Each
mapping is trained adversarially to land in its target domain, and the two are tied by the
cycle-consistency loss: translating there and back must give the input again,

    L_cyc = E |F(G(x_A)) - x_A|_1 + E |G(F(x_B)) - x_B|_1
    L_idt = E |G(x_B) - x_B|_1 + E |F(x_A) - x_A|_1        (optional: a target-domain image is
                                                            left as it is; weight 0.5 lambda)
The adversarial terms are least-squares (LSGAN, the paper's choice for stable training), on
every patch score of a PatchGAN discriminator:

    min_G,F  E (D_B(G(x_A)) - 1)^2 + E (D_A(F(x_B)) - 1)^2 + lambda L_cyc + lambda_idt lambda L_idt
    min_D    1/2 [E (D_B(x_B) - 1)^2 + E D_B(h_B)^2] + 1/2 [E (D_A(x_A) - 1)^2 + E D_A(h_A)^2]

with lambda = 10, and h_A, h_B drawn from a history of the 50 last fakes (``HistoryBuffer``),
not only from the newest. Adam(2e-4, betas (0.5, 0.999)) as in the paper (without its linear
learning-rate decay over the second half of training: the runs here are short).

Networks, the paper's ResNet generator and 70x70 PatchGAN sized for 28x28 (reflection padding
where the paper reflects, so that no convolution sees a black frame that is not in the image;
instance norm as in the paper):

    G: RPad 3 -> Conv(1, c, 7) -> IN -> ReLU -> Conv(c, 2c, 3, 2, 1) -> IN -> ReLU  (2c, 14, 14)
       -> n_res x [x + RPad 1 -> Conv -> IN -> ReLU -> RPad 1 -> Conv -> IN (2c, 3x3)]
       -> ConvT(2c, c, 4, 2, 1) -> IN -> ReLU -> RPad 3 -> Conv(c, 1, 7) -> tanh     (1, 28, 28)
    D: Conv(1, c, 4, 2, 1) -> LReLU 0.2 -> Conv(c, 2c, 4, 2, 1) -> IN -> LReLU 0.2
       -> Conv(2c, 1, 3, 1, 1)                                   a 7x7 map of scores, each
                                                                 judging an 18x18 patch
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan.history import HistoryBuffer
from tinygan.gan.two_domain import TranslationConfig, TranslationRecipe
from tinygan.nn.init import dcgan_init_
from tinygan.ops import abs, mean
from tinygan.optim import Adam
from tinygan.tensor import no_grad


@dataclasses.dataclass
class CycleGANConfig(TranslationConfig):
    channels: int = 16           # c: the generator works at 2c channels on 14x14
    n_res: int = 2               # residual blocks
    lambda_cyc: float = 10.0     # the paper's lambda
    lambda_idt: float = 0.0      # identity loss weight, in units of lambda (the paper: 0.5 when used)
    pool_size: int = 50          # the history buffer of fakes


class ResidualBlock(nn.Module):
    """x + IN(Conv(RPad(ReLU(IN(Conv(RPad(x))))))), 3x3 convolutions on reflection-padded maps,
    keeping the channels and the size."""

    def __init__(self, ch):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), nn.InstanceNorm2d(ch), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), nn.InstanceNorm2d(ch))

    def forward(self, x):
        return x + self.body(x)


def resnet_generator(c, n_res):
    return nn.Sequential(
        nn.ReflectionPad2d(3), nn.Conv2d(1, c, 7), nn.InstanceNorm2d(c), nn.ReLU(),
        nn.Conv2d(c, 2 * c, 3, 2, 1), nn.InstanceNorm2d(2 * c), nn.ReLU(),
        *[ResidualBlock(2 * c) for _ in range(n_res)],
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.InstanceNorm2d(c), nn.ReLU(),
        nn.ReflectionPad2d(3), nn.Conv2d(c, 1, 7), nn.Tanh())


def patch_discriminator(c):
    return nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(c, 2 * c, 4, 2, 1), nn.InstanceNorm2d(2 * c), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * c, 1, 3, 1, 1))


def l1(x, y):
    """E |x - y| over every value."""
    return mean(abs(x - y))


def lsgan_patch(scores, target):
    """E (D(x) - target)^2 over every patch score of every image."""
    return mean((scores - target) ** 2)


class CycleGAN(TranslationRecipe):
    name = "cyclegan"
    paper = ("Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial "
             "Networks (arXiv:1703.10593)")
    Config = CycleGANConfig
    loss_formulas = {
        "D": "1/2 [E (D_B(x_B) - 1)^2 + E D_B(h_B)^2] + 1/2 [E (D_A(x_A) - 1)^2 + E D_A(h_A)^2],  h: history of 50 fakes",
        "G": "E (D_B(G(x_A)) - 1)^2 + E (D_A(F(x_B)) - 1)^2 + lambda (|F(G(x_A)) - x_A|_1 + |G(F(x_B)) - x_B|_1)"
             " [+ 0.5 lambda (|G(x_B) - x_B|_1 + |F(x_A) - x_A|_1)]",
    }

    def build(self):
        c = self.config
        self.G_AB, self.G_BA = (resnet_generator(c.channels, c.n_res).to(self.device).apply(dcgan_init_)
                                for _ in range(2))
        self.D_A, self.D_B = (patch_discriminator(c.channels).to(self.device).apply(dcgan_init_) for _ in range(2))
        betas = (c.beta1, c.beta2)
        self.opt_g = Adam(list(self.G_AB.parameters()) + list(self.G_BA.parameters()), lr=c.lr, betas=betas)
        self.opt_d = Adam(list(self.D_A.parameters()) + list(self.D_B.parameters()), lr=c.lr, betas=betas)
        self.history_a, self.history_b = HistoryBuffer(c.pool_size), HistoryBuffer(c.pool_size)

    def d_loss(self, real, labels):
        x_a, x_b = real
        with no_grad():
            x_ab, x_ba = self.translate(x_a, x_b)
        h_a, h_b = self.history_a.query(x_ba), self.history_b.query(x_ab)
        loss_a = (lsgan_patch(self.D_A(x_a), 1.0) + lsgan_patch(self.D_A(h_a), 0.0)) * 0.5
        loss_b = (lsgan_patch(self.D_B(x_b), 1.0) + lsgan_patch(self.D_B(h_b), 0.0)) * 0.5
        loss = loss_a + loss_b
        return loss, {"d_loss": loss.detach(), "d_loss_a": loss_a.detach(), "d_loss_b": loss_b.detach()}

    def g_step_loss(self, real, labels):
        """Both mappings on the real batches: the least-squares GAN terms plus lambda L_cyc (and L_idt)."""
        c = self.config
        x_a, x_b = real
        x_ab, x_ba = self.translate(x_a, x_b)
        gan = lsgan_patch(self.D_B(x_ab), 1.0) + lsgan_patch(self.D_A(x_ba), 1.0)
        cyc = l1(self.G_BA(x_ab), x_a) + l1(self.G_AB(x_ba), x_b)
        loss = gan + cyc * c.lambda_cyc
        info = {"g_loss": loss.detach(), "gan": gan.detach(), "cycle": cyc.detach()}
        if c.lambda_idt > 0:
            idt = l1(self.G_AB(x_b), x_b) + l1(self.G_BA(x_a), x_a)
            loss = loss + idt * (c.lambda_idt * c.lambda_cyc)
            info.update(g_loss=loss.detach(), identity=idt.detach())
        return loss, info

    def state_dict(self):
        state = {}
        for name, buffer in (("history_a", self.history_a), ("history_b", self.history_b)):
            state.update({f"{name}.{k}": v for k, v in buffer.state_dict().items()})
        return state

    def load_state_dict(self, state):
        for name, buffer in (("history_a", self.history_a), ("history_b", self.history_b)):
            buffer.load_state_dict({k[len(name) + 1:]: v for k, v in state.items() if k.startswith(name + ".")},
                                   device=self.device)
