"""The record of ``scripts/gpu_check.sh``: what each part found, in ``summary.json`` and ``summary.txt``.

The shell script runs the parts; this file probes the machine and the data before them, and after
each part reads what the part left in OUT_DIR (the test report, the run's metrics, eval.json, the
benchmark's JSON) into the summary. Both files are rewritten atomically after every part, so a
run that is killed half-way still leaves everything it had.

    python scripts/gpu_check_summary.py mnist REPO               # the MNIST directory, no download
    python scripts/gpu_check_summary.py start OUT_DIR MODE PARTS...
    python scripts/gpu_check_summary.py env OUT_DIR [--fake]     # exit status 3 without CuPy or a GPU
    python scripts/gpu_check_summary.py record OUT_DIR PART EXIT_STATUS SECONDS LIMIT
    python scripts/gpu_check_summary.py stop OUT_DIR REASON
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tinygan.data.atomic import atomic_write

TIMED_OUT = (124, 137)  # timeout(1): the limit was reached (137: killed after the grace period)
EXIT_NO_GPU = 3


# ----------------------------------------------------------------------------------------------
# Before the parts
# ----------------------------------------------------------------------------------------------


def find_mnist_dir(repo):
    """The directory of the four MNIST files, verified: REPO/.data/mnist when it exists, else
    $TINYGAN_DATA or the cache. Never downloads (the GPU machine has no network)."""
    from tinygan.data import find_mnist
    local = Path(repo) / ".data" / "mnist"
    return find_mnist(root=local if local.is_dir() else None, download=False)


def probe_env(fake):
    """The machine: GPU, CUDA, CuPy, NumPy, Python (and nvidia-smi's line where there is one)."""
    import numpy as np

    from tinygan import backend
    if fake:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import fakecupy
        fakecupy.install()
    info = backend.gpu_info()  # RuntimeError without CuPy or a GPU
    info.update({"numpy": np.__version__, "python": platform.python_version(), "platform": platform.platform(),
                 "cpus": os.cpu_count(), "tinygan_from": os.environ.get("GPU_CHECK_INSTALL", "?"),
                 "mnist": os.environ.get("TINYGAN_DATA", "?")})
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        info["nvidia_smi"] = f"not run ({type(exc).__name__})"
    return info


# ----------------------------------------------------------------------------------------------
# After each part: what it left in OUT_DIR
# ----------------------------------------------------------------------------------------------


def read_env(out):
    env = load(out).get("env", {})
    return {k: env[k] for k in ("gpu", "cupy", "cuda_runtime", "cuda_driver", "numpy") if k in env}


def read_tests(out):
    """Counts from the shards' JUnit reports (pytest writes one even when interrupted), and the failures."""
    reports = sorted(out.glob("tests-*.xml"))
    logs = sorted(out.glob("tests-*.log"))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "shards": len(logs),
              "missing_reports": [log.with_suffix(".xml").name for log in logs
                                  if not log.with_suffix(".xml").exists()]}
    failed = []
    for path in reports:
        root = ET.parse(path).getroot()
        for suite in [root] if root.tag == "testsuite" else root.iter("testsuite"):
            for k in ("tests", "failures", "errors", "skipped"):
                counts[k] += int(suite.get(k, 0))
        for case in root.iter("testcase"):
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            if problem is not None:
                message = (problem.get("message") or "").strip().splitlines()
                failed.append(f"{case.get('classname')}::{case.get('name')}: {message[0][:200] if message else ''}")
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    counts["failed_tests"] = failed[:30]
    return counts


def read_train(out):
    from tinygan.viz import read_metrics
    path = out / "dcgan" / "metrics.jsonl"
    records = [r for r in read_metrics(path) if "it_per_s" in r] if path.exists() else []
    if not records:
        return {}
    last = records[-1]
    return {k: last[k] for k in ("step", "epoch", "time", "it_per_s", "d_loss", "g_loss") if k in last}


def read_eval(out):
    path = out / "dcgan" / "eval.json"
    if not path.exists():
        return {}
    scores = json.loads(path.read_text())
    return {k: scores.get(k) for k in ("fid", "fid_real_vs_real", "classifier_score", "classes_covered", "n", "step")}


def read_sample(out):
    path = out / "samples_dcgan.png"
    return {"grid": path.name, "bytes": path.stat().st_size} if path.exists() else {}


def read_bench(out):
    path = out / "step_time.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {"torch": data.get("torch"), "rows": data.get("rows", [])}


READERS = {"env": read_env, "tests": read_tests, "train": read_train, "eval": read_eval, "sample": read_sample, "bench": read_bench}


# ----------------------------------------------------------------------------------------------
# summary.json and summary.txt
# ----------------------------------------------------------------------------------------------


def load(out):
    return json.loads((out / "summary.json").read_text())


