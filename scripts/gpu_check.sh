#!/usr/bin/env bash
# The GPU proof in one call: tinygan's CuPy path tested, trained, evaluated and timed on a GPU.
#
#   scripts/gpu_check.sh [OUT_DIR] [--dry-run]
#
# Parts, in order, each under its own time limit (a part that fails or runs out of time does not
# stop the others; the limits add up to under 8 minutes):
#   env     the machine: GPU, CUDA, CuPy, NumPy, Python (stops the script without CuPy or a GPU)
#   tests   python -m pytest --device cuda: every test that runs on the device (their ids say
#           "cuda"), and the backend's; the CPU-only tests (the slow learning ones among them) are left
#           out; the files in several processes at once (scripts/pytest_shards.py)
#   train   tinygan train dcgan --device cuda for one epoch
#   eval    tinygan eval of its checkpoint on 10,000 samples (FID, classifier score, classes)
#   sample  tinygan sample: a grid of 64 samples
#   bench   benchmarks/step_time.py --device cuda (against PyTorch CUDA where torch has CUDA,
#           else the GEMM limit)
# Everything goes to OUT_DIR (default: $OUT when set, else runs/gpu_check-DATE-TIME), which must be
# empty or absent: each part's log (NAME.log), the test processes' tests-I.xml and tests-I.log,
# dcgan/ (the run), samples_dcgan.png, step_time.json, and summary.json + summary.txt, rewritten
# after every part.
#
# MNIST: the script never downloads. It reads .data/mnist/ in this checkout (git-ignored; fill it with
# `mkdir -p .data/mnist && cp ~/.cache/tinygan/mnist/* .data/mnist/`), else $TINYGAN_DATA or the cache.
#
# --dry-run (or TINYGAN_TEST_DEVICE=fakecuda) runs every part on the CPU, with device "cuda" played
# by the stand-in for CuPy (tests/fakecupy.py) and tiny sizes: the script's own plumbing, proven
# before GPU minutes are spent. Limits: GPU_CHECK_<PART>_S (e.g. GPU_CHECK_TESTS_S=300); test
# files: GPU_CHECK_TEST_FILES; test processes: GPU_CHECK_SHARDS. Exit status: 0 when every part passed, 1 when one did not, 2 for bad
# usage or missing MNIST, 3 without CuPy or a GPU.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 2

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

DRY=0
OUT_ARG=""
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "gpu_check: unknown option $arg (expected [OUT_DIR] [--dry-run])" >&2; exit 2 ;;
        *) if [ -n "$OUT_ARG" ]; then echo "gpu_check: one OUT_DIR expected, got $OUT_ARG and $arg" >&2; exit 2; fi
           OUT_ARG="$arg" ;;
    esac
done
[ "${TINYGAN_TEST_DEVICE:-}" = fakecuda ] && DRY=1

OUT_DIR="${OUT_ARG:-${OUT:-runs/gpu_check-$(date +%Y%m%d-%H%M%S)}}"
if [ -e "$OUT_DIR" ] && [ -n "$(ls -A "$OUT_DIR" 2>/dev/null)" ]; then
    echo "gpu_check: OUT_DIR $OUT_DIR is not empty; name a new or empty directory (nothing there is overwritten)" >&2
    exit 2
fi
mkdir -p "$OUT_DIR" || exit 2
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

# The Python that has NumPy (and, on the GPU machine, CuPy).
PY=""
for candidate in "${PYTHON:-}" python python3; do
    if [ -n "$candidate" ] && "$candidate" -c "import numpy" >/dev/null 2>&1; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then echo "gpu_check: no Python with NumPy found (set PYTHON=...)" >&2; exit 2; fi

# tinygan from this checkout: on PYTHONPATH always; on a GPU machine where it is not installed at all,
# also an offline editable install (no index, no build isolation), which may fail without setuptools.
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
GPU_CHECK_INSTALL="PYTHONPATH=$REPO"
if [ "$DRY" = 0 ] && ! (cd / && PYTHONPATH= "$PY" -c "import tinygan") >/dev/null 2>&1; then
    if timeout 25 "$PY" -m pip install --quiet --no-deps --no-build-isolation --no-index -e "$REPO" \
            >"$OUT_DIR/install.log" 2>&1; then
        GPU_CHECK_INSTALL="pip install -e (offline) and PYTHONPATH"
    else
        GPU_CHECK_INSTALL="PYTHONPATH=$REPO (the offline pip install failed: install.log)"
    fi
fi
export GPU_CHECK_INSTALL
SUMMARY=("$PY" "$REPO/scripts/gpu_check_summary.py")

if [ "$DRY" = 1 ]; then
    MODE=dry-run DEVICE=fakecuda
    # The stand-in's matrix products are NumPy's; OpenBLAS's own threads, which tinygan's CPU path
    # would have turned off, spin against the other processes on a small shared machine.
    export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
    TINYGAN=("$PY" "$REPO/tests/fakecupy.py" -m tinygan)
    TEST_FILES=(${GPU_CHECK_TEST_FILES:-tests/test_backend.py tests/test_losses.py})
    SHARDS="${GPU_CHECK_SHARDS:-2}"
    TRAIN_ARGS=(--steps 3 --batch-size 8 --log-every 1 --sample-every 3 --checkpoint-every 3)
    EVAL_N=200 SAMPLE_N=16
    BENCH_ARGS=(--device fakecuda --batch-sizes 8 --warmup 1 --iters 2)
