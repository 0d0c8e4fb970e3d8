"""tanh, relu and leaky_relu: the activations a convolutional GAN applies to every feature map.

The forward writes its result block by block over the threads (``pool.elementwise``), and the
backward computes the same derivative as the textbook's Tensor expression, but on raw arrays,
in place, in one output array: gx = gy (1 - y^2) for tanh, gy [x > 0] for relu,
gy (slope + (1 - slope) [x > 0]) for leaky_relu (arithmetic rather than a ``where`` with scalar
branches, which is ~15x slower in NumPy). Each result has the memory order of the input.
"""

from __future__ import annotations

from tinygan.backend import array_module
from tinygan.kernels import Example, register
from tinygan.kernels.pool import elementwise
from tinygan.ops.activation import LeakyReLU, ReLU, Tanh, leaky_relu, relu, tanh


def tanh_forward(fn, x):
    xp = array_module(x)
    return elementwise(lambda x, y: xp.tanh(x, out=y), x)


def tanh_backward(fn, gy):
    xp = array_module(gy)

    def grad(y, gy, gx):  # gx = gy (1 - y^2)
        xp.multiply(y, y, out=gx)
        xp.subtract(1.0, gx, out=gx)
        gx *= gy
    return (elementwise(grad, fn.output.data, gy),)


def relu_forward(fn, x):
    xp = array_module(x)
    return elementwise(lambda x, y: xp.maximum(x, 0, out=y), x)


def relu_backward(fn, gy):
    xp = array_module(gy)

    def grad(x, gy, gx):  # gx = [x > 0] gy
        xp.greater(x, 0, out=gx)
        gx *= gy
    return (elementwise(grad, fn.inputs[0].data, gy),)


def leaky_relu_forward(fn, x):
    if not 0 <= fn.slope <= 1:  # then max(x, slope x) is not the function
        return NotImplemented
    xp = array_module(x)
    return elementwise(lambda x, y: xp.maximum(x, xp.multiply(x, fn.slope, out=y), out=y), x)


def leaky_relu_backward(fn, gy):
    xp, slope = array_module(gy), fn.slope

    def grad(x, gy, gx):  # gx = (slope + (1 - slope) [x > 0]) gy
        xp.greater(x, 0, out=gx)
        gx *= 1.0 - slope
        gx += slope
        gx *= gy
    return (elementwise(grad, fn.inputs[0].data, gy),)


SHAPES = [((7, 13),), ((3, 5, 4, 6),)]
register(Tanh, forward=tanh_forward, backward=tanh_backward, examples=[Example(tanh, s) for s in SHAPES])
register(ReLU, forward=relu_forward, backward=relu_backward, examples=[Example(relu, s) for s in SHAPES])
register(LeakyReLU, forward=leaky_relu_forward, backward=leaky_relu_backward,
         examples=[Example(lambda x: leaky_relu(x, 0.2), s) for s in SHAPES] + [Example(lambda x: leaky_relu(x, 1.5), SHAPES[0])])
