"""Every layer of tinygan.nn, from one small description each (as tests/test_ops.py does for ops).

A case is (name, a factory that builds the layer, the input shape, the input domain, whether to
check second derivatives, how to prepare eval mode). From the table come:

- first derivatives by central differences in float64, with respect to the input AND every
  parameter (the Parameters are passed to gradcheck as extra inputs; gradcheck perturbs them in
  place, so ``fn`` just calls the layer), in train and in eval mode;
- second derivatives (gradgradcheck) for the layers a WGAN-GP critic is built from;
- the output dtype (and every gradient's dtype) equals the input dtype, in float32 and float64.

Below the table: forward values against naive loops and closed forms, and the error messages.
"""

from typing import Callable, NamedTuple

import numpy as np
import pytest

import tinygan as tg
from tinygan import backend, gradcheck, gradgradcheck, nn

from helpers import tensor, to_np


# ----------------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------------


def _set_running_stats(module, rng):
    """Non-trivial running statistics, so that eval mode differs from train mode and from (0, 1)."""
    c = module.num_features
    dtype, device = module.running_mean.dtype, backend.device_of(module.running_mean)
    module.running_mean = backend.to_device(rng.normal(0.0, 1.0, c).astype(dtype), device)
    module.running_var = backend.to_device(rng.uniform(0.5, 2.0, c).astype(dtype), device)


def _randomize_affine(module, rng):
    """Weights away from their (1, 0) initial values, so that a wrong affine part shows."""
    for p in module.parameters():
        p.data[...] = backend.to_device(rng.uniform(0.5, 1.5, p.shape).astype(p.dtype), p.device)


class Case(NamedTuple):
    name: str
    make: Callable
    shape: tuple
    domain: str = "any"          # any | nonzero (away from kinks) | distinct (no ties) | indices
    second: bool = False         # also check second derivatives
    prepare: Callable = None     # prepare(module, rng): called before the checks (both modes)


def _seq():
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(3 * 4 * 4, 2), nn.Tanh())


def _bn_prepare(m, rng):
    _set_running_stats(m, rng)
    _randomize_affine(m, rng)


