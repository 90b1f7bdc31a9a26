"""ImageFolder data for ImageNet-style training and evaluation, and the per-image loader path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torchvision.datasets import ImageFolder

from augmix.augment import AugMixConfig, AugMixDataset
from augmix.augment.apply import to_float
from augmix.data.download import DataError


def image_folder_pair(root: str | Path | None, stylized: str | Path | None = None):
    """``ROOT/train`` with RandomResizedCrop(224) + flip (as uint8 tensors) and ``ROOT/val`` raw.

    ``stylized``: a Stylized-ImageNet train ImageFolder with the same classes, mixed in (the
    union of both sets, as Geirhos et al. train "SIN+IN").
    """
    if root is None:
        raise DataError("ImageNet training needs --data-dir pointing at a folder with train/ and val/ "
                        "ImageFolder trees")
    root = Path(root)
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise DataError(f"missing {root / split}; expected ROOT/train/<class>/* and ROOT/val/<class>/*")
    tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.PILToTensor()])
    train = ImageFolder(str(root / "train"), tf)
    val = ImageFolder(str(root / "val"))
    if stylized is not None:
        extra = ImageFolder(str(stylized), tf)
        if extra.classes != train.classes:
            raise DataError(f"{stylized} has classes different from {root / 'train'}; the stylized set must "
                            "use the same class folders")
        both = torch.utils.data.ConcatDataset([train, extra])
        both.classes, both.root, both.samples = train.classes, train.root, train.samples + extra.samples
        train = both
    return train, val


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


class _Views(torch.utils.data.Dataset):
    """Wraps AugMixDataset / a plain dataset so every item is (float tensor or [3, C, H, W], label)."""

    def __init__(self, base, method: str, config: AugMixConfig) -> None:
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


class _FolderPIL(torch.utils.data.Dataset):
    def __init__(self, folder: ImageFolder) -> None:
        self.folder = folder
        self.tf = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip()])

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int):
        path, y = self.folder.samples[i]
        with Image.open(path) as im:
            return self.tf(im.convert("RGB")), y


def loader_dataset(data, cfg, views: int) -> torch.utils.data.Dataset:
    """The per-image (DataLoader worker) training set for ``cfg.method``."""
    base = _ArrayPIL(data.train_x, data.train_y) if data.train_x is not None else _FolderPIL(data.train_folder)
    return _Views(base, cfg.method, AugMixConfig.parse(cfg.augmix))


class EvalFolder(torch.utils.data.Dataset):
    """Images of an ImageFolder as uint8 CHW tensors; ``resize`` applies Resize(256)+CenterCrop(224).

    ImageNet-C folders are already 224 px and are read with ``resize=False``.
    """

    def __init__(self, root: str | Path, resize: bool) -> None:
        self.folder = ImageFolder(str(root))
        self.tf = T.Compose([T.Resize(256), T.CenterCrop(224)]) if resize else None

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int):
        path, y = self.folder.samples[i]
        with Image.open(path) as im:
            img = im.convert("RGB")
            if self.tf is not None:
                img = self.tf(img)
            return torch.from_numpy(np.array(img)).permute(2, 0, 1), y
