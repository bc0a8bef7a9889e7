#!/usr/bin/env bash
# One device-machine command for a session that has a GPU (see /work/.library/device): the
# training-step benchmark, then the paper preset, timed. Output files go to $OUT (or ./gpu-out).
# Data must travel with the working tree: carry data/ (prepared here with `mvae data ...`).
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
python3 benchmarks/train_step.py --json "$out/train_step.json" 2>&1 | tee "$out/bench.log"
start=$(date +%s)
timeout "${PAPER_TIMEOUT:-420}" python3 -m snakemake --cores 16 2>&1 | tail -n 200 > "$out/paper.log"
echo "paper preset: rc=$? wall=$(( $(date +%s) - start ))s" | tee -a "$out/paper.log"
