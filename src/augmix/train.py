"""Training: Standard, AugMix, and AugMix + JSD, with the paper's recipes.

The loop is meant to be read top to bottom (``train``); checkpoints, distributed set-up and
logging are small helpers around it. Randomness: the model is initialised from ``seed``;
every epoch draws its data order, crops, flips and AugMix parameters from a generator
seeded with ``(seed, epoch, rank)``, so a run resumed from an epoch checkpoint repeats the
uninterrupted run exactly (on the CPU; cuDNN may differ in the last bits).
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from augmix.augment import AugMixBatch, AugMixConfig
from augmix.io import atomic_path
from augmix.losses import AugMixLoss
from augmix.models import create_model

METHODS = ("standard", "augmix", "augmix_jsd")
CIFAR_MEAN_STD = ([0.5] * 3, [0.5] * 3)  # the reference's Normalize for CIFAR
IMAGENET_MEAN_STD = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    """Everything a run depends on; defaults are the paper's CIFAR-10 WRN-40-2 recipe."""

    dataset: str = "cifar10"  # cifar10 | cifar100 | digits | imagenet (an ImageFolder root with train/ val/)
    data_dir: str | None = None
    model: str = "wrn40_2"
    method: str = "augmix_jsd"  # standard | augmix | augmix_jsd
    epochs: int = 100
    batch_size: int = 128
    lr: float = 0.1
    lr_min: float = 1e-6
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    jsd_lambda: float = 12.0
    augmix: str = str(AugMixConfig())
    augment_on: str = "device"  # device: batched AugMix; loader: per-image PIL in DataLoader workers
    split_bn: bool = False
    seed: int = 1
    workers: int = 2
    train_subset: int = 0  # use only the first N training images (0: all), for quick runs
    eval_batch_size: int = 500
    eval_every: int = 1  # clean test error every N epochs and after the last; 0: only the last; -1: never
    amp: bool = True  # autocast + grad scaling on CUDA (ignored on the CPU)
    out: str = "runs/train"
    tensorboard: bool = False
    tune_malloc: bool = True  # CPU + glibc: keep freed memory for reuse (see keep_freed_memory)
    # baselines, composable with each other and with AugMix (see augmix.baselines)
    extras: str = ""  # comma-separated, e.g. "cutout" or "autoaugment,cutout" or "mixup"
    cutout_size: int = 16
    patch_size: int = 25
    patch_max_sigma: float = 1.0
    mix_alpha: float = 1.0
    pgd_eps: float = 8 / 255
    pgd_step: float = 2 / 255
    pgd_iters: int = 7
    stylized_dir: str | None = None  # ImageNet: a Stylized-ImageNet train ImageFolder mixed in

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose from {', '.join(METHODS)}")
        if self.augment_on not in ("device", "loader"):
            raise ValueError("augment_on must be 'device' or 'loader'")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")
        AugMixConfig.parse(self.augmix)  # validates
        from augmix.baselines import EXTRAS, MIXERS

        extras = self.extra_list
        unknown = [e for e in extras if e not in EXTRAS]
        if unknown:
            raise ValueError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(EXTRAS)}")
        if any(e in MIXERS for e in extras) and self.method == "augmix_jsd":
            raise ValueError("Mixup/CutMix change the targets and do not combine with the JSD loss; use "
                             "--method standard or augmix")
        if extras and self.augment_on == "loader":
            raise ValueError("baselines run on the batched path: use --augment-on device")

    @property
    def extra_list(self) -> list[str]:
        return [e.strip() for e in self.extras.split(",") if e.strip()]

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        return cls(**d)


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


# ----------------------------------------------------------------------------- helpers

def setup_distributed() -> Dist:
    """DDP from torchrun's environment (gloo on CPU, nccl on GPU); a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world == 1:
        return Dist(device=torch.device("cuda" if cuda else "cpu"))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    return Dist(rank, world, local, device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_generator(seed: int, epoch: int, rank: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0]))


def cosine_lr(step: int, total: int, lr_max: float, lr_min: float) -> float:
    """The reference's ``get_lr``: cosine annealing from lr_max to lr_min over ``total`` steps."""
    return lr_min + (lr_max - lr_min) * 0.5 * (1 + math.cos(step / total * math.pi))


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write atomically: a kill at any moment leaves the previous checkpoint intact."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a damaged file
        raise ValueError(f"{path} is not a readable checkpoint ({type(err).__name__}); "
                         "it may be truncated: use an earlier copy or train again") from None


