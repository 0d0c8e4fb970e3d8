"""``step_time.py --device cuda``: the same GAN iteration on the GPU, against PyTorch CUDA or the GEMM limit.

The iteration and the two models are step_time.py's (``tinygan_iteration``, ``torch_iteration``),
built on device "cuda". CuPy launches kernels and returns before they finish, so the device is
synchronised before and after every timed iteration: a time is the wall time from an idle device
to an idle device, the Python that drives the kernels included. Printed per model and batch size
(256 and 1024 by default): ms per iteration (median of --iters after --warmup) and the peak of
CuPy's memory pool (``total_bytes()``: the device memory the pool holds, its cached free blocks
included, above what it held before the models were built).

Where ``torch`` is installed with a CUDA device, PyTorch runs the same iteration in the same
process (time ratio = tinygan / PyTorch, memory: ``torch.cuda.max_memory_reserved()``, its caching
allocator's counterpart of the pool's total). Always, and the only reference where PyTorch is
absent, the **GEMM limit**: the time of the iteration's matrix products alone, each product
launched on the card by CuPy at the shape tinygan gives it (one iteration is recorded through
the engine's observer: Linear and MatMul as they are, each convolution as its one im2col GEMM,
(O, C*KH*KW) @ (C*KH*KW, OH*OW*N) and its two adjoints), run back to back on preallocated
operands. No iteration can be faster than that on this card, so GEMM limit / tinygan ms is the
share of the time spent in the arithmetic that has to be done; the rest is elementwise kernels,
launches and Python.

``--device fakecuda`` runs all of it on the CPU stand-in for CuPy (tests/fakecupy.py): the figures
mean nothing there, the code path is the one a GPU runs.

    python benchmarks/step_time.py --device cuda [--batch-sizes 256 1024] [--json step_time.json]
    python benchmarks/step_time.py --device fakecuda --batch-sizes 16 --iters 3   # the plumbing, on the CPU
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import step_time

BATCH_SIZES = [256, 1024]
TESTS = Path(__file__).resolve().parents[1] / "tests"


def add_arguments(parser):
    """The options of the GPU path, on step_time.py's parser."""
    parser.add_argument("--device", choices=["cpu", "cuda", "fakecuda"], default="cpu",
                        help="cuda: time the iteration on the GPU with CuPy (against PyTorch CUDA where torch has "
                             "CUDA, else the GEMM limit); fakecuda: the same on the CPU stand-in for CuPy "
                             "(tests/fakecupy.py). Default cpu")
    parser.add_argument("--json", metavar="PATH", help="--device cuda/fakecuda: also write the results as JSON")


# ----------------------------------------------------------------------------------------------
# The device
# ----------------------------------------------------------------------------------------------


def gpu_module(device):
    """CuPy, or for 'fakecuda' the CPU stand-in, installed as tinygan's device 'cuda'; a RuntimeError
    that says what is missing when CuPy or a GPU is."""
    from tinygan import backend
    if device == "fakecuda":
        sys.path.insert(0, str(TESTS))
        import fakecupy
        fakecupy.install()
    return backend.cupy_module()


def synchronize(xp):
    """Wait until the device has finished every kernel launched so far."""
    xp.cuda.Device().synchronize()


def timed(step, sync, iterations):
    """Seconds of each of ``iterations`` calls of ``step``, the device idle at each start and end."""
    times = []
    for _ in range(iterations):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return times


# ----------------------------------------------------------------------------------------------
# The GEMM limit
# ----------------------------------------------------------------------------------------------


def gemm_shape(fn, xs, y):
    """(batch, m, k, n) of the one matrix product a Function's forward amounts to, or None."""
    kind = type(fn).__name__
    if kind == "Linear":  # x (B, in) @ W^T (in, out)
        return (1, xs[0].shape[0], xs[0].shape[1], xs[1].shape[0])
    if kind == "MatMul":  # (..., m, k) @ (..., k, n)
        a, b = xs[0].shape, xs[1].shape
        return (math.prod(np.broadcast_shapes(a[:-2], b[:-2])), a[-2], a[-1], b[-1])
    if kind == "Conv2d":  # W (O, C KH KW) @ cols (C KH KW, OH OW N)
        w = xs[1].shape
        return (1, w[0], w[1] * w[2] * w[3], y.shape[0] * y.shape[2] * y.shape[3])
    if kind == "ConvTranspose2d":  # W^T (C_out KH KW, C_in) @ x (C_in, H W N)
        x, w = xs[0].shape, xs[1].shape
        return (1, w[1] * w[2] * w[3], w[0], x[0] * x[2] * x[3])
    if kind == "Conv2dWeight":  # gy (O, OH OW N) @ cols^T (OH OW N, C KH KW)
        gy = xs[1].shape
        return (1, gy[1], gy[0] * gy[2] * gy[3], y.shape[1] * y.shape[2] * y.shape[3])
    return None


