"""``TrainConfig``: every setting a training run depends on, typed and checked once.

Each field carries its help text (and allowed values) as metadata, so the command line
is generated from this class and cannot drift from it. AugMix's own settings are one
``AugMixConfig``; its string form is parsed only at the command line.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch

from augmix.augment import AugMixConfig
from augmix.baselines import BASELINES, MIXERS
from augmix.data.datasets import DATASETS
from augmix.models import MODELS
from augmix.options import option

METHODS = ("standard", "augmix", "augmix_jsd")
AUGMENT_MODES = ("auto", "batched", "per_image")


@dataclass
class TrainConfig:
    """Everything a run depends on; defaults are the paper's CIFAR-10 WRN-40-2 recipe."""

    dataset: str = option("cifar10", "training data; imagenet: an ImageFolder root with train/ and val/",
                        choices=DATASETS)
    data_dir: str | None = option(None, "dataset root (default $AUGMIX_DATA or ~/.cache/augmix)")
    model: str = option("wrn40_2", "architecture", choices=tuple(MODELS))
    method: str = option("augmix_jsd", "Standard training, AugMix, or AugMix with the JSD consistency loss",
                       choices=METHODS)
    epochs: int = option(100, "training epochs (>= 1)")
    batch_size: int = option(128, "images per step, over all processes (>= 1)")
    lr: float = option(0.1, "peak learning rate (> 0), cosine-annealed per step")
    lr_min: float = option(1e-6, "learning rate at the end of the cosine schedule (>= 0)")
    momentum: float = option(0.9, "SGD momentum in [0, 1)")
    nesterov: bool = option(True, "Nesterov momentum")
    weight_decay: float = option(5e-4, "L2 weight decay (>= 0)")
    jsd_lambda: float = option(12.0, "weight of the Jensen-Shannon consistency term (>= 0)")
    augmix: AugMixConfig = option(
        factory=AugMixConfig, parse=AugMixConfig.parse, metavar="KEY=VALUE,...",
        help="AugMix settings, e.g. severity=3,width=3,depth=-1,alpha=1,all_ops=false (omitted keys keep their "
             "defaults)")
    augment: str = option("auto", "batched: AugMix on whole batches on the training device; per_image: "
                        "each image's views made in the DataLoader workers; auto: per_image for an ImageFolder "
                        "trained on the CPU (the faster there), else batched", choices=AUGMENT_MODES)
    split_bn: bool = option(False, "AugMix+JSD: separate batch-norm statistics per view in training")
    seed: int = option(1, "seed of the model's initialisation and of every random draw")
    workers: int = option(2, "DataLoader worker processes (>= 0)")
    train_subset: int = option(0, "use only the first N training images (0: all)")
    eval_batch_size: int = option(500, "images per evaluation batch (>= 1)")
    eval_every: int = option(1, "clean test error every N epochs and after the last (0: last only, -1: never)")
    amp: bool = option(True, "mixed precision on CUDA (ignored on the CPU)")
    out: str = option("runs/train", "output folder for checkpoint.pt and the logs")
    tensorboard: bool = option(False, "also write TensorBoard logs")
    tune_malloc: bool = option(True, "CPU with glibc: keep freed memory for reuse (faster large batches)")
    # baselines, composable with each other and with AugMix (augmix.baselines)
    baselines: tuple[str, ...] = option((), "comma-separated baselines, composable with AugMix", choices=BASELINES,
                                        kind="names", metavar="NAME,...")
    cutout_size: int = option(16, "Cutout square side in pixels (>= 1)")
    patch_size: int = option(25, "Patch Uniform square side in pixels (>= 1)")
    patch_max_sigma: float = option(1.0, "Patch Uniform: largest noise standard deviation (> 0)")
    mix_alpha: float = option(1.0, "Mixup/CutMix Beta(alpha, alpha) concentration (> 0)")
    pgd_eps: float = option(8 / 255, "adversarial training: L-inf radius (> 0)")
    pgd_step: float = option(2 / 255, "adversarial training: PGD step size (> 0)")
    pgd_iters: int = option(7, "adversarial training: PGD steps (>= 1)")
    stylized_dir: str | None = option(None, "ImageNet: a Stylized-ImageNet train ImageFolder mixed in")

    def __post_init__(self) -> None:
        if isinstance(self.augmix, dict):  # from a saved checkpoint's config
            self.augmix = AugMixConfig(**self.augmix)
        if not isinstance(self.augmix, AugMixConfig):
            raise TypeError(f"augmix must be an AugMixConfig, got {type(self.augmix).__name__}")
        self.baselines = tuple(self.baselines)
        for name in ("dataset", "model", "method", "augment"):
            allowed = _field(name).metadata["choices"]
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; choose from {', '.join(allowed)}")
        _check_range(self, "epochs", 1)
        _check_range(self, "batch_size", 1)
        _check_range(self, "lr", 0, inclusive=False)
        _check_range(self, "lr_min", 0)
        _check_range(self, "momentum", 0, 1, inclusive_max=False)
        _check_range(self, "weight_decay", 0)
        _check_range(self, "jsd_lambda", 0)
        _check_range(self, "seed", 0, 2 ** 32 - 1)  # numpy's seed range (seed_everything seeds numpy too)
        _check_range(self, "workers", 0)
        _check_range(self, "train_subset", 0)
        _check_range(self, "eval_batch_size", 1)
        _check_range(self, "eval_every", -1)
        for name in ("cutout_size", "patch_size", "pgd_iters"):
            _check_range(self, name, 1)
        for name in ("patch_max_sigma", "mix_alpha", "pgd_eps", "pgd_step"):
            _check_range(self, name, 0, inclusive=False)
        if self.lr_min > self.lr:
            raise ValueError(f"lr_min ({self.lr_min}) must not exceed lr ({self.lr})")
        if self.split_bn and self.method != "augmix_jsd":
            raise ValueError("split_bn keeps one set of BN statistics per JSD view: it needs --method augmix_jsd")
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:
            raise ValueError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)}")
        if any(b in MIXERS for b in self.baselines) and self.method == "augmix_jsd":
            raise ValueError("Mixup/CutMix change the targets and do not combine with the JSD loss; use "
                             "--method standard or augmix")
        if sum(b in MIXERS for b in self.baselines) > 1:
            raise ValueError("choose one of Mixup and CutMix, not both")
        if self.baselines and self.augment == "per_image":
            raise ValueError("baselines run on batches: use --augment batched")

    def augment_on(self, device: torch.device) -> str:
        """The batch path on ``device``: ``augment``, with "auto" resolved. Per image for an ImageFolder
        trained on the CPU: the workers then make the views, 2.45x the reference's loader on 2 cores
        against 1.60x for AugMix batched in the main process (docs/BENCHMARKS.md). Batched otherwise:
        a GPU takes AugMix off the CPU, in-memory arrays need no decoding workers, and the baselines
        run on batches."""
        if self.augment != "auto":
            return self.augment
        return "per_image" if self.dataset == "imagenet" and device.type == "cpu" and not self.baselines \
            else "batched"

    @property
    def views(self) -> int:
        """Images the model sees per training image: 3 for AugMix+JSD (clean, aug1, aug2), else 1."""
        return 3 if self.method == "augmix_jsd" else 1

    def to_dict(self) -> dict:
        """Plain types only (a checkpoint's safe loader reads them back)."""
        d = asdict(self)
        d["baselines"] = list(self.baselines)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        return cls(**d)


def _field(name: str):
    return next(f for f in fields(TrainConfig) if f.name == name)


def _check_range(cfg: TrainConfig, name: str, lo: float, hi: float | None = None, *, inclusive: bool = True,
                 inclusive_max: bool = True) -> None:
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    ok = (value >= lo if inclusive else value > lo) and (hi is None or (value <= hi if inclusive_max else value < hi))
    if not ok:
        low = f"{'>=' if inclusive else '>'} {lo}"
        high = f" and {'<=' if inclusive_max else '<'} {hi}" if hi is not None else ""
        raise ValueError(f"{name} must be {low}{high}, got {value}")
