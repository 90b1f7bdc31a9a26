"""Corruptions at any size: ours against the imagecorruptions package, on real photographs.

    python benchmarks/anysize.py [--rounds 3] [--n 2] [--psnr-images 300] [--tree-images 60]
                                 [--sections speed,psnr,tree,definitions] [--out anysize]

1. **Speed**, one thread, CPU seconds per image at 427x640 (COCO's typical size) and 1024x2048
   (Cityscapes), severity 3, the 19 corruptions: ours in the default mode (numpy, the package's
   definition, one call per image as for images of mixed sizes), our torch back-end on the CPU
   (one call on the batch of ``--n`` images), and
   ``imagecorruptions-imaug`` per image, interleaved in each of ``--rounds`` rounds after a
   warm-up call of each at the size (numba compilation, caches). Medians and ranges.
2. **Distribution**: mean PSNR (dB) against the clean photograph per corruption and severity,
   ours (default mode) against the package (``np.random.seed(0)``), on ``--psnr-images``
   photographs at two non-square sizes, with the standard error of the difference (frost and
   spatter vary by ~2-3 dB from image to image).
3. **``augmix corrupt --images TREE --keep-size``** end to end on a COCO-like flat tree of
   ``--tree-images`` photographs at their own sizes (15 corruptions x 5 severities, all cores):
   outputs per second, CPU seconds per output, cores busy; and the package's loop (``corrupt`` +
   Pillow's JPEG save at the same quality) over a tenth of the tree on as many processes.
4. **The two definitions** where both apply: mean PSNR of each corruption at severity 1 on 100
   photographs after ImageNet-C's Resize(256) + CenterCrop(224), published and the package's.

Photographs: the developers' Imagewoof2-320 copy (ImageNet photographs, shorter side 320),
resized with Pillow's bicubic filter to the sizes above (--folder: another class-folder tree).
"""

from __future__ import annotations

import os
import sys

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import git_commit, imagewoof_val, machine, save  # noqa: E402
from PIL import Image  # noqa: E402

from augmix.corruptions import ALL, BENCHMARK, corrupt  # noqa: E402
from augmix.corruptions.tensor import corrupt_tensor  # noqa: E402

cv2.setNumThreads(1)
torch.set_num_threads(1)
SIZES = ((427, 640), (1024, 2048))


