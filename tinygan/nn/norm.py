"""Normalisation layers: BatchNorm1d, BatchNorm2d, LayerNorm and InstanceNorm2d."""

from __future__ import annotations

from tinygan.nn import init
from tinygan.nn._checks import check_input
from tinygan.nn._param import empty_buffer, empty_parameter, positive_int
from tinygan.nn.module import Module
from tinygan.ops.norm import batch_norm, instance_norm, layer_norm


def _affine_parameters(module, shape, device, dtype):
    """A normalisation's learned scale (ones) and shift (zeros) of ``shape``; None and None
    without an affine transform (``shape`` None)."""
    if shape is None:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)
        return
    module.weight = empty_parameter(shape, device, dtype)
    module.bias = empty_parameter(shape, device, dtype)
    init.ones_(module.weight)


class _BatchNorm(Module):
    _ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", name)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum: expected a value in [0, 1] (PyTorch's convention: the weight "
                             f"of the new batch) or None (the average of every batch), got {momentum}")
        self.eps, self.affine = float(eps), affine
        self.momentum = None if momentum is None else float(momentum)
        self.batches_tracked = 0  # with momentum=None: training batches seen since it was last set to 0
        self.track_running_stats = track_running_stats
        _affine_parameters(self, (num_features,) if affine else None, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", empty_buffer((num_features,), 0.0, device, dtype))
            self.register_buffer("running_var", empty_buffer((num_features,), 1.0, device, dtype))

    def forward(self, x):
        like = self.weight if self.affine else None
        check_input(self, x, ndim=self._ndims, axis=1, size=self.num_features, like=like)
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats and x.size // x.shape[1] < 2:
            raise ValueError(f"{type(self).__name__}: expected more than 1 value per channel in training, "
                             f"got input shape {x.shape}")
        rm, rv = (self.running_mean, self.running_var) if self.track_running_stats else (None, None)
        momentum = self.momentum
        if momentum is None and use_batch_stats and rm is not None:  # the average of the batches seen: 1/k for the k-th
            self.batches_tracked += 1
            momentum = 1.0 / self.batches_tracked
        return batch_norm(x, self.weight, self.bias, rm, rv, use_batch_stats, momentum, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Batch-norm of (N, C) or (N, C, L) inputs over the batch (and length) axes, per feature C.

    ``momentum`` is PyTorch's: running = (1 - momentum) running + momentum batch. (Keras'
    BatchNormalization(momentum=0.8) is the other convention: PyTorch momentum 0.2.) ``momentum=None``
    makes the running statistics the plain average of the training batches seen since
    ``batches_tracked`` was last set to 0 (PyTorch's cumulative average)."""

    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch-norm of (N, C, H, W) inputs over N, H and W, per channel C."""
    _ndims = (4,)


class LayerNorm(Module):
    """Normalise each sample over its last dims ``normalized_shape``; affine weight and bias of
    that shape. No batch statistics, so it suits WGAN-GP critics (the penalty is per sample)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        for s in shape:
            positive_int(s, "normalized_shape", "LayerNorm")
        self.normalized_shape, self.eps, self.elementwise_affine = shape, float(eps), elementwise_affine
        _affine_parameters(self, shape if elementwise_affine else None, device, dtype)

    def forward(self, x):
        check_input(self, x, like=self.weight if self.elementwise_affine else None)
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class InstanceNorm2d(Module):
    """Normalise each channel of each sample of (N, C, H, W) over its H x W values:

        y = (x - mean_hw(x)) / sqrt(var_hw(x) + eps) * weight_c + bias_c

    (``affine=True`` as CycleGAN uses it; PyTorch's default is affine=False.) No running
    statistics: the same function in training and evaluation."""

    def __init__(self, num_features, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        self.num_features = positive_int(num_features, "num_features", "InstanceNorm2d")
        self.eps, self.affine = float(eps), affine
        _affine_parameters(self, (num_features,) if affine else None, device, dtype)

    def forward(self, x):
        check_input(self, x, ndim=(4,), axis=1, size=self.num_features, like=self.weight if self.affine else None)
        if x.shape[2] * x.shape[3] < 2:
            raise ValueError(f"InstanceNorm2d: expected more than 1 value per channel, got input shape {x.shape}")
        return instance_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"
