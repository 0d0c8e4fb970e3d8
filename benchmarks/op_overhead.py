"""Per-op overhead of the autograd engine on tiny arrays, where bookkeeping dominates the math.

For each op it prints microseconds per call of
  - the raw NumPy expression,
  - tinygan forward (inputs require grad, so the graph is recorded),
  - tinygan forward + backward (y.backward(g) with a given gradient),
and the same two for PyTorch (CPU, float32) when it is installed. Best of 5 repeats.

    python benchmarks/op_overhead.py [--size 4] [--number 20000]
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import tinygan as tg

try:
    import torch
except ImportError:  # PyTorch is only an optional comparator
    torch = None


def bench(stmt, number, repeat=5):
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4, help="arrays are size x size (default 4)")
    parser.add_argument("--number", type=int, default=20000, help="calls per timing (default 20000)")
    args = parser.parse_args()
    n = args.size
    rng = np.random.default_rng(0)
    a_np = rng.uniform(0.5, 1.5, (n, n)).astype(np.float32)
    b_np = rng.uniform(0.5, 1.5, (n, n)).astype(np.float32)
    g_np = np.ones((n, n), np.float32)

    ops = [
        ("add", lambda a, b: a + b, lambda a, b: a + b),
        ("mul", lambda a, b: a * b, lambda a, b: a * b),
        ("div", lambda a, b: a / b, lambda a, b: a / b),
        ("matmul", lambda a, b: a @ b, lambda a, b: a @ b),
        ("exp", lambda a, b: np.exp(a), lambda a, b: tg.exp(a)),
        ("tanh", lambda a, b: np.tanh(a), lambda a, b: tg.tanh(a)),
        ("leaky_relu", lambda a, b: np.maximum(a, 0.2 * a), lambda a, b: tg.leaky_relu(a, 0.2)),
        ("sum(axis=0)", lambda a, b: a.sum(axis=0), lambda a, b: a.sum(axis=0)),
        ("reshape", lambda a, b: a.reshape(-1), lambda a, b: a.reshape(-1)),
        ("getitem", lambda a, b: a[1:3], lambda a, b: a[1:3]),
    ]
    torch_ops = {
        "exp": lambda a, b: torch.exp(a),
        "tanh": lambda a, b: torch.tanh(a),
        "leaky_relu": lambda a, b: torch.nn.functional.leaky_relu(a, 0.2),
    }

    if torch is not None:
        torch.set_num_threads(2)
        ta = torch.tensor(a_np, requires_grad=True)
        tb = torch.tensor(b_np, requires_grad=True)
    a = tg.Tensor(a_np, requires_grad=True)
    b = tg.Tensor(b_np, requires_grad=True)

    header = f"{'op':<13}{'numpy':>9}{'tg fwd':>9}{'tg f+b':>9}"
    if torch is not None:
        header += f"{'torch fwd':>11}{'torch f+b':>11}{'fwd ratio':>11}{'f+b ratio':>11}"
    print(f"per-op overhead, microseconds per call, {n}x{n} float32 arrays "
          f"(ratio = tinygan / PyTorch; below 1 is faster)")
    print(header)
    totals = np.zeros(4)
    for name, np_fn, tg_fn in ops:
        t_np = bench(lambda: np_fn(a_np, b_np), args.number)
        t_fwd = bench(lambda: tg_fn(a, b), args.number)
        y = tg_fn(a, b)
        g = tg.Tensor(np.ones(y.shape, np.float32))

        def tg_fb():
            tg_fn(a, b).backward(g)
        t_fb = bench(tg_fb, args.number // 2)
        line = f"{name:<13}{t_np:>9.2f}{t_fwd:>9.2f}{t_fb:>9.2f}"
        if torch is not None:
            t_fn = torch_ops.get(name, tg_fn)
            ty = t_fn(ta, tb)
            tg_grad = torch.ones_like(ty)
            t_tfwd = bench(lambda: t_fn(ta, tb), args.number)

            def torch_fb():
                t_fn(ta, tb).backward(tg_grad)
            t_tfb = bench(torch_fb, args.number // 2)
            line += f"{t_tfwd:>11.2f}{t_tfb:>11.2f}{t_fwd / t_tfwd:>11.2f}{t_fb / t_tfb:>11.2f}"
            totals += [t_fwd, t_fb, t_tfwd, t_tfb]
        print(line)
    if torch is not None:
        print(f"{'geomean-free total':<31}{totals[0]:>9.1f}{totals[1]:>9.1f}"
              f"{totals[2]:>11.1f}{totals[3]:>11.1f}{totals[0] / totals[2]:>11.2f}{totals[1] / totals[3]:>11.2f}")
    else:
        print("(PyTorch not installed: `pip install torch==2.13.0` to compare)")
    del g_np


if __name__ == "__main__":
    main()
