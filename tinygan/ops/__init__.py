"""Differentiable functions, grouped by kind. Each takes its array module from its inputs."""

from tinygan.ops.conv import conv2d, conv_transpose2d
from tinygan.ops.activation import (elu, glu, leaky_relu, log_sigmoid, log_softmax, relu, selu, sigmoid, softmax, softplus,
                                   tanh)
from tinygan.ops.device import astype, to_device
from tinygan.ops.linalg import matmul
from tinygan.ops.math import (abs, add, clip, div, exp, log, maximum, minimum, mul, neg, pow, sqrt, sub,
                              where)
from tinygan.ops.reduce import broadcast_to, max, mean, sum, sum_to, var
from tinygan.ops.shape import concat, getitem, pad, permute, reshape, stack, swapaxes, transpose

__all__ = [
    "abs", "add", "astype", "broadcast_to", "clip", "concat", "conv2d", "conv_transpose2d", "div", "elu", "exp", "getitem", "glu", "leaky_relu", "log",
    "log_sigmoid", "log_softmax", "matmul", "max", "maximum", "mean", "minimum", "mul", "neg", "pad", "permute",
    "pow", "relu", "reshape", "selu", "sigmoid", "softmax", "softplus", "sqrt", "stack", "sub", "sum", "sum_to",
    "swapaxes", "tanh", "to_device", "transpose", "var", "where",
]

from tinygan.ops.nn import dropout, embedding, linear  # noqa: E402
from tinygan.ops.norm import batch_norm, instance_norm, layer_norm, normalize  # noqa: E402
from tinygan.ops.padding import reflection_pad2d  # noqa: E402
from tinygan.ops.pool import avg_pool2d, max_pool2d, upsample_nearest  # noqa: E402
from tinygan.ops.resize import resize  # noqa: E402

__all__ += ["avg_pool2d", "batch_norm", "dropout", "embedding", "instance_norm", "layer_norm", "linear",
            "max_pool2d", "normalize", "reflection_pad2d", "resize", "upsample_nearest"]
