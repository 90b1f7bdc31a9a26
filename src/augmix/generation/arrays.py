"""The CIFAR layout: one ``OUT/<name>.npy`` uint8 array per corruption or perturbation.

* -C and -C-bar (CIFAR-10-C, CIFAR-100-C, CIFAR-10-C-bar): ``[S*N, H, W, 3]``, severity-major
  (rows ``0..N-1`` are severity 1, ...), and ``OUT/labels.npy`` ``[S*N]``;
* -P (CIFAR-10-P, CIFAR-100-P): ``[N, T, S, S, 3]``, one sequence of ``T`` frames per image in
  the split's order (the released files hold no labels).

Units are chunks of images (``corruptions.released.CHUNK``, ``perturbations.released.CHUNK``)
written as ``OUT/.parts/<name>/<part>.npy`` and assembled in order once all are made; a
rerun skips finished files and parts. ``reference_stream``: one unit per file, drawn through
the published scripts' stream.
"""

from __future__ import annotations

import shutil
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from augmix.corruptions import released as C
from augmix.corruptions.apply import corrupt
from augmix.generation.config import GenerateConfig
from augmix.generation.scaffold import Writer, resolve, write_set
from augmix.generation.workers import shared
from augmix.io import atomic_path, is_valid_npy, require_files, save_npy, source_id
from augmix.perturbations import released as P
from augmix.perturbations.tables import frames, split_name, table_for
from augmix.results import Subset


@dataclass(frozen=True)
class ArrayTask:
    """One array of a CIFAR-layout set (a part, or a whole reference-stream file): ``make`` of
    the images every worker holds, saved atomically at ``path``."""

    make: Callable[[np.ndarray], np.ndarray]
    path: str
    count: int

    def __call__(self) -> int:
        save_npy(Path(self.path), self.make(shared()))
        return self.count


@dataclass(frozen=True)
class Part:
    """One unit of a file: its part name, how it is made of the images, how many rows it has."""

    key: str
    make: Callable[[np.ndarray], np.ndarray]
    count: int


def _assemble(parts: list[Path], path: Path, shape: tuple[int, ...]) -> None:
    """Concatenate the parts into ``path`` through a memory map (no second copy in memory)."""
    with atomic_path(path) as tmp:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        row = 0
        for part in parts:
            block = np.load(part, mmap_mode="r")
            arr[row:row + len(block)] = block
            row += len(block)
        arr.flush()
        del arr


