"""One epoch of training batches for this process, batched or per image.

* ``ArrayBatches``: CIFAR-style arrays in memory; yields uint8 batches after the standard
  flip + crop, drawn per image from the epoch's generator (AugMix then runs on the batch).
* ``LoaderBatches``: a DataLoader over a dataset: an ImageFolder giving uint8 crops, or
  (the per-image path) workers that crop, flip and AugMix each image in PIL as the
  reference does, giving float ``[B, C, H, W]`` or ``[B, views, C, H, W]`` for AugMix+JSD.

Both drop the last partial batch and split the data between DDP processes.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torchvision.transforms as T
from PIL import Image
from torchvision.datasets import ImageFolder

from augmix.augment import AugMixConfig, AugMixDataset
from augmix.augment.apply import to_float
from augmix.data.crop_flip import random_crop_flip
from augmix.io import open_image
from augmix.train.config import TrainConfig
from augmix.train.data import TrainData
from augmix.train.distributed import Dist


def _steps(n: int, batch_size: int, dist: Dist) -> tuple[int, int]:
    """(images per step on this process, steps per epoch), refusing sizes that give no step."""
    per_rank = batch_size // dist.world
    if per_rank < 1:
        raise ValueError(f"batch_size {batch_size} is smaller than the number of processes ({dist.world}); "
                         f"use --batch-size {dist.world} or more")
    steps = (n // dist.world) // per_rank
    if steps < 1:
        raise ValueError(f"batch_size {batch_size} is larger than the training set ({n} images"
                         f"{f' over {dist.world} processes' if dist.world > 1 else ''}); use --batch-size "
                         f"{max(dist.world, n // 2)} or less")
    return per_rank, steps


class ArrayBatches:
    """uint8 batches of in-memory images, flipped and cropped per image."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int, dist: Dist,
                 padding: int = 4) -> None:
        self.x, self.y, self.seed, self.dist, self.padding = x, y, seed, dist, padding
        self.per_rank, self.steps = _steps(len(y), batch_size, dist)

    def __len__(self) -> int:
        return self.steps

    def epoch(self, epoch: int, gen: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n, d = len(self.y), self.dist
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 1000 + epoch))
        mine = order[d.rank::d.world][: n // d.world]
        for i in range(0, self.steps * self.per_rank, self.per_rank):
            idx = mine[i:i + self.per_rank]
            x = self.x[idx].to(d.device, non_blocking=True)
            yield random_crop_flip(x, self.padding, gen), self.y[idx].to(d.device)


class LoaderBatches:
    """Float batches from DataLoader workers that augment each image in PIL."""

    def __init__(self, dataset: torch.utils.data.Dataset, batch_size: int, seed: int, workers: int,
                 dist: Dist) -> None:
        self.dataset, self.seed, self.workers, self.dist = dataset, seed, workers, dist
        self.per_rank, self.steps = _steps(len(dataset), batch_size, dist)

    def __len__(self) -> int:
        return self.steps

    def epoch(self, epoch: int, gen: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        d = self.dist
        sampler = None
        if d.world > 1:
            sampler = torch.utils.data.DistributedSampler(self.dataset, d.world, d.rank, shuffle=True,
                                                          seed=self.seed, drop_last=True)
            sampler.set_epoch(epoch)
        g = torch.Generator().manual_seed(self.seed * 1000 + epoch)
        yield from torch.utils.data.DataLoader(self.dataset, batch_size=self.per_rank, shuffle=sampler is None,
                                               sampler=sampler, num_workers=self.workers, drop_last=True,
                                               generator=g, persistent_workers=False)


def make_batches(data: TrainData, cfg: TrainConfig, dist: Dist) -> ArrayBatches | LoaderBatches:
    """The batch source ``cfg.augment`` asks for.

    Batched: uint8 batches (arrays: flip + crop here; ImageFolder: RandomResizedCrop(224) +
    flip in the workers), for AugMix and the baselines to run on whole batches. Per image:
    float views made in the workers by the reference's PIL path.
    """
    if cfg.augment_on(dist.device) == "batched":
        if data.train_x is not None:
            return ArrayBatches(data.train_x, data.train_y, cfg.batch_size, cfg.seed, dist)
        return LoaderBatches(data.train_folder, cfg.batch_size, cfg.seed, cfg.workers, dist)
    if data.train_x is not None:
        base = _ArrayPIL(data.train_x, data.train_y)
    else:
        base = _FolderPIL(data.train_folder)
    return LoaderBatches(_Views(base, cfg.method, cfg.augmix), cfg.batch_size, cfg.seed, cfg.workers, dist)


class _ArrayPIL(torch.utils.data.Dataset):
    """CIFAR arrays as (PIL image after flip + crop, label): the reference's train transform."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y
        self.tf = T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4)])

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        img = Image.fromarray(self.x[i].permute(1, 2, 0).numpy())
        return self.tf(img), int(self.y[i])


class _FolderPIL(torch.utils.data.Dataset):
    """ImageFolder images as (PIL image after RandomResizedCrop(224) + flip, label)."""

    def __init__(self, folder: ImageFolder) -> None:
        self.folder = folder
        self.tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip()])

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int):
        path, y = self.folder.samples[i]
        return self.tf(open_image(path)), y


class _Views(torch.utils.data.Dataset):
    """Every item as (float [C, H, W], label), or ([views, C, H, W], label) for AugMix+JSD."""

    def __init__(self, base: torch.utils.data.Dataset, method: str, config: AugMixConfig) -> None:
        self.base = base
        self.method = method
        self.augmix = AugMixDataset(base, to_float, jsd=method == "augmix_jsd", config=config)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int):
        if self.method == "standard":
            img, y = self.base[i]
            return to_float(img), y
        out, y = self.augmix[i]
        return (torch.stack(out) if isinstance(out, tuple) else out), y