def save(out, summary):
    with atomic_write(out / "summary.json") as f:
        f.write((json.dumps(summary, indent=2) + "\n").encode())
    with atomic_write(out / "summary.txt") as f:
        f.write(text(summary).encode())


def status_of(exit_status):
    if exit_status == 0:
        return "ok"
    return "timeout" if exit_status in TIMED_OUT else "failed"


def text(summary):
    """The short text: one line for the machine, one per part."""
    env = summary.get("env", {})
    title = "dry run on the CPU stand-in" if summary["mode"] == "dry-run" else "GPU check"
    lines = [f"tinygan {title}: {env.get('gpu', '?')}, CuPy {env.get('cupy', '?')}, CUDA {env.get('cuda_runtime', '?')}"
             f" (driver {env.get('cuda_driver', '?')}), NumPy {env.get('numpy', '?')}, Python {env.get('python', '?')}"]
    if summary.get("stopped"):
        lines.append(f"stopped: {summary['stopped']}")
    for name, part in summary["parts"].items():
        timing = f"{part['seconds']:7.1f} s / {part['limit']} s" if "seconds" in part else ""
        lines.append(f"{name:<7}{part['status']:<9}{timing:<20}{describe(name, part)}")
    return "\n".join(lines) + "\n"


def describe(name, part):
    """One line of a part's results."""
    r = part.get("results", {})
    if name == "env" and "gpu" in r:
        return f"{r['gpu']}, CuPy {r['cupy']}, CUDA {r['cuda_runtime']}, NumPy {r['numpy']}"
    if name == "tests" and "tests" in r:
        line = (f"{r['passed']} passed, {r['failures']} failed, {r['errors']} errors, {r['skipped']} skipped "
                f"({r['shards']} processes)")
        if r["missing_reports"]:
            line += f"; no report from {', '.join(r['missing_reports'])} (killed: see its log)"
        return line + "".join(f"\n         FAILED {t}" for t in r["failed_tests"])
    if name == "train" and "step" in r:
        return (f"{r['step']} steps ({r['epoch']:.2f} epochs) in {r['time']:.1f} s, {r['it_per_s']:.1f} it/s; "
                f"d_loss {r.get('d_loss', float('nan')):.3f}, g_loss {r.get('g_loss', float('nan')):.3f}")
    if name == "eval" and r.get("fid") is not None:
        baseline = r["fid_real_vs_real"]
        baseline = f"{baseline:.2f}" if isinstance(baseline, (int, float)) else "?"
        return (f"FID {r['fid']:.2f} (real vs real {baseline}), classifier score "
                f"{r['classifier_score']:.2f}, {r['classes_covered']}/10 classes, {r['n']} samples at step {r['step']}")
    if name == "sample" and r:
        return f"{r['grid']} ({r['bytes']} bytes)"
    if name == "bench" and r.get("rows"):
        cells = []
        for row in r["rows"]:
            if "error" in row:
                cells.append(f"{row['model']} {row['batch']}: {row['error'][:80]}")
                continue
            cell = f"{row['model']} {row['batch']}: {row['tinygan_ms']:.2f} ms (GEMM {row['gemm_limit_ms']:.2f}"
            cell += f", torch {row['torch_ms']:.2f})" if "torch_ms" in row else ")"
            cells.append(cell)
        return "; ".join(cells)
    return part.get("log", "")


# ----------------------------------------------------------------------------------------------
# The commands
# ----------------------------------------------------------------------------------------------


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "mnist":
        from tinygan.data import MnistNotFoundError
        try:
            print(find_mnist_dir(args[0]))
        except MnistNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    out = Path(args[0])
    if command == "start":
        mode, parts = args[1], args[2:]
        save(out, {"mode": mode, "env": {}, "parts": {p: {"status": "pending"} for p in parts}})
        return 0
    summary = load(out)
    if command == "env":
        try:
            summary["env"] = probe_env(fake="--fake" in args)
        except RuntimeError as exc:
            summary["stopped"] = str(exc)
            save(out, summary)
            print(f"gpu_check: {exc}", file=sys.stderr)
            return EXIT_NO_GPU
        save(out, summary)
        print(json.dumps(summary["env"], indent=2))
        return 0
    if command == "record":
        name, exit_status, seconds, limit = args[1], int(args[2]), float(args[3]), int(args[4])
        part = {"status": status_of(exit_status), "exit_status": exit_status, "seconds": round(seconds, 1),
                "limit": limit, "log": f"{name}.log"}
        try:
            part["results"] = READERS[name](out) if name in READERS else {}
        except (OSError, ValueError, KeyError, ET.ParseError) as exc:
            part["results"] = {"unreadable": f"{type(exc).__name__}: {exc}"}
        summary["parts"][name] = part
        save(out, summary)
        print(f"{name:<7}{part['status']:<9}{describe(name, part)}")
        return 0
    if command == "stop":
        summary["stopped"] = args[1]
        save(out, summary)
        return 0
    raise SystemExit(f"gpu_check_summary.py: unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
