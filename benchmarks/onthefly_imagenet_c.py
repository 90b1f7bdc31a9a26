"""On-the-fly ImageNet-C evaluation (``--corrupted generate``): wall and CPU time of its data path.

    python benchmarks/onthefly_imagenet_c.py [--images 40] [--rounds 3] [--workers 2] [--compare-ref REF]
                                             [--folder DIR]

Runs ``run_evaluation`` with ``sets={"c": "generate"}`` (the 15 corruptions x 5 severities made in
memory as ``augmix corrupt --seed 0`` writes them, read back through the released JPEG) on the
first ``--images`` photographs as an ImageNet validation folder, in a fresh process per round,
with the ``tiny`` model (random weights, seed 0): a model whose forward costs little next to
making the images, as a GPU's does, so what is timed is the data path (decoding, resizing,
corrupting, JPEG round trip, in ``--workers`` DataLoader workers). Each arm runs a git worktree
of its commit (HEAD, and with ``--compare-ref`` another, interleaved round by round), after one
untimed run on one photograph (numba compiles and caches its kernels per checkout). The
results of the arms must be equal (the same images are made); the script checks that.
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

from _common import machine, photo_subset, save

REPO = Path(__file__).resolve().parents[1]

# run in the arm's checkout: a tiny ImageNet checkpoint for the folder's classes, then the evaluation
_CHILD = """
import json, sys, torch
from pathlib import Path
from augmix.checkpoint import ModelSpec, build_model, save_checkpoint
from augmix.suite import GENERATE, EvalConfig, run_evaluation
data, out, workers = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
wnids = tuple(sorted(p.name for p in (data / "val").iterdir()))
torch.manual_seed(0)
spec = ModelSpec("tiny", len(wnids), (0.5,) * 3, (0.5,) * 3, "imagenet", classes=wnids)
save_checkpoint(out / "m.pt", spec, build_model(spec).state_dict(), epoch=1)
res = run_evaluation(EvalConfig(out=out / "eval", checkpoint=out / "m.pt", dataset="imagenet", data_dir=data,
                                sets={"c": GENERATE}, generate_seed=0, workers=workers, progress=False))
print(json.dumps({c: v.error for c, v in res.benchmarks["c"].per.items()}))
"""


def _round(src: Path, data: Path, workers: int, out: Path) -> dict:
    out.mkdir(parents=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(data), str(out), str(workers)], check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "errors": json.loads(proc.stdout.splitlines()[-1])}


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
        data = work / "inet"
        data.mkdir()
        photos.rename(data / "val")
        warm = work / "warm" / "val"
        first = next(p for p in (data / "val").rglob("*") if p.is_file())
        (warm / first.parent.name).mkdir(parents=True)
        shutil.copyfile(first, warm / first.parent.name / first.name)
        refs = [args.compare_ref, "HEAD"] if args.compare_ref else ["HEAD"]
        arms = {}
        for i, ref in enumerate(refs):
            tree = work / f"tree{i}"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            arms["this" if ref == "HEAD" else ref] = tree / "src"
        rows: dict[str, list[dict]] = {k: [] for k in arms}
        try:
            for src in arms.values():
                _round(src, warm.parent, 1, work / "out")
            for r in range(args.rounds):
                for name, src in arms.items():
                    row = _round(src, data, args.workers, work / "out")
                    rows[name].append(row)
                    print(f"round {r + 1} {name}: {row['wall_s']} s wall, {row['cpu_s']} CPU-s")
        finally:
            for src in arms.values():
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(src.parent)], check=False)
    errors = {json.dumps(r["errors"], sort_keys=True) for v in rows.values() for r in v}
    if len(errors) != 1:
        sys.exit("error: the arms gave different corruption errors; they did not make the same images")
    outputs = args.images * 75
    summary = {}
    for name, v in rows.items():
        walls, cpus = [r["wall_s"] for r in v], [r["cpu_s"] for r in v]
        summary[name] = {"wall_s_per_round": walls, "wall_s_median": statistics.median(walls),
                         "cpu_s_per_round": cpus, "cpu_s_median": statistics.median(cpus),
                         "cpu_ms_per_output": round(1000 * statistics.median(cpus) / outputs, 2)}
        print(f"{name}: {summary[name]['wall_s_median']} s wall, {summary[name]['cpu_s_median']} CPU-s, "
              f"{summary[name]['cpu_ms_per_output']} ms CPU per output")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    save("onthefly_imagenet_c", {
        "command": " ".join(["python benchmarks/onthefly_imagenet_c.py", *sys.argv[1:]]), "data": note,
        "images": args.images, "outputs": outputs, "workers": args.workers, "model": "tiny, random weights (seed 0)",
        "commit": commit, "machine": machine(), "arms": summary, "same_errors_in_every_arm": True})


if __name__ == "__main__":
    main()
