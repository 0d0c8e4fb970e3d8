"""The convolutions: the textbook's im2col, GEMM and col2im, arranged for speed.

* ``im2col_rows`` gathers straight from the unpadded input (the rows and columns that fall in
  the padding get zeros), one kernel position per thread: padding x first would cost a copy of
  the whole input per call.
* A column matrix over ``MAX_COLUMN_BYTES`` is built and multiplied in bands of output rows
  (``row_bands``): a 3x3 convolution of 128 channels at 28x28 and batch 64 would need 231 MB.
* The transposed direction (``conv_transpose``: ConvTranspose2d's forward and Conv2d's input
  gradient) does not build the column matrix at all when there are enough output channels: each
  kernel position's block w_pq^T @ g_mat is added into its strided slice while it is still in
  the cache, instead of writing and re-reading a matrix KH*KW times the image's size. With few
  output channels (an image layer's 1 channel) those blocks would be matrix-vector products, so
  there one GEMM and ``col2im`` (split by channel over the threads) are used instead.
* Conv2d's forward keeps its column matrix, and its backward computes the weight gradient from
  it (one im2col instead of two); ConvTranspose2d's backward builds gy's column matrix once for
  both of its gradients.
* Products are split over the threads by rows or columns (``pool.matmul``); the copies of an
  (N, C, H, W) array into the channels-first (C, H, W, N) order that columns are gathered from
  by channel.

Every piece computes what the textbook's computes, in the same (C, H, W, N) layouts.
"""

from __future__ import annotations

from tinygan.backend import array_module
from tinygan.kernels import Example, pool, register
from tinygan.ops.conv import (Conv2d, Conv2dWeight, ConvTranspose2d, _window, conv2d, conv_output_size,
                              conv_transpose2d)

MAX_COLUMN_BYTES = 32 * 2**20  # a bigger column matrix is built (and multiplied) in bands of output rows
FUSED_MIN_CHANNELS = 16  # below this, per-position blocks are too thin for an efficient GEMM
FUSED_BLOCK_BYTES = 256 * 2**10  # a block w_pq^T @ g of about this size is added while still in the cache


def channels_first(x):
    """(N, C, H, W) -> the (C, H, W, N) array that columns are gathered from: free when ``x`` is
    already a view of one (every convolution's output is), else one copy, channels split over
    the CPU threads."""
    source = x.transpose(1, 2, 3, 0)
    if source.flags.c_contiguous or not pool.is_cpu(x):
        return array_module(x).ascontiguousarray(source)
    out = array_module(x).empty(source.shape, dtype=x.dtype)

    def copy(r):
        out[r[0]:r[1]] = source[r[0]:r[1]]
    pool.run(copy, pool.split(source.shape[0], pool.threads_for(x.size)))
    return out


def _matrix(a):
    """(N, C, H, W) -> (C, H*W*N) matrix; free when ``a`` is already a view of a (C, H, W, N) array."""
    n, c, h, w = a.shape
    return channels_first(a).reshape(c, h * w * n)


