"""BEGAN: Boundary Equilibrium GAN (Berthelot, Schumm & Metz, 2017).

The discriminator is an auto-encoder D: image -> h -> image, and what it reports about an image
v is its reconstruction error, here the L1 norm per pixel (the paper's eta = 1):

    L(v) = mean |v - D(v)|

Instead of matching the distributions of images, BEGAN matches the distributions of these errors:
D learns to reconstruct real images well and generated ones badly, G to make images D
reconstructs well. With a proportional control k_t that keeps the game at the equilibrium
E L(G(z)) = gamma E L(x):

    L_D     = L(x) - k_t L(G(z_D))                                  (D's step)
    L_G     = L(G(z_G))                                             (G's step)
    k_t+1   = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)    k_0 = 0, lambda_k = 0.001

gamma, the diversity ratio, trades diversity (high gamma) against quality (low gamma): D spends
more of its effort on auto-encoding real images when gamma is low. The paper's convergence
measure, the equilibrium's distance plus the real reconstruction error,

    M_global = L(x) + |gamma L(x) - L(G(z_G))|

is logged every step (``M_global``) with k_t (``k``); the claim that it falls as the samples
improve is measured against FID by ``demos/began_convergence.py``.

Networks. The paper's (``--generator paper --discriminator paper``; ``n`` filters, h = z_dim):
    Encoder: Conv3x3(1, n) ELU -> Conv3x3(n, 2n, stride 2) ELU [14x14] -> Conv3x3(2n, 2n) ELU
             -> Conv3x3(2n, 3n, stride 2) ELU [7x7] -> Conv3x3(3n, 3n) ELU -> Dense h
    Decoder: Dense n*7*7 -> Conv3x3(n, n) ELU -> Upsample x2 -> 2 x [Conv3x3(n, n) ELU] [14x14]
             -> Upsample x2 -> 2 x [Conv3x3(n, n) ELU] -> Conv3x3(n, 1) [28x28], a linear output
    G = a decoder (its own weights); D = decoder(encoder(x)). 3x3 convolutions with ELUs, stride-2
    sub-sampling, nearest-neighbour up-sampling, no batch-norm, as in the paper (shrunk: one conv
    per scale in the encoder where the paper has two).
The defaults depart from the paper's networks, because on MNIST at minutes of CPU its ELU decoder
as G collapsed onto 1s (the digit an auto-encoder reconstructs best) in every setting tried, gamma
0.7 and 1.0, lambda_k 0.01 to 0.1 (the runs are in docs/variants.md, section BEGAN):
    G (``--generator dcgan``): DCGAN's generator, Dense 128*7*7 -> BN -> ReLU
        -> ConvT(128, 64, 4, 2, 1) -> BN -> ReLU -> ConvT(64, 1, 4, 2, 1) -> tanh
    D (``--discriminator small``): Conv(1, 4n, 4, 2, 1) ReLU [14x14] -> Dense h -> Dense 4n*14*14
        -> ReLU -> ConvT(4n, 1, 4, 2, 1) -> tanh [28x28]; no batch-norm (D sees real and fake
        images in one batch, whose statistics would differ from a batch of fakes in G's step)
The losses, k_t's control and M_global are the paper's. Other departures: lambda_k = 0.05 (the
paper's 0.001 moves k_t too slowly for ~5,000 steps: with it, gamma 0.75 and lr 2e-4, k_t was
0.026 after 750 steps and G one blob), lr 5e-4 and gamma 1.0 by default; z ~ U(-1, 1)^h, Adam(beta1 0.5) as in the paper; its
learning-rate decay when M_global stalls is left out. ``--k-init K --lambda-k 0`` holds k_t at K
for a whole run: not the paper's method, an experiment on what the size of k_t does (D's loss
weighs a real image by 1 and a generated one by k_t, so k_t is the strength with which D can push
back on a class G draws too often). The paper decoder's output stays linear:
with a tanh there G first learns blank images (which D, trained only on real digits while
k_t = 0, reconstructs best), saturates at -1, and tanh's vanishing gradient keeps it blank.
"""

from __future__ import annotations

import dataclasses

from tinygan import nn
from tinygan.gan.dcgan import transposed_generator
from tinygan.gan.recipe import Recipe, RecipeConfig, check_recipe_config
from tinygan.nn.init import dcgan_init_
from tinygan.ops import abs as tabs
from tinygan.ops import concat, mean
from tinygan.optim import Adam
from tinygan.tensor import Tensor