# ------------------------------------------------------------------------------- data

@dataclass
class TrainData:
    """Training images (uint8 NCHW tensor for CIFAR, or a Dataset) plus the test split."""

    num_classes: int
    mean_std: tuple
    provenance: dict
    train_x: torch.Tensor | None = None
    train_y: torch.Tensor | None = None
    test_x: np.ndarray | None = None  # uint8 NHWC
    test_y: np.ndarray | None = None
    train_folder: object | None = None
    val_folder: object | None = None


def load_train_data(cfg: TrainConfig) -> TrainData:
    from augmix.data import NUM_CLASSES, load_cifar

    if cfg.dataset in NUM_CLASSES or cfg.dataset == "digits":
        if cfg.dataset == "digits":
            from augmix.data.digits import load_digits_rgb

            train, test = load_digits_rgb()
        else:
            train = load_cifar(cfg.dataset, cfg.data_dir, train=True)
            test = load_cifar(cfg.dataset, cfg.data_dir, train=False)
        x, y = train.images, train.labels
        if cfg.train_subset:
            x, y = x[:cfg.train_subset], y[:cfg.train_subset]
        return TrainData(
            len(train.classes), CIFAR_MEAN_STD,
            {"train": train.source + (f" (first {len(y)})" if cfg.train_subset else ""), "test": test.source},
            train_x=torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))),
            train_y=torch.from_numpy(y), test_x=test.images, test_y=test.labels)
    if cfg.dataset == "imagenet":
        from augmix.data.folders import image_folder_pair

        train_ds, val_ds = image_folder_pair(cfg.data_dir, cfg.stylized_dir)
        return TrainData(len(train_ds.classes), IMAGENET_MEAN_STD,
                         {"train": str(train_ds.root), "test": str(val_ds.root)},
                         train_folder=train_ds, val_folder=val_ds)
    raise ValueError(f"unknown dataset {cfg.dataset!r}; choose cifar10, cifar100, digits or imagenet")


def cifar_batches(data: TrainData, cfg: TrainConfig, epoch: int, dist: Dist, gen: torch.Generator):
    """(uint8 batch after crop+flip, labels) for one epoch, this rank's share."""
    from augmix.data.transforms import random_crop_flip

    n = len(data.train_y)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 1000 + epoch))
    per_rank = cfg.batch_size // dist.world
    mine = order[dist.rank::dist.world][: n // dist.world]
    for i in range(0, len(mine) - per_rank + 1, per_rank):  # drop the last partial batch
        idx = mine[i:i + per_rank]
        x = data.train_x[idx].to(dist.device, non_blocking=True)
        yield random_crop_flip(x, 4, gen), data.train_y[idx].to(dist.device)


def loader_batches(data: TrainData, cfg: TrainConfig, epoch: int, dist: Dist, views: int):
    """Per-image path: a DataLoader whose workers crop, flip and (optionally) AugMix in PIL."""
    from augmix.data.folders import loader_dataset

    ds = loader_dataset(data, cfg, views)
    sampler = torch.utils.data.DistributedSampler(ds, dist.world, dist.rank, shuffle=True, seed=cfg.seed,
                                                  drop_last=True) if dist.world > 1 else None
    if sampler is not None:
        sampler.set_epoch(epoch)
    g = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
    loader = torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size // dist.world, shuffle=sampler is None,
                                         sampler=sampler, num_workers=cfg.workers, drop_last=True,
                                         generator=g, persistent_workers=False)
    yield from loader


# ------------------------------------------------------------------------------ train