else
    MODE=gpu DEVICE=cuda
    TINYGAN=("$PY" -m tinygan)
    # The most telling files first, so that a run cut short by its limit has tested those.
    FIRST=(ops layers autograd backend conv_kernels devices losses optim module init)
    TEST_FILES=()
    for name in "${FIRST[@]}"; do TEST_FILES+=("tests/test_$name.py"); done
    for file in tests/test_*.py; do
        case " ${TEST_FILES[*]} " in *" $file "*) ;; *) TEST_FILES+=("$file") ;; esac
    done
    [ -n "${GPU_CHECK_TEST_FILES:-}" ] && TEST_FILES=($GPU_CHECK_TEST_FILES)
    # Several pytest processes share the card: its small kernels leave it idle while one process's
    # Python runs, and each process compiles the kernels it meets first on a core of its own.
    CORES="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
    SHARDS="${GPU_CHECK_SHARDS:-$(( CORES / 2 < 1 ? 1 : (CORES / 2 > 8 ? 8 : CORES / 2) ))}"
    TRAIN_ARGS=(--epochs 1 --log-every 100)
    EVAL_N=10000 SAMPLE_N=64
    BENCH_ARGS=(--device cuda)
fi

PARTS=(env tests train eval sample bench)
"${SUMMARY[@]}" start "$OUT_DIR" "$MODE" "${PARTS[@]}" || exit 2

MNIST="$("${SUMMARY[@]}" mnist "$REPO" 2>"$OUT_DIR/mnist.log")"
[ -n "$MNIST" ] && export TINYGAN_DATA="$MNIST"
echo "gpu_check: $MODE, device $DEVICE, Python $PY, tinygan from $GPU_CHECK_INSTALL, MNIST ${MNIST:-missing}, \
writing to $OUT_DIR"

# run_part NAME LIMIT_S COMMAND...: the command under timeout (SIGINT first, so that pytest and the
# CLI stop cleanly and write what they have; SIGKILL 15 s later), its output in NAME.log.
FAILED=0
run_part() {
    local name="$1" limit="$2"; shift 2
    local var
    var="GPU_CHECK_$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')_S"
    limit="${!var:-$limit}"
    echo "gpu_check: $name (limit ${limit} s): $*"
    local start=$SECONDS
    timeout -s INT -k 15 "$limit" "$@" >"$OUT_DIR/$name.log" 2>&1
    local status=$?
    "${SUMMARY[@]}" record "$OUT_DIR" "$name" "$status" "$((SECONDS - start))" "$limit"
    [ "$status" = 0 ] || FAILED=1
    return "$status"
}

run_part env 30 "${SUMMARY[@]}" env "$OUT_DIR" $([ "$DRY" = 1 ] && echo --fake)
if [ "$?" = 3 ]; then
    echo "gpu_check: stopped: CuPy or a GPU is missing ($(tail -n 1 "$OUT_DIR/env.log")); summary in $OUT_DIR" >&2
    exit 3
fi
if [ -z "$MNIST" ]; then
    why="MNIST not found without a download: put the four files in $REPO/.data/mnist (git-ignored), e.g. \
mkdir -p .data/mnist && cp ~/.cache/tinygan/mnist/* .data/mnist/ (details: mnist.log)"
    echo "gpu_check: stopped: $why" >&2
    "${SUMMARY[@]}" stop "$OUT_DIR" "$why"
    exit 2
fi

run_part tests 200 "$PY" "$REPO/scripts/pytest_shards.py" "$SHARDS" "$OUT_DIR" -q -p no:cacheprovider --tb=short \
    --durations=10 --device "$DEVICE" -k "cuda or test_backend" -- "${TEST_FILES[@]}"

run_part train 90 "${TINYGAN[@]}" train dcgan --device cuda --data "$MNIST" --out "$OUT_DIR/dcgan" "${TRAIN_ARGS[@]}"

if [ -f "$OUT_DIR/dcgan/checkpoint.npz" ]; then
    run_part eval 40 "${TINYGAN[@]}" eval "$OUT_DIR/dcgan/checkpoint.npz" --n "$EVAL_N" --device cuda --out "$OUT_DIR/dcgan/eval.json"
    run_part sample 20 "${TINYGAN[@]}" sample "$OUT_DIR/dcgan/checkpoint.npz" --n "$SAMPLE_N" --device cuda \
        --out "$OUT_DIR/samples_dcgan.png"
else
    echo "gpu_check: no checkpoint from the train part: eval and sample not run" | tee "$OUT_DIR/eval.log" "$OUT_DIR/sample.log"
    "${SUMMARY[@]}" record "$OUT_DIR" eval 1 0 0
    "${SUMMARY[@]}" record "$OUT_DIR" sample 1 0 0
    FAILED=1
fi

run_part bench 60 "$PY" benchmarks/step_time.py "${BENCH_ARGS[@]}" --json "$OUT_DIR/step_time.json"

echo
cat "$OUT_DIR/summary.txt"
exit "$FAILED"
