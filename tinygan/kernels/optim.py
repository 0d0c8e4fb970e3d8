"""Adam's and RMSprop's steps: every parameter's update fused, in cache-sized blocks, over the threads.

The update is elementwise, so all the parameters' elements, laid end to end, are cut into one
contiguous range per thread (one hand-over for the whole step), and each range into blocks of
``UPDATE_BLOCK`` elements: the update's dozen passes then re-read their temporaries from the
cache instead of from memory. Each pass is in place, into one scratch array per block.

Adam in PyTorch's arrangement, the paper's update with the bias corrections folded into scalars:

    m <- m + (1 - beta1)(g - m),   v <- beta2 v + (1 - beta2) g^2,
    w <- w - (lr sqrt(c2) / c1) m / (sqrt(v) + eps sqrt(c2)),   c1 = 1 - beta1^t, c2 = 1 - beta2^t.

A parameter's first step makes its buffers, zeros, as the textbook's does (and then the update
is the textbook's first one). Parameters on the GPU, or stored out of order, are updated whole.
"""

from __future__ import annotations

import math

import numpy as np

from tinygan.backend import array_module
from tinygan.kernels import Example, register
from tinygan.kernels.pool import is_cpu, run, split, threads_for
from tinygan.optim import Adam, RMSprop

UPDATE_BLOCK = 1 << 17  # elements per block of an update: its ~5 arrays stay in a 2-3 MB cache


def adam_update(opt, t, w, g, m, v):
    """One Adam update of arrays w, m, v in place (any one block of them)."""
    xp = array_module(w)
    h = opt.hyper
    b1, b2 = h["betas"]
    tmp = xp.subtract(g, m)
    tmp *= 1.0 - b1
    m += tmp
    xp.multiply(g, g, out=tmp)
    tmp *= 1.0 - b2
    v *= b2
    v += tmp
    c1, c2 = 1.0 - b1 ** t, math.sqrt(1.0 - b2 ** t)
    xp.sqrt(v, out=tmp)
    tmp += h["eps"] * c2
    xp.divide(m, tmp, out=tmp)
    tmp *= -h["lr"] * c2 / c1
    w += tmp


def rmsprop_update(opt, t, w, g, v):
    """One RMSprop update of arrays w, v in place: v <- alpha v + (1 - alpha) g^2, w <- w - lr g / (sqrt(v) + eps)."""
    xp = array_module(w)
    h = opt.hyper
    tmp = xp.multiply(g, g)
    tmp *= 1.0 - h["alpha"]
    v *= h["alpha"]
    v += tmp
    xp.sqrt(v, out=tmp)
    tmp += h["eps"]
    xp.divide(g, tmp, out=tmp)
    tmp *= -h["lr"]
    w += tmp


def blocked_step(update, keys):
    """The step kernel of an optimizer whose update of one parameter is ``update(opt, t, w, g,
    *buffers)``, with the buffers ``state[key] for key in keys``."""
    def step(opt, updates):
        flat = []  # (t, flat arrays, size) of each parameter updated in blocks
        for w, g, state, t in updates:
            if not state:
                state.update((k, array_module(w).zeros_like(w)) for k in keys)
            buffers = [state[k] for k in keys]
            if is_cpu(w, g, *buffers) and all(a.flags.c_contiguous for a in [w] + buffers):
                flat.append((t, [a.reshape(-1) for a in [w, np.ascontiguousarray(g)] + buffers], w.size))
            else:
                update(opt, t, w, g, *buffers)

        def update_range(r):  # elements r[0]:r[1] of the parameters laid end to end
            offset = 0
            for t, arrays, size in flat:
                lo, hi = max(r[0], offset), min(r[1], offset + size)
                for start in range(lo, hi, UPDATE_BLOCK):
                    stop = min(start + UPDATE_BLOCK, hi)
                    update(opt, t, *[a[start - offset:stop - offset] for a in arrays])
                offset += size
        total = sum(size for _, _, size in flat)
        run(update_range, split(total, threads_for(total)))
    return step


SHAPES = ((5, 4), (3,), (2, 9), (1,))
register(Adam, step=blocked_step(adam_update, ("exp_avg", "exp_avg_sq")),
         examples=[Example(lambda params: Adam(params, lr=0.1, betas=(0.5, 0.9)), SHAPES),
                   Example(lambda params: Adam(params, lr=0.05, weight_decay=0.1), SHAPES)])
register(RMSprop, step=blocked_step(rmsprop_update, ("square_avg",)),
         examples=[Example(lambda params: RMSprop(params, lr=0.01), SHAPES)])
