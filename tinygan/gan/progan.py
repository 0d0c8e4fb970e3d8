"""Progressive growing of GANs (Karras, Aila, Laine & Lehtinen, 2018), on MNIST padded to 32x32.

Growing (section 2). Training starts at 4x4; every new resolution (8, 16, 32) enters through a
fade-in: for ``fade_images`` real images alpha rises linearly from 0 to 1 and the new block's
output is blended with the upsampled (G) or downsampled (D) old path, then the networks train
at that resolution alone for ``stable_images`` (the 4x4 phase has only a stable part). Real
images are shown at the current resolution: average-pooled from 32x32, and during a fade
blended the same way, (1 - alpha) * upsample(avgpool(x_r)) + alpha * x_r. Nothing is
re-initialised when growing; blocks that are not in use get no gradient, so Adam skips them
(their moments and their per-parameter step count start at their first update).

Variation (section 3): a minibatch standard deviation channel in D's last block (group size 4).
Normalisation (section 4): an equalized learning rate in every layer of both networks (weights
N(0, 1), scaled by He's constant at run time, biases 0) and pixel norm after every conv in G.
Loss (appendix A.1): WGAN-GP with the drift term, one critic step per generator step,

    L_D = E D(G(z)) - E D(x) + lambda E (||grad D(x_hat)|| - 1)^2 + eps_drift E D(x)^2,
    L_G = -E D(G(z)),    lambda = 10, eps_drift = 0.001,  Adam(1e-3, beta1 0, beta2 0.99, eps 1e-8).
Samples (appendix A.1): drawn from a running average of G's weights, decay 0.999 (the Trainer's
``ema``, on by default for this recipe: ``default_ema``; ``--ema 0`` samples the last weights).

Where this differs for MNIST on a 2-core CPU: 32x32 grey images (MNIST zero-padded with the
background value -1) instead of 1024x1024 RGB; channels (64, 32, 16, 8) and z of 128 instead
of 512 everywhere; 6,400 images per fade and per stable phase by default instead of 800k (the
last stable phase lasts until training stops: ``--steps`` beyond the schedule extends it),
with one batch size for all resolutions (the paper lowers it as the images grow). The
paper's 4x4 convolutions on the 1x1 latent and on D's last 4x4 map are dense layers (the same
function). G's output is linear as in the paper; ``generate`` clips it to [-1, 1] and crops
the padding back to 28x28 for the project's metrics. The authors' code also resets Adam's
moments at each new resolution; here they carry on (the paper's text does not mention it).

State: the resolution and alpha are a pure function of the images shown (step x batch size);
``state_dict`` saves them anyway and ``load_state_dict`` checks them against the schedule, so a
run resumed with another schedule is refused. It also keeps, for the growth picture, the
generator's images of a fixed latent batch of its own at the end of each resolution. Grids
(``sample_images``) show the current resolution upsampled to 32x32; ``generate`` (what
``tinygan sample`` and ``tinygan eval`` use) crops that to 28x28, so an FID measured during a
low-resolution phase is that of the upsampled images.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinygan import backend
from tinygan.gan import losses
from tinygan.gan.progan_networks import ProDiscriminator, ProGenerator
from tinygan.gan.progan_schedule import GrowthSchedule
from tinygan.gan.recipe import Recipe, RecipeConfig
from tinygan.ops import avg_pool2d, clip, getitem, mean, upsample_nearest
from tinygan.optim import Adam
from tinygan.tensor import Tensor, no_grad

PAD = 2            # 28 + 2 * 2 = 32
FULL = 32


@dataclasses.dataclass
class ProGANConfig(RecipeConfig):
    z_dim: int = 128
    lr: float = 1e-3
    beta1: float = 0.0
    beta2: float = 0.99
    eps: float = 1e-8                 # Adam's epsilon
    gp_weight: float = 10.0           # lambda
    drift: float = 0.001              # eps_drift
    fade_images: int = 6400           # real images shown while a new block fades in (paper: 800k)
    stable_images: int = 6400         # real images shown at each resolution after its fade-in (paper: 800k)
    channels: str = "64,32,16,8"      # feature maps at 4, 8, 16, 32 (paper: 512 up to 32x32)
    group_size: int = 4               # minibatch standard deviation

    def __post_init__(self):
        for name in ("fade_images", "stable_images", "group_size", "z_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if len(self.channel_list()) != 4 or min(self.channel_list()) < 1:
            raise ValueError(f"channels: expected 4 positive integers (4x4 .. 32x32), got {self.channels!r}")
        if not self.gp_weight >= 0 or not self.drift >= 0:
            raise ValueError(f"gp_weight, drift: expected non-negative numbers, got {self.gp_weight}, {self.drift}")

    def channel_list(self):
        try:
            return [int(c) for c in str(self.channels).split(",")]
        except ValueError:
            raise ValueError(f"channels: expected comma-separated integers, got {self.channels!r}") from None


class ProGAN(Recipe):
    name = "progan"
    paper = "Karras et al. 2018, Progressive Growing of GANs for Improved Quality, Stability, and Variation " \
            "(arXiv:1710.10196)"
    loss_formulas = {"D": "E[D(G(z))] - E[D(x)] + 10 E[(||grad D(x_hat)||_2 - 1)^2] + 0.001 E[D(x)^2]",
                     "G": "-E[D(G(z))]"}
    Config = ProGANConfig
    n_critic = 1
    default_ema = 0.999  # samples are drawn from a running average of G's weights (the paper's section A.1)

    def build(self):
        c = self.config
        channels = c.channel_list()
        self.G = ProGenerator(c.z_dim, channels).to(self.device)
        self.D = ProDiscriminator(channels, group_size=c.group_size).to(self.device)
        self.opt_g = Adam(self.G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps)
        self.opt_d = Adam(self.D.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps)
        self.schedule = GrowthSchedule(levels=len(channels), fade_images=c.fade_images, stable_images=c.stable_images)
        self.images_shown, self.level, self.alpha = 0, 0, 1.0
        self.growth = {}                                    # level -> G's growth-latent images at its end

    # -- data and schedule -----------------------------------------------------------------------
    def make_loader(self, images, labels, batch_size, device):
        """MNIST padded to 32x32 with the background (uint8 0, i.e. -1 after scaling)."""
        padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD)))
        return super().make_loader(padded, labels, batch_size, device)

    def default_steps(self, batch_size):
        return -(-self.schedule.total_images // batch_size)

    def before_step(self, step, batch_size):
        """The resolution and fade-in alpha after step * batch_size real images."""
        level, alpha = self.schedule.at(step * batch_size)
        if level != self.level and step > 0:
            self._snapshot_growth(self.level)               # G at the end of the previous resolution
        self.images_shown, self.level, self.alpha = step * batch_size, level, alpha

    def real_at_resolution(self, x):
        """Real 32x32 images at the current resolution (blended with the lower one during a fade)."""
        factor = FULL // (4 * 2 ** self.level)
        x = avg_pool2d(x, factor) if factor > 1 else x
        if self.level > 0 and self.alpha < 1.0:
            x = upsample_nearest(avg_pool2d(x, 2), 2) * (1.0 - self.alpha) + x * self.alpha
        return x

    # -- losses ------------------------------------------------------------------------------------
    def critic(self, x):
        return self.D(x, self.level, self.alpha)

    def d_loss(self, real, labels):
        real = self.real_at_resolution(real)
        with no_grad():
            fake = self.G(*self.sample_latent(real.shape[0]), self.level, self.alpha)
        real_out, fake_out = self.critic(real), self.critic(fake)
        w_loss = losses.d_loss_wasserstein(real_out, fake_out)
        gp = losses.gradient_penalty(self.critic, real, fake)
        drift = mean(real_out * real_out)
        loss = w_loss + gp * self.config.gp_weight + drift * self.config.drift
        return loss, {"d_loss": loss.detach(), "wasserstein": -w_loss.detach(), "gp": gp.detach(),
                      "drift": drift.detach(), "level": _const(real, self.level), "alpha": _const(real, self.alpha)}

    def g_loss(self, n, labels):
        fake = self.G(*self.sample_latent(n), self.level, self.alpha)
        loss = losses.g_loss_wasserstein(self.critic(fake))
        return loss, {"g_loss": loss.detach()}

    # -- images for grids and metrics ----------------------------------------------------------------
    def sample_images(self, latent):
        """32x32 (padding included): the current resolution upsampled by nearest neighbour."""
        x = self.G(*latent, self.level, self.alpha)
        factor = FULL // x.shape[-1]
        return clip(upsample_nearest(x, factor) if factor > 1 else x, -1.0, 1.0)

    def generate(self, latent):
        """28x28 in [-1, 1]: ``sample_images`` with the padding cropped off."""
        return getitem(self.sample_images(latent), (slice(None), slice(None), slice(PAD, FULL - PAD),
                                                    slice(PAD, FULL - PAD)))

    def growth_latent(self, n=10):
        """A fixed latent batch of its own (NumPy seed 12), so snapshots never draw from the run's RNG."""
        z = np.random.default_rng(12).standard_normal((n, self.config.z_dim)).astype(np.float32)
        return (Tensor(backend.to_device(z, self.device)),)

    def _snapshot_growth(self, level):
        with no_grad():
            self.growth[level] = self.sample_images(self.growth_latent()).numpy()

    # -- recipe state --------------------------------------------------------------------------------
    def state_dict(self):
        state = {"images_shown": self.images_shown, "level": self.level, "alpha": self.alpha}
        state.update({f"growth_{level}": images for level, images in self.growth.items()})
        return state

    def load_state_dict(self, state):
        """Restore the phase; it must be what the schedule gives for the images shown. (The batch
        size, which older checkpoints also kept here, is checked with the run's other settings.)"""
        images, level, alpha = int(state["images_shown"]), int(state["level"]), float(state["alpha"])
        expected = self.schedule.at(images)
        if (level, alpha) != expected:
            raise ValueError(f"progan: state: level {level}, alpha {alpha} at {images} images, but this schedule "
                             f"(fade_images={self.schedule.fade_images}, stable_images={self.schedule.stable_images})"
                             f" gives level {expected[0]}, alpha {expected[1]}")
        self.images_shown, self.level, self.alpha = images, level, alpha
        self.growth = {int(k.split("_")[1]): np.asarray(v) for k, v in state.items() if k.startswith("growth_")}


def _const(like, value):
    """A detached 0-d tensor for the metrics log (the Trainer averages info values)."""
    return Tensor(backend.xp_for(like.device).asarray(value, dtype=like.dtype))
