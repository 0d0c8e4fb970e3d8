#!/usr/bin/env bash
# Remake every row of the results tables, one training at a time, at the budgets of
# scripts/budgets.json, and write RUNS/results.md and docs/variants.png (see
# scripts/reproduce_results.py, which this runs, and docs/results.md).
#
#   scripts/reproduce_results.sh                    # every row not done yet, in runs/
#   scripts/reproduce_results.sh --only wgan,dcgan  # those rows (--force: retrain them from scratch)
#   scripts/reproduce_results.sh --dry-run          # every row for a few steps, in runs-dry/
#   scripts/reproduce_results.sh --list             # the rows and their budgets
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" scripts/reproduce_results.py "$@"
