"""Where one GAN iteration's time goes, tinygan against PyTorch, in the same six categories.

Each framework's own profiler times the iteration of ``step_time.py`` (the same models and the
same work), and every timed op is put into one category:

  matrix products     tinygan: the Linear and convolution Functions (their GEMMs, im2col, bias);
                      PyTorch: aten::mm / addmm and the convolution ops (oneDNN)
  batch-norm          tinygan: BatchNorm;   PyTorch: aten::native_batch_norm and its backward
  activations         LeakyReLU, ReLU, Tanh (both sides' forward and backward kernels)
  optimizer           Adam.step, everything it calls
  other ops           losses, sums, copies, views, random numbers: every other op
  framework, Python   the autograd engine's own code (tinygan: its sorting and summing of
                      gradients; PyTorch: autograd::engine and the *Backward0 nodes' own time) and
                      the Python between ops (the profiled time that no op holds)

Times are self times (an op's row does not count the ops it calls), so the categories add up
to the profiled time per iteration. Both profilers add their own cost per op (PyTorch's more,
per event), so the profiled totals are above ``step_time.py``'s times; compare categories with
each other, and take the time ratio itself from ``step_time.py --vs-torch``. The frameworks run
in fresh processes, alternating, --rounds times; the table shows the median and the range.

    python benchmarks/step_breakdown.py [--models mlp dcgan] [--batch-sizes 64 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import step_time

CATEGORIES = ["matrix products", "batch-norm", "activations", "optimizer", "other ops", "framework, Python"]
TINYGAN_MATMUL = {"Linear", "MatMul", "Conv2d", "ConvTranspose2d", "Conv2dWeight"}
ACTIVATIONS = ("leaky_relu", "relu", "threshold", "clamp_min", "tanh", "sigmoid")


def tinygan_category(op, phase):
    if phase == "optimizer":
        return "optimizer"
    if op in TINYGAN_MATMUL:
        return "matrix products"
    if op in ("BatchNorm", "Normalize"):
        return "batch-norm"
    if op.lower() in ("leakyrelu", "relu", "tanh", "sigmoid"):
        return "activations"
    if op in ("backward engine", "(untracked)"):
        return "framework, Python"
    return "other ops"


def torch_category(event):
    parent = event
    while parent is not None:
        if parent.name.startswith("Optimizer."):
            return "optimizer"
        parent = parent.cpu_parent
    name = event.name
    if name in ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear") or "conv" in name:
        return "matrix products"
    if "batch_norm" in name:
        return "batch-norm"
    if name.startswith("aten::") and any(k in name for k in ACTIVATIONS):
        return "activations"
    if name.startswith("autograd::") or "Backward" in name or "AccumulateGrad" in name:
        return "framework, Python"
    return "other ops"


def profile_tinygan(model, batch, args):
    import tinygan

    step = step_time.tinygan_iteration(model, batch)
    for _ in range(args.warmup):
        step()
    with tinygan.profile() as prof:
        for _ in range(args.iters):
            step()
    ms = dict.fromkeys(CATEGORIES, 0.0)
    for r in prof.grouped("op"):
        ms[tinygan_category(r["op"], r["phase"])] += r["seconds"] * 1e3 / args.iters
    return ms, prof.wall * 1e3 / args.iters


def profile_torch(model, batch, args):
    from torch.profiler import ProfilerActivity, profile

    step = step_time.torch_iteration(model, batch, args.threads)
    for _ in range(args.warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(args.iters):
            step()
        wall = time.perf_counter() - t0
    ms = dict.fromkeys(CATEGORIES, 0.0)
    for event in prof.events():
        ms[torch_category(event)] += event.self_cpu_time_total / 1e3 / args.iters
    ms["framework, Python"] += max(wall * 1e3 / args.iters - sum(ms.values()), 0.0)  # the Python between ops
    return ms, wall * 1e3 / args.iters


def worker(framework, model, batch, args):
    """Run in a fresh process: print one JSON line, {"ms": {category: ms per iteration}, "wall": ms}."""
    ms, wall = (profile_tinygan if framework == "tinygan" else profile_torch)(model, batch, args)
    print(json.dumps({"ms": ms, "wall": wall}), flush=True)


def run_worker(framework, model, batch, args):
    cmd = [sys.executable, __file__, "--worker", framework, model, str(batch), "--iters", str(args.iters),
           "--warmup", str(args.warmup), "--threads", str(args.threads)]
    out = subprocess.run(cmd, env=step_time.thread_env(args.threads), check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def spread(values):
    mid = step_time.median(values)
    return f"{mid:7.1f} ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else f"{mid:7.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "dcgan"], choices=["mlp", "dcgan"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per framework (they alternate)")
    parser.add_argument("--iters", type=int, default=20, help="profiled iterations per process")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="BLAS / PyTorch threads (default 2)")
    parser.add_argument("--worker", nargs=3, metavar=("FRAMEWORK", "MODEL", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        framework, model, batch = args.worker
        worker(framework, model, int(batch), args)
        return
    import importlib.util
    if importlib.util.find_spec("torch") is None:
        sys.exit("step_breakdown.py compares with PyTorch: `pip install torch==2.13.0` (the CPU wheel)")
    for model in args.models:
        for batch in args.batch_sizes:
            runs = {"tinygan": [], "torch": []}
            for r in range(args.rounds):
                for fw in (["tinygan", "torch"] if r % 2 == 0 else ["torch", "tinygan"]):
                    runs[fw].append(run_worker(fw, model, batch, args))
            print(f"\n{model} GAN, batch {batch}, {args.threads} threads: ms per iteration under each framework's "
                  f"profiler, median (range) of {args.rounds} processes of {args.iters} iterations")
            print(f"{'category':<20}{'tinygan':>22}{'PyTorch':>22}{'tinygan - PyTorch':>20}")
            for cat in CATEGORIES + ["total"]:
                ours = [run["wall"] if cat == "total" else run["ms"][cat] for run in runs["tinygan"]]
                ref = [run["wall"] if cat == "total" else run["ms"][cat] for run in runs["torch"]]
                diff = step_time.median(ours) - step_time.median(ref)
                print(f"{cat:<20}{spread(ours):>22}{spread(ref):>22}{diff:>+20.1f}")


if __name__ == "__main__":
    main()
