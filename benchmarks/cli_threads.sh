#!/bin/bash
# Full CIFAR-10-C through the CLI with 2 worker processes, before and after the workers limited
# their thread pools: BEFORE is a checkout of commit 64c991c (e.g. `git worktree add /tmp/wt_before
# 64c991c`), AFTER this checkout. Interleaved rounds; prints wall and CPU seconds per round.
# Data: CIFAR-10 in the official layout under DATA (default /tmp/augmix-bench-data, where
# benchmarks/_common.py unpacks the developers' copy).
set -e
BEFORE=${BEFORE:-/tmp/wt_before}
DATA=${DATA:-/tmp/augmix-bench-data}
cd "$(dirname "$0")/.."
for r in 1 2 3; do
  for side in before after; do
    rm -rf /tmp/cc_$side
    if [ $side = before ]; then src=$BEFORE/src; else src=$PWD/src; fi
    /usr/bin/time -f "$side round $r wall %e s user %U s sys %S s" env PYTHONPATH=$src .venv/bin/python -m augmix corrupt \
      --dataset cifar10 --data-dir "$DATA" --workers 2 --out /tmp/cc_$side 2>&1 | grep "round"
  done
done
cmp /tmp/cc_before/fog.npy /tmp/cc_after/fog.npy && echo identical-fog
