"""CIFAR-10 / CIFAR-100 in the official python layout, read by our own loader.

The files are pickles of dicts with ``data`` (uint8 [N, 3072], channel-planar rows) and
``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100). We do not check md5 sums of the
extracted files (checksums belong to downloaded archives), but we do check every file's
structure and report damage in one line.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from augmix.data.download import DataError, ensure

LAYOUT = {
    # name: (folder, train files, test files, label key, meta file, label-names key)
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                "labels", "batches.meta", "label_names"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "fine_labels", "meta", "fine_label_names"),
}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}


@dataclass
class ImageArrays:
    """A labelled image set in memory: ``images`` uint8 [N, H, W, 3], ``labels`` int64 [N]."""

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    source: str  # provenance: where the pixels came from

    def __len__(self) -> int:
        return len(self.labels)


class _CifarUnpickler(pickle.Unpickler):
    """Admits only what the official CIFAR pickles hold: builtins and numpy arrays.

    Any other global (``os.system``, ``subprocess.Popen``, ...) is refused, so a crafted
    batch file cannot run code when it is read.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR batch never holds")
        if module == "numpy":
            return getattr(np, name)
        try:
            import numpy._core.multiarray as multiarray  # numpy >= 2
        except ImportError:
            import numpy.core.multiarray as multiarray
        return getattr(multiarray, name)


def _unpickle(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"missing {path}; the {path.parent.name} folder is incomplete: delete it and run "
                        "again to re-download, or copy the complete official folder there")
    try:
        with open(path, "rb") as f:
            obj = _CifarUnpickler(f, encoding="latin1").load()
    except Exception as err:  # noqa: BLE001 - whatever a damaged or crafted file raises, one line
        raise DataError(f"{path} is truncated or corrupt ({err.__class__.__name__}: {err}); replace it "
                        "with a good copy, or delete its folder and run again to re-download") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path} is not a CIFAR batch (expected a pickled dict)")
    return obj


def read_cifar_folder(name: str, folder: Path, train: bool) -> ImageArrays:
    """Read the train or test split from an unpacked official folder."""
    _, train_files, test_files, label_key, meta_file, names_key = LAYOUT[name]
    images, labels = [], []
    for fname in train_files if train else test_files:
        batch = _unpickle(folder / fname)
        data, y = batch.get("data"), batch.get(label_key)
        if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or y is None \
                or len(y) != data.shape[0]:
            raise DataError(f"{folder / fname} does not have the CIFAR layout ('data' [N, 3072] uint8 and "
                            f"'{label_key}' of length N); replace it with the official file")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        try:
            labels.append(np.asarray(y, dtype=np.int64))
        except (OverflowError, TypeError, ValueError):  # e.g. a label of 2**70, or not a number
            raise DataError(f"{folder / fname} holds labels that are not class numbers; replace it with the "
                            "official file") from None
    meta = _unpickle(folder / meta_file)
    classes = [str(c) for c in meta.get(names_key, [])]
    y = np.concatenate(labels)
    if len(classes) != NUM_CLASSES[name] or y.min() < 0 or y.max() >= NUM_CLASSES[name]:
        raise DataError(f"{folder} does not look like {name}: {len(classes)} class names, labels "
                        f"{y.min()}..{y.max()}")
    return ImageArrays(np.ascontiguousarray(np.concatenate(images)), y, classes,
                       source=f"{name} {'train' if train else 'test'} from {folder}")


def load_cifar(name: str, root: str | Path | None = None, train: bool = True,
               download: bool = True) -> ImageArrays:
    """CIFAR-10 or CIFAR-100 (official layout under ``root``), downloading if allowed."""
    if name not in LAYOUT:
        raise ValueError(f"unknown CIFAR dataset {name!r}; choose cifar10 or cifar100")
    return read_cifar_folder(name, ensure(name, root, download), train)
