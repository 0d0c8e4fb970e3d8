"""Layers and containers: tinygan.nn mirrors the part of torch.nn that GANs use."""

from tinygan.nn import init
from tinygan.nn.activation import ELU, GLU, SELU, LeakyReLU, ReLU, Sigmoid, Tanh
from tinygan.nn.conditioning import ConditioningAugmentation
from tinygan.nn.conv import Conv2d, ConvTranspose2d
from tinygan.nn.dropout import Dropout
from tinygan.nn.embedding import Embedding
from tinygan.nn.equalized_lr import EqualizedLR, equalized_lr
from tinygan.nn.linear import Linear
from tinygan.nn.minibatch_stddev import MinibatchStdDev
from tinygan.nn.module import Identity, Module, ModuleList, Parameter, Sequential
from tinygan.nn.norm import BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm
from tinygan.nn.padding import ReflectionPad2d
from tinygan.nn.pixel_norm import PixelNorm
from tinygan.nn.pooling import AvgPool2d, MaxPool2d, Upsample
from tinygan.nn.residual import ResidualBlock
from tinygan.nn.shape import Flatten, Reshape, Unflatten

__all__ = [
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "ConditioningAugmentation", "Conv2d", "ConvTranspose2d", "Dropout",
    "ELU", "Embedding", "EqualizedLR", "Flatten", "GLU", "Identity", "InstanceNorm2d", "LayerNorm", "LeakyReLU", "Linear",
    "MaxPool2d", "MinibatchStdDev", "Module", "ModuleList", "Parameter", "PixelNorm", "ReLU", "ReflectionPad2d", "Reshape",
    "ResidualBlock", "SELU", "Sequential", "Sigmoid", "Tanh", "Unflatten", "Upsample", "equalized_lr", "init",
]