# Which input of a product's Function is its left operand A in y = A @ B (the other is B).
LEFT_OPERAND = {"Linear": 0, "MatMul": 0, "Conv2d": 1, "ConvTranspose2d": 1, "Conv2dWeight": 1}


def backward_shapes(fn, shape):
    """The products of a first-order backward of a product y = A @ B of ``shape`` (b, m, k, n), one
    per wanted gradient: dA = gy B^T, (b, m, n, k), and dB = A^T gy, (b, k, m, n)."""
    b, m, k, n = shape
    left = LEFT_OPERAND[type(fn).__name__]
    grads = {left: (b, m, n, k), 1 - left: (b, k, m, n)}
    if type(fn).__name__ == "Linear":  # its weight is B^T, and its gradient comes out as W's: gy^T x, (n, m, k)
        grads[1] = (b, n, m, k)
    return [grads[i] for i in (0, 1) if fn.needs_input_grad[i]]


def record_gemms(step):
    """The (batch, m, k, n) of every matrix product one call of ``step`` makes, in order.

    A forward's product is recorded as it runs. A backward that runs Functions (the textbook's,
    or any backward with create_graph) records its products the same way; one that multiplies raw
    arrays (a kernel) runs no Function, so its products are the ones its gradients imply."""
    from tinygan import tensor

    class Recorder(tensor.Observer):
        def __init__(self):
            self.shapes = []

        def forward_of(self, fn, xs):
            y = tensor.run_forward(fn, xs)
            shape = gemm_shape(fn, xs, y)
            if shape is not None:
                self.shapes.append(shape)
                fn._gemm_shape = shape
            return y

        @contextlib.contextmanager
        def backward_of(self, fn):
            start = len(self.shapes)
            yield
            shape = getattr(fn, "_gemm_shape", None)
            if shape is not None and len(self.shapes) == start:
                self.shapes.extend(backward_shapes(fn, shape))

    if tensor._observer is not None:
        raise RuntimeError("record_gemms: another observer (a profile or graph recording) is active")
    recorder = Recorder()
    tensor._observer = recorder
    try:
        step()
    finally:
        tensor._observer = None
    return recorder.shapes


def gemm_limit(shapes, xp, sync, iterations):
    """Median seconds of the products ``shapes`` (float32, as (batch, m, k) @ (batch, k, n) where
    batch > 1) launched back to back, the device idle at the start and end of each round."""
    operands = {}
    for batch, m, k, n in set(shapes):
        lead = (batch,) if batch > 1 else ()
        operands[batch, m, k, n] = (xp.full(lead + (m, k), 0.5, dtype=np.float32),
                                    xp.full(lead + (k, n), 0.5, dtype=np.float32))

    def products():
        for shape in shapes:
            a, b = operands[shape]
            xp.matmul(a, b)
    products()  # cuBLAS picks and loads its kernels
    return step_time.median(timed(products, sync, iterations))


# ----------------------------------------------------------------------------------------------
# One model at one batch size
# ----------------------------------------------------------------------------------------------


def measure_tinygan(model, batch, xp, args):
    """ms per iteration, pool peak MB, GEMM limit ms and the number of products, on device 'cuda'."""
    import tinygan as tg
    pool = xp.get_default_memory_pool()
    gc.collect()
    pool.free_all_blocks()
    base = pool.total_bytes()
    tg.set_default_device("cuda")
    try:
        step = step_time.tinygan_iteration(model, batch)
        for _ in range(args.warmup):
            step()
        sync = lambda: synchronize(xp)  # noqa: E731
        ms = step_time.median(timed(step, sync, args.iters)) * 1e3
        peak_mb = (pool.total_bytes() - base) / 2**20
        shapes = record_gemms(step)
        del step
        gc.collect()
        limit_ms = gemm_limit(shapes, xp, sync, args.iters) * 1e3
    finally:
        tg.set_default_device("cpu")
    return {"tinygan_ms": ms, "tinygan_pool_mb": peak_mb, "gemm_limit_ms": limit_ms, "gemms": len(shapes)}


