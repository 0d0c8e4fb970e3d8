"""Pieces StackGAN and StackGAN++ share: the label as the "text", the spatial join of a condition
with a feature map, the up-sampling block, and the discriminator with its joint heads.

* The "text embedding" phi_t of a digit is its one-hot vector: fixed, like the paper's
  pre-trained char-CNN-RNN encoding; the networks learn what they make of it (conditioning
  augmentation's Linear in G, a Linear compression in D).
* ``join(h, c)``: c (N, k) replicated over the H x W positions of h (N, C, H, W) and
  concatenated to it as k more channels (how both papers give a feature map its condition).
* ``up_block``: nearest-neighbour up-sampling x2 -> Conv3x3 -> BN -> ReLU (StackGAN's
  up-sampling block), or with ``gated=True`` -> Conv3x3 to twice the channels -> BN -> GLU
  (StackGAN++'s: the gated linear unit a * sigmoid(b) halves them again).
* ``StageDiscriminator``: an image encoder down to (channels, 7, 7); the unconditional head
  Conv 7x7 -> one logit; the conditional head joins phi_t compressed to ``cond_dim`` numbers
  (Linear), mixes with Conv1x1 -> BN -> LeakyReLU and reads out with Conv 7x7 -> one logit.
* ``StackedConditional``: the conditional-GAN part both recipes share (labels, mismatched
  labels for a matching-aware discriminator, label accuracy in evaluation), and StackGAN's
  weighting of that discriminator's terms (StackGAN++ weights its own, with unconditional terms).
"""

from __future__ import annotations

from tinygan import nn, random
from tinygan.gan.blocks import one_hot
from tinygan.ops import broadcast_to, concat, leaky_relu, mean, reshape, sigmoid, softplus
from tinygan.tensor import Tensor

NUM_CLASSES = 10


def text_embedding(labels):
    """phi_t of the digit labels (N,): their one-hot vectors (N, 10)."""
    return one_hot(labels, NUM_CLASSES)


def join(h, c):
    """Concatenate the condition c (N, k), replicated spatially, to the feature map h (N, C, H, W)."""
    n, k = c.shape
    return concat([h, broadcast_to(reshape(c, (n, k, 1, 1)), (n, k, h.shape[2], h.shape[3]))], axis=1)


def check_stack_config(config, positive_ints):
    """What both StackGANs' configs require: the named fields positive integers, ngf a multiple
    of 4 (G halves its width at each of two up-samplings), ca_mean_std > 0, kl_weight >= 0."""
    for name in positive_ints:
        if not isinstance(getattr(config, name), int) or getattr(config, name) < 1:
            raise ValueError(f"{name}: expected a positive integer, got {getattr(config, name)!r}")
    if config.ngf % 4:
        raise ValueError(f"ngf: expected a multiple of 4, got {config.ngf}")
    if not config.ca_mean_std > 0:
        raise ValueError(f"ca_mean_std: expected a positive number, got {config.ca_mean_std!r}")
    if not config.kl_weight >= 0:
        raise ValueError(f"kl_weight: expected a non-negative number, got {config.kl_weight!r}")


def spread_ca_means_(ca, std):
    """Draw the mean rows of a conditioning augmentation's Linear from N(0, std^2) (its log-variance
    rows keep their initialisation). With the one-hot phi_t, mu(digit) is one column of those rows:
    under DCGAN's N(0, 0.02^2) every digit starts with nearly the same mu, c_hat is then eps alone
    and G has no label to follow; with std ~ 1 the ten means start as distinct points at the scale
    of the noise sigma * eps (the KL term still pulls them towards 0 as training goes on)."""
    k = ca.c_dim
    w = ca.fc.weight
    w.data[:k] = random.randn(k, w.shape[1], device=w.device, dtype=w.dtype) * std
    return ca


def up_block(c_in, c_out, momentum, gated=False):
    """x2 nearest up-sampling -> Conv3x3 -> BN -> ReLU; gated: -> Conv3x3 (2 c_out) -> BN -> GLU."""
    if gated:
        return nn.Sequential(nn.Upsample(2), nn.Conv2d(c_in, 2 * c_out, 3, padding=1, bias=False),
                             nn.BatchNorm2d(2 * c_out, momentum=momentum), nn.GLU(1))
    return nn.Sequential(nn.Upsample(2), nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_out, momentum=momentum), nn.ReLU())


