#!/usr/bin/env bash
# One command for a lent GPU machine with no network (benchmarks/README.md, "GPU"): the CUDA
# tests (stop if they fail), the epoch timing, the throughput of 1, 2, 4 and 8 runs at once
# (benchmarks/concurrency.py; TRAINERS=N skips it), then the paper grid's runs not yet in
# results/paper with scripts/batch_runs.py (the best number of runs training at once, the
# others' evaluation beside them) until a deadline. Files go to $OUT (or ./gpu-out).
# The machine has no network and no package index: carry the dataset caches (xz'd .npy files
# and SOURCE.json, under a folder named in MVAE_DATA_DIR) and set MVAE_GIT_COMMIT to a clean
# commit, since the copy has no .git.
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"; t0=$(date +%s)
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
find "${MVAE_DATA_DIR:-data}" -name '*.npy.xz' -exec xz -d -T0 {} +
python3 -m pytest -q -x -p no:cacheprovider tests/test_fast.py -k cuda 2>&1 | tee "$out/cuda_tests.log"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "CUDA tests failed: nothing trained"; exit 1; }
python3 benchmarks/gpu_epochs.py --json "$out/gpu_epochs.json" 2>&1 | tee "$out/gpu_epochs.log"
# how many runs to train at once: the grid's throughput at 1, 2, 4 and 8 (CONCURRENT overrides)
trainers=${TRAINERS:-$(python3 benchmarks/concurrency.py --concurrent ${CONCURRENT:-1 2 4 8} \
  --json "$out/concurrency.json" 2>&1 | tee "$out/concurrency.log" | sed -n 's/^best: //p')}
left=$(( ${BUDGET:-560} - ($(date +%s) - t0) - 30 ))
python3 scripts/batch_runs.py --results-root /tmp/mvae-runs --archive /tmp/mvae-archive \
  --trainers "${trainers:-1}" --workers 7 --deadline "$left" --cached-only --keep-going \
  ${RUNS:+--runs "$RUNS"} 2>&1 \
  | tee "$out/batch_runs.log"
tar czf "$out/archive.tgz" -C /tmp mvae-archive
