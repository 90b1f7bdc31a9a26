"""``EvalConfig``: every setting of one evaluation, built once (by the CLI, or by a Python user
with keywords) and read by the suite and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

RELEASED = "released"  # a set's source: download (and verify) the released copy
GENERATE = "generate"  # a set's source (-C, -C-bar): corrupt the clean test data in memory (generate_seed)
DATASETS = ("cifar10", "cifar100", "digits", "imagenet")
# Default images per batch when --batch-size is not given: by image size, to keep a batch's
# activations within a few GB (a stated default, not a cap: an explicit --batch-size is used as given).
DEFAULT_BATCH = {"cifar10": 500, "cifar100": 500, "digits": 500, "imagenet": 100}


@dataclass
class EvalConfig:
    """What to evaluate, on what, and how."""

    out: Path
    checkpoint: Path | None = None  # an augmix checkpoint.pt ...
    arch: str | None = None  # ... or an architecture by name with a weights file
    weights: Path | None = None
    dataset: str = "cifar10"  # the clean test data: cifar10, cifar100, digits, or imagenet (data_dir/val)
    data_dir: Path | None = None
    sets: dict[str, Path | str] = field(default_factory=dict)  # benchmark name -> folder, or RELEASED
    suite_dir: Path | None = None  # find the benchmarks by the folders their releases unpack to
    suite: tuple[str, ...] | None = None  # only (and all of) these benchmarks
    corruptions: tuple[str, ...] | None = None  # restrict -C to these corruptions
    batch_size: int | None = None  # None: DEFAULT_BATCH for the dataset
    workers: int = 2  # DataLoader workers for image files
    device: str | None = None  # default: cuda when present
    name: str | None = None  # label in reports (default: the out folder's name)
    allow_other_dataset: bool = False
    p_baseline: Path | None = None  # a results.json normalising ImageNet-P into mFR / mT5D
    difficulty: int = 1  # -P frame step
    generate_seed: int = 0  # the seed of sets made in memory (GENERATE): as `augmix corrupt --seed`
    generate_device: str | None = None  # -C made in memory by the torch back-end there: as `augmix corrupt --device`
    limit: int | None = None  # only the first N test images (and the same rows of every derived set)
    indices: tuple[int, ...] | None = field(default=None, repr=False)  # only these test images
    progress: bool = True
    tune_malloc: bool = True  # CPU with glibc: keep freed memory for reuse (augmix.allocator)

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
        if self.limit is not None and self.indices is not None:
            raise ValueError("give --limit or --indices, not both")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be >= 1, got {self.limit}")
        self.sets = {k: (v if v in (RELEASED, GENERATE) else Path(v)) for k, v in self.sets.items() if v is not None}
        if not 0 <= self.generate_seed < 2 ** 32:
            raise ValueError(f"--generate-seed must be >= 0 and < 2**32, got {self.generate_seed}")
        if self.generate_device is not None:
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
