"""2-D convolution and transposed convolution as matrix products.

Convolution, with x (N, C, H, W) and weight w (O, C, KH, KW):

    y[n, o, i, j] = sum_{c, p, q} w[o, c, p, q] * x_pad[n, c, i*s + p*d, j*s + q*d]

``im2col`` gathers, for every kernel position (p, q), the strided slice of the padded input
that it meets, into a matrix ``cols`` of shape (C*KH*KW, OH*OW*N); then y = w_mat @ cols is one
GEMM. The loop runs over the KH*KW kernel positions, never over pixels or samples.

``col2im`` is its adjoint: it adds each kernel position's rows of a column matrix back into
the strided slice they came from. Three Functions are built from the pair, and each is the
others' backward, so every derivative of every order is again one of them:

    conv2d(x, w)                 forward: w_mat @ im2col(x)
    conv_transpose2d(x, w)       forward: col2im(w_mat^T @ x_mat)   (= d conv2d / d x)
    conv2d_weight(x, gy)         forward: gy_mat @ im2col(x)^T      (= d conv2d / d w)

    d conv2d           : dx = conv_transpose2d(gy, w),  dw = conv2d_weight(x, gy)
    d conv_transpose2d : dx = conv2d(gy, w),            dw = conv2d_weight(gy, x)
    d conv2d_weight    : dx = conv_transpose2d(gy, ggw), dgy = conv2d(x, ggw)

The columns are ordered (i, j, n), the batch innermost, and so are the rows of x_mat (C, H*W*N):
a product's result, (O, OH*OW*N), is then the output stored channels-first, and it is returned
as an (N, O, OH, OW) view of that array, without a copy. Shapes and indexing are NCHW as
everywhere else; only the strides differ.

A layer's bias is a third input of conv2d and conv_transpose2d (as in PyTorch): added to the
result, y[:, o] += b[o], and its gradient is db[o] = sum of dy[:, o] over N, H and W.
"""

from __future__ import annotations

from tinygan import backend
from tinygan.ops._util import as_tensor
from tinygan.ops.reduce import sum as reduce_sum
from tinygan.tensor import Function


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(i, int) for i in v):
        return tuple(v)
    raise TypeError(f"{name}: expected an int or a pair of ints, got {v!r}")


def conv_output_size(size, kernel, stride, padding, dilation):
    """Output length of a convolution: floor((size + 2p - d(k-1) - 1) / s) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_output_size(size, kernel, stride, padding, dilation, output_padding):
    """Output length of a transposed convolution (PyTorch's rule):
    (size - 1) s - 2p + d(k-1) + output_padding + 1."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _window(i, dilation, stride, out):
    """The slice of a padded axis that kernel position i meets for every output position."""
    start = i * dilation
    return slice(start, start + stride * (out - 1) + 1, stride)


def im2col(x, kernel, stride, padding, dilation, out_hw):
    """(N, C, H, W) -> columns (C*KH*KW, OH*OW*N): row (c, p, q), column (i, j, n) holds
    x_pad[n, c, i*s + p*d, j*s + q*d]."""
    xp = backend.array_module(x)
    n, c = x.shape[:2]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out_hw
    x_pad = xp.pad(x.transpose(1, 2, 3, 0), ((0, 0), (ph, ph), (pw, pw), (0, 0)))  # (C, H + 2ph, W + 2pw, N)
    cols = xp.empty((c, kh, kw, oh, ow, n), dtype=x.dtype)
    for p in range(kh):
        for q in range(kw):
            cols[:, p, q] = x_pad[:, _window(p, dh, sh, oh), _window(q, dw, sw, ow)]
    return cols.reshape(c * kh * kw, oh * ow * n)


def col2im(cols, x_shape, kernel, stride, padding, dilation, out_hw):
    """The adjoint of im2col: columns (C*KH*KW, OH*OW*N) -> (N, C, H, W), overlaps summed."""
    xp = backend.array_module(cols)
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out_hw
    cols = cols.reshape(c, kh, kw, oh, ow, n)
    x_pad = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)
    for p in range(kh):
        for q in range(kw):
            x_pad[:, _window(p, dh, sh, oh), _window(q, dw, sw, ow)] += cols[:, p, q]
    return x_pad[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2)


