"""Optimizers: SGD, Adam and RMSprop, with the update rules of PyTorch's documentation.

Updates run in place on the parameter arrays (their own array module, no graph), so a module
moved with ``.to()`` keeps its optimizer. ``state_dict`` / ``load_state_dict`` capture the step
count and every moment buffer, so that a resumed run continues exactly.
"""

from __future__ import annotations

import math

import numpy as np

from tinygan import backend, parallel
from tinygan.nn.module import Parameter
from tinygan.tensor import Tensor, observed_region


UPDATE_BLOCK = 1 << 17  # elements per block of an update: its ~5 arrays stay in a 2-3 MB cache


class Optimizer:
    """Base class: holds the parameters, per-parameter state, and hyper-parameters."""

    defaults = {}

    def __init__(self, params, **hyper):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: params: expected at least one parameter, got an empty list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(f"{type(self).__name__}: params[{i}]: expected a Tensor with requires_grad=True, "
                                f"got {type(p).__name__}")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{type(self).__name__}: params: a parameter appears twice")
        self.hyper = dict(self.defaults)
        for key, value in hyper.items():
            if key not in self.defaults:
                raise TypeError(f"{type(self).__name__}: unknown argument {key!r}; expected one of {sorted(self.defaults)}")
            self.hyper[key] = value
        self._check_hyper()
        self.state = [dict() for _ in self.params]  # per parameter: moment buffers and the like
        self.step_count = 0                          # calls of step()
        self.param_steps = [0] * len(self.params)    # updates of each parameter (PyTorch's per-parameter step)

    def _check_hyper(self):
        name = type(self).__name__
        if not self.hyper["lr"] > 0:
            raise ValueError(f"{name}: lr: expected a positive learning rate, got {self.hyper['lr']}")
        if self.hyper.get("weight_decay", 0.0) < 0:
            raise ValueError(f"{name}: weight_decay: expected >= 0, got {self.hyper['weight_decay']}")

    @property
    def lr(self):
        return self.hyper["lr"]

    @lr.setter
    def lr(self, value):
        self.hyper["lr"] = value

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient."""
        with observed_region(f"{type(self).__name__}.step", "optimizer"):  # a row of its own in tinygan.profile()
            self._step_all()

    def _step_all(self):
        self.step_count += 1
        flat = []  # (update, arrays, size): a parameter's update on its flat (1-D) arrays
        for i, (p, state) in enumerate(zip(self.params, self.state)):
            if p.grad is None:
                continue
            self.param_steps[i] += 1
            g = p.grad.data
            if g.dtype != p.data.dtype:
                raise TypeError(f"{type(self).__name__}: a gradient of dtype {g.dtype} for a parameter of dtype "
                                f"{p.data.dtype}")
            if not g.flags.c_contiguous:  # in-place updates are slow across mismatched memory orders
                g = backend.array_module(g).ascontiguousarray(g)
            wd = self.hyper.get("weight_decay", 0.0)
            if wd:
                g = g + wd * p.data  # L2 penalty folded into the gradient (PyTorch's weight_decay)
            xp, t = backend.array_module(p.data), self.param_steps[i]
            keys = list(state)
            arrays = [p.data, g] + [state[k] for k in keys]
            if not state or not parallel.is_cpu(*arrays) or not all(a.flags.c_contiguous for a in arrays):
                self._update(p.data, g, state, xp, t)  # whole: the first update makes the buffers; the GPU
                continue

            def update(w, g, *buffers, keys=keys, t=t):
                self._update(w, g, dict(zip(keys, buffers)), np, t)
            flat.append((update, [a.reshape(-1) for a in arrays], p.data.size))
        self._update_in_blocks(flat)

    @staticmethod
    def _update_in_blocks(flat):
        """The updates are elementwise. All the parameters' elements, laid end to end, are cut into
        one contiguous range per CPU thread (one hand-over for the whole step), and each range into
        blocks that fit in the cache: the update's dozen passes then re-read its temporaries from
        there, not from memory."""
        def update_range(r):  # elements r[0]:r[1] of the parameters laid end to end
            offset = 0
            for update, arrays, size in flat:
                lo, hi = max(r[0], offset), min(r[1], offset + size)
                for start in range(lo, hi, UPDATE_BLOCK):
                    stop = min(start + UPDATE_BLOCK, hi)
                    update(*[a[start - offset:stop - offset] for a in arrays])
                offset += size
        total = sum(size for _, _, size in flat)
        parallel.run(update_range, parallel.split(total, parallel.threads_for(total)))

    def _update(self, w, g, state, xp, t):
        """Update array ``w`` in place from gradient ``g``; ``t`` counts this parameter's updates."""
        raise NotImplementedError

    # -- saving ------------------------------------------------------------------------------
    def state_dict(self):
        """Hyper-parameters, the step count, and each buffer as a host numpy array."""
        arrays = {}
        for i, state in enumerate(self.state):
            for key, value in state.items():
                arrays[f"{i}.{key}"] = backend.to_numpy(value).copy()
        return {"type": type(self).__name__, "hyper": dict(self.hyper), "step_count": self.step_count,
                "param_steps": list(self.param_steps), "arrays": arrays}

    def load_state_dict(self, state):
        if state.get("type") != type(self).__name__:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state is of a {state.get('type')} optimizer")
        new_state = [dict() for _ in self.params]
        for name, value in state["arrays"].items():
            index, key = name.split(".", 1)
            index = int(index)
            if index >= len(self.params):
                raise ValueError(f"{type(self).__name__}.load_state_dict: buffer {name!r} is for parameter {index}, "
                                 f"but the optimizer has {len(self.params)} parameters")
            p = self.params[index]
            if tuple(value.shape) != tuple(p.shape):
                raise ValueError(f"{type(self).__name__}.load_state_dict: buffer {name!r}: expected shape {p.shape} "
                                 f"(its parameter's), got {tuple(value.shape)}")
            new_state[index][key] = backend.copy_to_device(value, p.device, p.dtype)  # a copy
        self.hyper.update(state["hyper"])
        self.step_count = int(state["step_count"])
        steps = state.get("param_steps", [self.step_count] * len(self.params))
        if len(steps) != len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: param_steps has {len(steps)} entries for "
                             f"{len(self.params)} parameters")
        self.param_steps = [int(t) for t in steps]
        self.state = new_state

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"


