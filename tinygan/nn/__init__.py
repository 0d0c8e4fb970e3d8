"""Layers and containers: tinygan.nn mirrors the part of torch.nn that GANs use."""

from tinygan.nn import init
from tinygan.nn.activation import ELU, SELU, LeakyReLU, ReLU, Sigmoid, Tanh
from tinygan.nn.conv import Conv2d, ConvTranspose2d
from tinygan.nn.dropout import Dropout
from tinygan.nn.embedding import Embedding
from tinygan.nn.linear import Linear
from tinygan.nn.module import Identity, Module, ModuleList, Parameter, Sequential
from tinygan.nn.norm import BatchNorm1d, BatchNorm2d, LayerNorm
from tinygan.nn.pooling import AvgPool2d, MaxPool2d, Upsample
from tinygan.nn.shape import Flatten, Reshape, Unflatten

__all__ = [
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "Dropout", "ELU", "Embedding", "Flatten",
    "Identity", "LayerNorm", "LeakyReLU", "Linear", "MaxPool2d", "Module", "ModuleList", "Parameter", "ReLU",
    "Reshape", "SELU", "Sequential", "Sigmoid", "Tanh", "Unflatten", "Upsample", "init",
]