def torch_cuda():
    """(torch, "") where PyTorch is installed and sees a CUDA device, else (None, why not)."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed"
    if not torch.cuda.is_available():
        return None, f"PyTorch {torch.__version__} sees no CUDA device"
    return torch, ""


def measure_torch(torch, model, batch, args):
    """ms per iteration and the caching allocator's peak (MB) of PyTorch's iteration on CUDA."""
    torch.set_default_device("cuda")
    try:
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_reserved()
        step = step_time.torch_iteration(model, batch, args.threads)
        for _ in range(args.warmup):
            step()
        ms = step_time.median(timed(step, torch.cuda.synchronize, args.iters)) * 1e3
        peak_mb = (torch.cuda.max_memory_reserved() - base) / 2**20
        del step
    finally:
        torch.set_default_device("cpu")
    return {"torch_ms": ms, "torch_pool_mb": peak_mb}


# ----------------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------------


def main(args):
    """step_time.py's entry point for --device cuda and fakecuda; returns the exit status."""
    batch_sizes = args.batch_sizes or BATCH_SIZES
    try:
        xp = gpu_module(args.device)
    except RuntimeError as exc:
        print(f"step_time.py --device {args.device}: {exc}", file=sys.stderr)
        return 2
    from tinygan import backend
    info = backend.gpu_info()
    torch, why_not = (None, "not with --device fakecuda") if args.device == "fakecuda" else torch_cuda()
    if torch is not None:
        info["torch"] = torch.__version__
    print(f"one GAN iteration on {info['gpu']} (CuPy {info['cupy']}, CUDA runtime {info['cuda_runtime']}, driver "
          f"{info['cuda_driver']}), float32, median of {args.iters} after {args.warmup} warm-ups, the device "
          f"synchronised around each iteration; " + (f"PyTorch {torch.__version__} in the same process" if torch
                                                     else f"no PyTorch comparison ({why_not})"))
    head = f"{'model':<7}{'batch':>6}{'tinygan ms':>12}{'it/s':>8}{'pool MB':>9}{'GEMM ms':>9}{'GEMM share':>12}"
    if torch:
        head += f"{'torch ms':>10}{'it/s':>8}{'pool MB':>9}{'time ratio':>12}"
    print(head, flush=True)
    rows = []
    record = {"device": info, "torch": torch.__version__ if torch else why_not,
              "settings": {"warmup": args.warmup, "iters": args.iters, "models": args.models,
                           "batch_sizes": batch_sizes, "fake": args.device == "fakecuda"}, "rows": rows}
    for model in args.models:
        for batch in batch_sizes:
            row = {"model": model, "batch": batch}
            rows.append(row)
            try:
                row.update(measure_tinygan(model, batch, xp, args))
                if torch:
                    row.update(measure_torch(torch, model, batch, args))
                    row["time_ratio"] = row["tinygan_ms"] / row["torch_ms"]
            except Exception as exc:  # one failing configuration (out of memory, ...) must not hide the others
                row["error"] = f"{type(exc).__name__}: {exc}"
                print(f"{model:<7}{batch:>6}  failed: {row['error']}", flush=True)
                continue
            finally:
                if args.json:  # after every row: a run stopped half-way keeps the rows it has
                    write_json(args.json, record)
            line = (f"{model:<7}{batch:>6}{row['tinygan_ms']:>12.2f}{1e3 / row['tinygan_ms']:>8.1f}"
                    f"{row['tinygan_pool_mb']:>9.0f}{row['gemm_limit_ms']:>9.2f}"
                    f"{row['gemm_limit_ms'] / row['tinygan_ms']:>12.2f}")
            if torch:
                line += (f"{row['torch_ms']:>10.2f}{1e3 / row['torch_ms']:>8.1f}{row['torch_pool_mb']:>9.0f}"
                         f"{row['time_ratio']:>12.2f}")
            print(line, flush=True)
    print("GEMM ms: the iteration's matrix products alone, at tinygan's shapes, launched back to back by CuPy "
          "(the limit no iteration on this card goes below); GEMM share = GEMM ms / tinygan ms"
          + ("; time ratio = tinygan / PyTorch" if torch else ""))
    return 1 if any("error" in row for row in rows) else 0


def write_json(path, data):
    from tinygan.data.atomic import atomic_write
    with atomic_write(path) as f:
        f.write((json.dumps(data, indent=2) + "\n").encode())
