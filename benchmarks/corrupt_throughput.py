"""Corruption speed: images/s per core per corruption at 32 and 224 px, ours vs imagecorruptions.

    python benchmarks/corrupt_throughput.py [--n32 2000] [--n224 48] [--full] [--images DIR] [--synthetic]

Ours runs batched (one call per corruption and severity 3); ``imagecorruptions`` (the
maintained fork ``imagecorruptions-imaug``, which we depend on for the frost photographs)
runs per image, as it is meant to, on a subset of the same images. Our torch back-end
(``corrupt_tensor``, the path of ``augmix corrupt --device``) runs batched on the CPU too, for
its CPU cost; its GPU speed is ``benchmarks/gpu.py``'s. Everything runs on one thread.
Note that imagecorruptions applies the 224 px ImageNet-C parameters at every image size,
so at 32 px it is not CIFAR-10-C; it is timed here only as a speed peer.
``--full`` also times generating a full CIFAR-10-C (15 corruptions x 5 severities x 10,000
test images) with all cores, as ``augmix corrupt`` does.
"""

from __future__ import annotations

import os
import sys

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from _common import cifar_test_images, imagenet_images, machine, save  # noqa: E402

from augmix.corruptions import ALL, BENCHMARK, corrupt  # noqa: E402

cv2.setNumThreads(1)


def rate(fn, count: int, min_time: float = 1.0) -> float:
    fn()  # warm-up (numba compilation, caches)
    t0, runs = time.perf_counter(), 0
    while True:
        fn()
        runs += 1
        if time.perf_counter() - t0 >= min_time:
            return count * runs / (time.perf_counter() - t0)


def peer():
    try:
        from imagecorruptions import corrupt as ic_corrupt

        return ic_corrupt
    except ImportError:
        return None


def bench_size(images: np.ndarray, peer_images: int, rounds: int) -> dict:
    """Images/s per corruption, ours and the peer timed in turn, ``rounds`` times: medians and ranges."""
    import torch

    from augmix.corruptions.tensor import corrupt_tensor

    torch.set_num_threads(1)
    ic = peer()
    per: dict[str, dict[str, list[float]]] = {name: {"ours": [], "peer": [], "torch": []} for name in ALL}
    errors: dict[str, str] = {}
    tensors = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    for r in range(rounds):
        for name in ALL:
            per[name]["ours"].append(rate(lambda name=name: corrupt(images, name, 3, seed=0), len(images), 0.5))
            per[name]["torch"].append(rate(lambda name=name: corrupt_tensor(tensors, name, 3, seed=0), len(images),
                                           0.5))
            if ic is not None and name not in errors:
                sub = images[:peer_images]
                try:
                    per[name]["peer"].append(rate(
                        lambda name=name, sub=sub: [ic(im, corruption_name=name, severity=3) for im in sub],
                        len(sub), min_time=0.3))
                except Exception as err:  # report, do not hide, a peer that fails
                    errors[name] = f"{type(err).__name__}: {err}"[:200]
            print(f"round {r + 1} {images.shape[1]:4d}px {name:18s} ours {per[name]['ours'][-1]:9.1f}/s  "
                  f"torch {per[name]['torch'][-1]:9.1f}/s  peer {per[name]['peer'][-1] if per[name]['peer'] else '-'}")
    out = {}
    for name in ALL:
        ours = per[name]["ours"]
        row = {"ours_img_per_s": round(float(np.median(ours)), 1), "ours_range": [round(min(ours), 1),
                                                                                   round(max(ours), 1)]}
        on_torch = per[name]["torch"]
        row["torch_cpu_img_per_s"] = round(float(np.median(on_torch)), 1)
        row["torch_cpu_range"] = [round(min(on_torch), 1), round(max(on_torch), 1)]
        theirs = per[name]["peer"]
        if theirs:
            row["imagecorruptions_img_per_s"] = round(float(np.median(theirs)), 1)
            row["speedup_per_round"] = [round(a / b, 1) for a, b in zip(ours, theirs, strict=False)]
            row["speedup"] = round(float(np.median(row["speedup_per_round"])), 1)
        if name in errors:
            row["imagecorruptions_error"] = errors[name]
        out[name] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n32", type=int, default=2000)
    ap.add_argument("--n224", type=int, default=48)
    ap.add_argument("--peer32", type=int, default=200)
    ap.add_argument("--peer224", type=int, default=8)
    ap.add_argument("--full", action="store_true", help="also time full CIFAR-10-C generations")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of every timing: medians and ranges reported")
    ap.add_argument("--images", type=Path, help="photographs for the 224 px timings (default: the developers' "
                    "Imagewoof copy)")
    ap.add_argument("--synthetic", action="store_true", help="time uniform noise where no real images are found "
                    "(recorded in the JSON); without it the script refuses")
    args = ap.parse_args()
    x32, note32 = cifar_test_images(args.n32)
    if note32.startswith("synthetic") and not args.synthetic:
        sys.exit("error: no CIFAR-10 for the 32 px timings; put it under $AUGMIX_DATA (official layout) or pass "
                 "--synthetic to time uniform noise instead (recorded as such)")
    x224, note224 = imagenet_images(args.n224, args.images, args.synthetic)
    result = {"command": "python benchmarks/corrupt_throughput.py " + " ".join(sys.argv[1:]),
              "machine": machine(), "threads": 1, "rounds": args.rounds,
              "data": {"32": note32, "224": note224},
              "severity": 3,
              "32": bench_size(x32, args.peer32, args.rounds),
              "224": bench_size(x224, args.peer224, args.rounds)}
    worst = min(result["32"].items(), key=lambda kv: kv[1]["ours_img_per_s"])
    result["slowest_at_32"] = {"corruption": worst[0], "img_per_s": worst[1]["ours_img_per_s"]}
    print("slowest at 32 px:", result["slowest_at_32"])
    if args.full:
        from _common import cifar_root

        from augmix.data import load_cifar
        from augmix.generation import generate_cifar_c

        root, note = cifar_root()
        if root is None:
            result["full_cifar10c"] = {"skipped": "no CIFAR-10 available"}
        else:
            test = load_cifar("cifar10", root, train=False, download=False)
            walls = []
            for _ in range(args.rounds):
                with tempfile.TemporaryDirectory() as tmp:
                    t0 = time.perf_counter()
                    generate_cifar_c(test.images, test.labels, tmp, BENCHMARK, workers=os.cpu_count(),
                                     source=test.source, progress=False)
                    walls.append(round(time.perf_counter() - t0, 1))
                print(f"full CIFAR-10-C: {walls[-1]:.1f} s with {os.cpu_count()} processes")
            result["full_cifar10c"] = {"data": note, "images": 15 * 5 * len(test), "workers": os.cpu_count(),
                                       "wall_s": float(np.median(walls)), "wall_s_per_round": walls}
    save("corrupt_throughput", result)


if __name__ == "__main__":
    main()
