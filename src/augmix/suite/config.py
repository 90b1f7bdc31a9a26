"""``EvalConfig``: every setting of one evaluation, built once (by the CLI, or by a Python user
with keywords) and read by the suite and the benchmarks. Each field carries its help text and
command-line form (``augmix.options``): ``augmix evaluate``'s flags are generated from it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from augmix.data.datasets import DATASETS
from augmix.data.subsets import read_indices
from augmix.options import option


class Source(str, Enum):
    """Where a benchmark set comes from when it is not a folder."""

    RELEASED = "released"  # download (and verify) the released copy
    GENERATE = "generate"  # (-C, -C-bar) corrupt the clean test data in memory, with ``generate_seed``

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


RELEASED, GENERATE = Source.RELEASED, Source.GENERATE
# Default images per batch when --batch-size is not given: by image size, to keep a batch's
# activations within a few GB (a stated default, not a cap: an explicit --batch-size is used as given).
DEFAULT_BATCH = {"cifar10": 500, "cifar100": 500, "digits": 500, "imagenet": 100}


@dataclass
class EvalConfig:
    """What to evaluate, on what, and how."""

    out: Path = option(help="report folder")
    checkpoint: Path | None = option(None, "an augmix checkpoint.pt", positional=True)
    arch: str | None = option(None, "instead of a checkpoint: our, torchvision's or timm's model name")
    weights: Path | None = option(None, "weights file for --arch (a state dict, or a dict holding one)")
    dataset: str = option("cifar10", "clean test data (imagenet: --data-dir holds val/)", choices=DATASETS)
    data_dir: Path | None = option(None, "dataset root (default $AUGMIX_DATA or ~/.cache/augmix)")
    sets: dict[str, Path | Source] = option(
        factory=dict, cli=False,
        help="benchmark name -> folder, RELEASED or GENERATE (on the command line: each benchmark's own flag, "
             "e.g. --corrupted, --perturbed, --c-bar, --3dcc, --natural)")
    suite_dir: Path | None = option(
        None, "a folder holding benchmarks under their release names (CIFAR-10-C, CIFAR-10-P, CIFAR-10-C-Bar, "
              "CIFAR-10.1, ImageNet-C, ImageNet-3DCC, ImageNet-P, imagenet-r, ...): evaluate all found")
    suite: tuple[str, ...] | None = option(None, "only (and all of) these sets, by their registry names (listed "
                                                 "under 'benchmarks')", kind="names", metavar="SET,...")
    corruptions: tuple[str, ...] | None = option(None, "evaluate -C on these corruptions only (default: the 15 of "
                                                       "the benchmark)", kind="names", metavar="NAME,...")
    batch_size: int | None = option(None, "images per batch (default 500 for 32 px data, 100 for ImageNet; used as "
                                          "given)", minimum=1)
    workers: int = option(2, "DataLoader workers", minimum=0)
    device: str | None = option(None, "cpu, cuda, cuda:1 (default: cuda if available)")
    name: str | None = option(None, "label for reports (default: the --out folder name)")
    allow_other_dataset: bool = option(False, "evaluate a checkpoint on a dataset other than the one it was "
                                              "trained on")
    p_baseline: Path | None = option(None, "results.json of the baseline (AlexNet) on the same -P set: normalises "
                                           "ImageNet-P into mFR and mT5D")
    difficulty: int = option(1, "-P frame step for the non-noise perturbations (1: as published)", minimum=1)
    generate_seed: int = option(0, "the seed of sets made in memory ('generate'): as `augmix corrupt --seed`")
    generate_device: str | None = option(None, "make --corrupted generate with the torch back-end on this device "
                                               "(cuda, cpu): as `augmix corrupt --device` writes it; default: the "
                                               "numpy back-end")
    limit: int | None = option(None, "evaluate only the first N test images (and the same images of every -C, "
                                     "-C-bar, -P and 3DCC set; the first N images of each natural shift)",
                               minimum=1, group="subset")
    indices: tuple[int, ...] | None = option(
        None, "evaluate only the test images of these indices (a .npy array, or a text file of integers)",
        group="subset", metavar="FILE", parse=Path, convert=read_indices, repr=False)
    progress: bool = option(True, "show progress bars")
    tune_malloc: bool = option(True, "CPU with glibc: keep freed memory for reuse, which makes large batches faster "
                                     "(the process keeps its peak memory); --no-tune-malloc leaves the allocator "
                                     "as it is")

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose {', '.join(DATASETS)}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.workers < 0:
            raise ValueError(f"--workers must be >= 0, got {self.workers}")
        if self.difficulty < 1:
            raise ValueError(f"--difficulty must be >= 1, got {self.difficulty}")
        self._check_subset()
        self.sets = {k: _source(v) for k, v in self.sets.items() if v is not None}
        if not 0 <= self.generate_seed < 2 ** 32:
            raise ValueError(f"--generate-seed must be >= 0 and < 2**32, got {self.generate_seed}")
        if self.generate_device is not None:
            self._check_generate_device()

    def _check_subset(self) -> None:
        if self.limit is not None and self.indices is not None:
            raise ValueError("give --limit or --indices, not both")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be >= 1, got {self.limit}")

    def _check_generate_device(self) -> None:
        from augmix.devices import resolve_device

        if self.sets.get("c-bar") == GENERATE:
            raise ValueError("--generate-device makes -C with the torch back-end; -C-bar is made on the CPU: "
                             "drop --generate-device or --c-bar generate")
        if self.sets.get("c") != GENERATE:
            raise ValueError("--generate-device applies to --corrupted generate; add it or drop --generate-device")
        resolve_device(self.generate_device)  # one this machine has

    @property
    def batch(self) -> int:
        """Images per batch: as given, or the dataset's default."""
        return self.batch_size or DEFAULT_BATCH[self.dataset]


def _source(value: Path | str) -> Path | Source:
    """A set's source as the library passes it: RELEASED, GENERATE, or a folder."""
    text = str(value)
    return Source(text) if text in (RELEASED.value, GENERATE.value) else Path(value)
