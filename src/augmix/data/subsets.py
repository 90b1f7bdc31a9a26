"""Subsets of a test split for quick runs and leaderboard protocols: the first N images (as
RobustBench's ``n_examples``), or images chosen by index (a file of integers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from augmix.data.download import DataError
from augmix.results import Subset

MAX_INDEX_FILE = 64 * 2 ** 20


def read_indices(path: str | Path) -> tuple[int, ...]:
    """Indices from a ``.npy`` array of integers, or a text file of integers separated by spaces,
    commas or new lines (``#`` starts a comment)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such indices file: {path}")
    if path.stat().st_size > MAX_INDEX_FILE:
        raise DataError(f"{path} is larger than {MAX_INDEX_FILE} bytes; an indices file lists integers")
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as err:  # noqa: BLE001 - any damage, one line
            raise DataError(f"cannot read {path} as a .npy array ({type(err).__name__})") from None
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise DataError(f"{path} holds {arr.dtype} {arr.shape}; expected a 1-D array of integers")
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) > 2 ** 62:
            raise DataError(f"{path} holds the index {int(arr.max())}, beyond any test split")
        values = [int(v) for v in arr]
    else:
        words = []
        for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines():  # (a BOM is no index)
            words += line.split("#", 1)[0].replace(",", " ").split()
        try:
            values = [int(w) for w in words]
        except ValueError:
            bad = next(w for w in words if not w.lstrip("-").isdigit())
            raise DataError(f"{path} holds {bad!r}, not an integer; list one image index per line") from None
    check_indices(values, where=str(path))
    return tuple(values)


def check_indices(values, where: str = "indices") -> None:
    if not len(values):
        raise DataError(f"{where} lists no image indices")
    if min(values) < 0:
        raise DataError(f"{where} holds the negative index {min(values)}; indices count from 0")
    if max(values) > 2 ** 62:  # numpy's int64 rows would overflow; no split is near this size
        raise DataError(f"{where} holds the index {max(values)}, beyond any test split")
    if len(set(values)) != len(values):
        raise DataError(f"{where} lists an index twice; list each image once")


def make_subset(limit: int | None = None, indices=None) -> Subset | None:
    """The ``Subset`` of ``--limit N`` or ``--indices``, or None for the whole split."""
    if limit is not None and indices is not None:
        raise ValueError("give --limit or --indices, not both")
    if limit is not None:
        if isinstance(limit, bool) or limit < 1:
            raise ValueError(f"--limit must be >= 1, got {limit}")
        return Subset(limit=int(limit))
    if indices is not None:
        check_indices(list(indices))
        return Subset(indices=[int(i) for i in indices])
    return None


def select(subset: Subset | None, n: int, what: str = "the test split") -> np.ndarray:
    """The row indices ``subset`` picks from ``n`` images (all of them for None)."""
    if subset is None:
        return np.arange(n)
    if subset.limit is not None:
        if subset.limit > n:
            raise DataError(f"--limit {subset.limit} asks for more images than {what} has ({n})")
        return np.arange(subset.limit)
    idx = np.asarray(subset.indices, dtype=np.int64)
    if len(idx) and idx.max() >= n:
        raise DataError(f"index {int(idx.max())} is out of range: {what} has {n} images (indices count from 0)")
    return idx


def subset_from_meta(meta: dict) -> Subset | None:
    """The subset a generated folder's meta.json records (None: the whole split)."""
    return Subset.from_meta(meta.get("subset"))


def rows_for(folder_subset: Subset | None, folder_n: int, wanted: Subset | None, full_n: int, root) -> np.ndarray:
    """Which of a generated folder's rows hold the images of ``wanted``.

    A folder made from the whole split (``folder_subset`` None) serves any subset by index; a
    folder made from a subset serves exactly that subset; anything else was made from other
    images and is refused.
    """
    if folder_subset == wanted:
        return np.arange(folder_n)
    if folder_subset is None and folder_n == full_n:
        return select(wanted, full_n)
    made = "the whole test split" if folder_subset is None else folder_subset.describe()
    asked = "the whole test split" if wanted is None else wanted.describe()
    raise DataError(f"{root} was made from {made} but the evaluation asks for {asked}; generate it with the same "
                    "--limit/--indices, or from the whole split")
