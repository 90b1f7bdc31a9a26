"""The ImageNet training input path end to end: JPEG photographs to AugMix+JSD training batches.

    python benchmarks/imagenet_input.py [--images 256] [--batch 32] [--workers 2] [--rounds 3]
                                        [--reference-dir DIR] [--folder DIR]

Every arm turns the same JPEG photographs into what one AugMix+JSD training step consumes:
decode, RandomResizedCrop(224), horizontal flip, then the clean view and two AugMix views
(severity 1, width 3, depth 1-3, alpha 1: imagenet.py's defaults), as float tensors, in
batches of ``--batch`` from a DataLoader with ``--workers`` worker processes:

- ``reference``: google-research/augmix ``imagenet.py``'s own ``AugMixDataset`` and ``aug``
  (``--reference-dir``: a checkout, kept outside this project; the arm is left out without it);
- ``timm``: timm's ``AugMixDataset(num_splits=3)`` over the ImageFolder, with
  ``create_transform(224, is_training=True, auto_augment="augmix-m1-w3", interpolation="bilinear",
  separate=True)``;
- ``ours per_image``: ``augmix train --dataset imagenet --method augmix_jsd --augment per_image``'s
  loader (``train.batches.make_batches``): the workers make the three views (AugMix through the
  compiled kernel); the view layout and normalisation run on the training device after the copy;
- ``ours batched, AugMix on this CPU``: ``--augment batched`` with the training device the CPU
  (``train.pipeline.build_pipeline``): the workers crop and flip to uint8, the main process runs
  ``AugMixBatch`` and the normalisation - the whole input path of a CPU-only run;
- ``ours batched, loader only``: the same loader without its stages: what the CPU does when the
  stages (AugMix included) run on a GPU (not measured here: no GPU).

The reference and timm arms end with imagenet.py's ``torch.cat(images, 0)`` of the views on the
CPU, as its training loop does before the copy to the GPU.

Images per second: wall time of one epoch over ``--images`` photographs, from making the loader
(its workers' start included, as in every epoch) to the last batch, ``--rounds`` interleaved
rounds, median and range. The photographs are the developers' Imagewoof
copy (``--folder`` for others), as a class-folder tree with train/ and val/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from _common import git_commit, machine, photo_subset, round_order, save

from augmix.recipes import RECIPES
from augmix.train.config import TrainConfig

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # imagenet.py's normalisation


def _reference_loader(root: Path, batch: int, workers: int, reference_dir: str):
    """imagenet.py's training loader, its own classes (it parses its arguments on import)."""
    from torchvision import datasets, transforms

    argv, sys.argv = sys.argv, ["imagenet.py", str(root), str(root)]
    sys.path.insert(0, reference_dir)
    try:
        import imagenet  # the published module, from the user's checkout
    finally:
        sys.argv = argv
    train = datasets.ImageFolder(str(root / "train"), transforms.Compose(
        [transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip()]))
    preprocess = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    return torch.utils.data.DataLoader(imagenet.AugMixDataset(train, preprocess), batch_size=batch, shuffle=True,
                                       num_workers=workers, drop_last=True)


def _timm_loader(root: Path, batch: int, workers: int):
    from timm.data import AugMixDataset, create_transform
    from torchvision import datasets

    tf = create_transform(224, is_training=True, auto_augment="augmix-m1-w3", interpolation="bilinear",
                          mean=MEAN, std=STD, separate=True)
    ds = AugMixDataset(datasets.ImageFolder(str(root / "train")), num_splits=3)
    ds.transform = tf
    return torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True)


def _concat(loader):
    """imagenet.py's step input: the views concatenated on the CPU (``torch.cat(images, 0)``)."""
    for views, _ in loader:
        yield torch.cat(views, 0)


def _ours(root: Path, batch: int, workers: int, augment: str, stages: bool):
    """The training run's own batch source and, with ``stages``, its pipeline on this CPU."""
    from augmix.train.batches import make_batches
    from augmix.train.data import load_train_data
    from augmix.train.distributed import Dist
    from augmix.train.pipeline import build_pipeline

    cfg = TrainConfig(dataset="imagenet", data_dir=str(root), method="augmix_jsd", augment=augment,
                      batch_size=batch, workers=workers, augmix=RECIPES["imagenet-resnet50"]["augmix"])
    data = load_train_data(cfg)
    batches = make_batches(data, cfg, Dist())
    pipeline = build_pipeline(cfg, data.mean_std, torch.device("cpu"))

    def run():
        gen = torch.Generator().manual_seed(0)
        if not stages:
            yield from batches.epoch(0, gen)
            return
        for step in pipeline.run(batches.epoch(0, gen), gen, net=None):
            yield step.x

    return run


def _rate(make, per_batch: int) -> float:
    """Images per second over one epoch: from making the loader (its workers' start included, as in
    every epoch of a run) to the last batch. Timing from the first batch instead would count the
    batches the workers prefetched meanwhile as free."""
    t0, n = time.perf_counter(), 0
    for _ in make():
        n += per_batch
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reference-dir", help="a checkout of google-research/augmix (kept outside this project)")
    ap.add_argument("--folder", type=Path, help="a class-folder tree of photographs (default: the Imagewoof copy)")
    ap.add_argument("--out", default="imagenet_input")
    args = ap.parse_args()
    torch.set_num_threads(1)  # the workers fill the cores; the batched arm's main process is one more
    with tempfile.TemporaryDirectory() as tmp:
        photos, note = photo_subset(args.folder, args.images, Path(tmp))
        root = Path(tmp) / "imagenet"
        root.mkdir()
        os.symlink(photos, root / "train")
        os.symlink(photos, root / "val")
        arms = {}
        if args.reference_dir:
            arms["reference imagenet.py"] = lambda: _concat(_reference_loader(root, args.batch, args.workers,
                                                                              args.reference_dir))
        arms["timm AugMixDataset"] = lambda: _concat(_timm_loader(root, args.batch, args.workers))
        arms["ours per_image"] = _ours(root, args.batch, args.workers, "per_image", stages=False)
        arms["ours batched, AugMix on this CPU"] = _ours(root, args.batch, args.workers, "batched", stages=True)
        arms["ours batched, loader only"] = _ours(root, args.batch, args.workers, "batched", stages=False)
        rates: dict[str, list[float]] = {name: [] for name in arms}
        for r in range(args.rounds):
            for name, make in round_order(arms, r):
                rates[name].append(_rate(make, args.batch))
                print(f"round {r + 1}: {name}: {rates[name][-1]:.1f} images/s", flush=True)
    ref = "reference imagenet.py" if args.reference_dir else "timm AugMixDataset"
    results = {name: {"images_per_s_median": statistics.median(v), "range": [min(v), max(v)], "rounds": v,
                      f"vs_{ref.split()[0]}": statistics.median(v) / statistics.median(rates[ref])}
               for name, v in rates.items()}
    for name, res in results.items():
        print(f"{name:>24}: {res['images_per_s_median']:7.1f} images/s  (range {res['range'][0]:.1f}-"
              f"{res['range'][1]:.1f})  {res[f'vs_{ref.split()[0]}']:.2f}x {ref.split()[0]}")
    save(args.out, {"command": " ".join(["python benchmarks/imagenet_input.py", *sys.argv[1:]]),
                    "commit": git_commit(), "machine": machine(), "data": note, "images": args.images,
                    "batch": args.batch, "workers": args.workers, "rounds": args.rounds,
                    "unit": "AugMix+JSD training images (clean + 2 AugMix views each) per second, wall, "
                            "one epoch including the workers' start", "results": results})


if __name__ == "__main__":
    main()