CASES = [
    Case("linear_2d", lambda: nn.Linear(4, 3), (2, 4), second=True),
    Case("linear_3d", lambda: nn.Linear(4, 3), (2, 3, 4), second=True),
    Case("linear_nobias", lambda: nn.Linear(3, 2, bias=False), (2, 3)),
    Case("conv", lambda: nn.Conv2d(2, 3, 3), (2, 2, 5, 5), second=True),
    Case("conv_s2_p1", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 7, 6), second=True),
    Case("conv_d2_p2_nobias", lambda: nn.Conv2d(2, 2, 3, padding=2, dilation=2, bias=False), (1, 2, 5, 6)),
    Case("conv_s3_p1_k4", lambda: nn.Conv2d(2, 2, 4, stride=3, padding=1), (1, 2, 9, 8)),
    Case("conv_rect", lambda: nn.Conv2d(1, 2, (2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
         (2, 1, 5, 7), second=True),
    # 16 or more channels on the transposed side take conv.py's fused (per kernel position) path
    Case("conv_16ch", lambda: nn.Conv2d(16, 2, 3, stride=2, padding=1), (1, 16, 3, 3), second=True),
    Case("convT_16ch", lambda: nn.ConvTranspose2d(2, 16, 3, stride=2, padding=1, output_padding=1), (1, 2, 2, 2),
         second=True),
    Case("convT_s1", lambda: nn.ConvTranspose2d(2, 3, 3), (2, 2, 3, 4), second=True),
    Case("convT_s2_p1_op1", lambda: nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1, output_padding=1),
         (1, 2, 3, 3), second=True),
    Case("convT_s3_p2_op2_nobias",
         lambda: nn.ConvTranspose2d(2, 2, 3, stride=3, padding=2, output_padding=2, bias=False), (1, 2, 3, 2)),
    Case("convT_s2_d2", lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, dilation=2), (1, 2, 3, 3)),
    Case("convT_rect", lambda: nn.ConvTranspose2d(1, 2, (3, 2), stride=(2, 3), padding=(1, 0),
                                                  output_padding=(1, 2)), (2, 1, 3, 2), second=True),
    # output_padding >= stride (legal below the dilation): the input gradient must be cropped
    Case("convT_op1_s1_d2", lambda: nn.ConvTranspose2d(3, 2, 3, stride=1, padding=1, output_padding=1, dilation=2),
         (2, 3, 5, 6), second=True),
    Case("convT_op2_s2_d3", lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2, dilation=3),
         (1, 2, 3, 4), second=True),
    Case("convT_op_ge_s_16ch", lambda: nn.ConvTranspose2d(2, 16, 2, stride=(1, 2), padding=(0, 1),
                                                          output_padding=(2, 2), dilation=(3, 3)), (1, 2, 2, 3),
         second=True),
    Case("bn1d_2d", lambda: nn.BatchNorm1d(3), (5, 3), second=True, prepare=_bn_prepare),
    Case("bn1d_3d", lambda: nn.BatchNorm1d(3), (4, 3, 2), second=True, prepare=_bn_prepare),
    Case("bn2d", lambda: nn.BatchNorm2d(3), (2, 3, 3, 3), second=True, prepare=_bn_prepare),
    Case("bn2d_no_affine", lambda: nn.BatchNorm2d(2, affine=False), (3, 2, 2, 2), prepare=_set_running_stats),
    Case("layernorm_1", lambda: nn.LayerNorm(5), (3, 5), second=True, prepare=_randomize_affine),
    Case("layernorm_3", lambda: nn.LayerNorm((2, 3, 3)), (2, 2, 3, 3), second=True, prepare=_randomize_affine),
    Case("leaky_relu", lambda: nn.LeakyReLU(0.2), (3, 4), "nonzero", second=True),
    Case("relu", lambda: nn.ReLU(), (3, 4), "nonzero"),
    Case("elu", lambda: nn.ELU(), (3, 4), "nonzero", second=True),
    Case("selu", lambda: nn.SELU(), (3, 4), "nonzero", second=True),
    Case("tanh", lambda: nn.Tanh(), (3, 4)),
    Case("sigmoid", lambda: nn.Sigmoid(), (3, 4)),
    Case("glu", lambda: nn.GLU(1), (2, 4, 3, 3), second=True),
    Case("embedding", lambda: nn.Embedding(5, 3), (2, 3), "indices"),
    Case("dropout", lambda: nn.Dropout(0.4), (4, 5)),
    Case("upsample_2", lambda: nn.Upsample(2), (1, 2, 2, 3)),
    Case("upsample_2x3", lambda: nn.Upsample((2, 3)), (2, 1, 3, 2)),
    Case("avgpool_tile", lambda: nn.AvgPool2d(2), (2, 2, 4, 4), second=True),
    Case("avgpool_overlap_pad", lambda: nn.AvgPool2d(3, stride=2, padding=1), (1, 2, 5, 6), second=True),
    Case("avgpool_ragged", lambda: nn.AvgPool2d(2), (1, 2, 5, 5)),
    Case("maxpool", lambda: nn.MaxPool2d(2), (2, 2, 4, 4), "distinct", second=True),
    Case("maxpool_overlap_pad", lambda: nn.MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 5), "distinct",
         second=True),
    Case("reflection_pad", lambda: nn.ReflectionPad2d((1, 2, 2, 0)), (2, 2, 3, 4), second=True),
    Case("flatten", lambda: nn.Flatten(), (2, 3, 2, 2)),
    Case("unflatten", lambda: nn.Unflatten(1, (2, 3)), (2, 6)),
    Case("reshape", lambda: nn.Reshape(3, 4), (2, 12)),
    Case("sequential", _seq, (2, 2, 4, 4), second=True),
]
IDS = [c.name for c in CASES]
SECOND = [c for c in CASES if c.second]

EMBED_INDICES = np.array([[0, 2, 2], [4, 0, 2]])  # repeated indices: gradients must add up


def _input(case, dtype, device, seed=0):
    rng = np.random.default_rng(seed)
    if case.domain == "indices":
        return backend.to_device(EMBED_INDICES, device)
    if case.domain == "nonzero":
        x = rng.uniform(0.1, 1.0, case.shape) * rng.choice([-1.0, 1.0], case.shape)
    elif case.domain == "distinct":  # no two values within 0.05: a finite difference never swaps a max
        x = rng.permutation(int(np.prod(case.shape))).reshape(case.shape) * 0.1 + rng.uniform(0, 0.05, case.shape)
    else:
        x = rng.standard_normal(case.shape)
    return tensor(x.astype(dtype), device, requires_grad=True)


def _build(case, device, dtype, mode, seed=0):
    tg.manual_seed(seed)
    module = case.make().to(device)
    if dtype == np.float64:
        module.double()
    if case.prepare is not None:
        case.prepare(module, np.random.default_rng(seed + 100))
    return module.train(mode == "train")


def _call(case, module):
    """fn(x, *params) for gradcheck: the parameters are perturbed in place, so it just calls."""
    if case.name == "dropout":
        def fn(x, *params):
            tg.manual_seed(7)  # the same mask at every evaluation
            return module(x)
        return fn
    return lambda x, *params: module(x)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case, mode, device):
    module = _build(case, device, np.float64, mode)
    params = list(module.parameters())
    x = _input(case, np.float64, device)
    assert gradcheck(_call(case, module), [x, *params])


@pytest.mark.parametrize("case", SECOND, ids=[c.name for c in SECOND])
def test_gradgradcheck(case, device):
    module = _build(case, device, np.float64, "train")
    x = _input(case, np.float64, device)
    assert gradgradcheck(_call(case, module), [x, *module.parameters()])


