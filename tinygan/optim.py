"""Optimizers: SGD, Adam and RMSprop, with the update rules of PyTorch's documentation.

Updates run in place on the parameter arrays (their own array module, no graph), so a module
moved with ``.to()`` keeps its optimizer. ``state_dict`` / ``load_state_dict`` capture the step
count and every moment buffer, so that a resumed run continues exactly.
"""

from __future__ import annotations

from tinygan import backend
from tinygan.nn.module import Parameter
from tinygan.tensor import Tensor, fast_step


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
        """Update every parameter that has a gradient, one parameter at a time (``_update``).

        The engine may make the whole step at once instead, with a faster version of the same
        update registered for this optimizer's class (``tinygan.tensor.fast_step``)."""
        self.step_count += 1
        updates = []  # (weights, gradient, state, t) of each parameter to update
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            self.param_steps[i] += 1
            g = p.grad.data
            if g.dtype != p.data.dtype:
                raise TypeError(f"{type(self).__name__}: a gradient of dtype {g.dtype} for a parameter of dtype "
                                f"{p.data.dtype}")
            wd = self.hyper.get("weight_decay", 0.0)
            if wd:
                g = g + wd * p.data  # L2 penalty folded into the gradient (PyTorch's weight_decay)
            updates.append((p.data, g, self.state[i], self.param_steps[i]))
        if not fast_step(self, updates):
            for w, g, state, t in updates:
                self._update(w, g, state, t)

    def _update(self, w, g, state, t):
        """Update array ``w`` in place from its gradient ``g``; ``state`` holds the parameter's
        buffers, ``t`` counts its updates."""
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

    def _update(self, w, g, state, t):
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
    """Adam (Kingma & Ba 2014, Algorithm 1) at step t, with PyTorch's defaults:

        m <- beta1 m + (1 - beta1) g              (first moment: a running mean of g)
        v <- beta2 v + (1 - beta2) g^2            (second moment: a running mean of g^2)
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)     (m and v start at 0)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)

    GANs use betas (0.5, 0.999) (DCGAN) or (0.5, 0.9) / (0, 0.9) (WGAN-GP).
    """

    defaults = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}

    def _check_hyper(self):
        super()._check_hyper()
        b1, b2 = self.hyper["betas"]
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam: betas: expected two values in [0, 1), got {self.hyper['betas']}")
        self.hyper["betas"] = (float(b1), float(b2))

    def _update(self, w, g, state, t):
        xp = backend.array_module(w)
        b1, b2 = self.hyper["betas"]
        if not state:
            state["exp_avg"], state["exp_avg_sq"] = xp.zeros_like(w), xp.zeros_like(w)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m[...] = b1 * m + (1.0 - b1) * g
        v[...] = b2 * v + (1.0 - b2) * g * g
        m_hat = m / (1.0 - b1 ** t)
        v_hat = v / (1.0 - b2 ** t)
        w -= self.hyper["lr"] * m_hat / (xp.sqrt(v_hat) + self.hyper["eps"])


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

    def _update(self, w, g, state, t):
        h = self.hyper
        if not state:
            state["square_avg"] = backend.array_module(w).zeros_like(w)
        v = state["square_avg"]
        v[...] = h["alpha"] * v + (1.0 - h["alpha"]) * g * g
        w -= h["lr"] * g / (backend.array_module(w).sqrt(v) + h["eps"])


__all__ = ["Adam", "Optimizer", "RMSprop", "SGD", "Parameter"]