class SGD(Optimizer):
    """Stochastic gradient descent with momentum:

        b <- momentum * b + (1 - dampening) * g      (b = g at the first step)
        g <- g + momentum * b if nesterov else b
        w <- w - lr * g
    """

    defaults = {"lr": 0.01, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}

    def _check_hyper(self):
        super()._check_hyper()
        if self.hyper["momentum"] < 0:
            raise ValueError(f"SGD: momentum: expected >= 0, got {self.hyper['momentum']}")
        if self.hyper["nesterov"] and (self.hyper["momentum"] <= 0 or self.hyper["dampening"] != 0):
            raise ValueError("SGD: nesterov needs a positive momentum and zero dampening")

    def _update(self, w, g, state, xp, t):
        h = self.hyper
        if h["momentum"]:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= h["momentum"]
                buf += (1.0 - h["dampening"]) * g
            g = g + h["momentum"] * buf if h["nesterov"] else buf
        w -= h["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's form, at step t:

        m <- beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        w <- w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    GANs use betas (0.5, 0.999) (DCGAN) or (0.5, 0.9) / (0, 0.9) (WGAN-GP).
    """

    defaults = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}

    def _check_hyper(self):
        super()._check_hyper()
        b1, b2 = self.hyper["betas"]
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam: betas: expected two values in [0, 1), got {self.hyper['betas']}")
        self.hyper["betas"] = (float(b1), float(b2))

    def _update(self, w, g, state, xp, t):
        h = self.hyper
        b1, b2 = h["betas"]
        m = state.get("exp_avg")
        if m is None:
            m = state["exp_avg"] = xp.zeros_like(w)
            state["exp_avg_sq"] = xp.zeros_like(w)
        v = state["exp_avg_sq"]
        tmp = xp.subtract(g, m)        # m <- m + (1 - beta1)(g - m), PyTorch's lerp
        tmp *= 1.0 - b1
        m += tmp
        xp.multiply(g, g, out=tmp)     # v <- beta2 v + (1 - beta2) g^2
        tmp *= 1.0 - b2
        v *= b2
        v += tmp
        # lr / c1 * m / (sqrt(v) / c2 + eps) = (lr c2 / c1) * m / (sqrt(v) + eps c2): one pass fewer
        c1, c2 = 1.0 - b1 ** t, math.sqrt(1.0 - b2 ** t)
        xp.sqrt(v, out=tmp)
        tmp += h["eps"] * c2
        xp.divide(m, tmp, out=tmp)
        tmp *= -h["lr"] * c2 / c1
        w += tmp


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton), PyTorch's form (not centered, no momentum):

        v <- alpha v + (1 - alpha) g^2
        w <- w - lr * g / (sqrt(v) + eps)

    WGAN trains with RMSprop, lr 5e-5.
    """

    defaults = {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}

    def _check_hyper(self):
        super()._check_hyper()
        if not 0.0 <= self.hyper["alpha"] < 1.0:
            raise ValueError(f"RMSprop: alpha: expected a value in [0, 1), got {self.hyper['alpha']}")

    def _update(self, w, g, state, xp, t):
        h = self.hyper
        v = state.get("square_avg")
        if v is None:
            v = state["square_avg"] = xp.zeros_like(w)
        tmp = xp.multiply(g, g)
        tmp *= 1.0 - h["alpha"]
        v *= h["alpha"]
        v += tmp
        xp.sqrt(v, out=tmp)
        tmp += h["eps"]
        xp.divide(g, tmp, out=tmp)
        tmp *= -h["lr"]
        w += tmp


__all__ = ["Adam", "Optimizer", "RMSprop", "SGD", "Parameter"]
