"""On-the-fly ImageNet-C evaluation (``--corrupted generate``): wall and CPU time of its data path.

    python benchmarks/onthefly_imagenet_c.py [--images 40] [--rounds 3] [--workers 2] [--compare-ref REF]
                                             [--folder DIR]

Runs the loader that ``run_evaluation`` uses for ``sets={"c": "generate"}`` on an image tree
(the 15 corruptions x 5 severities made in memory as ``augmix corrupt --seed 0`` writes them,
read back through the released JPEG) over the first ``--images`` photographs, in a fresh process
per round, in ``--workers`` DataLoader workers, consuming every batch but running no model: what
is timed is the data path (decoding, resizing, corrupting, JPEG round trip), which is what is
left when a GPU makes the forward cheap. Each arm runs a git worktree of its commit (HEAD, and
with ``--compare-ref`` another, interleaved round by round in alternating order), after one
untimed run on one photograph (numba compiles and caches its kernels per checkout). A checksum per corruption and
severity must agree between the arms (the same images are made); the script checks it.
Data: the developers' Imagewoof copy, or ``--folder``. Saves
``benchmarks/results/onthefly_imagenet_c.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import commit_checkouts, git_commit, machine, photo_subset, round_order, save

# run in the arm's checkout: its loader of on-the-fly ImageNet-C (image-major ``_CorruptedPhotos``
# since 8d747a4, key-major ``_CorruptedItems`` before), every batch consumed as the evaluation
# would consume it; a checksum per (corruption, severity) shows that the arms made the same images
_CHILD = """
import json, sys, numpy as np, torch
from pathlib import Path
from augmix.corruptions.tables import BENCHMARK
from augmix.data.images import walk_image_tree
import augmix.suite.generated as g
data, workers, bs = Path(sys.argv[1]), int(sys.argv[2]), 100
items = walk_image_tree(data).images
labels, keys = np.zeros(len(items), np.int64), [(c, s) for c in BENCHMARK for s in range(1, 6)]
sums = np.zeros((len(keys), 2))
def add(k, x):
    v = x.double()
    sums[k] += (v.sum().item(), (v * v).sum().item())
if hasattr(g, "_CorruptedPhotos"):
    loader = torch.utils.data.DataLoader(g._CorruptedPhotos(items, labels, keys, 0), batch_size=max(1, bs // len(keys)),
                                         num_workers=workers)
    for x, _ in loader:
        for k in range(len(keys)):
            add(k, x[:, k])
else:
    n = len(items)
    batches = [list(range(k * n + i, k * n + min(i + bs, n))) for k in range(len(keys)) for i in range(0, n, bs)]
    loader = torch.utils.data.DataLoader(g._CorruptedItems(items, labels, keys, 0), batch_sampler=batches,
                                         num_workers=workers)
    for b, (x, _) in zip(batches, loader):
        add(b[0] // n, x)
print(json.dumps(sums.tolist()))
"""


def _round(src: Path, photos: Path, workers: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(photos), str(workers)], check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "sums": json.loads(proc.stdout.splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="DataLoader workers")
    ap.add_argument("--compare-ref", help="also time this git commit of the repository (e.g. HEAD~3)")
    ap.add_argument("--folder", type=Path, help="a class-folder tree of photographs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="augmix-otf-") as tmp:
        work = Path(tmp)
        photos, note = photo_subset(args.folder, args.images, work)
        warm = work / "warm"
        first = next(p for p in photos.rglob("*") if p.is_file())
        (warm / first.parent.name).mkdir(parents=True)
        shutil.copyfile(first, warm / first.parent.name / first.name)
        rows: dict[str, list[dict]] = {}
        with commit_checkouts(args.compare_ref, work) as arms:
            for src in arms.values():
                _round(src, warm, 1)
            for r in range(args.rounds):
                for name, src in round_order(arms, r):
                    row = _round(src, photos, args.workers)
                    rows.setdefault(name, []).append(row)
                    print(f"round {r + 1} {name}: {row['wall_s']} s wall, {row['cpu_s']} CPU-s")
    sums = {json.dumps(r["sums"]) for v in rows.values() for r in v}
    if len(sums) != 1:
        sys.exit("error: the arms made different images (their checksums per corruption and severity differ)")
    outputs = args.images * 75
    summary = {}
    for name, v in rows.items():
        walls, cpus = [r["wall_s"] for r in v], [r["cpu_s"] for r in v]
        summary[name] = {"wall_s_per_round": walls, "wall_s_median": statistics.median(walls),
                         "cpu_s_per_round": cpus, "cpu_s_median": statistics.median(cpus),
                         "cpu_ms_per_output": round(1000 * statistics.median(cpus) / outputs, 2)}
        print(f"{name}: {summary[name]['wall_s_median']} s wall, {summary[name]['cpu_s_median']} CPU-s, "
              f"{summary[name]['cpu_ms_per_output']} ms CPU per output")
    commit = git_commit()
    save("onthefly_imagenet_c", {
        "command": " ".join(["python benchmarks/onthefly_imagenet_c.py", *sys.argv[1:]]), "data": note,
        "images": args.images, "outputs": outputs, "workers": args.workers,
        "timed": "the on-the-fly loader alone (no model), 100 outputs per batch",
        "commit": commit, "machine": machine(), "arms": summary, "same_images_in_every_arm": True})


if __name__ == "__main__":
    main()