class ArraySet(Writer):
    """What the CIFAR layout's writers share: files, their parts, their assembly and check."""

    def __init__(self, config: GenerateConfig, names: list[str], images: np.ndarray, source: str,
                 subset: Subset | None) -> None:
        super().__init__(config, names)
        self.images, self.source, self.subset = images, source, subset
        self.pending: list[str] = []

    @abstractmethod
    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of ``name``'s finished file."""

    @abstractmethod
    def parts(self, name: str) -> list[Part]:
        """The units of ``name``'s file, in the order they are assembled."""

    @abstractmethod
    def reference(self, name: str) -> Part:
        """``name``'s whole file drawn through the published stream (one unit)."""

    @property
    def shared(self) -> np.ndarray:
        return self.images

    def _done(self, out: Path, name: str) -> bool:
        return is_valid_npy(out / f"{name}.npy", self.shape(name))

    def tasks(self, out: Path) -> list[ArrayTask]:
        self.pending = [n for n in self.names if not self._done(out, n)]
        if self.config.reference_stream:
            refs = {n: self.reference(n) for n in self.pending}
            return [ArrayTask(r.make, str(out / f"{n}.npy"), r.count) for n, r in refs.items()]
        todo = []
        for name in self.pending:
            folder = out / ".parts" / name
            folder.mkdir(parents=True, exist_ok=True)
            todo += [ArrayTask(p.make, str(folder / f"{p.key}.npy"), p.count) for p in self.parts(name)
                     if not (folder / f"{p.key}.npy").exists()]
        return todo

    def finish(self, out: Path) -> None:
        if not self.config.reference_stream:
            for name in self.pending:  # assemble in order, then drop the parts
                parts = [out / ".parts" / name / f"{p.key}.npy" for p in self.parts(name)]
                require_files(parts)
                _assemble(parts, out / f"{name}.npy", self.shape(name))
                shutil.rmtree(out / ".parts" / name)
            shutil.rmtree(out / ".parts", ignore_errors=True)
        bad = [n for n in self.names if not self._done(out, n)]
        if bad:
            raise ValueError(f"{out / (bad[0] + '.npy')} is missing or incomplete after the run; run the same command "
                             "again to complete the set")

    def _chunks(self, chunk: int) -> list[tuple[int, int]]:
        """(unit, rows) of the images in units of ``chunk``."""
        n = len(self.images)
        return [(u, min(chunk, n - u * chunk)) for u in range((n + chunk - 1) // chunk)]


def _corrupt_reference(images: np.ndarray, corruption: str, severities: list[int], seed: int) -> np.ndarray:
    """A whole CIFAR-C file as the published make_*_c.py writes it after ``np.random.seed(seed)``:
    one RandomState through its severities, then its images, in order."""
    stream = np.random.RandomState(seed)
    return np.concatenate([corrupt(images, corruption, s, seed=stream) for s in severities])


class CifarC(ArraySet):
    """-C / -C-bar arrays (CIFAR-10-C's layout) and their labels."""

    what, names_key, unit = "a -C set", "corruptions", "img"
    keys = ("severities", "n_per_severity", "seed", "image_size", "mode", "seeding", "subset")
    defaults = {"mode": "batched", "subset": None}

    def __init__(self, config: GenerateConfig, images: np.ndarray, labels: np.ndarray, *, source: str = "",
                 subset: Subset | None = None) -> None:
        images = np.ascontiguousarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images [N, H, W, 3], got {images.dtype} {images.shape}")
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        names = C.names_for(config.names, config.benchmark, config.extra, images.shape[1])
        super().__init__(config, names, images, source, subset)
        self.labels = labels
        self.severities = list(config.severities)
        self.device = config.rank_device() if config.device is not None else None
        reference = " (reference stream)" if config.reference_stream else ""
        self.desc = f"corrupting {len(images)} images{reference}"

    def meta(self) -> dict:
        c = self.config
        return {"layout": "cifar-c", "severities": self.severities, "n_per_severity": len(self.images),
                "seed": c.seed, "mode": c.mode, "seeding": c.seeding, "subset": self.subset and self.subset.as_meta(),
                "image_size": list(self.images.shape[1:3]), "source": self.source, "chunk": C.CHUNK,
                "source_id": source_id(self.images.tobytes(), np.asarray(self.labels, np.int64).tobytes())}

    def prepare(self, out: Path) -> None:
        dtype = np.uint8 if self.labels.max() < 256 else np.int64
        save_npy(out / "labels.npy", np.tile(np.asarray(self.labels, dtype=dtype), len(self.severities)))

    @property
    def workers(self) -> int:
        return 1 if self.device is not None else self.config.processes  # one process drives a device

    def shape(self, name: str) -> tuple[int, ...]:
        return (len(self.severities) * len(self.images), *self.images.shape[1:])

    def parts(self, name: str) -> list[Part]:
        seed = self.config.seed
        return [Part(f"s{s}_{u:05d}", partial(C.corrupt_unit, corruption=name, severity=s, seed=seed, unit=u,
                                              device=self.device), rows)
                for s in self.severities for u, rows in self._chunks(C.CHUNK)]

    def reference(self, name: str) -> Part:
        make = partial(_corrupt_reference, corruption=name, severities=self.severities, seed=self.config.seed)
        return Part(name, make, len(self.images) * len(self.severities))


class CifarP(ArraySet):
    """-P sequences (CIFAR-10-P's layout)."""

    what, names_key, unit = "a -P set", "perturbations", "seq"
    keys = ("layout", "n", "seed", "mode", "seeding", "subset", "image_size")
    defaults = {"subset": None}

    def __init__(self, config: GenerateConfig, images: np.ndarray, labels: np.ndarray | None = None, *,
                 source: str = "", subset: Subset | None = None) -> None:
        names = P.check_names(config.names)  # (the released -P files hold no labels)
        images = np.ascontiguousarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or images.shape[1] != images.shape[2]:
            raise ValueError(f"expected square uint8 images [N, S, S, 3], got {images.dtype} {images.shape}")
        self.size = images.shape[1]
        table_for(self.size)
        if self.size == 64 and any(split_name(n)[0] == "motion_blur" for n in names):
            raise ValueError("the 64 px motion blur blurs the image before its Resize(64); write that set from the "
                             "original images with --images (the ImageNet-P layout)")
        super().__init__(config, names, images, source, subset)
        self.desc = f"perturbing {len(images)} images"

    def meta(self) -> dict:
        c = self.config
        return {"layout": "cifar-p", "n": len(self.images), "seed": c.seed, "mode": c.mode, "seeding": c.seeding,
                "subset": self.subset and self.subset.as_meta(), "image_size": self.size, "source": self.source,
                "chunk": P.CHUNK, "source_id": source_id(self.images.tobytes())}

    def complete_meta(self, meta: dict) -> dict:
        return {**meta, "frames": {p: frames(p, self.size) for p in meta["perturbations"]}}

    def shape(self, name: str) -> tuple[int, ...]:
        return (len(self.images), frames(name, self.size), self.size, self.size, 3)

    def parts(self, name: str) -> list[Part]:
        return [Part(f"c{u:05d}", partial(P.perturb_unit, name=name, seed=self.config.seed, unit=u, size=self.size),
                     rows) for u, rows in self._chunks(P.CHUNK)]

    def reference(self, name: str) -> Part:
        return Part(name, partial(P.perturb_reference, name=name, seed=self.config.seed, size=self.size),
                    len(self.images))


def generate_cifar_c(images: np.ndarray, labels: np.ndarray, out: str | Path | GenerateConfig,
                     corruptions: Sequence[str] | None = None, severities: Sequence[int] = (1, 2, 3, 4, 5), *,
                     source: str = "", subset: Subset | None = None, **fields) -> Path:
    """Write a CIFAR-C style dataset of ``images`` (uint8 [N, H, W, 3]) and ``labels``.

    ``out``: a ``GenerateConfig``, or the output folder with the config's fields as keywords
    (``seed``, ``workers``, ``progress``, ``reference_stream``). ``subset``: which images of
    the test split these are (recorded in meta.json, so evaluation can check it).
    """
    config = resolve(out, corruptions, severities, fields)
    return write_set(CifarC(config, images, labels, source=source, subset=subset))


def generate_cifar_p(images: np.ndarray, out: str | Path | GenerateConfig, names: Sequence[str] | None = None, *,
                     source: str = "", subset: Subset | None = None, **fields) -> Path:
    """Write CIFAR-P style sequences of ``images`` (uint8 [N, S, S, 3], S in 32/64/224).

    ``out``: a ``GenerateConfig``, or the output folder with the config's fields as keywords.
    """
    config = resolve(out, names, None, fields, benchmark="p")
    return write_set(CifarP(config, images, source=source, subset=subset))