@pytest.mark.parametrize("case", [c for c in CASES if c.name.startswith("bn")], ids=lambda c: c.name)
def test_gradgradcheck_batchnorm_eval(case, device):
    module = _build(case, device, np.float64, "eval")
    x = _input(case, np.float64, device)
    assert gradgradcheck(_call(case, module), [x, *module.parameters()])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_dtype_is_kept(case, mode, dtype, device):
    """float32 in, float32 out, and float32 gradients: no silent promotion anywhere."""
    module = _build(case, device, dtype, mode)
    x = _input(case, dtype, device)
    for p in module.parameters():
        assert p.dtype == dtype
    y = module(x)
    assert y.dtype == dtype, f"{case.name}: {np.dtype(dtype).name} input gave {y.dtype} output"
    assert y.device == device
    (y * y).sum().backward()
    for name, p in module.named_parameters():
        assert p.grad is not None and p.grad.dtype == dtype, f"{case.name}: grad of {name}"
    if case.domain != "indices":
        assert x.grad.dtype == dtype
    for b in module.buffers():
        assert b.dtype == dtype


# ----------------------------------------------------------------------------------------------
# Forward values: convolutions against naive loops
# ----------------------------------------------------------------------------------------------


def naive_conv2d(x, w, b, stride, padding, dilation):
    """y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x[n, c, i s - pad + p d, j s - pad + q d]."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for ni in range(n):
        for oi in range(o):
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0 if b is None else b[oi]
                    for ci in range(c):
                        for p in range(kh):
                            for q in range(kw):
                                r, s = i * sh - ph + p * dh, j * sw - pw + q * dw
                                if 0 <= r < h and 0 <= s < wd:
                                    acc += w[oi, ci, p, q] * x[ni, ci, r, s]
                    y[ni, oi, i, j] = acc
    return y


def naive_conv_transpose2d(x, w, b, stride, padding, dilation, output_padding):
    """Every input pixel scatters its kernel:
    y[n, o, i s - pad + p d, j s - pad + q d] += x[n, c, i, j] w[c, o, p, q]."""
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw), (oph, opw) = stride, padding, dilation, output_padding
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = np.zeros((n, o, oh, ow))
    for ni in range(n):
        for ci in range(c):
            for i in range(h):
                for j in range(wd):
                    for oi in range(o):
                        for p in range(kh):
                            for q in range(kw):
                                r, s = i * sh - ph + p * dh, j * sw - pw + q * dw
                                if 0 <= r < oh and 0 <= s < ow:
                                    y[ni, oi, r, s] += x[ni, ci, i, j] * w[ci, oi, p, q]
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


CONV_CONFIGS = [
    # in_shape, out_channels, kernel, stride, padding, dilation
    ((2, 3, 6, 5), 4, (3, 3), (1, 1), (0, 0), (1, 1)),
    ((1, 2, 7, 7), 3, (3, 3), (2, 2), (1, 1), (1, 1)),
    ((2, 2, 8, 6), 2, (3, 2), (1, 2), (2, 1), (2, 1)),
    ((1, 1, 9, 10), 2, (4, 4), (3, 3), (1, 2), (1, 1)),
    ((2, 2, 5, 5), 3, (1, 1), (2, 2), (0, 0), (1, 1)),
    ((1, 2, 7, 8), 2, (2, 3), (2, 1), (0, 1), (3, 2)),
    ((1, 16, 5, 6), 3, (3, 3), (2, 2), (1, 1), (1, 1)),  # 16 channels: the fused transposed path
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cfg", CONV_CONFIGS, ids=[f"conv{i}" for i in range(len(CONV_CONFIGS))])
def test_conv2d_matches_naive_loops(cfg, bias, device, rng):
    in_shape, o, k, s, p, d = cfg
    layer = nn.Conv2d(in_shape[1], o, k, stride=s, padding=p, dilation=d, bias=bias).to(device).double()
    x = rng.standard_normal(in_shape)
    y = layer(tensor(x, device))
    w = to_np(layer.weight)
    b = to_np(layer.bias) if bias else None
    expected = naive_conv2d(x, w, b, s, p, d)
    assert y.shape == expected.shape
    np.testing.assert_allclose(to_np(y), expected, rtol=1e-12, atol=1e-12)


def _matching_output_padding(size, k, s, p, d):
    """The output_padding that makes the transposed convolution give back an image of ``size``."""
    return (size + 2 * p - d * (k - 1) - 1) % s


@pytest.mark.parametrize("cfg", CONV_CONFIGS, ids=[f"conv{i}" for i in range(len(CONV_CONFIGS))])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(cfg, device, rng):
    """<conv(x, w), y> == <x, conv_transpose(y, w)> for random x, y and one weight w."""
    in_shape, o, k, s, p, d = cfg
    n, c, h, wd = in_shape
    conv = nn.Conv2d(c, o, k, stride=s, padding=p, dilation=d, bias=False).to(device).double()
    x = rng.standard_normal(in_shape)
    cx = conv(tensor(x, device))
    op = (_matching_output_padding(h, k[0], s[0], p[0], d[0]), _matching_output_padding(wd, k[1], s[1], p[1], d[1]))
    convt = nn.ConvTranspose2d(o, c, k, stride=s, padding=p, output_padding=op, dilation=d,
                               bias=False).to(device).double()
    convt.weight.data[...] = conv.weight.data  # (O, C, KH, KW) is both layers' weight shape here
    y = rng.standard_normal(cx.shape)
    ty = convt(tensor(y, device))
    assert ty.shape == x.shape
    lhs = float(np.sum(to_np(cx) * y))
    rhs = float(np.sum(x * to_np(ty)))
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))
    assert abs(lhs) > 1e-3  # a non-trivial inner product


CONVT_CONFIGS = [
    # in_shape, out_channels, kernel, stride, padding, output_padding, dilation
    ((2, 2, 3, 4), 3, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1)),
    ((1, 3, 4, 4), 2, (4, 4), (2, 2), (1, 1), (0, 0), (1, 1)),
    ((1, 2, 3, 3), 2, (4, 4), (2, 2), (1, 1), (1, 1), (1, 1)),
    ((2, 2, 3, 2), 2, (3, 3), (3, 3), (2, 0), (2, 1), (1, 1)),
    ((1, 2, 3, 3), 1, (3, 2), (2, 3), (1, 0), (1, 2), (2, 1)),
    ((1, 1, 5, 3), 2, (2, 2), (1, 2), (0, 1), (1, 0), (2, 2)),   # output_padding < dilation
    ((1, 2, 2, 3), 2, (5, 3), (3, 2), (2, 1), (0, 1), (1, 1)),
    ((1, 3, 3, 2), 16, (3, 3), (2, 2), (1, 1), (1, 0), (1, 1)),  # 16 output channels: the fused path
    ((2, 3, 5, 6), 2, (3, 3), (1, 1), (1, 1), (1, 1), (2, 2)),   # output_padding >= stride (< dilation)
    ((1, 2, 3, 4), 2, (3, 3), (2, 2), (0, 0), (2, 2), (3, 3)),
    ((1, 2, 4, 3), 16, (2, 3), (1, 2), (0, 1), (2, 2), (3, 3)),  # ... and the fused path
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cfg", CONVT_CONFIGS, ids=[f"convT{i}" for i in range(len(CONVT_CONFIGS))])
def test_conv_transpose2d_matches_naive_loops_and_pytorch_size(cfg, bias, device, rng):
    in_shape, o, k, s, p, op, d = cfg
    n, c, h, w = in_shape
    layer = nn.ConvTranspose2d(c, o, k, stride=s, padding=p, output_padding=op, dilation=d,
                               bias=bias).to(device).double()
    x = rng.standard_normal(in_shape)
    y = layer(tensor(x, device))
    # PyTorch's rule: (H - 1) s - 2 p + d (k - 1) + output_padding + 1
    expected_hw = tuple((size - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + op[a] + 1 for a, size in enumerate((h, w)))
    assert y.shape == (n, o) + expected_hw
    expected = naive_conv_transpose2d(x, to_np(layer.weight), to_np(layer.bias) if bias else None, s, p, d, op)
    np.testing.assert_allclose(to_np(y), expected, rtol=1e-12, atol=1e-12)


def naive_conv_transpose2d_grads(x, w, gy, stride, padding, dilation):
    """The gradients of <conv_transpose2d(x, w), gy>, by the loop of ``naive_conv_transpose2d``:
    input pixel (i, j) met output pixel (i s - pad + p d, j s - pad + q d) through w[c, o, p, q]."""
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for ni in range(n):
        for ci in range(c):
            for i in range(h):
                for j in range(wd):
                    for oi in range(o):
                        for p in range(kh):
                            for q in range(kw):
                                r, s = i * sh - ph + p * dh, j * sw - pw + q * dw
                                if 0 <= r < oh and 0 <= s < ow:
                                    gx[ni, ci, i, j] += gy[ni, oi, r, s] * w[ci, oi, p, q]
                                    gw[ci, oi, p, q] += gy[ni, oi, r, s] * x[ni, ci, i, j]
    return gx, gw


@pytest.mark.parametrize("cfg", CONVT_CONFIGS, ids=[f"convT{i}" for i in range(len(CONVT_CONFIGS))])
def test_conv_transpose2d_gradients_match_naive_loops(cfg, device, rng):
    """Both gradients of a transposed convolution, also where output_padding >= stride: there the
    adjoint convolution has more positions than the input has pixels, and the input gradient must
    keep the input's shape (an off-by-one there makes it one stride too large, and it fails to reshape)."""
    in_shape, o, k, s, p, op, d = cfg
    layer = nn.ConvTranspose2d(in_shape[1], o, k, stride=s, padding=p, output_padding=op, dilation=d,
                               bias=False).to(device).double()
    x = tensor(rng.standard_normal(in_shape), device, requires_grad=True)
    y = layer(x)
    gy = rng.standard_normal(y.shape)
    (y * tensor(gy, device)).sum().backward()
    gx, gw = naive_conv_transpose2d_grads(to_np(x), to_np(layer.weight), gy, s, p, d)
    assert x.grad.shape == x.shape
    np.testing.assert_allclose(to_np(x.grad), gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_np(layer.weight.grad), gw, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Forward values: normalisation
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(64, 3), (16, 3, 5)], ids=["2d", "3d"])
def test_batchnorm1d_train_statistics(shape, device, rng):
    bn = nn.BatchNorm1d(3).to(device).double()
    x = rng.normal(5.0, 3.0, shape) * np.array([1.0, 0.1, 10.0]).reshape((1, 3) + (1,) * (len(shape) - 2))
    y = to_np(bn(tensor(x, device)))
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-12)
    v = x.var(axis=axes)
    np.testing.assert_allclose(y.var(axis=axes), v / (v + 1e-5), rtol=1e-10)  # ~1: eps shrinks it a hair


