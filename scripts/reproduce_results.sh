#!/usr/bin/env bash
# Train every recipe on MNIST within the budget the README's results table states, then
# evaluate each with the same sample count and seed. Usage: scripts/reproduce_results.sh [RUNS_DIR]
# Takes about two hours on a 2-core CPU. Runs that already have an eval.json are skipped.
set -euo pipefail
RUNS="${1:-runs}"
EVAL_N=10000

train() {  # name, then `tinygan train` arguments
    local name=$1; shift
    if [ -f "$RUNS/$name/eval.json" ]; then echo "== $name: done, skipping"; return; fi
    echo "== $name: tinygan train $*"
    if [ -f "$RUNS/$name/checkpoint.npz" ]; then
        tinygan train "$@" --out "$RUNS/$name" --seed 0 --resume
    else
        tinygan train "$@" --out "$RUNS/$name" --seed 0
    fi
    tinygan eval "$RUNS/$name/checkpoint.npz" --n "$EVAL_N" --seed 0 --out "$RUNS/$name/eval.json" > /dev/null
}

train vanilla        vanilla --epochs 10
train dcgan          dcgan   --epochs 5
train cgan           cgan    --epochs 10
train infogan        infogan --epochs 3
train lsgan          lsgan   --epochs 2
train wgan_gp        wgan_gp --epochs 5
train wgan           wgan    --epochs 10 --eval-every 100 --eval-samples 1000
train dcgan_upsample dcgan   --epochs 1 --generator upsample
# The README links each row's grid from docs/: refresh them from these runs.
mkdir -p docs
for run in "$RUNS"/*/; do
    name=$(basename "$run")
    if [ -f "$run/eval.json" ]; then cp "$run/samples.png" "docs/samples_$name.png"; fi
done
python scripts/results_table.py "$RUNS"
