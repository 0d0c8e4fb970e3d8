"""2-D convolution and transposed convolution as large matrix products.

Convolution, with x (N, C, H, W) and weight w (O, C, KH, KW):

    y[n, o, i, j] = sum_{c, p, q} w[o, c, p, q] * x_pad[n, c, i*s + p*d, j*s + q*d]

``im2col`` gathers, for every kernel position (p, q), the strided slice of the padded input
that it meets, into a matrix ``cols`` of shape (C*KH*KW, N*OH*OW); then y = w_mat @ cols is one
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

Memory layout: the matrices are channels-first with the batch axis innermost, (C, H, W, N), and
columns are (C, KH, KW, OH, OW, N). Every copy in im2col and col2im then moves runs of N
contiguous numbers, instead of runs of OW (7 or 14) that a batch-first layout gives. The
results are returned as NCHW-shaped views of (C, H, W, N) buffers, without a copy; NumPy's
elementwise ops keep the memory order of their inputs (order='K'), so batch-norm and LeakyReLU
outputs stay in that order and the next convolution's transpose is a contiguous copy. Shapes,
indexing and values are NCHW as everywhere else; only the strides differ.

The forward pass keeps its column matrix for the weight gradient (one im2col instead of two).
A layer's bias is a third input of conv2d and conv_transpose2d (as in PyTorch): added to the
result in place, y[:, o] += b[o], and its gradient is db[o] = sum of dy[:, o] over N, H, W;
one pass instead of a separate broadcasting add and its reduction.

On the CPU the big pieces are split over ``tinygan.parallel``'s threads along an axis whose parts
share nothing: im2col by kernel position (each fills its own rows of the column matrix), the
transposed direction and col2im by input channel (each adds into its own channels), the matrix
products by rows or columns of their result.

The transposed direction (``conv_transpose``, shared by ConvTranspose2d's forward and
Conv2d's input gradient) does not build the column matrix at all when there are enough output
channels: each kernel position's block w_pq^T @ g_mat is added into its strided slice while it
is still in cache, instead of writing and re-reading a matrix KH*KW times the image's size.
With few output channels (an image layer's 1 channel) those blocks would be matrix-vector
products, so there one GEMM and ``col2im`` are used instead.
"""

from __future__ import annotations

from tinygan import backend, parallel
from tinygan.ops._util import as_tensor
from tinygan.ops.reduce import sum as reduce_sum
from tinygan.tensor import Function, is_grad_enabled


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


def _windows(i, dilation, stride, out):
    """The slice of a padded axis that kernel position i meets for every output position."""
    start = i * dilation
    return slice(start, start + stride * (out - 1) + 1, stride)


MAX_COLUMN_BYTES = 32 * 2**20  # a bigger column matrix is built (and multiplied) in bands of output rows


def channels_first(x):
    """(N, C, H, W) -> the (C, H, W, N) array that columns are gathered from: free when ``x`` is
    already a view of one (every convolution's output is), else one copy, channels split over
    the CPU threads."""
    source = x.transpose(1, 2, 3, 0)
    if source.flags.c_contiguous or not parallel.is_cpu(x):
        return backend.array_module(x).ascontiguousarray(source)
    out = backend.array_module(x).empty(source.shape, dtype=x.dtype)

    def copy(r):
        out[r[0]:r[1]] = source[r[0]:r[1]]
    parallel.run(copy, parallel.split(source.shape[0], parallel.threads_for(x.size)))
    return out