def test_batchnorm2d_train_statistics_and_affine(device, rng):
    bn = nn.BatchNorm2d(4).to(device).double()
    weight, bias = np.array([0.5, 2.0, -1.0, 3.0]), np.array([1.0, -2.0, 0.0, 0.5])
    bn.weight.data[...] = backend.to_device(weight, device)
    bn.bias.data[...] = backend.to_device(bias, device)
    x = rng.normal(-3.0, 4.0, (8, 4, 5, 3))
    y = to_np(bn(tensor(x, device)))
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)  # biased
    expected = (x - mean) / np.sqrt(var + 1e-5) * weight.reshape(1, 4, 1, 1) + bias.reshape(1, 4, 1, 1)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), bias, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), np.abs(weight), rtol=1e-4)


def test_batchnorm_running_stats_follow_pytorch_momentum(device, rng):
    """r <- (1 - momentum) r + momentum * batch statistic, with the UNBIASED batch variance,
    starting from mean 0 and variance 1; eval mode then normalises with r."""
    momentum = 0.3
    bn = nn.BatchNorm2d(3, momentum=momentum).to(device).double()
    x1 = rng.normal(2.0, 3.0, (4, 3, 2, 3))
    x2 = rng.normal(-1.0, 0.5, (4, 3, 2, 3))
    bn(tensor(x1, device))
    bn(tensor(x2, device))
    n = 4 * 2 * 3
    rm, rv = np.zeros(3), np.ones(3)
    for x in (x1, x2):
        m = x.mean(axis=(0, 2, 3))
        v_unbiased = x.var(axis=(0, 2, 3)) * n / (n - 1)
        rm = (1 - momentum) * rm + momentum * m
        rv = (1 - momentum) * rv + momentum * v_unbiased
    np.testing.assert_allclose(to_np(bn.running_mean), rm, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_np(bn.running_var), rv, rtol=1e-10)

    bn.weight.data[...] = backend.to_device(np.array([1.5, -0.5, 2.0]), device)
    bn.bias.data[...] = backend.to_device(np.array([0.1, 0.2, -0.3]), device)
    bn.eval()
    x3 = rng.normal(0.0, 1.0, (2, 3, 2, 2))
    y = to_np(bn(tensor(x3, device)))
    expected = ((x3 - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5)
                * np.array([1.5, -0.5, 2.0]).reshape(1, 3, 1, 1) + np.array([0.1, 0.2, -0.3]).reshape(1, 3, 1, 1))
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
    # eval mode leaves the running statistics alone
    np.testing.assert_allclose(to_np(bn.running_mean), rm, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_np(bn.running_var), rv, rtol=1e-10)


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval(device, rng):
    bn = nn.BatchNorm1d(2, track_running_stats=False).to(device).double().eval()
    x = rng.normal(3.0, 2.0, (10, 2))
    y = to_np(bn(tensor(x, device)))
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)
    assert list(bn.buffers()) == []


