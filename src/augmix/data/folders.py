"""ImageFolder data for ImageNet-style training."""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision.transforms as T
from torchvision.datasets import ImageFolder

from augmix.data.download import DataError
from augmix.data.images import is_image_file


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
