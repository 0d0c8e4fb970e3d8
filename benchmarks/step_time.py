"""Time one full GAN training iteration, tinygan against PyTorch, on two fixed models.

One iteration: D on a real and a fake batch (BCE with logits), D's Adam step; G through D
(non-saturating loss), G's Adam step. float32. Printed per model and batch size: ms per
iteration (median of --iters after --warmup), iterations/s, and peak memory: the highest
resident memory (VmHWM, reset after the warm-ups) during the timed iterations, minus the
resident memory after the imports and before the models are built. So it counts what training
the model costs (weights, optimizer state, activations, the allocator's slack) and not the size
of the library itself. Each framework runs in a fresh process of its own.

On a shared machine a burst of load can slow one framework's whole run. So with --vs-torch the
two processes run alternately, --block iterations at a time (tinygan then PyTorch, then PyTorch
then tinygan, ...), with a short pause before each block so that the other's threads are idle;
the time ratio is the median over these rounds of the ratio of the two blocks' medians.

Models:
  MLP GAN  G z(100)->256->LReLU(0.2)->BN->512->LReLU->BN->1024->LReLU->BN->784->tanh;
           D 784->512->LReLU->256->LReLU->1.
  DCGAN    G z(100)->Linear 128*7*7->reshape->BN2d->ReLU->ConvT(128,64,4,2,1)->BN2d->ReLU
             ->ConvT(64,1,4,2,1)->tanh;
           D Conv(1,64,4,2,1)->LReLU(0.2)->Conv(64,128,4,2,1)->BN2d->LReLU->flatten->Linear 1.

    python benchmarks/step_time.py [--vs-torch] [--threads 2] [--batch-sizes 64 256]
    python benchmarks/step_time.py --device cuda       # on the GPU, with CuPy (step_time_gpu.py)
    python benchmarks/step_time.py --profile --models dcgan --batch-sizes 64   # tinygan.profile()'s table

--kernels off times tinygan with its kernels off (TINYGAN_KERNELS=0: the textbook code alone).
--vs-ref PATH adds a third worker running the tinygan of another checkout (PYTHONPATH=PATH; e.g.
`git clone -q <repo> /tmp/ref` at an older commit), in the same alternating rounds, and reports
its times and its ratio to PyTorch beside this checkout's, and this checkout's time over its.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import step_time_gpu


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak_rss():
    """Reset the kernel's high-water mark of this process (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def thread_env(threads):
    """The environment of a worker process: BLAS and OpenMP (PyTorch) at ``threads`` threads."""
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))


def tinygan_iteration(model, batch):
    import numpy as np

    import tinygan as tg
    from tinygan import nn
    from tinygan.gan import losses
    from tinygan.optim import Adam

    tg.manual_seed(0)
    if model == "mlp":
        G = nn.Sequential(nn.Linear(100, 256), nn.LeakyReLU(0.2), nn.BatchNorm1d(256),
                          nn.Linear(256, 512), nn.LeakyReLU(0.2), nn.BatchNorm1d(512),
                          nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.BatchNorm1d(1024),
                          nn.Linear(1024, 784), nn.Tanh())
        D = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
                          nn.Linear(256, 1))
        real = tg.Tensor(np.random.default_rng(0).uniform(-1, 1, (batch, 784)).astype(np.float32),
                         device=tg.get_default_device())
    else:
        G = nn.Sequential(nn.Linear(100, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128), nn.ReLU(),
                          nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                          nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
        D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                          nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
        real = tg.Tensor(np.random.default_rng(0).uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32),
                         device=tg.get_default_device())
    opt_g = Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step():
        z = tg.Tensor(tg.random.randn(batch, 100))
        fake = G(z)
        loss_d = losses.d_loss_bce(D(real), D(fake.detach()))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = losses.g_loss_nonsaturating(D(fake))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return loss_d.item() + loss_g.item()
    step.modules = {"G": G, "D": D}
    return step


