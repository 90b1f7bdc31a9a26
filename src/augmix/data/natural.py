"""Natural distribution shifts in their released layouts: CIFAR-10.1, ImageNet-R, ImageNet-A,
ImageNet-Sketch and ImageNetV2.

* CIFAR-10.1 (Recht et al., 2018), v6: ``CIFAR-10.1/cifar10.1_v6_data.npy`` (uint8
  [2000, 32, 32, 3]) and ``cifar10.1_v6_labels.npy``, in CIFAR-10's classes; read like the
  CIFAR-10 test split.
* ImageNet-R and ImageNet-A: ``imagenet-r/<wnid>/*`` and ``imagenet-a/<wnid>/*``, 200 classes
  each. Their authors evaluate a 1000-class model on the 200 matching logits
  (``net(x)[:, imagenet_r_mask]`` in hendrycks/imagenet-r, ``net(x)[:, indices_in_1k]`` in
  hendrycks/natural-adv-examples); ``class_subset`` does the same for any model whose classes
  are known, restricted to the classes both share.
* ImageNet-Sketch: ``sketch/<wnid>/*``, 1000 classes.
* ImageNetV2 matched-frequency: ``imagenetv2-matched-frequency-format-val/<k>/*``, where the
  folder name ``k`` is the ImageNet class *index* (0-999), not a sorted name: read by index.

All the ImageNet sets are read with Resize(256) + CenterCrop(224), as their evaluation
scripts do.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from augmix.data.cifar import ImageArrays
from augmix.data.download import DataError, default_root, ensure

# name -> (archive key in sources.ARCHIVES, folder the release unpacks to, class list of the set)
IMAGENET_SHIFTS: dict[str, tuple[str, str, str]] = {
    "imagenet-r": ("imagenet-r", "imagenet-r", "imagenet_r"),
    "imagenet-a": ("imagenet-a", "imagenet-a", "imagenet_a"),
    "imagenet-sketch": ("imagenet-sketch", "sketch", "imagenet_1k"),
    "imagenet-v2": ("imagenet-v2", "imagenetv2-matched-frequency-format-val", "imagenet_1k"),
}
CIFAR_SHIFTS = ("cifar10.1",)


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> dict[str, list[str]]:
    """The ImageNet-1k synsets in class-index order and the 200-class subsets (see the JSON's _source)."""
    data = json.loads((resources.files("augmix.data") / "imagenet_classes.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def load_cifar10_1(root: str | Path | None = None, download: bool = True) -> ImageArrays:
    """CIFAR-10.1 v6 (2,000 images), downloaded and verified if needed."""
    data_path = ensure("cifar10.1-data", Path(root) if root else None, download)
    labels_path = ensure("cifar10.1-labels", Path(root) if root else None, download)
    return read_cifar10_1(data_path.parent, data_path, labels_path)


def read_cifar10_1(folder: str | Path, data_path: Path | None = None, labels_path: Path | None = None) -> ImageArrays:
    """A CIFAR-10.1 folder holding ``cifar10.1_v6_data.npy`` and ``cifar10.1_v6_labels.npy``."""
    folder = Path(folder)
    data_path = data_path or folder / "cifar10.1_v6_data.npy"
    labels_path = labels_path or folder / "cifar10.1_v6_labels.npy"
    for p in (data_path, labels_path):
        if not p.is_file():
            raise DataError(f"{p} is missing; a CIFAR-10.1 folder holds cifar10.1_v6_data.npy and "
                            "cifar10.1_v6_labels.npy (github.com/modestyachts/CIFAR-10.1, datasets/)")
    try:
        x = np.load(data_path, allow_pickle=False)
        y = np.load(labels_path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - any damage, one line
        raise DataError(f"cannot read CIFAR-10.1 from {folder} ({type(err).__name__}); download it again") from None
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8 or y.shape != (len(x),):
        raise DataError(f"{data_path} holds {x.dtype} {x.shape} and {labels_path} {y.shape}; expected uint8 "
                        "[N, 32, 32, 3] and [N] labels; download CIFAR-10.1 again")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{labels_path} holds labels outside 0-9; it is not CIFAR-10.1")
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return ImageArrays(x, y.astype(np.int64), classes, f"CIFAR-10.1 v6 at {folder} ({len(y)} images)")


@dataclass
class ShiftFolder:
    """One ImageNet shift set on disk: every image with the synset it shows."""

    name: str
    root: Path
    samples: list[tuple[str, str]]  # (file, wnid)

    @property
    def wnids(self) -> list[str]:
        return sorted({w for _, w in self.samples})


def open_imagenet_shift(name: str, root: str | Path | None = None, *, download: bool = False) -> ShiftFolder:
    """Open ``name`` (imagenet-r, imagenet-a, imagenet-sketch, imagenet-v2).

    ``root`` is the set's own folder (e.g. ``.../imagenet-r``) or a data root holding it;
    with ``download``, a missing set is fetched into the data root and verified.
    """
    from augmix.data.images import walk_image_tree

    if name not in IMAGENET_SHIFTS:
        raise ValueError(f"unknown ImageNet shift {name!r}; choose from {', '.join(IMAGENET_SHIFTS)}")
    key, folder_name, class_list = IMAGENET_SHIFTS[name]
    root = Path(root) if root is not None else default_root()
    if (root / folder_name).is_dir():
        folder = root / folder_name
    elif _looks_like_set(root):
        folder = root
    else:
        folder = ensure(key, root, download)
    known = set(imagenet_classes()[class_list])
    by_index = name == "imagenet-v2"
    one_k = imagenet_classes()["imagenet_1k"]
    tree = walk_image_tree(folder, allow_empty=True)
    for cls in tree.classes:
        if by_index and (not cls.isdigit() or not 0 <= int(cls) < 1000):
            raise DataError(f"{folder / cls} is not a class-index folder (0-999) of ImageNetV2")
        if not by_index and cls not in known:
            raise DataError(f"{folder / cls} is not one of the {len(known)} classes of {name}; is {folder} the "
                            f"{name} release?")
    samples = [(str(i.path), one_k[int(i.cls)] if by_index else i.cls) for i in tree.images]
    if not samples:
        raise DataError(f"{folder} holds no images in class folders; expected {folder}/<class>/<image>")
    return ShiftFolder(name, folder, samples)


def _looks_like_set(folder: Path) -> bool:
    """A folder whose sub-folders are synsets or class indices (the set itself, not a data root)."""
    if not folder.is_dir():
        return False
    subs = [d for d in os.listdir(folder) if (folder / d).is_dir() and not d.startswith(".")]
    return bool(subs) and all((d.startswith("n") and d[1:].isdigit()) or d.isdigit() for d in subs)


def model_classes(num_classes: int, classes: tuple[str, ...] | None) -> list[str]:
    """The synsets of a model's outputs: as its checkpoint records them, or ImageNet-1k's order."""
    if classes is not None:
        return list(classes)
    if num_classes == 1000:
        return imagenet_classes()["imagenet_1k"]
    raise DataError(f"the model has {num_classes} outputs and its checkpoint does not record which ImageNet "
                    "classes they are; ImageNet shifts need a 1000-class model or an augmix checkpoint trained "
                    "on an ImageFolder (which records its class folders)")


def class_subset(model_wnids: list[str], shift: ShiftFolder) -> tuple[list[tuple[str, int]], np.ndarray, list[str]]:
    """What to evaluate: (samples with labels among the shared classes, model logits to keep, those classes).

    The shared classes are ordered as the model's outputs, so for ImageNet-R/-A and a
    1000-class model this is the published 200-logit mask and ImageFolder's labels.
    """
    index = {w: i for i, w in enumerate(model_wnids)}
    shared = sorted({w for _, w in shift.samples if w in index}, key=index.get)
    if not shared:
        raise DataError(f"the model's classes and {shift.name}'s share no synset; nothing to evaluate")
    label = {w: k for k, w in enumerate(shared)}
    samples = [(p, label[w]) for p, w in shift.samples if w in label]
    return samples, np.array([index[w] for w in shared], dtype=np.int64), shared