def _image(m, n, h, w):
    """(C, H*W*N) matrix -> (N, C, H, W) view, no copy."""
    return m.reshape(m.shape[0], h, w, n).transpose(3, 0, 1, 2)


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
    columns that fall in the padding get zeros, the rest one strided copy."""
    xp = array_module(x_c)
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
    pool.run(gather, pool.split(len(positions), pool.threads_for(cols.size, arrays=(x_c,))))
    return cols.reshape(c * kh * kw, (r1 - r0) * ow * n)


def row_bands(x_shape, kernel, out_hw, itemsize):
    """Split the output rows into bands whose column matrix stays under MAX_COLUMN_BYTES."""
    n, c = x_shape[0], x_shape[1]
    oh, ow = out_hw
    row_bytes = c * kernel[0] * kernel[1] * ow * n * itemsize
    rows = max(1, MAX_COLUMN_BYTES // row_bytes)
    return [(r, min(r + rows, oh)) for r in range(0, oh, rows)]


def im2col(x, kernel, stride, padding, dilation, out_hw):
    """(N, C, H, W) -> columns (C*KH*KW, OH*OW*N), all output rows at once."""
    return im2col_rows(channels_first(x), kernel, stride, padding, dilation, out_hw[1], (0, out_hw[0]))


def col2im(cols, x_shape, kernel, stride, padding, dilation, out_hw):
    """The adjoint of im2col: columns (C*KH*KW, OH*OW*N) -> (N, C, H, W), overlaps summed,
    channels split over the threads (kernel positions overlap, channels do not)."""
    xp = array_module(cols)
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = kernel, stride, padding, dilation, out_hw
    cols = cols.reshape(c, kh, kw, oh, ow, n)
    x_c = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)

    def scatter(r):
        for p in range(kh):
            rows = _window(p, dh, sh, oh)
            for q in range(kw):
                x_c[r[0]:r[1], rows, _window(q, dw, sw, ow), :] += cols[r[0]:r[1], p, q]
    pool.run(scatter, pool.split(c, pool.threads_for(cols.size, arrays=(cols,))))
    return x_c[:, ph:ph + h, pw:pw + w, :].transpose(3, 0, 1, 2)


def conv(x, w, stride, padding, dilation, out_hw, cols=None):
    """conv2d(x, w) as an (N, O, OH, OW) view of a (O, OH, OW, N) array, and the column matrix
    when it was built whole (None when banded). ``cols``: im2col(x), already built."""
    n = x.shape[0]
    o, c, kh, kw = w.shape
    w_mat = w.reshape(o, c * kh * kw)
    bands = row_bands(x.shape, (kh, kw), out_hw, x.dtype.itemsize)
    if cols is None and len(bands) > 1:  # too big for one column matrix: band by band
        x_c = channels_first(x)
        y = array_module(x).empty((o, out_hw[0] * out_hw[1] * n), dtype=x.dtype)
        step = out_hw[1] * n
        for r0, r1 in bands:
            cols = im2col_rows(x_c, (kh, kw), stride, padding, dilation, out_hw[1], (r0, r1))
            y[:, r0 * step:r1 * step] = pool.matmul(w_mat, cols)
        cols = None
    else:
        cols = im2col(x, (kh, kw), stride, padding, dilation, out_hw) if cols is None else cols
        y = pool.matmul(w_mat, cols)
    return _image(y, n, *out_hw), cols


def weight_grad(x, gy, kernel, stride, padding, dilation, cols=None):
    """conv2d_weight(x, gy) = gy_mat @ im2col(x)^T, band by band for a big column matrix."""
    c = x.shape[1]
    _, o, oh, ow = gy.shape
    g_mat = _matrix(gy)
    if cols is not None:
        return pool.matmul(g_mat, cols.T).reshape(o, c, *kernel)
    x_c = channels_first(x)
    step = ow * x.shape[0]
    gw = None
    for r0, r1 in row_bands(x.shape, kernel, (oh, ow), x.dtype.itemsize):
        part = pool.matmul(g_mat[:, r0 * step:r1 * step],
                      im2col_rows(x_c, kernel, stride, padding, dilation, ow, (r0, r1)).T)
        gw = part if gw is None else gw + part
    return gw.reshape(o, c, *kernel)


def conv_transpose(g, w, x_shape, stride, padding, dilation):
    """The adjoint of conv2d in its first argument: g (N, O, OH, OW), w (O, C, KH, KW) -> (N, C, H, W).

    x = sum over kernel positions (p, q) of w[:, :, p, q]^T @ g, each added into the strided
    slice of x that position (p, q) reads in the forward convolution, input channels split over
    the threads. For big batches g is taken a band of rows at a time (FUSED_BLOCK_BYTES), so that
    each block is added from the cache."""
    xp = array_module(g)
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    oh, ow = g.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    g_mat = _matrix(g)
    if c < FUSED_MIN_CHANNELS:
        cols = pool.matmul(w.reshape(o, c * kh * kw).T, g_mat)
        return col2im(cols, x_shape, (kh, kw), stride, padding, dilation, (oh, ow))
    w_t = xp.ascontiguousarray(w.transpose(2, 3, 1, 0))  # (KH, KW, C, O): one (C, O) block per position
    x_c = xp.zeros((c, h + 2 * ph, wd + 2 * pw, n), dtype=g.dtype)

    flops = 2 * c * o * kh * kw * g_mat.shape[1]
    parts = pool.split(c, pool.threads_for(flops, pool.MIN_FLOPS, blas=True, arrays=(g_mat,)))
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
                    x_c[c0:c1, rows, _window(q, dw, sw, ow), :] += \
                        (w_t[p, q, c0:c1] @ g_band).reshape(c1 - c0, i1 - i0, ow, n)
    pool.run(add_blocks, parts)
    return x_c[:, ph:ph + h, pw:pw + wd, :].transpose(3, 0, 1, 2)


def conv2d_forward(fn, x, w, b=None):
    out_hw = fn.out_hw or tuple(conv_output_size(x.shape[2 + a], w.shape[2 + a], fn.stride[a], fn.padding[a],
                                                 fn.dilation[a]) for a in (0, 1))
    y, fn.cols = conv(x, w, fn.stride, fn.padding, fn.dilation, out_hw)  # the columns, for the weight gradient
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def _bias_grad(fn, gy):
    return gy.sum(axis=(0, 2, 3)) if len(fn.inputs) == 3 and fn.needs_input_grad[2] else None


def conv2d_backward(fn, gy):
    x, w = fn.inputs[0].data, fn.inputs[1].data
    nx, nw = fn.needs_input_grad[:2]
    gx = conv_transpose(gy, w, x.shape, fn.stride, fn.padding, fn.dilation) if nx else None
    gw = weight_grad(x, gy, w.shape[2:], fn.stride, fn.padding, fn.dilation, getattr(fn, "cols", None)) if nw else None
    return gx, gw, _bias_grad(fn, gy)


def conv_transpose2d_forward(fn, x, w, b=None):
    y = conv_transpose(x, w, (x.shape[0], w.shape[1]) + fn.out_hw, fn.stride, fn.padding, fn.dilation)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def conv_transpose2d_backward(fn, gy):
    x, w = fn.inputs[0].data, fn.inputs[1].data
    nx, nw = fn.needs_input_grad[:2]
    args = (fn.stride, fn.padding, fn.dilation)
    cols = None  # both gradients convolve gy: its column matrix is built once for the two
    if nx and nw and len(row_bands(gy.shape, w.shape[2:], x.shape[2:], gy.dtype.itemsize)) == 1:
        cols = im2col(gy, w.shape[2:], *args, x.shape[2:])
    gx = conv(gy, w, *args, x.shape[2:], cols)[0] if nx else None
    gw = weight_grad(gy, x, w.shape[2:], *args, cols) if nw else None
    return gx, gw, _bias_grad(fn, gy)


def conv2d_weight_forward(fn, x, gy):
    return weight_grad(x, gy, fn.kernel, fn.stride, fn.padding, fn.dilation)


def _weight_of(x, gy):
    return Conv2dWeight((2, 1), (1, 2), (1, 1), (3, 3))(x, gy)


register(Conv2d, forward=conv2d_forward, backward=conv2d_backward,
         examples=[Example(lambda x, w, b: conv2d(x, w, 2, 1, bias=b), ((3, 5, 9, 8), (6, 5, 4, 4), (6,))),
                   Example(lambda x, w: conv2d(x, w, 1, (2, 0), (2, 1)), ((2, 3, 7, 6), (17, 3, 3, 2))),
                   Example(lambda x, w: conv2d(x, w, 1, 1), ((2, 18, 6, 5), (4, 18, 3, 3)))])
register(ConvTranspose2d, forward=conv_transpose2d_forward, backward=conv_transpose2d_backward,
         examples=[Example(lambda x, w, b: conv_transpose2d(x, w, 2, 1, 1, bias=b), ((2, 20, 6, 5), (20, 17, 4, 4), (17,))),
                   Example(lambda x, w: conv_transpose2d(x, w, 2, 1), ((3, 6, 5, 4), (6, 1, 4, 4))),
                   Example(lambda x, w: conv_transpose2d(x, w, 3, 2, 2, 2), ((2, 4, 4, 5), (4, 3, 3, 3)))])
register(Conv2dWeight, forward=conv2d_weight_forward, examples=[Example(_weight_of, ((2, 4, 7, 6), (2, 5, 4, 8)))])
