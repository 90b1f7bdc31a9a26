"""``GenerateConfig``: the settings of one generated benchmark set (-C, -C-bar or -P), built
once (by the CLI, or by a Python user with keywords) and read by the writers. Each field
carries its help text and command-line form (``augmix.options``): ``augmix corrupt`` and
``augmix perturb`` are generated from it."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from augmix.data.datasets import CIFAR_DATASETS
from augmix.data.subsets import read_indices
from augmix.options import option

Benchmark = Literal["c", "c-bar", "p"]
Layout = Literal["imagenet", "cifar"]
BENCHMARKS: tuple[str, ...] = typing.get_args(Benchmark)
LAYOUTS: tuple[str, ...] = ("imagenet", "cifar")
_VERB_OBJECTS = {"corrupt": ("ImageNet-C folders", "CIFAR-C .npy arrays (same-size images)"),
                 "perturb": ("ImageNet-P videos", "CIFAR-P arrays (same-size square images)")}


def _names_help() -> dict[str, str]:
    from augmix.corruptions.tables import ALL, CBAR_ALL
    from augmix.perturbations.tables import ALL as P_ALL

    return {"corrupt": f"comma-separated subset of: {', '.join(ALL)}; with --benchmark c-bar: {', '.join(CBAR_ALL)}",
            "perturb": f"comma-separated subset of: {', '.join(P_ALL)} (default all)"}


@dataclass(frozen=True)
class GenerateConfig:
    """How to generate one benchmark set; checked when made."""

    out: Path = option(help="output folder")
    benchmark: Benchmark = option(
        "c", "-C or -C-bar (Mintun et al. 2021: CIFAR-10-C-bar at 32 px, ImageNet-C-bar at 224); `augmix perturb` "
             "writes -P", choices=("c", "c-bar"), verbs=("corrupt",))
    dataset: str = option("cifar10", "{verb} this dataset's test split into the CIFAR layout", choices=CIFAR_DATASETS,
                          group="source")
    data_dir: Path | None = option(None, "dataset root (default $AUGMIX_DATA or ~/.cache/augmix)")
    images: Path | None = option(None, "an ImageFolder tree (ROOT/<class>/<image>) to {verb}", group="source")
    layout: Layout = option("imagenet", {v: f"--images: {a} or {b}" for v, (a, b) in _VERB_OBJECTS.items()},
                            choices=LAYOUTS)
    size: int = option(224, "--images: ImageNet (224) or Tiny-ImageNet (64) preprocessing and table",
                       choices=(224, 64))
    keep_size: bool = option(
        False, "--images: every image of any folder tree (no class folders needed: COCO val2017/, Cityscapes "
               "leftImg8bit/val/, VOC JPEGImages/) corrupted at its own size and mode with the imagecorruptions "
               "package's definition, to OUT/<corruption>/<severity>/<path below the tree>; PNG stays PNG, JPEG "
               "is written as JPEG quality 95, other formats as PNG", verbs=("corrupt",))
    names: tuple[str, ...] | None = option(None, _names_help, kind="names",
                                           flag={"corrupt": "--corruptions", "perturb": "--perturbations"})
    extra: bool = option(False, "also the 4 held-out corruptions (speckle_noise, gaussian_blur, spatter, saturate)",
                         verbs=("corrupt",))
    severities: tuple[int, ...] = option((1, 2, 3, 4, 5), "comma-separated, among 1-5", kind="ints",
                                         verbs=("corrupt",))
    seed: int = option(0, "seed of every random draw")
    workers: int | None = option(None, "processes (default: all cores)", minimum=1)
    reference_stream: bool = option(False, {
        "corrupt": "byte-identical to the published make_*_c.py scripts run after np.random.seed(SEED) before each "
                   "corruption (one process per corruption, one image at a time: slower)",
        "perturb": "byte-identical to the published make_*_p.py scripts run after np.random.seed(SEED) and "
                   "torch.manual_seed(SEED) (one process per perturbation, one image at a time)"})
    device: str | None = option(None, "corrupt with the torch back-end on this device (cuda, cuda:1, cpu; -C only): "
                                      "equal in distribution, its own random streams; default: the numpy back-end "
                                      "on every core", verbs=("corrupt",))
    limit: int | None = option(None, "{verb} only the first N test images (recorded in meta.json; evaluate them with "
                                     "the same --limit/--indices)", minimum=1, group="subset")
    indices: tuple[int, ...] | None = option(
        None, "{verb} only the test images of these indices (a .npy array, or a text file of integers)",
        group="subset", metavar="FILE", parse=Path, convert=read_indices, repr=False)
    progress: bool = option(True, "show progress bars")

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if self.benchmark not in BENCHMARKS:
            raise ValueError(f"unknown benchmark {self.benchmark!r}; choose {', '.join(BENCHMARKS)}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; choose imagenet or cifar")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        self._check_seed()
        if self.benchmark != "c" and self.extra:
            raise ValueError("--extra adds the held-out -C corruptions; it does not apply to -C-bar or -P")
        self._check_names_and_severities()
        if self.benchmark == "c-bar" and self.tree_layout and self.size != 224:
            raise ValueError("ImageNet-C-bar is published for 224 px images; use --size 224")
        if self.device is not None:
            self._check_device()
        if self.keep_size:
            self._check_keep_size()
        if self.limit is not None and self.indices is not None:
            raise ValueError("give --limit or --indices, not both")
        if self.reference_stream and (self.limit is not None or self.indices is not None):
            raise ValueError("--reference-stream reproduces the published scripts over the whole split; drop "
                             "--limit/--indices")

    def _check_seed(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"--seed must be >= 0 (an integer), got {self.seed!r}")
        if self.seed >= 2 ** 32:  # the published scripts' np.random.seed / RandomState take 32 bits
            raise ValueError(f"--seed must be < 2**32 ({2 ** 32}), got {self.seed}")

    def _check_names_and_severities(self) -> None:
        if self.names is not None:
            dup = sorted({n for n in self.names if list(self.names).count(n) > 1})
            if dup or not self.names:
                raise ValueError(f"--corruptions/--perturbations lists {', '.join(dup) or 'nothing'}"
                                 f"{' twice' if dup else ''}; name each once")
        bad = [s for s in self.severities if isinstance(s, bool) or s not in (1, 2, 3, 4, 5)]
        if bad or not self.severities or len(set(self.severities)) != len(self.severities):
            raise ValueError(f"--severities must be among 1..5, each once, got {list(self.severities)}")

    def _check_keep_size(self) -> None:
        if self.images is None or self.layout != "imagenet":
            raise ValueError("--keep-size corrupts the files of an image tree: give --images TREE (layout imagenet)")
        if self.benchmark != "c":
            raise ValueError("--keep-size writes the 19 -C corruptions at any size; -C-bar is defined at 32 and "
                             "224 px only: drop --keep-size or --benchmark c-bar")

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
