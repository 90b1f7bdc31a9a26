"""-C-bar corruption against the published transforms: images/s per corruption, 32 and 224 px.

    python benchmarks/cbar_throughput.py --published-dir PATH/augmentation-corruption/imagenet_c_bar \
        [--n32 100] [--n224 2] [--rounds 3]

PATH is a checkout of facebookresearch/augmentation-corruption kept outside this project; its
``corrupt.py`` is loaded with the one library patch of tests/fixtures/README.md (``np.int``).
Both sides corrupt the same images one at a time from a ``RandomState(0)`` stream at severity 3
(32 px: CIFAR-10 test images, CIFAR-10-C-bar's 10; 224 px: Imagewoof photographs after
Resize(256) + CenterCrop(224), ImageNet-C-bar's 10), and each round checks the outputs are
byte-identical. Under numpy 2 the published ``pinch_and_twirl`` computes in float64 where the
numpy 1.x it was written for computes in float32 (ours follows numpy 1.x), so it can differ in
a few values by one grey level (tests/fixtures/README.md); the JSON says which rounds matched.
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

import numpy as np
from _common import cifar_test_images, machine, save
from corrupt_throughput import imagenet_images

from augmix.corruptions.cbar import corrupt_cbar
from augmix.corruptions.tables import CBAR_TABLES


def published_transforms(folder: Path):
    sys.path.insert(0, str(folder))
    src = (folder / "corrupt.py").read_text().replace("dtype=np.int)", "dtype=int)")
    mod = types.ModuleType("corrupt")
    exec(compile(src, str(folder / "corrupt.py"), "exec"), mod.__dict__)  # noqa: S102 - the user's own checkout
    sys.modules["corrupt"] = mod
    import transform_finder

    return transform_finder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--published-dir", type=Path, required=True,
                    help="facebookresearch/augmentation-corruption checkout's imagenet_c_bar folder")
    ap.add_argument("--n32", type=int, default=100)
    ap.add_argument("--n224", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tf = published_transforms(args.published_dir)
    x32, note32 = cifar_test_images(args.n32)
    x224, note224 = imagenet_images(args.n224)
    results: dict = {}
    for size, x in ((32, x32), (224, x224)):
        rows = {}
        for name, sevs in CBAR_TABLES[size].items():
            t = tf.build_transform(name=name, severity=sevs[2], dataset_type="cifar" if size == 32 else "imagenet")
            ours_r, pub_r, same_r = [], [], []
            for r in range(args.rounds):
                np.random.seed(0)
                t0 = time.perf_counter()
                theirs = np.stack([t(img) for img in x])
                pub_r.append(len(x) / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                ours = corrupt_cbar(x, name, 3, seed=np.random.RandomState(0))
                ours_r.append(len(x) / (time.perf_counter() - t0))
                same_r.append(bool(np.array_equal(ours, theirs)))
                print(f"round {r + 1} {size:3d}px {name:32s} ours {ours_r[-1]:8.1f}/s  published {pub_r[-1]:7.2f}/s"
                      f"  identical={same_r[-1]}", flush=True)
            rows[name] = {"ours_img_per_s": float(np.median(ours_r)), "ours_range": [min(ours_r), max(ours_r)],
                          "published_img_per_s": float(np.median(pub_r)), "published_range": [min(pub_r), max(pub_r)],
                          "speedup": round(float(np.median(np.array(ours_r) / np.array(pub_r))), 1),
                          "identical_rounds": same_r}
        results[str(size)] = rows
    save("cbar_throughput", {"command": "python benchmarks/cbar_throughput.py " + " ".join(sys.argv[1:]),
                             "data": {"32": note32, "224": note224}, "severity": 3, "rounds": args.rounds,
                             "numpy": np.__version__, "machine": machine(), "results": results})


if __name__ == "__main__":
    main()
