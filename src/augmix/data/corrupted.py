"""Reading corrupted test sets: CIFAR-C style arrays (CIFAR-10-C / CIFAR-100-C, CIFAR-10-C-bar,
ours) and ImageNet-C style trees (ImageNet-C, ImageNet-C-bar, ImageNet-3DCC).

The readers know layouts, not corruption names: they list what a folder holds, and the
benchmark that opened it (``augmix.suite``) picks its corruptions from that, in its table's
order. CIFAR-C arrays are memory-mapped, so one corruption and severity is read without
loading the 150 MB file; every file is checked for shape and dtype with a one-line error.
ImageNet-C folders are already 224 px: they are read as they are, with no second resize
(the reference ``imagenet.py`` resizes them again).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from augmix.data.download import DataError, ensure
from augmix.data.images import walk_image_tree
from augmix.data.subsets import subset_from_meta
from augmix.io import COMPLETE
from augmix.results import Subset


@dataclass
class CifarC:
    """A CIFAR-C folder: ``<corruption>.npy`` [S*N, H, W, 3] uint8 and ``labels.npy`` [S*N]."""

    root: Path
    severities: list[int]
    n: int
    provenance: str
    subset: Subset | None = None  # the test-split images it was made from (None: all)

    @property
    def corruptions(self) -> list[str]:
        """The corruptions present (file stems), sorted."""
        return sorted(p.stem for p in self.root.glob("*.npy") if p.stem != "labels" and not p.name.startswith("."))

    def labels(self, severity: int | None = None) -> np.ndarray:
        y = _load(self.root / "labels.npy", (len(self.severities) * self.n,), None)
        return np.asarray(y if severity is None else y[self._rows(severity)], dtype=np.int64)

    def _rows(self, severity: int) -> slice:
        if severity not in self.severities:
            raise ValueError(f"{self.root} has severities {self.severities}, not {severity}")
        k = self.severities.index(severity)
        return slice(k * self.n, (k + 1) * self.n)

    def images(self, corruption: str, severity: int) -> np.ndarray:
        """Memory-mapped uint8 [N, H, W, 3] of one corruption at one severity."""
        path = self.root / f"{corruption}.npy"
        if not path.exists():
            raise DataError(f"{path} is missing; generate it with `augmix corrupt` or re-download the set")
        arr = _load(path, (len(self.severities) * self.n, None, None, 3), np.uint8)
        return arr[self._rows(severity)]


def _load(path: Path, shape: tuple, dtype) -> np.ndarray:
    try:
        arr = np.load(path, mmap_mode="r")  # allow_pickle=False: object arrays are refused
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except Exception as err:  # noqa: BLE001 - whatever a damaged file raises, one line
        raise DataError(f"{path} is truncated or not a .npy array ({type(err).__name__}); delete it and generate "
                        "or download it again") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path} is not a .npy array (an .npz archive?); delete it and generate or download it "
                        "again")
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape, strict=True))
    if not ok or (dtype is not None and arr.dtype != dtype):
        want = "x".join("?" if s is None else str(s) for s in shape)
        raise DataError(f"{path} has shape {arr.shape} {arr.dtype}, expected [{want}]"
                        f"{' ' + np.dtype(dtype).name if dtype else ''}; delete it and generate or "
                        "download it again")
    return arr


def read_meta(root: Path) -> dict | None:
    """A generated folder's meta.json (None for a released set, which has none)."""
    meta_path = root / "meta.json"
    if not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if not isinstance(meta, dict):
            raise TypeError("not an object")
        return meta
    except (ValueError, TypeError, RecursionError) as err:
        raise DataError(f"{meta_path} is damaged ({type(err).__name__}); generate the folder again") from None


def open_cifar_c(root: str | Path, expected_n: int | None = None) -> CifarC:
    """Open a CIFAR-C folder (released, or written by ``augmix corrupt``).

    ``expected_n``: the size of the clean test split; a released folder (no meta.json) must
    hold that many images per severity, a generated one as many as it says it was made from.
    """
    root = Path(root)
    check_not_being_written(root)
    if not (root / "labels.npy").exists():
        raise DataError(f"{root} is not a CIFAR-C folder (no labels.npy); generate one with "
                        "`augmix corrupt --dataset cifar10 --out DIR` or download CIFAR-10-C")
    rows = len(_load(root / "labels.npy", (None,), None))
    meta = read_meta(root)
    if meta is not None:
        try:
            severities, n = [int(s) for s in meta["severities"]], int(meta["n_per_severity"])
            subset = subset_from_meta(meta)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DataError(f"{root / 'meta.json'} is damaged ({type(err).__name__}: {err}); generate the folder "
                            "again") from None
        provenance = f"generated by augmix corrupt (seed {meta.get('seed')}) from {meta.get('source', '?')}"
        _check_listed(root, meta.get("corruptions", []))
        if rows != len(severities) * n:
            raise DataError(f"{root / 'labels.npy'} has {rows} rows but meta.json claims {len(severities)} "
                            f"severities x {n} images; generate the folder again")
        if subset is None and expected_n is not None and n != expected_n:
            raise DataError(f"{root} holds {n} images per severity but the clean test split has {expected_n}; "
                            "it was made from other images - generate it from this test split")
    else:  # the released sets: 5 severities of the whole test split
        severities, subset = [1, 2, 3, 4, 5], None
        if rows % 5 or (expected_n is not None and rows != 5 * expected_n):
            want = f"5 x {expected_n} = {5 * expected_n}" if expected_n is not None else "a multiple of 5"
            raise DataError(f"{root} has no meta.json and {rows} rows, not {want} as a released set has; "
                            "restore its meta.json (sets written by augmix corrupt have one) or download the "
                            "released set again")
        n = rows // 5
        provenance = f"released -C set at {root}"
    return CifarC(root, severities, n, provenance, subset)


