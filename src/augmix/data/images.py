"""Where images come from: the one walker of image trees, one set of image extensions
(torchvision's), and readers that yield images with their labels.

Every reader of a class-folder tree in augmix goes through ``walk_image_tree``: the clean
evaluation, the -C/-C-bar/-P generators' sources, the corrupted trees and the natural shifts.
Classes are the tree's sub-folders in sorted order (as torchvision's ``ImageFolder``), files
are found at any depth below their class folder, and hidden files (a killed run's
temporaries) are never data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from augmix.data.download import DataError
from augmix.io import check_pixels, open_image

# torchvision.datasets.folder.IMG_EXTENSIONS (ImageFolder's), restated so that walking a tree (the
# -C generator's parent) does not import torch; tests/test_layout.py holds it equal to torchvision's.
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def is_image_file(path: str | os.PathLike) -> bool:
    """An image by its extension (any case), and not hidden."""
    name = Path(path).name
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


@dataclass(frozen=True)
class TreeImage:
    """One image of a class-folder tree: its file, class folder and index of that class."""

    path: Path
    cls: str
    label: int
    relative: str  # the file below its class folder: "a.JPEG", or "sub/a.JPEG" in a nested tree

    def load(self, keep_mode: bool = False):
        """The image as 8-bit RGB (PIL; ``keep_mode``: grey and RGBA as they are), with a one-line
        error for a file that is not one."""
        return open_image(self.path, keep_mode)

    @property
    def sample(self) -> tuple[str, int]:
        """(file, class index), as an entry of torchvision's ``ImageFolder.samples``."""
        return str(self.path), self.label


@dataclass(frozen=True)
class ImageTree:
    """A class-folder tree ``ROOT/<class>/.../<image>``: its classes and images in ImageFolder's order."""

    root: Path
    classes: list[str]
    images: list[TreeImage]

    def describe(self) -> str:
        if not self.classes:
            return f"image tree {self.root} ({len(self.images)} images)"
        return f"ImageFolder {self.root} ({len(self.images)} images, {len(self.classes)} classes)"


def walk_image_tree(root: str | os.PathLike, *, extensions: tuple[str, ...] = IMAGE_EXTENSIONS,
                    allow_empty: bool = False) -> ImageTree:
    """The classes and images of ``root``; every class folder counts, even an empty one (as ImageFolder)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no such image folder: {root}")
    classes = sorted(d for d in os.listdir(root) if (root / d).is_dir() and not d.startswith("."))
    images = []
    for label, cls in enumerate(classes):
        for dirpath, dirnames, files in os.walk(root / cls):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fname in sorted(files):
                if not fname.startswith(".") and fname.lower().endswith(extensions):
                    path = Path(dirpath) / fname
                    images.append(TreeImage(path, cls, label, path.relative_to(root / cls).as_posix()))
    images.sort(key=lambda i: (i.label, str(i.path)))
    if not images and not allow_empty:
        raise DataError(f"found no images in class sub-folders of {root} (expected ROOT/<class>/<image>)")
    return ImageTree(root, classes, images)


def walk_files(root: str | os.PathLike, *, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> ImageTree:
    """Every image file below ``root`` at any depth (no class folders needed: COCO's ``val2017/``,
    Cityscapes' ``leftImg8bit/val/<city>/``), in sorted order, each named by its path below ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no such image folder: {root}")
    images = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(files):
            if not fname.startswith(".") and fname.lower().endswith(extensions):
                path = Path(dirpath) / fname
                images.append(TreeImage(path, "", 0, path.relative_to(root).as_posix()))
    images.sort(key=lambda i: i.relative)
    if not images:
        raise DataError(f"found no images below {root} (any of {', '.join(extensions)})")
    return ImageTree(root, [], images)


def read_image_arrays(tree: ImageTree) -> tuple[np.ndarray, np.ndarray]:
    """Every image of ``tree`` as uint8 [N, H, W, 3] (they must share one size) and its labels."""
    arrays = [np.asarray(i.load()) for i in tree.images]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise DataError(f"the CIFAR layout needs images of one size; {tree.root} has {sorted(shapes)[:3]}...: "
                        "resize them first, or use the ImageNet layout")
    return np.stack(arrays), np.array([i.label for i in tree.images], dtype=np.int64)


def check_headers(paths: list[Path], progress: bool = False) -> None:
    """Refuse a file that is not an image before any output is written (headers only)."""
    from PIL import Image, UnidentifiedImageError
    from tqdm import tqdm

    for path in tqdm(paths, desc="checking images", unit="img", disable=not progress or len(paths) < 5000):
        try:
            with Image.open(path) as img:
                check_pixels(img, path)
        except ValueError as err:
            raise DataError(str(err)) from None
        except Image.DecompressionBombError:
            raise DataError(f"{path} is larger than Pillow's limit against decompression bombs; shrink it first") \
                from None
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            raise DataError(f"cannot read {path} as an image ({type(err).__name__}); remove it from the "
                            "folder or replace it") from None


class Resize(Enum):
    """How evaluation images are brought to the model's 224 px."""

    ALWAYS = "always"  # Resize(256) + CenterCrop(224), as ImageNet's validation images are read
    AS_STORED = "as stored"  # ImageNet-C's trees, already 224 px
    AUTO = "auto"  # only images that are not 224 x 224 already (ImageNet-3DCC)


class EvalImages:
    """(file, label) samples as uint8 CHW tensors, sized as ``resize`` says (a map-style dataset for
    ``torch.utils.data.DataLoader``)."""

    def __init__(self, samples: list[tuple[str | Path, int]], resize: Resize) -> None:
        import torchvision.transforms as T

        if not isinstance(resize, Resize):
            raise TypeError(f"resize must be a Resize, got {resize!r}")
        self.samples = [(str(p), int(y)) for p, y in samples]
        self.tf = None if resize is Resize.AS_STORED else T.Compose([T.Resize(256), T.CenterCrop(224)])
        self.auto = resize is Resize.AUTO

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, y = self.samples[i]
        img = open_image(path)
        if self.tf is not None and not (self.auto and img.size == (224, 224)):
            img = self.tf(img)
        import torch

        return torch.from_numpy(np.array(img)).permute(2, 0, 1), y