def _inside(lo, hi, offset, stride, size):
    """The output positions i in [lo, hi) whose input position i*stride + offset lies in
    [0, size), as a range (i0, i1); those outside read the zero padding."""
    i0 = min(max(lo, -(offset // stride)), hi)
    i1 = max(min(hi, (size - 1 - offset) // stride + 1), i0)
    return i0, i1


def im2col_rows(x_c, kernel, stride, padding, dilation, ow, rows):
    """Columns of output rows ``rows`` = (r0, r1) from an unpadded (C, H, W, N) input:
    shape (C*KH*KW, (r1-r0)*OW*N), row (c, p, q), column (i, j, n).

    Kernel position (p, q) reads input row i*s + p*d - pad for output row i: the rows and
    columns that fall in the padding get zeros, the rest one strided copy. (Padding x first
    would cost a copy of the whole input per call.)"""
    xp = backend.array_module(x_c)
    c, h, w, n = x_c.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (r0, r1) = kernel, stride, padding, dilation, rows
    cols = xp.empty((c, kh, kw, r1 - r0, ow, n), dtype=x_c.dtype)
    positions = [(p, q) for p in range(kh) for q in range(kw)]

    def gather(r):  # kernel positions r[0]:r[1], each filling its own rows of cols
        for p, q in positions[r[0]:r[1]]:
            i0, i1 = _inside(r0, r1, p * dh - ph, sh, h)
            j0, j1 = _inside(0, ow, q * dw - pw, sw, w)
            block = cols[:, p, q]  # (C, r1 - r0, OW, N)
            block[:, :i0 - r0], block[:, i1 - r0:], block[:, :, :j0], block[:, :, j1:] = 0, 0, 0, 0
            if i1 > i0 and j1 > j0:
                rows_in = slice(i0 * sh + p * dh - ph, (i1 - 1) * sh + p * dh - ph + 1, sh)
                cols_in = slice(j0 * sw + q * dw - pw, (j1 - 1) * sw + q * dw - pw + 1, sw)
                block[:, i0 - r0:i1 - r0, j0:j1, :] = x_c[:, rows_in, cols_in, :]
    parallel.run(gather, parallel.split(len(positions), parallel.threads_for(cols.size, arrays=(x_c,))))
    return cols.reshape(c * kh * kw, (r1 - r0) * ow * n)


def row_bands(x_shape, kernel, out_hw, itemsize):
    """Split the output rows into bands whose column matrix stays under MAX_COLUMN_BYTES.

    A 3x3 convolution of 128 channels at 28x28 and batch 64 would need a 231 MB column
    matrix; in bands, each GEMM is still large while the memory stays bounded."""
    n, c = x_shape[0], x_shape[1]
    oh, ow = out_hw
    row_bytes = c * kernel[0] * kernel[1] * ow * n * itemsize
    rows = max(1, MAX_COLUMN_BYTES // row_bytes)
    return [(r, min(r + rows, oh)) for r in range(0, oh, rows)]


def im2col(x, kernel, stride, padding, dilation, out_hw):
    """(N, C, H, W) -> columns (C*KH*KW, OH*OW*N), all output rows at once."""
    return im2col_rows(channels_first(x), kernel, stride, padding, dilation, out_hw[1], (0, out_hw[0]))


def col2im(cols, x_shape, kernel, stride, padding, dilation, out_hw):
    """The adjoint of im2col: columns (C*KH*KW, OH*OW*N) -> (N, C, H, W), overlaps summed.

    Returns an NCHW view of a (C, H, W, N) buffer (see the module docstring)."""
    xp = backend.array_module(cols)
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out_hw
    cols = cols.reshape(c, kh, kw, oh, ow, n)
    x_c = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)

    def scatter(r):  # channels r[0]:r[1]; kernel positions overlap, channels do not
        for p in range(kh):
            rows = _windows(p, dh, sh, oh)
            for q in range(kw):
                x_c[r[0]:r[1], rows, _windows(q, dw, sw, ow), :] += cols[r[0]:r[1], p, q]
    parallel.run(scatter, parallel.split(c, parallel.threads_for(cols.size, arrays=(cols,))))
    return x_c[:, ph:ph + h, pw:pw + w, :].transpose(3, 0, 1, 2)


def _channels_first(a):
    """(N, C, H, W) -> (C, H*W*N) matrix; free when ``a`` is already a view of a (C, H, W, N) buffer."""
    n, c, h, w = a.shape
    return channels_first(a).reshape(c, h * w * n)


def _from_channels_first(m, n, h, w):
    """(C, H*W*N) matrix -> (N, C, H, W) view, no copy."""
    return m.reshape(m.shape[0], h, w, n).transpose(3, 0, 1, 2)


FUSED_MIN_CHANNELS = 16  # below this, per-position blocks are too thin for an efficient GEMM
FUSED_BLOCK_BYTES = 256 * 2**10  # a block w_pq^T @ g of about this size is added while still in the cache


def conv_transpose(g, w, x_shape, stride, padding, dilation):
    """The adjoint of conv2d in its first argument: g (N, O, OH, OW), w (O, C, KH, KW) -> (N, C, H, W).

    x = sum over kernel positions (p, q) of w[:, :, p, q]^T @ g, each added into the strided
    slice of x that position (p, q) reads in the forward convolution. This one kernel is both
    Conv2d's input gradient and ConvTranspose2d's forward pass. For big batches g is taken a
    band of rows at a time (FUSED_BLOCK_BYTES), so that each block is added from the cache.
    """
    xp = backend.array_module(g)
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    oh, ow = g.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    g_mat = _channels_first(g)
    if c < FUSED_MIN_CHANNELS:
        cols = parallel.matmul(w.reshape(o, c * kh * kw).T, g_mat)
        return col2im(cols, x_shape, (kh, kw), stride, padding, dilation, (oh, ow))
    w_t = xp.ascontiguousarray(w.transpose(2, 3, 1, 0))  # (KH, KW, C, O): one (C, O) block per position
    x_c = xp.zeros((c, h + 2 * ph, wd + 2 * pw, n), dtype=g.dtype)

    flops = 2 * c * o * kh * kw * g_mat.shape[1]
    parts = parallel.split(c, parallel.threads_for(flops, parallel.MIN_FLOPS, blas=True, arrays=(g_mat,)))
    # Rows of g at a time, so that each block is added while it is still in the cache.
    band = max(1, FUSED_BLOCK_BYTES // ((parts[0][1] - parts[0][0]) * ow * n * g.dtype.itemsize))
    step = ow * n

    def add_blocks(r):  # input channels r[0]:r[1]
        c0, c1 = r
        for i0 in range(0, oh, band):
            i1 = min(i0 + band, oh)
            g_band = g_mat[:, i0 * step:i1 * step]
            for p in range(kh):
                rows = slice(i0 * sh + p * dh, (i1 - 1) * sh + p * dh + 1, sh)
                for q in range(kw):
                    x_c[c0:c1, rows, _windows(q, dw, sw, ow), :] += \
                        (w_t[p, q, c0:c1] @ g_band).reshape(c1 - c0, i1 - i0, ow, n)
    parallel.run(add_blocks, parts)
    return x_c[:, ph:ph + h, pw:pw + wd, :].transpose(3, 0, 1, 2)


class _ConvBase(Function):
    def __init__(self, stride, padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation


class Conv2d(_ConvBase):
    """y = conv2d(x, w) [+ b]: x (N, C, H, W), w (O, C, KH, KW), b (O,) -> y (N, O, OH, OW).
    ``cols``, when given, is im2col(x) already computed by the caller.

    ``out_hw``, when given, keeps only the first OH x OW outputs. A transposed convolution's
    ``output_padding`` may reach a whole stride (it is legal up to the dilation), and then the
    adjoint of that transposed convolution, this convolution, has more output positions than the
    transposed convolution had inputs: the extra ones meet only the padded tail and are dropped.
    """

    def __init__(self, stride, padding, dilation, cols=None, out_hw=None):
        super().__init__(stride, padding, dilation)
        self.cols, self.out_hw = cols, out_hw

    def forward(self, x, w, b=None):
        n, _, h, wd = x.shape
        o, c, kh, kw = w.shape
        out_hw = self.out_hw or (conv_output_size(h, kh, self.stride[0], self.padding[0], self.dilation[0]),
                                 conv_output_size(wd, kw, self.stride[1], self.padding[1], self.dilation[1]))
        w_mat = w.reshape(o, c * kh * kw)
        bands = row_bands(x.shape, (kh, kw), out_hw, x.dtype.itemsize)
        if self.cols is None and len(bands) > 1:  # too big for one column matrix: band by band
            x_c = channels_first(x)
            y = backend.array_module(x).empty((o, out_hw[0] * out_hw[1] * n), dtype=x.dtype)
            step = out_hw[1] * n
            for r0, r1 in bands:
                y[:, r0 * step:r1 * step] = parallel.matmul(w_mat, im2col_rows(x_c, (kh, kw), self.stride, self.padding,
                                                                               self.dilation, out_hw[1], (r0, r1)))
        else:
            cols = self.cols if self.cols is not None else im2col(x, (kh, kw), self.stride, self.padding,
                                                                  self.dilation, out_hw)
            self.cols = cols if is_grad_enabled() else None  # reused by the weight gradient
            y = parallel.matmul(w_mat, cols)
        if b is not None:
            y += b.reshape(o, 1)
        return _from_channels_first(y, n, *out_hw)

    def flops(self, xs, y):  # 2 C KH KW per output value
        return 2 * y.size * xs[1][0].size

    def backward(self, gy):
        x, w = self.inputs[:2]
        nx, nw = self.needs_input_grad[:2]
        gx = ConvTranspose2d(self.stride, self.padding, self.dilation, x.shape[2:])(gy, w) if nx else None
        gw = None
        if nw:
            gw = Conv2dWeight(self.stride, self.padding, self.dilation, w.shape[2:], self.cols)(x, gy)
        return (gx, gw) + _bias_grad(self, gy)


def _bias_grad(fn, gy):
    """db = sum of dy over N, H, W: () without a bias input, (db,) or (None,) with one."""
    if len(fn.inputs) < 3:
        return ()
    return (reduce_sum(gy, (0, 2, 3)) if fn.needs_input_grad[2] else None,)


class ConvTranspose2d(_ConvBase):
    """y = conv_transpose2d(x, w) [+ b]: x (N, C_in, H, W), w (C_in, C_out, KH, KW), b (C_out,) ->
    y (N, C_out, OH, OW), the adjoint of conv2d with the same weight; ``out_hw`` fixes the output size."""

    def __init__(self, stride, padding, dilation, out_hw):
        super().__init__(stride, padding, dilation)
        self.out_hw = out_hw

    def forward(self, x, w, b=None):
        n, _, h, wd = x.shape
        y = conv_transpose(x, w, (n, w.shape[1]) + tuple(self.out_hw), self.stride, self.padding, self.dilation)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        return y

    def flops(self, xs, y):  # 2 C_out KH KW per input value
        return 2 * xs[0].size * xs[1][0].size

    def backward(self, gy):
        x, w = self.inputs[:2]
        nx, nw = self.needs_input_grad[:2]
        # Both gradients convolve gy: build its column matrix once for the two of them.
        cols = None
        if nx and nw and len(row_bands(gy.shape, w.shape[2:], x.shape[2:], gy.dtype.itemsize)) == 1:
            cols = im2col(gy.data, w.shape[2:], self.stride, self.padding, self.dilation, x.shape[2:])
        gx = Conv2d(self.stride, self.padding, self.dilation, cols, x.shape[2:])(gy, w) if nx else None
        gw = Conv2dWeight(self.stride, self.padding, self.dilation, w.shape[2:], cols)(gy, x) if nw else None
        return (gx, gw) + _bias_grad(self, gy)


class Conv2dWeight(_ConvBase):
    """gw = conv2d_weight(x, gy): the gradient of conv2d with respect to its weight,
    gw[o, c, p, q] = sum_{n, i, j} gy[n, o, i, j] x_pad[n, c, i*s + p*d, j*s + q*d]."""

    def __init__(self, stride, padding, dilation, kernel, cols=None):
        super().__init__(stride, padding, dilation)
        self.kernel, self.cols = kernel, cols

    def forward(self, x, gy):
        _, c, _, _ = x.shape
        _, o, oh, ow = gy.shape
        kh, kw = self.kernel
        g_mat = _channels_first(gy)
        if self.cols is not None:
            cols, self.cols = self.cols, None
            return parallel.matmul(g_mat, cols.T).reshape(o, c, kh, kw)
        x_c = channels_first(x)
        step = ow * x.shape[0]
        gw = None
        for r0, r1 in row_bands(x.shape, self.kernel, (oh, ow), x.dtype.itemsize):
            part = parallel.matmul(g_mat[:, r0 * step:r1 * step],
                                   im2col_rows(x_c, self.kernel, self.stride, self.padding, self.dilation, ow,
                                               (r0, r1)).T)
            gw = part if gw is None else gw + part
        return gw.reshape(o, c, kh, kw)

    def flops(self, xs, y):  # 2 N OH OW per weight
        gy = xs[1]
        return 2 * y.size * gy.shape[0] * gy.shape[2] * gy.shape[3]

    def backward(self, ggw):
        x, gy = self.inputs
        nx, ngy = self.needs_input_grad
        gx = ConvTranspose2d(self.stride, self.padding, self.dilation, x.shape[2:])(gy, ggw) if nx else None
        ggy = Conv2d(self.stride, self.padding, self.dilation, out_hw=gy.shape[2:])(x, ggw) if ngy else None
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
