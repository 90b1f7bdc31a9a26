"""AugMix per PIL image at 224 px: its chains from the compiled kernel against Pillow's own ops.

    python benchmarks/augmix_pil_224.py [--images 64] [--rounds 3]

What ``AugMix()(pil_image)`` (and timm-style ``AugMixDataset``) computes for the JSD triplet of
one photograph - the clean view and two AugMix views through ``apply_pil`` with ``ToTensor`` -
with ``kernel=True`` (the default since #29's first step: the same float32 result to the bit,
held by ``tests/test_compiled.py``) and ``kernel=False`` (Pillow's ops, as the reference runs
them), on Imagewoof photographs after Resize(256) + CenterCrop(224), one thread, severity 1 as
``imagenet.py`` uses, CPU seconds, ``--rounds`` interleaved rounds. Triplets per second per core.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from _common import git_commit, imagenet_images, machine, save  # noqa: E402
from PIL import Image  # noqa: E402

from augmix.augment import AugMixConfig, sample_params  # noqa: E402
from augmix.augment.apply import apply_pil, to_float  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    arrays, note = imagenet_images(args.images)
    photos = [Image.fromarray(a) for a in arrays]
    config = AugMixConfig(severity=1)
    draws = [(sample_params(1, config, seed=2 * i), sample_params(1, config, seed=2 * i + 1))
             for i in range(len(photos))]

    def triplets(kernel: bool) -> float:
        t0 = time.process_time()
        for img, (p1, p2) in zip(photos, draws, strict=True):
            to_float(img), apply_pil(img, p1, kernel=kernel), apply_pil(img, p2, kernel=kernel)
        return len(photos) / (time.process_time() - t0)

    triplets(True), triplets(False)  # warm-up: compilation, caches
    rates: dict[str, list[float]] = {"kernel": [], "pillow": []}
    for r in range(args.rounds):
        for arm in (["kernel", "pillow"] if r % 2 == 0 else ["pillow", "kernel"]):
            rates[arm].append(triplets(arm == "kernel"))
        print(f"round {r + 1}: kernel {rates['kernel'][-1]:.1f}  pillow {rates['pillow'][-1]:.1f} triplets/s")
    out = {arm: {"triplets_per_s": round(statistics.median(v), 1), "range": [round(min(v), 1), round(max(v), 1)]}
           for arm, v in rates.items()}
    out["speedup"] = round(out["kernel"]["triplets_per_s"] / out["pillow"]["triplets_per_s"], 2)
    print(out)
    save("augmix_pil_224", {"command": "python benchmarks/augmix_pil_224.py " + " ".join(sys.argv[1:]),
                            "commit": git_commit(), "machine": machine(), "data": note, "threads": 1,
                            "rounds": args.rounds, "severity": 1, "result": out})


if __name__ == "__main__":
    main()