@pytest.mark.parametrize("normalized", [(6,), (2, 3, 4)], ids=["1dim", "3dims"])
def test_layernorm_per_sample_statistics(normalized, device, rng):
    shape = (3,) + normalized
    ln = nn.LayerNorm(normalized).to(device).double()
    x = rng.normal(0.0, 1.0, shape) * rng.uniform(0.5, 5.0, (3,) + (1,) * len(normalized)) \
        + rng.uniform(-4, 4, (3,) + (1,) * len(normalized))
    y = to_np(ln(tensor(x, device)))
    axes = tuple(range(1, len(shape)))
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=axes), 1.0, rtol=1e-4)
    # with an affine part: y = xhat * weight + bias, elementwise over the normalised shape
    weight, bias = rng.uniform(0.5, 2.0, normalized), rng.normal(0.0, 1.0, normalized)
    ln.weight.data[...] = backend.to_device(weight, device)
    ln.bias.data[...] = backend.to_device(bias, device)
    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    np.testing.assert_allclose(to_np(ln(tensor(x, device))), xhat * weight + bias, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Forward values: pooling, up-sampling, embedding, dropout, shapes
# ----------------------------------------------------------------------------------------------


def test_upsample_matches_np_repeat(device, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    y = to_np(nn.Upsample((2, 3)).to(device)(tensor(x, device)))
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, axis=2), 3, axis=3))
    y2 = to_np(nn.Upsample(2)(tensor(x, device)))
    np.testing.assert_array_equal(y2, x.repeat(2, axis=2).repeat(2, axis=3))