def _matrix(a):
    """(N, C, H, W) -> the (C, H*W*N) matrix of its channels (free when ``a`` is stored channels-first)."""
    return a.transpose(1, 2, 3, 0).reshape(a.shape[1], -1)


def _image(m, n, h, w):
    """The (C, H*W*N) matrix ``m`` -> its (N, C, H, W) view."""
    return m.reshape(m.shape[0], h, w, n).transpose(3, 0, 1, 2)


class _ConvBase(Function):
    def __init__(self, stride, padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation


class Conv2d(_ConvBase):
    """y = conv2d(x, w) [+ b]: x (N, C, H, W), w (O, C, KH, KW), b (O,) -> y (N, O, OH, OW).

    ``out_hw``, when given, keeps only the first OH x OW outputs. A transposed convolution's
    ``output_padding`` may reach a whole stride (it is legal up to the dilation), and then the
    adjoint of that transposed convolution, this convolution, has more output positions than the
    transposed convolution had inputs: the extra ones meet only the padded tail and are dropped.
    """

    def __init__(self, stride, padding, dilation, out_hw=None):
        super().__init__(stride, padding, dilation)
        self.out_hw = out_hw

    def forward(self, x, w, b=None):
        o, c, kh, kw = w.shape
        out_hw = self.out_hw or tuple(conv_output_size(x.shape[2 + a], w.shape[2 + a], self.stride[a], self.padding[a],
                                                       self.dilation[a]) for a in (0, 1))
        y = w.reshape(o, c * kh * kw) @ im2col(x, (kh, kw), self.stride, self.padding, self.dilation, out_hw)
        if b is not None:
            y += b.reshape(o, 1)
        return _image(y, x.shape[0], *out_hw)

    def backward(self, gy):
        x, w = self.inputs[:2]
        nx, nw = self.needs_input_grad[:2]
        gx = ConvTranspose2d(self.stride, self.padding, self.dilation, x.shape[2:])(gy, w) if nx else None
        gw = Conv2dWeight(self.stride, self.padding, self.dilation, w.shape[2:])(x, gy) if nw else None
        return gx, gw, _bias_grad(self, gy)


def _bias_grad(fn, gy):
    """db = sum of dy over N, H and W, when there is a bias input and its gradient is wanted."""
    return reduce_sum(gy, (0, 2, 3)) if len(fn.inputs) == 3 and fn.needs_input_grad[2] else None


class ConvTranspose2d(_ConvBase):
    """y = conv_transpose2d(x, w) [+ b]: x (N, C_in, H, W), w (C_in, C_out, KH, KW), b (C_out,) ->
    y (N, C_out, OH, OW), the adjoint of conv2d with the same weight; ``out_hw`` fixes the output size."""

    def __init__(self, stride, padding, dilation, out_hw):
        super().__init__(stride, padding, dilation)
        self.out_hw = tuple(out_hw)

    def forward(self, x, w, b=None):
        n, c_in, h, wd = x.shape
        _, c_out, kh, kw = w.shape
        cols = w.reshape(c_in, c_out * kh * kw).T @ _matrix(x)
        y = col2im(cols, (n, c_out) + self.out_hw, (kh, kw), self.stride, self.padding, self.dilation, (h, wd))
        if b is not None:
            y += b.reshape(1, c_out, 1, 1)
        return y

    def backward(self, gy):
        x, w = self.inputs[:2]
        nx, nw = self.needs_input_grad[:2]
        gx = Conv2d(self.stride, self.padding, self.dilation, x.shape[2:])(gy, w) if nx else None
        gw = Conv2dWeight(self.stride, self.padding, self.dilation, w.shape[2:])(gy, x) if nw else None
        return gx, gw, _bias_grad(self, gy)


class Conv2dWeight(_ConvBase):
    """gw = conv2d_weight(x, gy): the gradient of conv2d with respect to its weight,
    gw[o, c, p, q] = sum_{n, i, j} gy[n, o, i, j] x_pad[n, c, i*s + p*d, j*s + q*d]."""

    def __init__(self, stride, padding, dilation, kernel):
        super().__init__(stride, padding, dilation)
        self.kernel = tuple(kernel)

    def forward(self, x, gy):
        cols = im2col(x, self.kernel, self.stride, self.padding, self.dilation, gy.shape[2:])
        return (_matrix(gy) @ cols.T).reshape((gy.shape[1], x.shape[1]) + self.kernel)

    def backward(self, ggw):
        x, gy = self.inputs
        nx, ngy = self.needs_input_grad
        gx = ConvTranspose2d(self.stride, self.padding, self.dilation, x.shape[2:])(gy, ggw) if nx else None
        ggy = Conv2d(self.stride, self.padding, self.dilation, gy.shape[2:])(x, ggw) if ngy else None
        return gx, ggy


def _check_conv_input(x, w, name, w_in_axis):
    if x.ndim != 4:
        raise ValueError(f"{name}: input: expected a 4-d tensor (N, C, H, W), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"{name}: weight: expected a 4-d tensor, got shape {w.shape}")
    if x.shape[1] != w.shape[w_in_axis]:
        raise ValueError(f"{name}: input: expected {w.shape[w_in_axis]} channels (the weight's), "
                         f"got {x.shape[1]} (input shape {x.shape})")
    if x.dtype != w.dtype:
        raise TypeError(f"{name}: input and weight must have one dtype, got {x.dtype} and {w.dtype}")


def _check_bias(bias, w, out_axis, name):
    if bias is None:
        return ()
    bias = as_tensor(bias, "bias")
    if bias.shape != (w.shape[out_axis],):
        raise ValueError(f"{name}: bias: expected shape ({w.shape[out_axis]},) (one per output channel), "
                         f"got {bias.shape}")
    if bias.dtype != w.dtype:
        raise TypeError(f"{name}: bias and weight must have one dtype, got {bias.dtype} and {w.dtype}")
    return (bias,)


def conv2d(x, w, stride=1, padding=0, dilation=1, *, bias=None):
    """2-D cross-correlation (PyTorch's conv2d): x (N, C, H, W), w (O, C, KH, KW), bias (O,) or None."""
    x, w = as_tensor(x, "input"), as_tensor(w, "weight")
    _check_conv_input(x, w, "conv2d", 1)
    b = _check_bias(bias, w, 0, "conv2d")
    stride, padding, dilation = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    for axis in (0, 1):
        if conv_output_size(x.shape[2 + axis], w.shape[2 + axis], stride[axis], padding[axis], dilation[axis]) < 1:
            raise ValueError(f"conv2d: input of spatial size {x.shape[2:]} is smaller than the (dilated) kernel "
                             f"{w.shape[2:]} with padding {padding}")
    return Conv2d(stride, padding, dilation)(x, w, *b)


def conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, *, bias=None):
    """Transposed convolution (PyTorch's conv_transpose2d): w (C_in, C_out, KH, KW), bias (C_out,) or None."""
    x, w = as_tensor(x, "input"), as_tensor(w, "weight")
    _check_conv_input(x, w, "conv_transpose2d", 0)
    b = _check_bias(bias, w, 1, "conv_transpose2d")
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    output_padding, dilation = _pair(output_padding, "output_padding"), _pair(dilation, "dilation")
    for axis in (0, 1):
        if not 0 <= output_padding[axis] < max(stride[axis], dilation[axis]):
            raise ValueError(f"conv_transpose2d: output_padding must be smaller than stride or dilation, "
                             f"got output_padding={output_padding}, stride={stride}, dilation={dilation}")
    out_hw = tuple(conv_transpose_output_size(x.shape[2 + a], w.shape[2 + a], stride[a], padding[a], dilation[a],
                                              output_padding[a]) for a in (0, 1))
    if min(out_hw) < 1:
        raise ValueError(f"conv_transpose2d: padding {padding} leaves no output for input size {x.shape[2:]}")
    return ConvTranspose2d(stride, padding, dilation, out_hw)(x, w, *b)
