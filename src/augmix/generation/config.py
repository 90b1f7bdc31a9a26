"""``GenerateConfig``: the settings of one generated benchmark set (-C, -C-bar or -P), built
once (by the CLI, or by a Python user with keywords) and read by the generators."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BENCHMARKS = ("c", "c-bar", "p")


@dataclass(frozen=True)
class GenerateConfig:
    """How to generate one benchmark set; checked when made."""

    out: Path
    benchmark: str = "c"  # c, c-bar or p
    dataset: str = "cifar10"  # the test split to corrupt when ``images`` is None (cifar10, cifar100)
    data_dir: Path | None = None
    images: Path | None = None  # an ImageFolder tree instead of a dataset
    layout: str = "imagenet"  # for ``images``: imagenet (a tree of JPEGs / videos) or cifar (arrays)
    size: int = 224  # for the imagenet layout: 224 (ImageNet) or 64 (Tiny-ImageNet)
    names: tuple[str, ...] | None = None  # corruptions or perturbations (default: the benchmark's)
    extra: bool = False  # -C: add the 4 held-out corruptions
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    seed: int = 0
    workers: int | None = None  # processes (None: every core)
    reference_stream: bool = False  # the published scripts' random stream, byte for byte
    device: str | None = None  # -C: the torch back-end on this device (cpu, cuda, cuda:1); None: numpy on the CPU
    limit: int | None = None  # only the first N source images
    indices: tuple[int, ...] | None = field(default=None, repr=False)  # only these source images
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if self.benchmark not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {self.benchmark!r}; choose {', '.join(BENCHMARKS)}")
        if self.layout not in ("imagenet", "cifar"):
            raise ValueError(f"unknown layout {self.layout!r}; choose imagenet or cifar")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"--seed must be >= 0 (an integer), got {self.seed!r}")
        if self.seed >= 2 ** 32:  # the published scripts' np.random.seed / RandomState take 32 bits
            raise ValueError(f"--seed must be < 2**32 ({2 ** 32}), got {self.seed}")
        if self.benchmark != "c" and self.extra:
            raise ValueError("--extra adds the held-out -C corruptions; it does not apply to -C-bar or -P")
        if self.names is not None:
            dup = sorted({n for n in self.names if list(self.names).count(n) > 1})
            if dup or not self.names:
                raise ValueError(f"--corruptions/--perturbations lists {', '.join(dup) or 'nothing'}"
                                 f"{' twice' if dup else ''}; name each once")
        bad = [s for s in self.severities if isinstance(s, bool) or s not in (1, 2, 3, 4, 5)]
        if bad or not self.severities or len(set(self.severities)) != len(self.severities):
            raise ValueError(f"--severities must be among 1..5, each once, got {list(self.severities)}")
        if self.benchmark == "c-bar" and self.tree_layout and self.size != 224:
            raise ValueError("ImageNet-C-bar is published for 224 px images; use --size 224")
        if self.device is not None:
            self._check_device()
        if self.limit is not None and self.indices is not None:
            raise ValueError("give --limit or --indices, not both")
        if self.reference_stream and (self.limit is not None or self.indices is not None):
            raise ValueError("--reference-stream reproduces the published scripts over the whole split; drop "
                             "--limit/--indices")

    def _check_device(self) -> None:
        from augmix.corruptions.tables import CBAR_ALL
        from augmix.devices import resolve_device

        if self.benchmark != "c":
            raise ValueError("--device runs the 19 -C corruptions in torch; -C-bar and -P are generated on the "
                             "CPU: drop --device")
        cbar = [n for n in self.names or () if n in CBAR_ALL]
        if cbar:
            raise ValueError(f"--device runs the 19 -C corruptions in torch, not {', '.join(cbar)}: drop --device")
        if self.reference_stream:
            raise ValueError("--reference-stream is the published numpy stream, on the CPU: drop --device")
        resolve_device(self.device)  # one this machine has

    @property
    def mode(self) -> str:
        """How the images are corrupted, as meta.json records it: the published stream, numpy's
        batched default mode, or the torch back-end on a device type (its streams differ by type)."""
        if self.reference_stream:
            return "reference-stream"
        if self.device is None:
            return "batched"
        import torch

        return f"torch-{torch.device(self.device).type}"

    def rank_device(self) -> str:
        """The device this process corrupts on: ``device``, with plain ``cuda`` meaning this rank's
        GPU under torchrun (``LOCAL_RANK``)."""
        import os

        if self.device == "cuda" and "LOCAL_RANK" in os.environ:
            return f"cuda:{int(os.environ['LOCAL_RANK'])}"
        return str(self.device)

    @classmethod
    def resolve(cls, out_or_config, benchmark: str, names=None, **fields) -> GenerateConfig:
        """The config a generator runs with: given, or made from a Python caller's keywords."""
        if isinstance(out_or_config, GenerateConfig):
            if names is not None or fields:
                raise ValueError("give a GenerateConfig or its fields as keywords, not both")
            return out_or_config
        return cls(out=Path(out_or_config), benchmark=benchmark, names=tuple(names) if names else None, **fields)

    @property
    def seeding(self) -> str:
        """How its random streams are derived, as meta.json records it (``augmix.seeding``)."""
        from augmix.seeding import SCHEME

        return "published (the scripts' np.random.seed / torch.manual_seed)" if self.reference_stream else SCHEME

    @property
    def processes(self) -> int:
        """How many worker processes to run: ``workers``, or one per core."""
        import os

        return self.workers or os.cpu_count() or 1

    @property
    def tree_layout(self) -> bool:
        """Whether the output is a tree of files (ImageNet-C JPEGs, ImageNet-P videos)."""
        return self.images is not None and self.layout == "imagenet"
