"""One GPU script: AugMix, training and the CIFAR-10-C recipe on one card, within a time budget.

    python benchmarks/gpu.py [--data ROOT] [--photos DIR] [--budget-s 480]
    python benchmarks/gpu.py --smoke            # the same code on the CPU at tiny sizes (the test suite runs it)

Measures, naming the card:

1. AugMix JSD triplets (clean, augmix, augmix) per second on batches resident on the GPU,
   at 32 and 224 px: ours (``AugMixBatch``, back-end ``auto`` = the sync-free ``graph``
   one on a GPU, and the grouped ``torch`` one) against torchvision's ``v2.AugMix`` on the
   same uint8 batches (which draws one op sequence per call for the whole batch). Median
   and range of ``--rounds`` timed rounds after a warm-up.
2. The 19 corruptions at 224 px (severity 3), images/s of the torch back-end
   (``corrupt_tensor``) on a batch resident on the GPU, against the numpy back-end on this
   machine's CPU in the same run (one process, OpenCV at one thread), on 64 photographs
   (``--photos DIR``, else the developers' Imagewoof copy; Resize(256) + CenterCrop(224) as
   ImageNet-C) or, without any, synthetic noise (said so in the JSON).
3. One WRN-40-2 AugMix+JSD epoch of the trainer (``augmix.train``: AMP, channels_last,
   AugMix on the GPU), images/s.
4. The paper's WRN-40-2 recipe (``RECIPES['cifar-wrn']``) with its cosine schedule
   compressed into as many epochs as the remaining budget allows, then clean error and
   CIFAR-10-C mean corruption error, the -C set made in memory with seed 0 exactly as
   ``augmix corrupt --seed 0`` writes it.

Parts 3 and 4 need CIFAR-10 in the official layout (``--data``, else ``$AUGMIX_DATA`` or
``~/.cache/augmix``; the developers' ``../shared/data`` copy is unpacked when present); a
reduced copy in that layout (fewer images per batch file) works, and the JSON records the
image counts used.
Without it part 3 runs on synthetic images (speed only, and says so) and part 4 is
skipped with the reason. Results: ``benchmarks/results/gpu.json`` (or ``--json PATH``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import cifar_root, imagenet_images, machine, save

import augmix
from augmix.recipes import RECIPES


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rounds(fn, device: torch.device, rounds: int) -> dict:
    """Seconds per call: warm-up once, then ``rounds`` timed calls (median, min, max)."""
    fn()
    _sync(device)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def augmix_throughput(device: torch.device, sizes: dict[int, int], rounds: int, cifar: np.ndarray | None) -> dict:
    """Triplets/s of ours (graph and torch back-ends) and torchvision v2 batched, per image size."""
    import torchvision.transforms.v2 as v2

    out = {}
    for size, batch in sizes.items():
        if size == 32 and cifar is not None:
            x = torch.from_numpy(cifar[:batch]).permute(0, 3, 1, 2).contiguous()
            data = f"CIFAR-10 test images, first {batch}"
        else:
            x = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(0))
            data = "synthetic uniform noise (AugMix's cost does not depend on the content)"
        x = x.to(device)
        tv = v2.AugMix(severity=3, mixture_width=3, chain_depth=-1, alpha=1.0)
        arms = {
            "ours_auto": augmix.AugMixBatch(jsd=True, generator=0),
            "ours_torch_grouped": augmix.AugMixBatch(jsd=True, generator=0, backend="torch"),
        }
        if device.type == "cpu":
            arms["ours_graph"] = augmix.AugMixBatch(jsd=True, generator=0, backend="graph")
        row: dict = {"batch": batch, "data": data}
        for name, mod in arms.items():
            t = _rounds(lambda m=mod, x=x: m(x), device, rounds)
            row[name] = {"triplets_per_s": round(batch / t["median_s"], 1),
                         "range": [round(batch / t["max_s"], 1), round(batch / t["min_s"], 1)]}
        t = _rounds(lambda x=x, tv=tv: (x.float() / 255, tv(x).float() / 255, tv(x).float() / 255), device, rounds)
        row["torchvision_v2_batched"] = {"triplets_per_s": round(batch / t["median_s"], 1),
                                         "range": [round(batch / t["max_s"], 1), round(batch / t["min_s"], 1)],
                                         "note": "one op sequence per call for the whole batch"}
        row["ours_auto_vs_torchvision"] = round(row["ours_auto"]["triplets_per_s"]
                                                / row["torchvision_v2_batched"]["triplets_per_s"], 2)
        print(f"AugMix {size}px x{batch}: " + ", ".join(
            f"{k} {v['triplets_per_s']}" for k, v in row.items() if isinstance(v, dict)) + " triplets/s")
        out[f"{size}px"] = row
    return out


def corruption_throughput(device: torch.device, images: np.ndarray, data: str, rounds: int,
                          numpy_images: int) -> dict:
    """Images/s per corruption at severity 3: the torch back-end on ``device`` (batch resident
    there) and the numpy back-end on this machine's CPU (the first ``numpy_images``)."""
    import cv2

    from augmix.corruptions import ALL, corrupt
    from augmix.corruptions.tensor import corrupt_tensor

    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().to(device)
    out: dict = {"batch": len(images), "size": images.shape[1], "severity": 3, "data": data,
                 "numpy_back_end": f"the first {numpy_images} images, one process, OpenCV at one thread"}
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        for name in ALL:
            gen = torch.Generator(device=device).manual_seed(0)
            t = _rounds(lambda n=name, g=gen: corrupt_tensor(x, n, 3, seed=g), device, rounds)
            corrupt(images[:1], name, 3, seed=0)  # compiles the numba kernels outside the timing
            t0 = time.perf_counter()
            corrupt(images[:numpy_images], name, 3, seed=0)
            numpy_rate = numpy_images / (time.perf_counter() - t0)
            row = {"img_per_s": round(len(x) / t["median_s"], 1),
                   "range": [round(len(x) / t["max_s"], 1), round(len(x) / t["min_s"], 1)],
                   "numpy_cpu_img_per_s": round(numpy_rate, 1)}
            row["vs_numpy_cpu"] = round(row["img_per_s"] / numpy_rate, 1)
            out[name] = row
            print(f"corruption {name} {images.shape[1]}px: {row['img_per_s']} img/s on {device.type}, "
                  f"numpy {row['numpy_cpu_img_per_s']} img/s ({row['vs_numpy_cpu']}x)")
    finally:
        cv2.setNumThreads(threads)
    return out