def photos(folder: Path | None, n: int, shape: tuple[int, int] | None, offset: int = 0) -> list[np.ndarray]:
    """``n`` photographs spread over the tree, RGB, resized (bicubic) to ``shape`` (H, W) if given."""
    from augmix.data.images import walk_image_tree

    folder = folder or imagewoof_val()
    if folder is None:
        sys.exit("error: no photographs; give --folder DIR (a class-folder tree of photographs)")
    items = walk_image_tree(folder).images
    step = max(1, len(items) // max(n, 1))
    chosen = items[offset::step][:n]
    out = []
    for item in chosen:
        img = item.load()
        out.append(np.asarray(img.resize((shape[1], shape[0]), Image.BICUBIC) if shape else img))
    return out


def cpu(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def speed(images: list[np.ndarray], rounds: int) -> dict:
    import imagecorruptions as pkg

    batch = np.stack(images)
    tensors = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()
    arms = {"ours": lambda n: [corrupt(im, n, 3, seed=i) for i, im in enumerate(images)],
            "torch_cpu": lambda n: corrupt_tensor(tensors, n, 3, seed=0),
            "imagecorruptions": lambda n: [pkg.corrupt(im, 3, n) for im in images]}
    for name in ALL:  # warm-up at this size: compilation, frost covers, CDF tables
        for fn in arms.values():
            fn(name)
    per = {name: {arm: [] for arm in arms} for name in ALL}
    for r in range(rounds):
        order = list(arms.items()) if r % 2 == 0 else list(arms.items())[::-1]
        for name in ALL:
            for arm, fn in order:
                per[name][arm].append(cpu(lambda fn=fn, name=name: fn(name)) / len(images))
            row = per[name]
            print(f"round {r + 1} {batch.shape[1]}x{batch.shape[2]} {name:18s} "
                  + "  ".join(f"{a} {1000 * row[a][-1]:8.1f} ms" for a in arms), flush=True)
    out = {}
    for name, row in per.items():
        med = {a: float(np.median(v)) for a, v in row.items()}
        out[name] = {f"{a}_ms": round(1000 * med[a], 2) for a in arms}
        out[name].update({f"{a}_range_ms": [round(1000 * min(v), 2), round(1000 * max(v), 2)] for a, v in row.items()})
        out[name]["speedup_vs_imagecorruptions"] = round(med["imagecorruptions"] / med["ours"], 2)
        out[name]["torch_cpu_speedup_vs_imagecorruptions"] = round(med["imagecorruptions"] / med["torch_cpu"], 2)
    totals = {a: sum(out[n][f"{a}_ms"] for n in ALL) for a in arms}
    return {"images": len(images), "per_corruption": out, "total_19_ms": {a: round(v, 1) for a, v in totals.items()},
            "ours_over_imagecorruptions": round(totals["ours"] / totals["imagecorruptions"], 3),
            "torch_cpu_over_imagecorruptions": round(totals["torch_cpu"] / totals["imagecorruptions"], 3),
            "slower_than_imagecorruptions": sorted(n for n in ALL if out[n]["speedup_vs_imagecorruptions"] < 1)}


def _psnr(out: np.ndarray, x: np.ndarray) -> np.ndarray:
    mse = ((out.astype(np.float64) - x.astype(np.float64)) ** 2).reshape(len(x), -1).mean(1)
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def distribution(images: list[np.ndarray]) -> dict:
    import warnings

    import imagecorruptions as pkg

    x = np.stack(images)
    out = {}
    for name in ALL:
        rows = []
        for s in range(1, 6):
            np.random.seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the package's 0 / 0 for a dry spatter layer
                theirs = _psnr(np.stack([pkg.corrupt(im, s, name) for im in images]), x)
            ours = _psnr(corrupt(x, name, s, seed=0), x)
            se = float(np.sqrt(theirs.var(ddof=1) / len(x) + ours.var(ddof=1) / len(x)))
            rows.append({"ours_db": round(float(ours.mean()), 3), "imagecorruptions_db": round(float(theirs.mean()), 3),
                         "difference_db": round(float(ours.mean() - theirs.mean()), 3), "se_db": round(se, 3)})
        out[name] = rows
        print(f"{x.shape[1]}x{x.shape[2]} {name:18s} diff " + " ".join(f"{r['difference_db']:+.3f}" for r in rows)
              + "  se " + " ".join(f"{r['se_db']:.3f}" for r in rows), flush=True)
    worst = max((abs(r["difference_db"]), n, i + 1) for n, rows in out.items() for i, r in enumerate(rows))
    within = sum(abs(r["difference_db"]) <= 0.2 for rows in out.values() for r in rows)
    return {"images": len(x), "per_corruption": out, "within_0.2_db": f"{within} of {5 * len(ALL)}",
            "largest_difference": {"db": worst[0], "corruption": worst[1], "severity": worst[2]}}


def definitions(images: list[np.ndarray]) -> dict:
    """Mean PSNR (dB) of both definitions of every corruption at severity 1 on 224 px photographs
    (default mode, seed 0): how far apart they are where both apply."""
    x = np.stack(images)
    out = {}
    for name in ALL:
        pub = float(_psnr(corrupt(x, name, 1, seed=0, definition="published"), x).mean())
        pkg = float(_psnr(corrupt(x, name, 1, seed=0, definition="imagecorruptions"), x).mean())
        out[name] = {"published_db": round(pub, 2), "imagecorruptions_db": round(pkg, 2)}
        print(f"224x224 {name:18s} published {pub:6.2f} dB  imagecorruptions {pkg:6.2f} dB", flush=True)
    return {"images": len(x), "severity": 1, "per_corruption": out}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _package_unit(args: tuple[str, str]) -> int:
    import imagecorruptions as pkg

    src, out = args
    img = np.asarray(Image.open(src).convert("RGB"))
    for name in BENCHMARK:
        for s in range(1, 6):
            target = Path(out) / name / str(s) / Path(src).name
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pkg.corrupt(img, s, name)).save(target, quality=95)
    return 75


def keep_size(folder: Path | None, n: int, work: Path) -> dict:
    tree = work / "coco-like" / "val2017"
    tree.mkdir(parents=True)
    for i, img in enumerate(photos(folder, n, None)):  # each at its own (non-square) size
        Image.fromarray(img).save(tree / f"{i:012d}.jpg", quality=95)
    cores = os.cpu_count() or 1
    cmd = [sys.executable, "-m", "augmix", "corrupt", "--images", str(tree.parent), "--keep-size",
           "--out", str(work / "out"), "--no-progress", "--workers", str(cores)]
    before, t0 = _children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall, cpu_s = time.perf_counter() - t0, _children_cpu() - before
    outputs = n * 75
    sizes = sorted({Image.open(p).size for p in tree.iterdir()})
    peer_n = max(1, n // 10)
    files = sorted(tree.iterdir())[:peer_n]
    t1 = time.perf_counter()
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_package_unit, [(str(f), str(work / "peer")) for f in files]))
    peer_wall = time.perf_counter() - t1
    return {"images": n, "sizes": f"{len(sizes)} sizes, e.g. {sizes[:3]}", "outputs": outputs, "workers": cores,
            "wall_s": round(wall, 1), "cpu_s": round(cpu_s, 1), "outputs_per_s": round(outputs / wall, 1),
            "cpu_ms_per_output": round(1000 * cpu_s / outputs, 2), "cores_busy": round(cpu_s / wall, 2),
            "imagecorruptions_loop": {"images": peer_n, "outputs": peer_n * 75, "workers": cores,
                                      "wall_s": round(peer_wall, 1),
                                      "outputs_per_s": round(peer_n * 75 / peer_wall, 1)}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=2, help="photographs per speed timing")
    ap.add_argument("--psnr-images", type=int, default=300)
    ap.add_argument("--tree-images", type=int, default=60)
    ap.add_argument("--folder", type=Path, help="a class-folder tree of photographs (default: Imagewoof copy)")
    ap.add_argument("--sections", default="speed,psnr,tree,definitions",
                    help="comma-separated among speed, psnr, tree, definitions")
    ap.add_argument("--out", default="anysize", help="results name (benchmarks/results/NAME.json)")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    from importlib.metadata import version

    result = {"command": "python benchmarks/anysize.py " + " ".join(sys.argv[1:]), "commit": git_commit(),
              "machine": machine(), "threads": 1, "rounds": args.rounds, "severity": 3,
              "imagecorruptions": version("imagecorruptions-imaug"),
              "data": "Imagewoof2-320 validation photographs (ImageNet), resized bicubic" if args.folder is None
              else f"photographs under {args.folder}"}
    if "speed" in sections:
        result["speed"] = {f"{h}x{w}": speed(photos(args.folder, args.n, (h, w)), args.rounds) for h, w in SIZES}
        print({k: (v["ours_over_imagecorruptions"], v["slower_than_imagecorruptions"])
               for k, v in result["speed"].items()})
    if "psnr" in sections:
        result["distribution"] = {f"{h}x{w}": distribution(photos(args.folder, args.psnr_images, (h, w), offset=1))
                                  for h, w in ((160, 240), (256, 192))}
    if "tree" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            result["keep_size"] = keep_size(args.folder, args.tree_images, Path(tmp))
        print(result["keep_size"])
    if "definitions" in sections:
        from augmix.corruptions.released import preprocess
        from augmix.data.images import walk_image_tree

        items = walk_image_tree(args.folder or imagewoof_val()).images[::5][:100]
        result["definitions_224"] = definitions([np.asarray(preprocess(i.load(), 224)) for i in items])
    save(args.out, result)


if __name__ == "__main__":
    main()
