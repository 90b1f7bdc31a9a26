"""Reference-stream mode against the published -C generator itself: images/s per corruption.

    python benchmarks/reference_stream.py --published-dir PATH/robustness/ImageNet-C/create_c [--rounds 5]

PATH is a checkout of hendrycks/robustness kept outside this project. Its corruption
functions run as published, with only the library-compatibility patches listed in
tests/fixtures/README.md applied in memory (Wand and ImageMagick are needed for motion
blur and snow). Both sides process the same images one at a time from a
``RandomState(0)`` stream, severity 3: 32 px (``make_cifar_c.py``, CIFAR-10 test images)
and 224 px (``make_imagenet_c.py``, Imagewoof photographs after Resize(256) +
CenterCrop(224)). Every round also checks that the two outputs are byte-identical.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
from _common import cifar_test_images, machine, save
from _published import published_module
from corrupt_throughput import imagenet_images
from PIL import Image

from augmix.corruptions import ALL, corrupt


def timed_pair(mod: types.ModuleType, folder: Path, x: np.ndarray, name: str) -> tuple[float, float, bool]:
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        np.random.seed(0)
        t0 = time.perf_counter()
        theirs = np.stack([np.uint8(getattr(mod, name)(Image.fromarray(im), 3)) for im in x])
        t_theirs = time.perf_counter() - t0
    finally:
        os.chdir(cwd)
    t0 = time.perf_counter()
    ours = corrupt(x, name, 3, seed=np.random.RandomState(0))
    t_ours = time.perf_counter() - t0
    return len(x) / t_ours, len(x) / t_theirs, bool(np.array_equal(ours, theirs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--published-dir", type=Path, required=True,
                    help="hendrycks/robustness checkout's ImageNet-C/create_c folder")
    ap.add_argument("--n32", type=int, default=200)
    ap.add_argument("--n224", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    x32, note32 = cifar_test_images(args.n32)
    x224, note224 = imagenet_images(args.n224)
    names = [n for n in ALL if n != "impulse_noise"]
    results: dict = {}
    for size, script, x in ((32, "make_cifar_c.py", x32), (224, "make_imagenet_c.py", x224)):
        mod = published_module(args.published_dir, script)
        for name in names:  # warm-up: numba compilation and caches on both sides
            timed_pair(mod, args.published_dir, x[:1], name)
        rows = {n: {"ours": [], "published": [], "identical": []} for n in names}
        for r in range(args.rounds):
            for name in names:
                ours, theirs, same = timed_pair(mod, args.published_dir, x, name)
                rows[name]["ours"].append(round(ours, 1))
                rows[name]["published"].append(round(theirs, 1))
                rows[name]["identical"].append(same)
                print(f"round {r + 1} {size:3d}px {name:18s} ours {ours:9.1f}/s  published {theirs:8.1f}/s  "
                      f"identical={same}", flush=True)
        results[str(size)] = {
            n: {"ours_img_per_s": float(np.median(v["ours"])), "ours_range": [min(v["ours"]), max(v["ours"])],
                "published_img_per_s": float(np.median(v["published"])),
                "published_range": [min(v["published"]), max(v["published"])],
                "speedup": round(float(np.median(np.array(v["ours"]) / np.array(v["published"]))), 1),
                "byte_identical_every_round": all(v["identical"])} for n, v in rows.items()}
    save("reference_stream", {"command": "python benchmarks/reference_stream.py " + " ".join(sys.argv[1:]),
                              "data": {"32": note32, "224": note224}, "severity": 3, "rounds": args.rounds,
                              "machine": machine(), "results": results})


if __name__ == "__main__":
    main()