def torch_iteration(model, batch, threads):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if model == "mlp":
        G = nn.Sequential(nn.Linear(100, 256), nn.LeakyReLU(0.2), nn.BatchNorm1d(256),
                          nn.Linear(256, 512), nn.LeakyReLU(0.2), nn.BatchNorm1d(512),
                          nn.Linear(512, 1024), nn.LeakyReLU(0.2), nn.BatchNorm1d(1024),
                          nn.Linear(1024, 784), nn.Tanh())
        D = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
                          nn.Linear(256, 1))
        real = torch.rand(batch, 784) * 2 - 1
    else:
        G = nn.Sequential(nn.Linear(100, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128), nn.ReLU(),
                          nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                          nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
        D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                          nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
        real = torch.rand(batch, 1, 28, 28) * 2 - 1
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        z = torch.randn(batch, 100)
        fake = G(z)
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(D(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        return loss_d.item() + loss_g.item()
    return step


def worker(framework, model, batch, warmup, threads):
    """Run in a fresh process: build the model, warm up, say "ready"; then, for each line
    "run K" on stdin, time K iterations and print their times (one JSON line); for "peak", print
    the peak memory of everything timed so far."""
    if framework == "tinygan":
        import tinygan  # noqa: F401  (imports first, so that the baseline excludes them)
    else:
        import torch  # noqa: F401
    base = rss_mb()
    if framework == "tinygan":
        step = tinygan_iteration(model, batch)
    else:
        step = torch_iteration(model, batch, threads)
    for _ in range(warmup):
        step()
    reset_peak_rss()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[0] == "run":
            times = []
            for _ in range(int(command[1])):
                t0 = time.perf_counter()
                step()
                times.append(time.perf_counter() - t0)
            print(json.dumps({"times": times}), flush=True)
        elif command[0] == "peak":
            print(json.dumps({"peak_mb": max(peak_rss_mb() - base, 0.0)}), flush=True)
            return


class Worker:
    """A worker process of one framework and model, driven block by block over a pipe. "ref" is
    tinygan imported from the --vs-ref checkout; "tinygan" this checkout's, with --kernels."""

    def __init__(self, framework, model, batch, args):
        env = thread_env(args.threads)
        if framework == "ref":
            env["PYTHONPATH"] = os.path.abspath(args.vs_ref)
        elif framework == "tinygan" and getattr(args, "kernels", "on") == "off":
            env["TINYGAN_KERNELS"] = "0"
        cmd = [sys.executable, __file__, "--worker", "tinygan" if framework == "ref" else framework, model, str(batch),
               "--warmup", str(args.warmup), "--threads", str(args.threads)]
        self.name = f"{framework} {model} {batch}"
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._read()  # "ready": built and warmed up

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: the worker stopped (exit status {self.proc.wait()})")
        return json.loads(line)

    def run(self, iterations):
        self.proc.stdin.write(f"run {iterations}\n")
        self.proc.stdin.flush()
        return self._read()["times"]

    def peak(self):
        self.proc.stdin.write("peak\n")
        self.proc.stdin.flush()
        peak = self._read()["peak_mb"]
        self.proc.wait()
        return peak


def profile(model, batch, args):
    """Run in a fresh process: the tinygan.profile() table of the timed iterations."""
    import tinygan

    step = tinygan_iteration(model, batch)
    for _ in range(args.warmup):
        step()
    with tinygan.profile(modules=step.modules) as prof:
        for _ in range(args.iters):
            step()
    print(f"tinygan.profile() of the {model} iteration at batch {batch}, {args.threads} threads, "
          f"{args.iters} iterations after {args.warmup} warm-ups; ms per iteration:")
    print(prof.table(by=args.by, steps=args.iters, top=args.top))
    if args.profile_json:
        prof.save(args.profile_json)


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def measure(frameworks, model, batch, args):
    """Time the frameworks in alternating blocks of --block iterations (ABAB..., then BABA...), each
    in its own process, so that a burst of load on a shared machine falls on both; a pause before
    each block lets the other process's threads go idle. Returns, per framework, the median ms and
    the peak memory, and the time ratio as the median over rounds of the two blocks' medians."""
    workers = {fw: Worker(fw, model, batch, args) for fw in frameworks}
    times = {fw: [] for fw in frameworks}
    ratios = {}  # (a, b) -> the ratio of a's block median to b's, per round
    for r in range(-(-args.iters // args.block)):
        block = {}
        for fw in (frameworks if r % 2 == 0 else frameworks[::-1]):
            time.sleep(args.pause)
            block[fw] = workers[fw].run(args.block)
            times[fw] += block[fw]
        for a in frameworks:
            for b in frameworks:
                if a != b:
                    ratios.setdefault((a, b), []).append(median(block[a]) / median(block[b]))
    out = {fw: {"ms": median(times[fw]) * 1e3, "peak_mb": workers[fw].peak()} for fw in frameworks}
    out["ratio"] = median(ratios[tuple(frameworks[:2])]) if len(frameworks) >= 2 else None
    out["ratios"] = {pair: median(values) for pair, values in ratios.items()}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vs-torch", action="store_true", help="also time PyTorch (CPU) in the same run")
    parser.add_argument("--models", nargs="+", default=["mlp", "dcgan"], choices=["mlp", "dcgan"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=None,
                        help="(default: 64 256 on the CPU, 256 1024 with --device cuda)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--iters", type=int, default=60, help="timed iterations (with --vs-torch: 6 rounds of 10)")
    parser.add_argument("--block", type=int, default=10, help="iterations per block (the frameworks alternate)")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds of rest before each block")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / PyTorch threads (default 2)")
    parser.add_argument("--profile", action="store_true",
                        help="print tinygan.profile()'s table of the iteration (by op and layer) instead of timing")
    parser.add_argument("--by", default="row", choices=["row", "op", "layer"], help="--profile: group rows by")
    parser.add_argument("--top", type=int, default=25, help="--profile: rows shown (the rest summed in one)")
    parser.add_argument("--profile-json", metavar="PATH", help="--profile: also write the profile as JSON")
    parser.add_argument("--kernels", choices=["on", "off"], default="on",
                        help="tinygan's kernels (off: TINYGAN_KERNELS=0, the textbook code alone)")
    parser.add_argument("--vs-ref", metavar="PATH", help="also time the tinygan of the checkout at PATH, alternating")
    parser.add_argument("--worker", nargs=3, metavar=("FRAMEWORK", "MODEL", "BATCH"), help=argparse.SUPPRESS)
    step_time_gpu.add_arguments(parser)
    args = parser.parse_args()
    if args.device != "cpu":
        sys.exit(step_time_gpu.main(args))
    args.batch_sizes = args.batch_sizes or [64, 256]
    if args.vs_ref and not os.path.isfile(os.path.join(args.vs_ref, "tinygan", "__init__.py")):
        sys.exit(f"--vs-ref: expected a checkout of tinygan (PATH/tinygan/__init__.py), got {args.vs_ref!r}")
    if args.profile and not args.worker:
        env = dict(thread_env(args.threads), **({"TINYGAN_KERNELS": "0"} if args.kernels == "off" else {}))
        for model in args.models:
            for batch in args.batch_sizes:
                cmd = [sys.executable, __file__, "--worker", "profile", model, str(batch)] + sys.argv[1:]
                subprocess.run(cmd, env=env, check=True)
        return
    if args.worker and args.worker[0] == "profile":
        profile(args.worker[1], int(args.worker[2]), args)
        return
    if args.worker:
        framework, model, batch = args.worker
        worker(framework, model, int(batch), args.warmup, args.threads)
        return
    if args.vs_torch:
        import importlib.util
        if importlib.util.find_spec("torch") is None:  # not imported here: workers measure memory
            sys.exit("--vs-torch: PyTorch is not installed; `pip install torch==2.13.0` (the CPU wheel)")
    frameworks = ["tinygan"] + (["torch"] if args.vs_torch else []) + (["ref"] if args.vs_ref else [])
    print(f"one GAN iteration (both sides: D on a real and a fake batch, D's Adam step, G through D, G's Adam "
          f"step; one G forward), float32, {args.threads} threads, median of {args.iters} after {args.warmup} "
          f"warm-ups" + (f"; {', '.join(frameworks)} alternate in blocks of {args.block}" if len(frameworks) > 1 else "")
          + (" (tinygan with its kernels off)" if args.kernels == "off" else "")
          + (f"; ref: the tinygan of {args.vs_ref}" if args.vs_ref else ""))
    head = f"{'model':<7}{'batch':>6}{'tinygan ms':>12}{'it/s':>8}{'peak MB':>9}"
    if args.vs_torch:
        head += f"{'torch ms':>10}{'it/s':>8}{'peak MB':>9}{'time ratio':>12}{'mem ratio':>11}"
    if args.vs_ref:
        head += f"{'ref ms':>9}{'peak MB':>9}" + (f"{'ref/torch':>11}" if args.vs_torch else "") + f"{'tinygan/ref':>13}"
    print(head)
    for model in args.models:
        for batch in args.batch_sizes:
            result = measure(frameworks, model, batch, args)
            ours = result["tinygan"]
            line = f"{model:<7}{batch:>6}{ours['ms']:>12.1f}{1e3 / ours['ms']:>8.1f}{ours['peak_mb']:>9.0f}"
            if args.vs_torch:
                ref = result["torch"]
                mem_ratio = ours["peak_mb"] / ref["peak_mb"] if ref["peak_mb"] > 0 else float("nan")
                line += (f"{ref['ms']:>10.1f}{1e3 / ref['ms']:>8.1f}{ref['peak_mb']:>9.0f}"
                         f"{result['ratio']:>12.2f}{mem_ratio:>11.2f}")
            if args.vs_ref:
                old = result["ref"]
                line += f"{old['ms']:>9.1f}{old['peak_mb']:>9.0f}"
                line += f"{result['ratios'][('ref', 'torch')]:>11.2f}" if args.vs_torch else ""
                line += f"{result['ratios'][('tinygan', 'ref')]:>13.3f}"
            print(line, flush=True)
    if args.vs_torch:
        print("time ratio = tinygan / PyTorch, the median over rounds of the two blocks' median times; memory ratio = "
              "peak / peak (below 1: tinygan is faster or smaller)")


if __name__ == "__main__":
    main()
