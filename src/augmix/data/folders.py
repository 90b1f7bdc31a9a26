"""ImageFolder data for ImageNet-style training and evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchvision.transforms as T
from torchvision.datasets import ImageFolder

from augmix.data.download import DataError
from augmix.io import open_image


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
    train = ImageFolder(str(root / "train"), tf, is_valid_file=is_image_file)
    val = ImageFolder(str(root / "val"), is_valid_file=is_image_file)
    if stylized is not None:
        extra = ImageFolder(str(stylized), tf, is_valid_file=is_image_file)
        if extra.classes != train.classes:
            raise DataError(f"{stylized} has classes different from {root / 'train'}; the stylized set must "
                            "use the same class folders")
        both = torch.utils.data.ConcatDataset([train, extra])
        both.classes, both.root, both.samples = train.classes, train.root, train.samples + extra.samples
        train = both
    return train, val


def is_image_file(path: str) -> bool:
    """An image by its extension, and not hidden (a killed run's temporary files are hidden)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return not Path(path).name.startswith(".") and path.lower().endswith(IMG_EXTENSIONS)


class EvalImages(torch.utils.data.Dataset):
    """(file, label) samples as uint8 CHW tensors; ``resize`` applies Resize(256)+CenterCrop(224).

    ImageNet-C folders are already 224 px and are read with ``resize=False``.
    """

    def __init__(self, samples: list[tuple[str | Path, int]], resize: bool) -> None:
        self.samples = [(str(p), int(y)) for p, y in samples]
        self.tf = T.Compose([T.Resize(256), T.CenterCrop(224)]) if resize else None

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, y = self.samples[i]
        img = open_image(path)
        if self.tf is not None:
            img = self.tf(img)
        return torch.from_numpy(np.array(img)).permute(2, 0, 1), y


def folder_samples(root: str | Path) -> list[tuple[str, int]]:
    """(file, class index) of an ImageFolder tree, classes in sorted order (torchvision's)."""
    return ImageFolder(str(root), is_valid_file=is_image_file).samples