def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> Path:
    """Train per ``cfg`` into ``cfg.out`` (checkpoint.pt, log.csv, log.jsonl); return the folder."""
    dist = setup_distributed()
    out = Path(cfg.out)
    ckpt_path = out / "checkpoint.pt"
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)
    if ckpt_path.exists() and not resume:
        raise ValueError(f"{ckpt_path} exists; pass --resume to continue it or choose another --out")
    seed_everything(cfg.seed)
    data = load_train_data(cfg)
    model = create_model(cfg.model, data.num_classes)
    if cfg.split_bn and cfg.method == "augmix_jsd":
        from augmix.models.splitbn import convert_splitbn

        model = convert_splitbn(model, 3)
    cuda = dist.device.type == "cuda"
    if not cuda and cfg.tune_malloc:
        keep_freed_memory()
    # channels_last: tensor-core layouts on GPUs, and oneDNN's blocked convolutions on CPUs
    model = model.to(dist.device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay, nesterov=cfg.nesterov)
    views = 3 if cfg.method == "augmix_jsd" else 1
    if data.train_y is not None:
        steps_per_epoch = (len(data.train_y) // dist.world) // (cfg.batch_size // dist.world)
    else:
        steps_per_epoch = len(data.train_folder) // cfg.batch_size
    total = cfg.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cosine_lr(step, total, 1.0, cfg.lr_min / cfg.lr))
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and cfg.amp)
    criterion = AugMixLoss(cfg.jsd_lambda, jsd=views == 3)
    augmix = AugMixBatch(**asdict(AugMixConfig.parse(cfg.augmix)), jsd=views == 3)
    mean = torch.tensor(data.mean_std[0], device=dist.device).view(1, 3, 1, 1)
    std = torch.tensor(data.mean_std[1], device=dist.device).view(1, 3, 1, 1)
    extras = build_extras(cfg)

    start_epoch, history = 0, []
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        _check_same_settings(state["config"], asdict(cfg))
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        start_epoch, history = state["epoch"], state["history"]
        if dist.main:
            print(f"resuming {ckpt_path} after epoch {start_epoch}")
    net = model
    if dist.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dist.local_rank] if cuda else None)

    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        gen = epoch_generator(cfg.seed, epoch, dist.rank)
        t0, seen, loss_sum = time.time(), 0, 0.0
        if data.train_y is not None and cfg.augment_on == "device":
            batches = cifar_batches(data, cfg, epoch, dist, gen)
        else:
            batches = loader_batches(data, cfg, epoch, dist, views)
        bar = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=not (progress and dist.main), leave=False)
        for x, y in bar:
            x, y = x.to(dist.device), y.to(dist.device)
            mixed = None
            if x.dtype == torch.uint8:  # device path: baselines and AugMix here, batched, per image
                for t in extras["uint8"]:
                    x = t(x, gen)
                if cfg.method == "standard":
                    x = x.float() / 255
                else:
                    x = augmix(x, generator=gen)
                    x = torch.cat(x) if views == 3 else x
                for t in extras["float"]:
                    x = t(x, gen)
                if extras["mixer"] is not None:
                    mixed = extras["mixer"](x, y, gen)
                    x = mixed.x
                if extras["adversarial"] is not None:
                    x = extras["adversarial"](net, x, y, lambda v: (v - mean) / std, generator=gen)
            elif x.ndim == 5:  # loader path with JSD: [B, 3 views, C, H, W]
                x = x.transpose(0, 1).reshape(-1, *x.shape[2:])
            x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
            with torch.autocast(dist.device.type, enabled=cuda and cfg.amp):
                logits = net(x)
                loss = mixed.loss(logits) if mixed is not None else criterion(logits, y)
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"non-finite loss ({loss.item()}) at epoch {epoch + 1}, step {seen // len(y) + 1}; "
                    f"the last good checkpoint is {ckpt_path if ckpt_path.exists() else 'none (first epoch)'}"
                    f" - lower --lr or check the data")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            seen += len(y)
            loss_sum += loss.item() * len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
        row = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1), "lr": scheduler.get_last_lr()[0],
               "seconds": round(time.time() - t0, 2), "images_per_s": round(seen * dist.world / (time.time() - t0), 1)}
        if dist.main:
            last = epoch + 1 == cfg.epochs
            if cfg.eval_every >= 0 and (last or (cfg.eval_every and (epoch + 1) % cfg.eval_every == 0)):
                row["test_error"] = quick_test_error(model, data, cfg, dist.device)
            history.append(row)
            save_checkpoint(ckpt_path, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "rng": rng_state(),
                "epoch": epoch + 1, "step": scheduler.last_epoch, "config": asdict(cfg),
                "model_name": cfg.model, "num_classes": data.num_classes, "mean_std": data.mean_std,
                "provenance": data.provenance, "history": history,
            })
            write_logs(out, history, cfg)
            test = f"  test error {100 * row['test_error']:.2f}%" if "test_error" in row else ""
            print(f"epoch {epoch + 1}/{cfg.epochs}  loss {row['train_loss']:.4f}{test}  {row['seconds']:.0f}s  "
                  f"{row['images_per_s']:.0f} img/s")
        if dist.world > 1:
            torch.distributed.barrier()
    return out


