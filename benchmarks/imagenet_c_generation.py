"""ImageNet-C generation through the CLI: wall, CPU, peak memory, and the 50,000-image extrapolation.

    python benchmarks/imagenet_c_generation.py [--images 500] [--rounds 1] [--workers 2] [--compare-ref REF]
                                               [--folder DIR] [--split 12]

Runs ``augmix corrupt --images DIR --size 224 --workers W`` (the 15 corruptions x 5
severities, JPEG quality 85 as released) on the first ``--images`` photographs, in a fresh
process per round, and reads the children's resource usage: wall seconds, CPU seconds (user +
system of every process) and the largest resident set of any one process. Each arm runs a git
worktree of its commit (HEAD, and with ``--compare-ref`` another commit, e.g. the one before a
change, interleaved round by round in alternating order: the arm that runs second writes its
files while the kernel still writes back the first arm's), so uncommitted edits are never
measured; each arm first runs once, untimed, on one photograph (numba compiles its kernels once
per checkout and caches them; a fresh worktree has no cache). The extrapolation to the 50,000-image validation set
scales the wall time linearly (the work is per image). ``--split N`` (default 12) also times
each step in this process on N photographs: where an output's CPU time goes.
Data: the developers' Imagewoof copy (320 px ImageNet photographs), or ``--folder``.
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

FULL = 50_000


def _round(src: Path, photos: Path, workers: int, out: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "augmix", "corrupt", "--images", str(photos), "--size", "224", "--out",
                    str(out), "--workers", str(workers)], check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shutil.rmtree(out)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_mb": round(after.ru_maxrss / 1024)}


def _split(photos: Path, n: int) -> dict:
    """CPU milliseconds per output of each step, in this process (one thread), on ``n`` photographs:
    decoding + resizing (once per photograph), each corruption (averaged over all outputs), the
    JPEG encoding alone, and ``save_image`` (encoding, creating the file, writing, checking)."""
    import io
    from collections import defaultdict

    import cv2
    import numpy as np
    from PIL import Image

    from augmix.corruptions import BENCHMARK
    from augmix.corruptions.released import check_output_names, corrupt_prepared, preprocess
    from augmix.corruptions.tables import IMAGENET_JPEG
    from augmix.data.images import walk_image_tree
    from augmix.generation.workers import single_threaded
    from augmix.io import save_image

    single_threaded()
    cv2.setNumThreads(1)
    items = walk_image_tree(photos).images[: n + 1]
    names = check_output_names(items)
    spent: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (item, name) in enumerate(zip(items, names, strict=True)):  # the first one warms up
            t = time.process_time()
            img = np.asarray(preprocess(item.load(), 224))
            spent["decode + resize (once per photograph)"] += (time.process_time() - t) * (k > 0)
            for c in BENCHMARK:
                for sev in range(1, 6):
                    t = time.process_time()
                    arr = corrupt_prepared(img, name, c, sev, 0)
                    spent[c] += (time.process_time() - t) * (k > 0)
                    t = time.process_time()
                    Image.fromarray(arr).save(io.BytesIO(), "JPEG", **IMAGENET_JPEG)
                    spent["(of which: JPEG encoding)"] += (time.process_time() - t) * (k > 0)
                    t = time.process_time()
                    save_image(Image.fromarray(arr), Path(tmp) / c / str(sev) / name, "JPEG", **IMAGENET_JPEG)
                    spent["save_image: encode, create, write, check"] += (time.process_time() - t) * (k > 0)
    outputs = n * 75
    split = {k: round(1000 * v / outputs, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    split["total (without the separate encoding)"] = round(
        sum(v for k, v in split.items() if not k.startswith("(")), 3)
    return split


def _summary(rows: list[dict], n: int) -> dict:
    walls = [r["wall_s"] for r in rows]
    wall = statistics.median(walls)
    cpu = statistics.median(r["cpu_s"] for r in rows)
    return {"rounds": rows, "wall_s_median": wall, "wall_s_range": [min(walls), max(walls)], "cpu_s_median": cpu,
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in rows),
            "cpu_ms_per_output": round(1000 * cpu / (n * 75), 2),
            "extrapolated_50000_h": round(wall * FULL / n / 3600, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--compare-ref", help="also time this git commit of the repository (e.g. HEAD~3)")
    ap.add_argument("--folder", type=Path, help="a class-folder tree of photographs")
    ap.add_argument("--split", type=int, default=12, help="photographs for the per-step CPU split (0: none)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="augmix-inc-") as tmp:
        work = Path(tmp)
        photos, note = photo_subset(args.folder, args.images, work)
        rows: dict[str, list[dict]] = {}
        warm = work / "warm"  # one photograph, untimed: each worktree compiles and caches its numba kernels
        first = next(p for p in photos.rglob("*") if p.is_file())
        (warm / first.parent.name).mkdir(parents=True)
        shutil.copyfile(first, warm / first.parent.name / first.name)
        with commit_checkouts(args.compare_ref, work) as arms:
            for src in arms.values():
                _round(src, warm, 1, work / "out")
            for r in range(args.rounds):
                for name, src in round_order(arms, r):
                    row = _round(src, photos, args.workers, work / "out")
                    rows.setdefault(name, []).append(row)
                    print(f"round {r + 1} {name}: {row}")
        split = _split(photos, args.split) if args.split else None
    commit = git_commit()
    result = {"command": " ".join(["python benchmarks/imagenet_c_generation.py", *sys.argv[1:]]), "data": note,
              "images": args.images, "outputs": args.images * 75, "workers": args.workers, "commit": commit,
              "machine": machine(), "arms": {k: _summary(v, args.images) for k, v in rows.items()},
              "cpu_ms_per_output_by_step": split,
              "split_note": f"one process, one thread, {args.split} photographs after one warm-up (this checkout)"}
    for k, v in result["arms"].items():
        print(f"{k}: {v['wall_s_median']} s wall, {v['cpu_s_median']} CPU-s, {v['cpu_ms_per_output']} ms CPU per "
              f"output, peak {v['peak_rss_mb_max']} MB; 50,000 images: {v['extrapolated_50000_h']} h")
    if split:
        print("CPU ms per output by step:", json.dumps(split, indent=1))
    save("imagenet_c_generation", result)


if __name__ == "__main__":
    main()
