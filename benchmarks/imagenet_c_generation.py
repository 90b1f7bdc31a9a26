"""ImageNet-C generation through the CLI: wall, CPU, peak memory, and the 50,000-image extrapolation.

    python benchmarks/imagenet_c_generation.py [--images 500] [--rounds 1] [--workers 2] [--compare-ref REF]
                                               [--folder DIR]

Runs ``augmix corrupt --images DIR --size 224 --workers W`` (the 15 corruptions x 5
severities, JPEG quality 85 as released) on the first ``--images`` photographs, in a fresh
process per round, and reads the children's resource usage: wall seconds, CPU seconds
(user + system of every process) and the largest resident set of any one process. The
extrapolation to the 50,000-image validation set scales the wall time linearly (the work is
per image). Each arm runs a git worktree of its commit (HEAD, and with ``--compare-ref`` another
commit, e.g. the one before a change, interleaved round by round), so uncommitted edits are
never measured.
Data: the developers' Imagewoof copy (320 px ImageNet photographs), or ``--folder``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SHARED, machine, save

REPO = Path(__file__).resolve().parents[1]
FULL = 50_000


def _photos(folder: Path | None, n: int, work: Path) -> tuple[Path, str]:
    """A folder tree with the first ``n`` photographs (symbolic links, class folders kept)."""
    if folder is None:
        folder = Path(tempfile.gettempdir()) / "augmix-bench-data" / "imagewoof2-320-val500" / "val"
        if not folder.is_dir() and (SHARED / "prepare.py").exists():
            subprocess.run([sys.executable, str(SHARED / "prepare.py"), "imagewoof", str(folder.parents[1])],
                           check=True, stdout=subprocess.DEVNULL)
        if not folder.is_dir():
            sys.exit("error: no photographs found; give --folder DIR (a class-folder tree, e.g. ImageNet val)")
        note = "Imagewoof2-320 validation (ImageNet photographs, 320 px)"
    else:
        note = f"photographs under {folder}"
    from augmix.data.images import walk_image_tree

    items = walk_image_tree(folder).images[:n]
    if len(items) < n:
        sys.exit(f"error: {folder} holds {len(items)} images, fewer than --images {n}")
    subset = work / "photos"
    for it in items:
        dst = subset / it.cls / it.relative
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(it.path, dst)
    return subset, f"{note}, first {n} images"


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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="augmix-inc-") as tmp:
        work = Path(tmp)
        photos, note = _photos(args.folder, args.images, work)
        # each arm runs a git worktree of its commit: what is measured is a commit, not an edited tree
        refs = [args.compare_ref, "HEAD"] if args.compare_ref else ["HEAD"]
        arms = {}
        for i, ref in enumerate(refs):
            tree = work / f"tree{i}"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            arms["this" if ref == "HEAD" else ref] = tree / "src"
        rows: dict[str, list[dict]] = {k: [] for k in arms}
        try:
            for r in range(args.rounds):
                for name, src in arms.items():
                    row = _round(src, photos, args.workers, work / "out")
                    rows[name].append(row)
                    print(f"round {r + 1} {name}: {row}")
        finally:
            for src in arms.values():
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(src.parent)], check=False)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    result = {"command": " ".join(["python benchmarks/imagenet_c_generation.py", *sys.argv[1:]]), "data": note,
              "images": args.images, "outputs": args.images * 75, "workers": args.workers, "commit": commit,
              "machine": machine(), "arms": {k: _summary(v, args.images) for k, v in rows.items()}}
    for k, v in result["arms"].items():
        print(f"{k}: {v['wall_s_median']} s wall, {v['cpu_s_median']} CPU-s, {v['cpu_ms_per_output']} ms CPU per "
              f"output, peak {v['peak_rss_mb_max']} MB; 50,000 images: {v['extrapolated_50000_h']} h")
    save("imagenet_c_generation", result)


if __name__ == "__main__":
    main()
