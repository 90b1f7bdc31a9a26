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
LOG=$(mktemp)
for r in 1 2 3; do
  for side in before after; do
    rm -rf /tmp/cc_$side
    if [ $side = before ]; then src=$BEFORE/src; else src=$PWD/src; fi
    /usr/bin/time -f "$side round $r wall %e s user %U s sys %S s" env PYTHONPATH=$src .venv/bin/python -m augmix corrupt \
      --dataset cifar10 --data-dir "$DATA" --workers 2 --out /tmp/cc_$side 2>&1 | grep "round" | tee -a "$LOG"
  done
done
cmp /tmp/cc_before/fog.npy /tmp/cc_after/fog.npy && echo identical-fog
.venv/bin/python - "$LOG" <<'PY'
import json, re, statistics, sys
sys.path.insert(0, "benchmarks")
from _common import machine
rows = [re.match(r"(\w+) round (\d+) wall ([\d.]+) s user ([\d.]+) s sys ([\d.]+) s", l) for l in open(sys.argv[1])]
out = {"command": "bash benchmarks/cli_threads.sh", "data": "CIFAR-10 test split (10,000 images), 15 x 5 corruptions",
       "machine": machine()}
for side in ("before", "after"):
    wall = [float(m[3]) for m in rows if m and m[1] == side]
    cpu = [float(m[4]) + float(m[5]) for m in rows if m and m[1] == side]
    out[side] = {"wall_s": {"median": statistics.median(wall), "range": [min(wall), max(wall)], "rounds": wall},
                 "cpu_s": {"median": statistics.median(cpu), "range": [min(cpu), max(cpu)], "rounds": cpu}}
json.dump(out, open("benchmarks/results/cli_threads.json", "w"), indent=2)
print(json.dumps(out))
PY
