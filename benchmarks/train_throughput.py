"""Training throughput on the CPU: images/s of a training epoch, Standard vs AugMix vs AugMix+JSD.

    python benchmarks/train_throughput.py [--images 2560] [--models tiny,small,wrn40_2] [--rounds 3]

Same data (the first ``--images`` CIFAR-10 training images), same model initialisation,
batch 128, all threads; AugMix runs batched on the training device (the default path).
Reports clean training images per second and the ratio of each method's epoch time to the
Standard epoch (3x is the compute floor of JSD's three views). The methods run in turn,
``--rounds`` times; medians are reported, since a shared VM's speed drifts by 10-20 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile

import torch
from _common import cifar_root, machine, save

from augmix.checkpoint import load_checkpoint
from augmix.train import TrainConfig, train


def epoch_seconds(model: str, method: str, images: int, root, epochs: int = 2) -> float:
    """Wall time of the last of ``epochs`` epochs (the first warms up allocators and caches)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(dataset="cifar10", data_dir=str(root), model=model, method=method, epochs=epochs,
                          batch_size=128, workers=0, train_subset=images, out=tmp, eval_every=-1)
        train(cfg, progress=False)
        log = load_checkpoint(f"{tmp}/checkpoint.pt")["history"]
    return log[-1]["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2560)
    ap.add_argument("--models", default="tiny,small,wrn40_2")
    ap.add_argument("--wrn-images", type=int, default=1024, help="images per WRN-40-2 epoch (slow on a CPU)")
    ap.add_argument("--rounds", type=int, default=5, help="runs of each method, interleaved; medians reported")
    args = ap.parse_args()
    root, note = cifar_root()
    if root is None:
        raise SystemExit("needs CIFAR-10 (set AUGMIX_DATA, or run beside ../shared/data)")
    results = {}
    methods = ("standard", "augmix", "augmix_jsd")
    for model in args.models.split(","):
        images = args.images if model != "wrn40_2" else min(args.images, args.wrn_images)
        times: dict[str, list[float]] = {m: [] for m in methods}
        for r in range(args.rounds):
            for method in methods:
                sec = epoch_seconds(model, method, images, root)
                times[method].append(sec)
                print(f"round {r + 1}: {model:8s} {method:11s} {sec:7.2f} s/epoch")
        row: dict = {"images": images}
        for method in methods:
            med = statistics.median(times[method])
            row[method] = {"epoch_s": round(med, 2), "epoch_s_all": times[method],
                           "images_per_s": round(images // 128 * 128 / med, 1)}
        for method in ("augmix", "augmix_jsd"):
            row[method]["vs_standard"] = round(row[method]["epoch_s"] / row["standard"]["epoch_s"], 2)
            row[method]["vs_standard_per_round"] = [
                round(a / b, 2) for a, b in zip(times[method], times["standard"], strict=True)]
        results[model] = row
        print(f"{model}: AugMix+JSD epoch = {row['augmix_jsd']['vs_standard']}x Standard (medians; per round "
              f"{row['augmix_jsd']['vs_standard_per_round']})")
    save("train_throughput", {"command": "python benchmarks/train_throughput.py " + " ".join(sys.argv[1:]),
                              "data": note, "machine": machine(), "threads": torch.get_num_threads(),
                              "batch_size": 128, "rounds": args.rounds, "results": results})


if __name__ == "__main__":
    main()