# settings that may change between a run and its resumption
_RESUMABLE_CHANGES = {"out", "data_dir", "workers", "eval_batch_size", "eval_every", "tensorboard", "epochs",
                      "tune_malloc"}


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to serve large blocks from the heap and keep what is freed.

    A training step frees and reallocates the same large activation buffers. By default
    glibc maps blocks above its mmap threshold fresh from the kernel and returns them on
    free, so every step pays page faults, and their cost grows faster than the batch: a
    bare training step at JSD's tripled batch cost 3.7-4.0x a plain one on a 2-core CPU,
    2.9-3.1x with this setting (benchmarks/step_scaling.py).
    jemalloc and tcmalloc keep freed memory by design; this does the same with glibc.
    The process then keeps its peak memory. Returns whether the setting was applied
    (False off glibc).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc malloc.h
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, (1 << 31) - 1))


def _check_same_settings(saved: dict, now: dict) -> None:
    changed = sorted(k for k in now if k not in _RESUMABLE_CHANGES and saved.get(k) != now[k])
    if changed:
        detail = ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in changed)
        raise ValueError(f"the checkpoint was trained with other settings ({detail}); resume with the same "
                         "settings or start a new --out")


def build_extras(cfg: TrainConfig) -> dict:
    """The configured baselines, grouped by where the loop applies them."""
    from functools import partial

    from augmix import baselines as B

    groups: dict = {"uint8": [], "float": [], "mixer": None, "adversarial": None}
    for name in cfg.extra_list:
        if name in B.UINT8_TRANSFORMS:
            groups["uint8"].append(B.make_uint8_transform(name))
        elif name == "cutout":
            groups["float"].append(B.Cutout(cfg.cutout_size))
        elif name == "patch_uniform":
            groups["float"].append(B.PatchUniform(cfg.patch_size, cfg.patch_max_sigma))
        elif name == "mixup":
            groups["mixer"] = B.Mixup(cfg.mix_alpha)
        elif name == "cutmix":
            groups["mixer"] = B.CutMix(cfg.mix_alpha)
        elif name == "adversarial":
            groups["adversarial"] = partial(B.pgd, eps=cfg.pgd_eps, step=cfg.pgd_step, iters=cfg.pgd_iters)
    return groups


@torch.no_grad()
def quick_test_error(model: torch.nn.Module, data: TrainData, cfg: TrainConfig, device: torch.device) -> float:
    """Clean top-1 error on the test split (CIFAR) or the validation folder."""
    from augmix.evaluate import predict_arrays, predict_folder

    if data.test_x is not None:
        logits = predict_arrays(model, data.test_x, data.mean_std, device, cfg.eval_batch_size, progress=False)
        return float(np.mean(logits.argmax(1) != data.test_y))
    logits, labels = predict_folder(model, data.val_folder, data.mean_std, device, cfg.eval_batch_size,
                                    cfg.workers, resize=True, progress=False)
    return float(np.mean(logits.argmax(1) != labels))


def write_logs(out: Path, history: list[dict], cfg: TrainConfig) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    with atomic_path(out / "log.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    with atomic_path(out / "log.jsonl") as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
    if cfg.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        with SummaryWriter(str(out / "tb")) as tb:
            row = history[-1]
            for k, v in row.items():
                if k != "epoch":
                    tb.add_scalar(k, v, row["epoch"])


__all__ = ["METHODS", "TrainConfig", "TrainingDiverged", "cosine_lr", "load_checkpoint", "train"]