def _epoch_row(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]


def _train(root: Path, model: str, epochs: int, subset: int, out: Path, eval_every: int):
    """Train with the paper's WRN-40-2 recipe (``RECIPES["cifar-wrn"]``, mixed precision on CUDA) for
    ``epochs`` epochs, its cosine schedule over them; return the config and the wall seconds."""
    from augmix.train import TrainConfig, train

    recipe = {k: v for k, v in RECIPES["cifar-wrn"].items() if k not in ("model", "epochs")}
    batch = min(recipe["batch_size"], max(subset // 2, 1)) if subset else recipe["batch_size"]
    cfg = TrainConfig(**{**recipe, "dataset": "cifar10", "data_dir": str(root), "model": model, "epochs": epochs,
                         "out": str(out), "eval_every": eval_every, "train_subset": subset, "workers": 0,
                         "amp": True, "batch_size": batch})
    t0 = time.perf_counter()
    train(cfg, progress=False)
    return cfg, time.perf_counter() - t0


def train_epoch(root: Path, data_note: str, model: str, subset: int, n_train: int, device: torch.device,
                work: Path) -> dict:
    """One AugMix+JSD epoch of the trainer with the paper's settings; images/s from its log."""
    cfg, wall = _train(root, model, 1, subset, work / "epoch", eval_every=-1)
    row = _epoch_row(work / "epoch")[-1]
    result = {"model": model, "data": data_note, "images": subset or n_train, "batch_size": cfg.batch_size,
              "amp": device.type == "cuda", "channels_last": True, "augmix_on": str(device),
              "epoch_s": row["seconds"], "images_per_s": row["images_per_s"], "wall_s_with_setup": round(wall, 1)}
    print(f"WRN epoch: {result['images_per_s']} images/s ({result['epoch_s']} s)")
    return result


def recipe_run(root: Path, model: str, epochs: int, subset: int, test_limit: int | None, sizes: tuple[int, int],
               device: torch.device, workers: int, work: Path) -> dict:
    """The paper's recipe over ``epochs`` epochs, then clean and CIFAR-10-C (made in memory) errors."""
    from augmix.suite import EvalConfig, run_evaluation
    from augmix.suite.config import GENERATE

    _, train_s = _train(root, model, epochs, subset, work / "recipe", eval_every=0)
    t0 = time.perf_counter()
    res = run_evaluation(EvalConfig(out=work / "eval", checkpoint=work / "recipe" / "checkpoint.pt", data_dir=root,
                                    sets={"c": GENERATE}, generate_seed=0, limit=test_limit, workers=workers,
                                    device=str(device), progress=False, name=f"{model} AugMix+JSD, {epochs} epochs"))
    eval_s = time.perf_counter() - t0
    result = {"model": model, "epochs": epochs, "schedule": f"cosine over {epochs} epochs (the paper: 100)",
              "train_images": subset or sizes[0], "test_images": test_limit or sizes[1],
              "clean_error_pct": round(100 * res.clean.scores.error, 2),
              "cifar10c_mean_corruption_error_pct": round(100 * res.benchmarks["c"].mean_error, 2),
              "cifar10c": "made in memory, seed 0 (as `augmix corrupt --seed 0`)",
              "train_s": round(train_s, 1), "eval_s": round(eval_s, 1)}
    print(f"recipe, {epochs} epochs: clean error {result['clean_error_pct']} %, "
          f"CIFAR-10-C mean corruption error {result['cifar10c_mean_corruption_error_pct']} %")
    return result


def _cifar(data: str | None, smoke: bool, work: Path) -> tuple[Path | None, str]:
    """CIFAR-10's root and provenance; for --smoke without data, a tiny synthetic set in the official layout."""
    if data:
        if not (Path(data) / "cifar-10-batches-py").is_dir():
            sys.exit(f"error: {data} holds no cifar-10-batches-py folder; give --data the folder that contains it")
        return Path(data), f"CIFAR-10 (official layout at {data})"
    if not smoke:
        return cifar_root()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.helpers import write_cifar10

    return write_cifar10(work / "cifar", n_train=64, n_test=32), "synthetic CIFAR-10 layout (smoke test)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="a folder holding cifar-10-batches-py (official layout)")
    ap.add_argument("--budget-s", type=float, default=480.0, help="wall-clock budget for the whole script")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per AugMix measurement")
    ap.add_argument("--workers", type=int, default=None, help="CPU workers for the in-memory CIFAR-10-C "
                    "(default: all cores)")
    ap.add_argument("--photos", type=Path, help="photographs for the corruption speeds (a folder, searched "
                    "recursively; default: the developers' Imagewoof copy when present, else synthetic noise)")
    ap.add_argument("--smoke", action="store_true", help="run every part on the CPU at tiny sizes (synthetic "
                    "CIFAR-10 unless --data is given)")
    ap.add_argument("--json", type=Path, help="write the results here (default: benchmarks/results/gpu.json; "
                    "with --smoke, only when given)")
    args = ap.parse_args()
    start = time.perf_counter()
    if args.smoke:
        device = torch.device("cpu")
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        sys.exit("error: no CUDA device visible; run on a machine with a GPU, or pass --smoke to check the "
                 "script on the CPU")
    import os

    workers = args.workers if args.workers is not None else (0 if args.smoke else (os.cpu_count() or 1))
    report: dict = {"command": " ".join(["python benchmarks/gpu.py", *sys.argv[1:]]), "machine": machine(),
                    "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (smoke)",
                    "budget_s": args.budget_s}
    print(f"device: {report['device']}")
    with tempfile.TemporaryDirectory(prefix="augmix-gpu-") as tmp:
        work = Path(tmp)
        root, note = _cifar(args.data, args.smoke, work)
        cifar, n_train = None, 0
        if root is not None:  # (a reduced copy of the official layout is fine: the counts are recorded)
            from augmix.data import load_cifar

            cifar = load_cifar("cifar10", root, train=False, download=False).images
            n_train = len(load_cifar("cifar10", root, train=True, download=False).labels)
        sizes = {32: 8, 64: 2} if args.smoke else {32: 1024, 224: 128}
        report["augmix"] = augmix_throughput(device, sizes, 2 if args.smoke else args.rounds, cifar)
        if args.smoke:  # a few CIFAR-size images through the same code (smoke always has a CIFAR layout)
            photos, photo_note = cifar[:4], note
        else:
            photos, photo_note = imagenet_images(64, args.photos, synthetic=True)
        report["corruptions_smoke" if args.smoke else "corruptions_224px"] = corruption_throughput(
            device, photos, photo_note, 1 if args.smoke else args.rounds, 2 if args.smoke else 16)
        model = "small" if args.smoke else "wrn40_2"
        subset = 32 if args.smoke else 0
        if root is None:
            report["train_epoch"] = {"skipped": "no CIFAR-10 found: give --data ROOT (official layout)"}
            report["recipe"] = {"skipped": "needs real CIFAR-10: give --data ROOT (official layout)"}
        else:
            report["train_epoch"] = train_epoch(root, note, model, subset, n_train, device, work)
            left = args.budget_s - (time.perf_counter() - start)
            eval_reserve = 20.0 if args.smoke else 90.0
            per_epoch = report["train_epoch"]["wall_s_with_setup"]
            epochs = 1 if args.smoke else min(100, math.floor((left - eval_reserve) / per_epoch))
            if epochs < 1:
                report["recipe"] = {"skipped": f"{left:.0f} s of the budget left, one epoch takes {per_epoch:.0f} s"}
            else:
                report["recipe"] = recipe_run(root, model, epochs, subset, 16 if args.smoke else None,
                                              (n_train, len(cifar)), device, workers, work)
    report["total_s"] = round(time.perf_counter() - start, 1)
    if args.json or not args.smoke:
        save("gpu", report, args.json)


if __name__ == "__main__":
    main()
