"""The GPU check (scripts/gpu_check.sh) and the GPU path of the step-time benchmark, proven on the CPU.

The dry run plays every part of the check with device "cuda" played by the stand-in for CuPy
(tests/fakecupy.py), so that the script's plumbing (time limits, logs, the summary after each
part) is known to work before a GPU machine's minutes are spent on it. The GEMM limit's record
of an iteration's matrix products is checked against the FLOPs the profiler counts.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygan as tg

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_check.sh"
PARTS = ["env", "tests", "train", "eval", "sample", "bench"]

sys.path.insert(0, str(REPO / "benchmarks"))
import step_time  # noqa: E402
import step_time_gpu  # noqa: E402


def _run(args, env=None, timeout=300):
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True, timeout=timeout)


def test_dry_run_reports_every_part(tmp_path, mnist_root, request):
    if request.config.getoption("--device") != "cpu":
        pytest.skip("the dry run does not depend on --device: it runs once, in the plain pass")
    out = tmp_path / "out"
    done = _run([str(out), "--dry-run"], env={"TINYGAN_DATA": str(mnist_root)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "dry-run" and "stopped" not in summary
    assert list(summary["parts"]) == PARTS
    for name, part in summary["parts"].items():
        assert part["status"] == "ok" and part["exit_status"] == 0, (name, part)
        assert 0 <= part["seconds"] <= part["limit"], (name, part)
        assert (out / f"{name}.log").is_file(), name
    env = summary["env"]
    local = REPO / ".data" / "mnist"  # where the check looks first
    assert env["gpu"] == "fakecuda (CPU stand-in)" and env["numpy"] == np.__version__
    assert env["mnist"] == str(local if local.is_dir() else mnist_root)
    tests = summary["parts"]["tests"]["results"]
    assert tests["passed"] >= 20 and tests["failures"] == tests["errors"] == 0, tests
    assert tests["shards"] == 2 and not tests["missing_reports"]
    assert all((out / f"tests-{i}.{ext}").is_file() for i in (0, 1) for ext in ("xml", "log"))
    train = summary["parts"]["train"]["results"]
    assert train["step"] == 3 and math.isfinite(train["d_loss"]) and math.isfinite(train["g_loss"])
    assert (out / "dcgan" / "checkpoint.npz").is_file() and (out / "dcgan" / "samples.png").is_file()
    scores = summary["parts"]["eval"]["results"]
    assert scores["n"] == 200 and scores["step"] == 3 and scores["fid"] > 0 and 1 <= scores["classifier_score"] <= 10
    assert (out / "samples_dcgan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = summary["parts"]["bench"]["results"]["rows"]
    assert [(r["model"], r["batch"]) for r in rows] == [("mlp", 8), ("dcgan", 8)]
    for r in rows:
        assert r["tinygan_ms"] > 0 and 0 < r["gemm_limit_ms"] and r["gemms"] > 0 and r["tinygan_pool_mb"] > 0, r
    text = (out / "summary.txt").read_text().splitlines()
    assert text[0].startswith("tinygan dry run on the CPU stand-in: fakecuda")
    assert [line.split()[:2] for line in text[1:7]] == [[name, "ok"] for name in PARTS]


def test_without_cupy_the_check_stops_with_one_clear_message(tmp_path):
    """A machine without CuPy (made so here by a ``cupy`` that fails to import, whatever this one
    has) and without MNIST: the missing GPU is what the check stops on, first."""
    fake_site = tmp_path / "site"
    (fake_site / "cupy").mkdir(parents=True)
    (fake_site / "cupy" / "__init__.py").write_text("raise ImportError('No module named cupy (test)')\n")
    (tmp_path / "no_mnist").mkdir()
    out = tmp_path / "out"
    done = _run([str(out)], env={"TINYGAN_DATA": str(tmp_path / "no_mnist"), "PYTHONPATH": str(fake_site),
                                 "TINYGAN_TEST_DEVICE": ""})
    assert done.returncode == 3, done.stdout + done.stderr
    assert "CuPy" in done.stderr and "pip install" in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "CuPy" in summary["stopped"] and summary["parts"]["env"]["status"] == "failed"
    assert all(summary["parts"][p]["status"] == "pending" for p in PARTS[1:])


def test_without_mnist_the_dry_run_stops_saying_where_to_put_it(tmp_path):
    if (REPO / ".data" / "mnist").is_dir():
        pytest.skip(".data/mnist exists in this checkout: the check takes MNIST from there")
    (tmp_path / "no_mnist").mkdir()
    out = tmp_path / "out"
    done = _run([str(out), "--dry-run"], env={"TINYGAN_DATA": str(tmp_path / "no_mnist")})
    assert done.returncode == 2, done.stdout + done.stderr
    assert ".data/mnist" in done.stderr and "cp " in done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parts"]["env"]["status"] == "ok" and ".data/mnist" in summary["stopped"]
    assert "no_mnist" in (out / "mnist.log").read_text()


def test_bad_usage_and_a_used_out_dir_are_refused(tmp_path):
    done = _run(["--fast"])
    assert done.returncode == 2 and "unknown option --fast" in done.stderr
    done = _run([str(tmp_path / "a"), str(tmp_path / "b")])
    assert done.returncode == 2 and "one OUT_DIR" in done.stderr
    used = tmp_path / "used"
    used.mkdir()
    (used / "summary.json").write_text("{}")
    done = _run([str(used), "--dry-run"])
    assert done.returncode == 2 and "not empty" in done.stderr
    assert (used / "summary.json").read_text() == "{}"


# ----------------------------------------------------------------------------------------------
# The GEMM limit's record of an iteration's matrix products
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_recorded_products_do_the_arithmetic_the_profiler_counts(model):
    """Every product the iteration makes, at its shape: 2 m k n summed over them is the FLOP count
    the Functions report to the profiler (Linear's raw backward included)."""
    step = step_time.tinygan_iteration(model, 4)
    step()
    shapes = step_time_gpu.record_gemms(step)
    with tg.profile() as prof:
        step()
    counted = sum(row[2] for row in prof.rows.values())
    assert counted > 0 and sum(2 * b * m * k * n for b, m, k, n in shapes) == counted
    # MLP: 13 forward products (G's 4 Linears, D's 3 on three batches); D's backward on the real and the
    # detached fake batch, dW of 3 and dx of 2 each (its input needs none); through D to G: 3 dW + 3 dx;
    # G: 4 dW + 3 dx (z needs none). DCGAN: 3 + 3 x 3 forward; 2 x (1 + 2 + 2); 2 + 2 + 2; 2 + 2 + 1.
    assert len(shapes) == {"mlp": 13 + 10 + 6 + 7, "dcgan": 12 + 10 + 6 + 5}[model]


def test_gemm_shapes_of_each_function():
    x = tg.Tensor(np.ones((2, 3, 8, 8), np.float32), requires_grad=True)
    w = tg.Tensor(np.ones((5, 3, 4, 4), np.float32), requires_grad=True)
    shapes = step_time_gpu.record_gemms(lambda: tg.ops.conv2d(x, w, stride=2, padding=1).sum().backward())
    # forward W (5, 48) @ cols (48, 4*4*2); dx: W^T (48, 5) @ gy (5, 32); dW: gy (5, 32) @ cols^T (32, 48)
    assert shapes == [(1, 5, 48, 32), (1, 48, 5, 32), (1, 5, 32, 48)]
    a = tg.Tensor(np.ones((7, 2, 3, 4), np.float32), requires_grad=True)
    b = tg.Tensor(np.ones((4, 6), np.float32), requires_grad=True)
    shapes = step_time_gpu.record_gemms(lambda: tg.ops.matmul(a, b).sum().backward())
    assert shapes[0] == (14, 3, 4, 6)
    lin = tg.nn.Linear(3, 2)
    xl = tg.Tensor(np.ones((4, 3), np.float32))
    shapes = step_time_gpu.record_gemms(lambda: lin(xl).sum().backward())
    assert shapes == [(1, 4, 3, 2), (1, 2, 4, 3)]  # forward, dW = gy^T x; no dx (x needs no gradient)


def test_gemm_limit_times_the_recorded_products_on_the_device(fake_cuda):
    syncs = []
    limit = step_time_gpu.gemm_limit([(1, 4, 3, 2), (2, 3, 3, 3), (1, 4, 3, 2)], fake_cuda,
                                     lambda: syncs.append(1), iterations=3)
    assert limit > 0 and len(syncs) == 2 * 3  # the device synchronised before and after each timed round


def test_tinygan_measurement_on_the_device_restores_the_default_device(fake_cuda):
    args = type("Args", (), {"warmup": 1, "iters": 2})()
    row = step_time_gpu.measure_tinygan("mlp", 4, fake_cuda, args)
    assert row["tinygan_ms"] > 0 and row["gemm_limit_ms"] > 0 and row["gemms"] == 36
    assert row["tinygan_pool_mb"] > 0.5  # the models' weights and Adam's moments alone are 2.3 M floats
    assert tg.get_default_device() == "cpu"