@dataclasses.dataclass
class BEGANConfig(RecipeConfig):
    z_dim: int = 64          # N_z = N_h, the bottleneck of D's auto-encoder
    lr: float = 5e-4
    gamma: float = 1.0       # diversity ratio, E L(G(z)) / E L(x) at equilibrium
    lambda_k: float = 0.05   # the learning rate of k_t (the paper's 0.001 is too slow for minutes of training)
    k_init: float = 0.0      # k_0, the paper's 0; with lambda_k = 0, k_t stays at k_0 (an experiment)
    n: int = 16              # filters of the first convolution
    generator: str = "dcgan"     # paper: the decoder's architecture | dcgan: DCGAN's generator
    discriminator: str = "small"  # paper: the paper's auto-encoder | small: conv -> dense h -> dense -> conv-T
    bn_momentum: float = 0.2
    latent: str = dataclasses.field(default="uniform", metadata={  # the paper's z ~ U(-1, 1)^h
        "help": "uniform: z ~ U(-1, 1) (the paper's); normal: z ~ N(0, I)"})

    def __post_init__(self):
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma: expected a number in (0, 1], got {self.gamma!r}")
        if not self.lambda_k >= 0:
            raise ValueError(f"lambda_k: expected a number >= 0 (0: k_t stays at k_init), got {self.lambda_k!r}")
        if not 0 <= self.k_init <= 1:
            raise ValueError(f"k_init: expected a number in [0, 1], got {self.k_init!r}")
        check_recipe_config(self)
        if self.generator not in ("paper", "dcgan"):
            raise ValueError(f"generator: expected 'paper' or 'dcgan', got {self.generator!r}")
        if self.discriminator not in ("paper", "small"):
            raise ValueError(f"discriminator: expected 'paper' or 'small', got {self.discriminator!r}")
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"n: expected a positive integer, got {self.n!r}")


def began_encoder(n, h):
    conv = lambda a, b, stride=1: nn.Conv2d(a, b, 3, stride=stride, padding=1)  # noqa: E731
    return nn.Sequential(conv(1, n), nn.ELU(), conv(n, 2 * n, 2), nn.ELU(), conv(2 * n, 2 * n), nn.ELU(),
                         conv(2 * n, 3 * n, 2), nn.ELU(), conv(3 * n, 3 * n), nn.ELU(),
                         nn.Flatten(), nn.Linear(3 * n * 7 * 7, h))


def began_decoder(n, h):
    conv = lambda a, b: nn.Conv2d(a, b, 3, padding=1)  # noqa: E731
    return nn.Sequential(nn.Linear(h, n * 7 * 7), nn.Unflatten(1, (n, 7, 7)), conv(n, n), nn.ELU(),
                         nn.Upsample(2), conv(n, n), nn.ELU(), conv(n, n), nn.ELU(),
                         nn.Upsample(2), conv(n, n), nn.ELU(), conv(n, n), nn.ELU(), conv(n, 1))


def small_autoencoder(n, h):
    return nn.Sequential(nn.Conv2d(1, 4 * n, 4, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * n * 14 * 14, h),
                         nn.Linear(h, 4 * n * 14 * 14), nn.Unflatten(1, (4 * n, 14, 14)), nn.ReLU(),
                         nn.ConvTranspose2d(4 * n, 1, 4, 2, 1), nn.Tanh())


class BEGAN(Recipe):
    name = "began"
    paper = "Berthelot, Schumm & Metz 2017, BEGAN: Boundary Equilibrium Generative Adversarial Networks " \
            "(arXiv:1703.10717)"
    Config = BEGANConfig
    loss_formulas = {
        "D": "L(x) - k_t L(G(z)),  L(v) = mean |v - D(v)|",
        "G": "L(G(z))",
        "k": "k_t+1 = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)",
        "M_global": "L(x) + |gamma L(x) - L(G(z))|",
    }

    def build(self):
        c = self.config
        if c.generator == "paper":
            self.G = began_decoder(c.n, c.z_dim).to(self.device)
        else:
            self.G = transposed_generator(c.z_dim, c.bn_momentum).to(self.device).apply(dcgan_init_)
        if c.discriminator == "paper":
            self.D = nn.Sequential(began_encoder(c.n, c.z_dim), began_decoder(c.n, c.z_dim)).to(self.device)
        else:
            self.D = small_autoencoder(c.n, c.z_dim).to(self.device)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
        self.k = float(c.k_init)  # k_0 (the paper's 0)
        self._loss_real = None  # L(x) of the last discriminator step, for k's update

    def sample_latent(self, n, labels=None):
        return (self.sample_z(n),)  # U(-1, 1)^h by default (config.latent)

    def reconstruction_error(self, v):
        """L(v) per image: the mean absolute error of D's reconstruction, shape (N,)."""
        return mean(tabs(v - self.D(v)).reshape(v.shape[0], -1), axis=1)

    def d_loss(self, real, labels):
        n = real.shape[0]
        errors = self.reconstruction_error(concat([real, self.draw_fakes(n)]))  # one pass for both
        loss_real, loss_fake = mean(errors[:n]), mean(errors[n:])
        self._loss_real = loss_real.detach()
        loss = loss_real - self.k * loss_fake
        return loss, {"d_loss": loss.detach(), "L(x)": self._loss_real, "L(G(z_D))": loss_fake.detach()}

    def g_loss(self, n, labels):
        loss = mean(self.reconstruction_error(self.generate(self.sample_latent(n))))
        return loss, {"g_loss": loss.detach()}

    def after_g_step(self, info):
        """The proportional control of k_t, with this iteration's L(x) and L(G(z_G)) (G's loss)."""
        c = self.config
        loss_real, loss_fake = self._loss_real, info["g_loss"]
        balance = c.gamma * float(loss_real.item()) - float(loss_fake.item())
        self.k = min(max(self.k + c.lambda_k * balance, 0.0), 1.0)
        return {"M_global": loss_real + tabs(loss_real * c.gamma - loss_fake), "k": Tensor(self.k)}

    def state_dict(self):
        return {"k": self.k}

    def load_state_dict(self, state):
        if set(state) != {"k"}:
            raise ValueError(f"{self.name}: state: expected the key 'k', got keys {sorted(state)}")
        self.k = float(state["k"])