def naive_pool(x, kernel, stride, padding, kind):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    fill = 0.0 if kind == "avg" else -np.inf
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), fill)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c, oh, ow))
    for ni in range(n):
        for ci in range(c):
            for i in range(oh):
                for j in range(ow):
                    window = xp[ni, ci, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    y[ni, ci, i, j] = window.mean() if kind == "avg" else window.max()
    return y


POOL_CONFIGS = [  # kernel, stride, padding, input shape
    ((2, 2), (2, 2), (0, 0), (2, 3, 4, 6)),
    ((2, 2), (2, 2), (0, 0), (1, 2, 5, 7)),     # ragged: the last row and column are dropped
    ((3, 3), (2, 2), (1, 1), (1, 2, 5, 6)),
    ((3, 2), (1, 2), (1, 0), (2, 1, 4, 5)),
    ((4, 4), (4, 4), (2, 2), (1, 1, 6, 6)),
]


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("cfg", POOL_CONFIGS, ids=[f"pool{i}" for i in range(len(POOL_CONFIGS))])
def test_pooling_matches_naive_loops(cfg, kind, device, rng):
    kernel, stride, padding, shape = cfg
    layer = (nn.AvgPool2d if kind == "avg" else nn.MaxPool2d)(kernel, stride, padding)
    x = rng.standard_normal(shape)
    y = to_np(layer(tensor(x, device)))
    np.testing.assert_allclose(y, naive_pool(x, kernel, stride, padding, kind), rtol=1e-12, atol=1e-14)


def test_maxpool_gradient_goes_to_the_maximum(device):
    x = tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), device, requires_grad=True)
    nn.MaxPool2d(2)(x).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_embedding_rows_and_repeated_index_gradient(device):
    emb = nn.Embedding(5, 3).to(device).double()
    weight = to_np(emb.weight)
    y = emb(backend.to_device(EMBED_INDICES, device))
    assert y.shape == (2, 3, 3)
    np.testing.assert_array_equal(to_np(y), weight[EMBED_INDICES])
    y.sum().backward()
    counts = np.bincount(EMBED_INDICES.ravel(), minlength=5)  # row 2 is used 3 times, row 0 twice
    np.testing.assert_array_equal(to_np(emb.weight.grad), np.repeat(counts[:, None], 3, axis=1).astype(float))


def test_embedding_default_init_is_standard_normal():
    emb = nn.Embedding(1000, 100)
    w = emb.weight.numpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1.0) < 0.02


def test_dropout_train_zeroes_p_and_scales_the_rest(device, rng):
    p = 0.3
    drop = nn.Dropout(p)
    x = rng.uniform(1.0, 2.0, (200, 500)).astype(np.float32)  # no zeros of its own
    y = to_np(drop(tensor(x, device)))
    zero = y == 0
    assert abs(zero.mean() - p) < 0.01  # 100 000 draws: the standard error is 0.0015
    np.testing.assert_allclose(y[~zero], x[~zero] / (1 - p), rtol=1e-6)
    # a fresh mask each call, the same mask after re-seeding
    assert not np.array_equal(zero, to_np(drop(tensor(x, device))) == 0)
    tg.manual_seed(5)
    a = to_np(drop(tensor(x, device)))
    tg.manual_seed(5)
    np.testing.assert_array_equal(a, to_np(drop(tensor(x, device))))


def test_dropout_eval_is_the_identity(device, rng):
    drop = nn.Dropout(0.5).eval()
    x = tensor(rng.standard_normal((4, 6)), device)
    y = drop(x)
    np.testing.assert_array_equal(to_np(y), to_np(x))