def _check_listed(root: Path, listed: list) -> None:
    """Every corruption a generated folder's meta.json lists is there: a missing one would
    otherwise drop out of the evaluation unnoticed."""
    missing = [c for c in listed if isinstance(c, str) and not (root / f"{c}.npy").is_file()]
    if missing:
        raise DataError(f"{root / (missing[0] + '.npy')} is missing though meta.json lists {missing[0]}; run the same "
                        "`augmix corrupt` command again to finish the set")


def check_not_being_written(root: Path) -> None:
    """Refuse a set that an augmix run is writing right now (its lock is held)."""
    from augmix.io import being_written

    if being_written(root):
        raise DataError(f"{root} is being written by another augmix run; evaluate it once that run has finished")


def load_released_cifar_c(name: str, root: str | Path | None = None, download: bool = True) -> CifarC:
    """CIFAR-10-C (``cifar10``) or CIFAR-100-C (``cifar100``): downloaded and verified if needed."""
    key = {"cifar10": "cifar10c", "cifar100": "cifar100c"}.get(name)
    if key is None:
        raise ValueError(f"no released -C set for {name!r}; choose cifar10 or cifar100")
    return open_cifar_c(ensure(key, root, download), expected_n=10000)


@dataclass
class FolderC:
    """An ImageNet-C style tree ``ROOT/<corruption>/<severity>/<class>/<image>``."""

    root: Path
    meta: dict | None = None

    @property
    def severities(self) -> list[int]:
        """The severities it holds: as its meta.json says (``augmix corrupt --severities``), else 1-5."""
        return sorted(int(s) for s in (self.meta or {}).get("severities", [1, 2, 3, 4, 5]))

    @property
    def corruptions(self) -> list[str]:
        """The corruption folders present (sub-folders holding severity folders), sorted."""
        return sorted(d for d in os.listdir(self.root) if not d.startswith(".") and (self.root / d).is_dir()
                      and any((self.root / d / s).is_dir() for s in os.listdir(self.root / d)))

    def folder(self, corruption: str, severity: int, *aliases: str) -> Path:
        """The folder of one corruption and severity: ``<severity>``, or the first of ``aliases``
        present (make_imagenet_c_bar.py names severity folders by their parameter). A folder that
        links outside the tree, or that ``augmix corrupt`` has not finished, is refused."""
        for name in (str(severity), *aliases):
            path = self.root / corruption / name
            if path.is_dir():
                check_finished(path, self.root, self.meta, "augmix corrupt")
                return path
        raise DataError(f"{self.root / corruption / str(severity)} is missing from the -C tree at {self.root}")

    def samples(self, corruption: str, severity: int, classes: list[str], *aliases: str) -> list[tuple[str, int]]:
        """(file, label) of one corruption and severity, labelled by class *name* against ``classes``
        (the clean set's), so a class folder missing here cannot shift the others' labels."""
        folder = self.folder(corruption, severity, *aliases)
        tree = walk_image_tree(folder)
        index = {c: k for k, c in enumerate(classes)}
        unknown = [c for c in tree.classes if c not in index]
        if unknown:
            raise DataError(f"{folder} holds class folder {unknown[0]!r}, which the clean set does not have; it was "
                            "made from other images")
        return [(str(i.path), index[i.cls]) for i in tree.images]


def check_finished(path: Path, root: Path, meta: dict | None, verb: str) -> None:
    """Refuse a folder of a tree-layout set that links outside the set, or that ``verb`` did not
    finish (it writes a completeness marker last into each folder)."""
    if root.resolve() not in path.resolve().parents:
        raise DataError(f"{path} links outside {root}; a set holds its own folders - replace the link with the "
                        "folder itself")
    if (meta or {}).get("complete_markers") and not (path / COMPLETE).exists():
        raise DataError(f"{path} is incomplete (its generation was interrupted); run the same `{verb}` command again "
                        "to finish it")


def open_folder_c(root: str | Path) -> FolderC:
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"no -C tree at {root}")
    check_not_being_written(root)
    found = FolderC(root, read_meta(root))
    if (found.meta or {}).get("layout") == "any-size":
        raise DataError(f"{root} was written by augmix corrupt --keep-size: images at their own sizes without class "
                        "folders, for a detection or segmentation pipeline's own evaluation; for a classifier, "
                        "generate the ImageNet-C layout (augmix corrupt --images IMAGEFOLDER)")
    if not found.corruptions:
        raise DataError(f"{root} holds no corruption folders (e.g. {root / 'gaussian_noise' / '1'}); "
                        "expected ROOT/<corruption>/<severity>/<class>/<image>")
    return found
