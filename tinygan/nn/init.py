"""Weight initialisers, in place, on the parameter's own device, from tinygan's seeded generator.

    uniform_(w, a, b)            w ~ U(a, b)
    normal_(w, mean, std)        w ~ N(mean, std^2)        DCGAN: N(0, 0.02^2)
    xavier_uniform_(w, gain)     U(-a, a),  a = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal_(w, gain)      N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
    kaiming_uniform_(w, a)       U(-b, b),  b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2))
    kaiming_normal_(w, a)        N(0, s^2), s = gain / sqrt(fan_in)

fan_in and fan_out follow PyTorch: for a weight of shape (d0, d1, k...) they are d1 * prod(k)
and d0 * prod(k).
"""

from __future__ import annotations

import math

from tinygan import random


def _fill(param, array):
    param.data[...] = array
    return param


def calculate_fan_in_and_fan_out(param):
    shape = param.shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def uniform_(param, a=0.0, b=1.0):
    u = random.rand(*param.shape, device=param.device, dtype=param.dtype)
    return _fill(param, u * (b - a) + a)


def normal_(param, mean=0.0, std=1.0):
    z = random.randn(*param.shape, device=param.device, dtype=param.dtype)
    return _fill(param, z * std + mean)


def constant_(param, value):
    param.data[...] = value
    return param


def zeros_(param):
    return constant_(param, 0.0)


def ones_(param):
    return constant_(param, 1.0)


def xavier_uniform_(param, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(param)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(param, -a, a)


def xavier_normal_(param, gain=1.0):
    fan_in, fan_out = calculate_fan_in_and_fan_out(param)
    return normal_(param, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_gain(a):
    return math.sqrt(2.0 / (1.0 + a * a))


def kaiming_uniform_(param, a=0.0):
    fan_in, _ = calculate_fan_in_and_fan_out(param)
    bound = _kaiming_gain(a) * math.sqrt(3.0 / fan_in)
    return uniform_(param, -bound, bound)


def kaiming_normal_(param, a=0.0):
    fan_in, _ = calculate_fan_in_and_fan_out(param)
    return normal_(param, 0.0, _kaiming_gain(a) / math.sqrt(fan_in))


def default_init_(weight, bias=None):
    """PyTorch's default for Linear and convolutions: kaiming_uniform_(a=sqrt(5)), which is
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in)
        uniform_(bias, -bound, bound)


def dcgan_init_(module):
    """The DCGAN paper's initialisation, for ``model.apply(dcgan_init_)``: convolution and linear
    weights N(0, 0.02^2), batch-norm weights N(1, 0.02^2), biases 0."""
    from tinygan.nn.conv import Conv2d, ConvTranspose2d
    from tinygan.nn.linear import Linear
    from tinygan.nn.norm import _BatchNorm
    if isinstance(module, (Conv2d, ConvTranspose2d, Linear)):
        normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            zeros_(module.bias)
    elif isinstance(module, _BatchNorm) and module.affine:
        normal_(module.weight, 1.0, 0.02)
        zeros_(module.bias)
