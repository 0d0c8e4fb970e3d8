"""Differentiable functions, grouped by kind. Each takes its array module from its inputs."""

from tinygan.ops.activation import leaky_relu, log_sigmoid, log_softmax, relu, sigmoid, softmax, softplus, tanh
from tinygan.ops.device import astype, to_device
from tinygan.ops.linalg import matmul
from tinygan.ops.math import (abs, add, clip, div, exp, log, maximum, minimum, mul, neg, pow, sqrt, sub,
                              where)
from tinygan.ops.reduce import broadcast_to, max, mean, sum, sum_to, var
from tinygan.ops.shape import concat, getitem, pad, permute, reshape, stack, swapaxes, transpose

__all__ = [
    "abs", "add", "astype", "broadcast_to", "clip", "concat", "div", "exp", "getitem", "leaky_relu", "log",
    "log_sigmoid", "log_softmax", "matmul", "max", "maximum", "mean", "minimum", "mul", "neg", "pad", "permute",
    "pow", "relu", "reshape", "sigmoid", "softmax", "softplus", "sqrt", "stack", "sub", "sum", "sum_to",
    "swapaxes", "tanh", "to_device", "transpose", "var", "where",
]