def encoder(size, ndf, momentum):
    """An image (N, 1, size, size) -> features (N, 2 ndf, 7, 7) for size 7, 14 or 28: stride-2
    4x4 convolutions halve the side until it is 7 (the 7x7 branch gets a 3x3 one instead)."""
    if size not in (7, 14, 28):
        raise ValueError(f"encoder: size: expected 7, 14 or 28, got {size}")
    layers = [nn.Conv2d(1, ndf, 4, 2, 1) if size > 7 else nn.Conv2d(1, ndf, 3, padding=1), nn.LeakyReLU(0.2)]
    c, side = ndf, size // 2 if size > 7 else 7
    while True:
        last = side == 7
        layers += [nn.Conv2d(c, 2 * ndf, 4, 2, 1, bias=False) if not last else
                   nn.Conv2d(c, 2 * ndf, 3, padding=1, bias=False),
                   nn.BatchNorm2d(2 * ndf, momentum=momentum), nn.LeakyReLU(0.2)]
        c = 2 * ndf
        if last:
            return nn.Sequential(*layers)
        side //= 2


class StageDiscriminator(nn.Module):
    """D_i(x) and D_i(x, phi_t) of one scale: ``encode(x)``, then ``uncond(h)`` and ``cond(h, labels)``
    (logits (N, 1)); calling it gives the conditional logit."""

    def __init__(self, size, ndf, cond_dim, momentum, unconditional_head=False):
        super().__init__()
        self.encode = encoder(size, ndf, momentum)
        self.compress = nn.Linear(NUM_CLASSES, cond_dim)
        self.joint = nn.Sequential(nn.Conv2d(2 * ndf + cond_dim, 2 * ndf, 1, bias=False),
                                   nn.BatchNorm2d(2 * ndf, momentum=momentum), nn.LeakyReLU(0.2),
                                   nn.Conv2d(2 * ndf, 1, 7), nn.Flatten())
        if unconditional_head:
            self.uncond_head = nn.Sequential(nn.Conv2d(2 * ndf, 1, 7), nn.Flatten())

    def cond(self, h, labels):
        return self.joint(join(h, leaky_relu(self.compress(text_embedding(labels)), 0.2)))

    def uncond(self, h):
        return self.uncond_head(h)

    def forward(self, x, labels):
        return self.cond(self.encode(x), labels)


class StackedConditional:
    """What the two StackGAN recipes share as conditional GANs (a mixin before ``Recipe``): the
    label is the "text", evaluation also reports the label accuracy, and the discriminators are
    matching-aware."""

    conditional = True
    tracked_scores = ("fid", "classifier_score", "classes_covered", "label_accuracy")

    def noise_and_labels(self, n, labels=None):
        """z (n, z_dim) from ``sample_z`` (N(0, I), or U(-1, 1) with --latent uniform) and the
        labels as a Tensor (uniform digits when None)."""
        if labels is None:
            labels = self.random_labels(n)
        return self.sample_z(n), labels if isinstance(labels, Tensor) else Tensor(labels)

    def wrong_labels(self, labels):
        """A mismatched label for every sample: (y + k) mod 10, k uniform on 1..9."""
        y = labels.data if isinstance(labels, Tensor) else labels
        return Tensor((y + random.randint(1, NUM_CLASSES, y.shape, device=self.device)) % NUM_CLASSES)

    def matching_aware_d_loss(self, D, h_real, h_fake, labels):
        """StackGAN's -E log D(x, y) - 1/2 E log(1 - D(s, y)) - 1/2 E log(1 - D(x, y_wrong)) from D's
        features of the real and the fake batch (``D.encode``): (loss, info)."""
        real_logits, wrong_logits = D.cond(h_real, labels), D.cond(h_real, self.wrong_labels(labels))
        fake_logits = D.cond(h_fake, labels)
        loss = mean(softplus(-real_logits)) + (mean(softplus(fake_logits)) + mean(softplus(wrong_logits))) * 0.5
        return loss, {"d_loss": loss.detach(), "D(x)": mean(sigmoid(real_logits)).detach(),
                      "D(G(z))": mean(sigmoid(fake_logits)).detach(),
                      "D(x,wrong)": mean(sigmoid(wrong_logits)).detach()}