def test_shape_layers_values(device, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    t = tensor(x, device)
    np.testing.assert_array_equal(to_np(nn.Flatten()(t)), x.reshape(2, 60))
    np.testing.assert_array_equal(to_np(nn.Flatten(2)(t)), x.reshape(2, 3, 20))
    flat = tensor(x.reshape(2, 60), device)
    np.testing.assert_array_equal(to_np(nn.Unflatten(1, (3, 4, 5))(flat)), x)
    np.testing.assert_array_equal(to_np(nn.Reshape(12, 5)(t)), x.reshape(2, 12, 5))
    np.testing.assert_array_equal(to_np(nn.Reshape((5, 12))(t)), x.reshape(2, 5, 12))


def test_activation_values(device):
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    t = tensor(x, device)
    np.testing.assert_allclose(to_np(nn.LeakyReLU(0.2)(t)), [-0.4, -0.1, 0.5, 3.0])
    np.testing.assert_allclose(to_np(nn.ReLU()(t)), [0.0, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(to_np(nn.Tanh()(t)), np.tanh(x), rtol=1e-14)
    np.testing.assert_allclose(to_np(nn.Sigmoid()(t)), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(to_np(nn.ELU()(t)), [np.exp(-2.0) - 1, np.exp(-0.5) - 1, 0.5, 3.0], rtol=1e-14)


def test_selu_fixed_point(device):
    """SELU's constants make (mean 0, variance 1) a fixed point: for x ~ N(0, 1), E selu(x) = 0 and
    E selu(x)^2 = 1 (Klambauer et al. 2017). Checked by quadrature of the Gaussian density."""
    x = np.linspace(-12.0, 12.0, 200001)
    density = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    y = to_np(nn.SELU()(tensor(x, device)))
    dx = x[1] - x[0]
    assert abs((y * density).sum() * dx) < 1e-9
    assert abs((y * y * density).sum() * dx - 1.0) < 1e-9


def test_linear_values_and_3d_input(device, rng):
    lin = nn.Linear(4, 3).to(device).double()
    x = rng.standard_normal((2, 5, 4))
    w, b = to_np(lin.weight), to_np(lin.bias)
    np.testing.assert_allclose(to_np(lin(tensor(x, device))), x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(to_np(lin(tensor(x[0, 0], device))), x[0, 0] @ w.T + b, rtol=1e-12)


def test_linear_of_a_batch_innermost_input_and_its_gradients(device, rng):
    """A flattened convolution activation is column-major (N, F): the same values and gradients
    as for a row-major x."""
    x = np.asfortranarray(rng.standard_normal((6, 5)))
    w, b = rng.standard_normal((3, 5)), rng.standard_normal(3)
    xt = tensor(x, device, requires_grad=True)
    wt, bt = tensor(w, device, requires_grad=True), tensor(b, device, requires_grad=True)
    y = tg.linear(xt, wt, bt)
    np.testing.assert_allclose(to_np(y), x @ w.T + b, rtol=1e-12)
    gy = rng.standard_normal((6, 3))
    gx, gw, gb = tg.grad(y, [xt, wt, bt], tensor(gy, device))
    np.testing.assert_allclose(to_np(gx), gy @ w, rtol=1e-12)
    np.testing.assert_allclose(to_np(gw), gy.T @ x, rtol=1e-12)
    np.testing.assert_allclose(to_np(gb), gy.sum(0), rtol=1e-12)
    assert tg.gradcheck(lambda x, w, b: tg.linear(x, w, b), [xt, wt, bt])


# ----------------------------------------------------------------------------------------------
# Errors at the boundary
# ----------------------------------------------------------------------------------------------


def _f32(*shape):
    return tg.Tensor(np.zeros(shape, np.float32))


def _f64(*shape):
    return tg.Tensor(np.zeros(shape, np.float64))


ERRORS = [
    ("conv_3d_input", lambda: nn.Conv2d(3, 4, 3)(_f32(3, 5, 5)),
     ValueError, r"Conv2d: input: expected a 4-d tensor, got shape \(3, 5, 5\)"),
    ("conv_channels", lambda: nn.Conv2d(3, 4, 3)(_f32(1, 2, 5, 5)),
     ValueError, r"Conv2d: input: expected 3 channels .*got 2"),
    ("convT_channels", lambda: nn.ConvTranspose2d(3, 4, 3)(_f32(1, 4, 5, 5)),
     ValueError, r"ConvTranspose2d: input: expected 3 channels .*got 4"),
    ("linear_width", lambda: nn.Linear(4, 2)(_f32(3, 5)),
     ValueError, r"Linear: input: expected 4 features .*got 5"),
    ("linear_0d_input", lambda: nn.Linear(4, 2)(tg.Tensor(np.float32(1.0))),
     ValueError, r"Linear: input: expected at least 1 dimension, got shape \(\)"),
    ("bn2d_channels", lambda: nn.BatchNorm2d(3)(_f32(2, 4, 5, 5)),
     ValueError, r"BatchNorm2d: input: expected 3 channels .*got 4"),
    ("bn2d_ndim", lambda: nn.BatchNorm2d(3)(_f32(2, 3)),
     ValueError, r"BatchNorm2d: input: expected a 4-d tensor, got shape \(2, 3\)"),
    ("bn1d_ndim", lambda: nn.BatchNorm1d(3)(_f32(2, 3, 4, 4)),
     ValueError, r"BatchNorm1d: input: expected a 2-d or 3-d tensor, got shape \(2, 3, 4, 4\)"),
    ("bn_one_value", lambda: nn.BatchNorm1d(3)(_f32(1, 3)),
     ValueError, r"BatchNorm1d: expected more than 1 value per channel.*\(1, 3\)"),
    ("layernorm_shape", lambda: nn.LayerNorm((3, 4))(_f32(2, 4, 3)),
     ValueError, r"expected trailing shape \(3, 4\), got shape \(2, 4, 3\)"),
    ("float64_into_float32_linear", lambda: nn.Linear(4, 2)(_f64(3, 4)),
     TypeError, r"Linear: input: expected dtype float32 \(the layer's\), got float64"),
    ("float64_into_float32_conv", lambda: nn.Conv2d(1, 2, 3)(_f64(1, 1, 4, 4)),
     TypeError, r"Conv2d: input: expected dtype float32 \(the layer's\), got float64"),
    ("float64_into_float32_convT", lambda: nn.ConvTranspose2d(1, 2, 3)(_f64(1, 1, 4, 4)),
     TypeError, r"ConvTranspose2d: input: expected dtype float32 \(the layer's\), got float64"),
    ("float64_into_float32_bn", lambda: nn.BatchNorm2d(2)(_f64(2, 2, 3, 3)),
     TypeError, r"BatchNorm2d: input: expected dtype float32 \(the layer's\), got float64"),
    ("float64_into_float32_layernorm", lambda: nn.LayerNorm(4)(_f64(2, 4)),
     TypeError, r"LayerNorm: input: expected dtype float32 \(the layer's\), got float64"),
    ("conv_kernel_too_big", lambda: nn.Conv2d(1, 1, 5, padding=1)(_f32(1, 1, 2, 2)),
     ValueError, r"spatial size \(2, 2\) is smaller than the \(dilated\) kernel \(5, 5\) with padding \(1, 1\)"),
    ("conv_dilated_kernel_too_big", lambda: nn.Conv2d(1, 1, 3, dilation=3)(_f32(1, 1, 6, 6)),
     ValueError, r"spatial size \(6, 6\) is smaller than the \(dilated\) kernel"),
    ("convT_output_padding", lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2)(_f32(1, 2, 3, 3)),
     ValueError, r"output_padding must be smaller than stride or dilation, got output_padding=\(2, 2\), "
                 r"stride=\(2, 2\)"),
    ("pool_window_too_big", lambda: nn.AvgPool2d(4)(_f32(1, 1, 3, 3)),
     ValueError, r"avg_pool2d: input of spatial size \(3, 3\) is smaller than the window \(4, 4\)"),
    ("maxpool_3d_input", lambda: nn.MaxPool2d(2)(_f32(1, 4, 4)),
     ValueError, r"MaxPool2d: input: expected a 4-d tensor, got shape \(1, 4, 4\)"),
    ("unflatten_size", lambda: nn.Unflatten(1, (2, 3))(_f32(2, 7)),
     ValueError, r"Unflatten: input: expected axis 1 of size 6 .*got shape \(2, 7\)"),
    ("reshape_size", lambda: nn.Reshape(3, 4)(_f32(2, 10)),
     ValueError, r"cannot reshape a tensor of shape \(2, 10\)"),
    ("embedding_float_indices", lambda: nn.Embedding(4, 2)(np.zeros(3)),
     TypeError, r"indices: expected an integer array, got float64"),
    ("embedding_out_of_range", lambda: nn.Embedding(4, 2)(np.array([0, 4])),
     ValueError, r"indices must be in \[0, 3\], got values from 0 to 4"),
    ("conv_bad_kernel", lambda: nn.Conv2d(1, 1, 0),
     ValueError, r"Conv2d: kernel_size: expected positive integers, got \(0, 0\)"),
    ("linear_bad_width", lambda: nn.Linear(0, 2),
     ValueError, r"Linear: in_features: expected a positive integer, got 0"),
    ("dropout_bad_p", lambda: nn.Dropout(1.0),
     ValueError, r"Dropout: p: expected a probability in \[0, 1\), got 1.0"),
    ("upsample_mode", lambda: nn.Upsample(2, mode="bilinear"),
     ValueError, r"only 'nearest' is implemented, got 'bilinear'"),
]


@pytest.mark.parametrize("call, exc, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_input_gives_clear_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


@pytest.mark.parametrize("case", [c for c in CASES if c.domain != "indices"], ids=lambda c: c.name)
def test_non_tensor_input_is_refused(case):
    module = case.make()
    with pytest.raises(TypeError, match=r"expected a Tensor, got ndarray"):
        module(np.zeros(case.shape, np.float32))
