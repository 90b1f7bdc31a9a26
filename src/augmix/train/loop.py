"""Training: Standard, AugMix, and AugMix + JSD, with the paper's recipes.

``train`` reads top to bottom: set up, build the model, optimiser, schedule and batch
pipeline once, then for each epoch run the pipeline's steps and save a checkpoint. The
helpers around it (distributed set-up, RNG state, batches, checkpoints, logs) live in
their own modules.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from augmix.allocator import keep_freed_memory
from augmix.checkpoint import ModelSpec, build_model, check_training_state, load_checkpoint, save_checkpoint
from augmix.io import ensure_writable_dir, output_lock, own
from augmix.memory import check_batch, one_line_oom
from augmix.train import logs
from augmix.train.batches import make_batches
from augmix.train.config import TrainConfig
from augmix.train.data import load_train_data, test_error
from augmix.train.distributed import setup_distributed
from augmix.train.pipeline import build_pipeline
from augmix.train.rng import epoch_generator, rng_state, seed_everything, set_rng_state

# settings that may change between a run and its resumption
RESUMABLE_CHANGES = {"out", "data_dir", "workers", "eval_batch_size", "eval_every", "tensorboard", "epochs",
                     "tune_malloc"}


class TrainingDiverged(RuntimeError):
    """The loss or the model became NaN or infinite; the last good checkpoint is kept."""


def cosine_lr(step: int, total: int, lr_max: float, lr_min: float) -> float:
    """The reference's ``get_lr``: cosine annealing from lr_max to lr_min over ``total`` steps."""
    return lr_min + (lr_max - lr_min) * 0.5 * (1 + math.cos(step / total * math.pi))


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True) -> Path:
    """Train per ``cfg`` into ``cfg.out`` (checkpoint.pt, log.csv, log.jsonl); return the folder."""
    dist = setup_distributed()
    ckpt_path = Path(cfg.out) / "checkpoint.pt"
    if dist.main:  # every folder read is an input, which the output must not be in nor hold
        inputs = [p for p in (cfg.data_dir, cfg.stylized_dir) if p]
        ensure_writable_dir(ckpt_path.parent, inputs, verb="train")
    with output_lock(cfg.out) if dist.main else contextlib.nullcontext():
        return _train(cfg, dist, ckpt_path, resume, progress)


def _train(cfg: TrainConfig, dist, ckpt_path: Path, resume: bool, progress: bool) -> Path:
    cfg = dataclasses.replace(cfg, augment=cfg.augment_on(dist.device))  # the path taken, as checkpoints record it
    saved = _start(cfg, dist, ckpt_path, resume)
    cuda = dist.device.type == "cuda"

    seed_everything(cfg.seed)
    data = load_train_data(cfg)
    shape = tuple(data.train_x.shape[1:]) if data.train_x is not None else (3, 224, 224)
    check_batch(cfg.batch_size * cfg.views, shape, dist.device)
    check_batch(cfg.eval_batch_size, shape, dist.device)
    spec = ModelSpec(cfg.model, data.num_classes, *data.mean_std, dataset=cfg.dataset,
                     split_bn_views=cfg.views if cfg.split_bn else 0, classes=data.classes)
    # channels_last: tensor-core layouts on GPUs, and oneDNN's blocked convolutions on CPUs
    model = build_model(spec, for_training=True).to(dist.device, memory_format=torch.channels_last)
    batches = make_batches(data, cfg, dist)
    optimizer = torch.optim.SGD(model.parameters(), cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay, nesterov=cfg.nesterov)
    total_steps = cfg.epochs * len(batches)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cosine_lr(step, total_steps, 1.0, cfg.lr_min / cfg.lr))
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and cfg.amp)
    pipeline = build_pipeline(cfg, data.mean_std, dist.device)

    start_epoch, history = _resume(saved, model, optimizer, scheduler, scaler, ckpt_path, dist.main)
    net = dist.wrap(model)

    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        gen = epoch_generator(cfg.seed, epoch, dist.rank)
        t0, seen, loss_sum = time.time(), 0, 0.0
        steps = pipeline.run(batches.epoch(epoch, gen), gen, net)
        bar = tqdm(steps, total=len(batches), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=not (progress and dist.main), leave=False)
        for step in bar:
            with one_line_oom(cfg.batch_size, dist.device):
                with torch.autocast(dist.device.type, enabled=cuda and cfg.amp):
                    loss = step.loss(net(step.x))
                if not torch.isfinite(loss):
                    _diverged(f"non-finite loss ({loss.item()}) at epoch {epoch + 1}, step "
                              f"{seen // len(step.y) + 1}", ckpt_path)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            scheduler.step()
            seen += len(step.y)
            loss_sum += loss.item() * len(step.y)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
        elapsed = time.time() - t0
        row = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1), "lr": scheduler.get_last_lr()[0],
               "seconds": round(elapsed, 2), "images_per_s": round(seen * dist.world / elapsed, 1)}
        if dist.main:
            history.append(_end_epoch(row, cfg, data, spec, model, optimizer, scheduler, scaler, history, ckpt_path,
                                      dist.device))
        dist.barrier()
    return Path(cfg.out)


def _start(cfg: TrainConfig, dist, ckpt_path: Path, resume: bool) -> dict | None:
    """Before any work: a checkpoint in the output folder refused unless resuming and then
    checked against ``cfg``, the tools ``cfg`` needs present, CPU memory reuse; return the
    checkpoint to resume (None for a new run)."""
    out = ckpt_path.parent
    if ckpt_path.exists() and not resume:
        raise ValueError(f"{ckpt_path} exists; pass --resume to continue it or choose another --out")
    saved = load_checkpoint(ckpt_path) if resume and ckpt_path.exists() else None
    if resume and saved is None and dist.main:
        print(f"no checkpoint in {out} yet: starting from epoch 1")
    if saved is not None:
        check_training_state(saved, ckpt_path)
        _check_same_settings(saved["config"], cfg.to_dict())
        if saved["epoch"] > cfg.epochs:  # its figures would be reported as those of a shorter run
            raise ValueError(f"{ckpt_path} was trained for {saved['epoch']} epochs, more than --epochs {cfg.epochs}; "
                             "resume with --epochs of at least that, or start a new --out")
    if cfg.tensorboard:
        _check_tensorboard()
    if dist.device.type != "cuda" and cfg.tune_malloc:
        keep_freed_memory()
    return saved


def _resume(saved: dict | None, model, optimizer, scheduler, scaler, ckpt_path: Path, main: bool) -> tuple[int, list]:
    """Restore model, optimiser, schedule, loss scale and every RNG from ``saved``; return the
    epoch to start from and the history so far ((0, []) for a new run)."""
    if saved is None:
        return 0, []
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    scaler.load_state_dict(saved["scaler"])
    set_rng_state(saved["rng"])
    if main:
        print(f"resuming {ckpt_path} after epoch {saved['epoch']}")
    return saved["epoch"], saved["history"]


def _end_epoch(row: dict, cfg: TrainConfig, data, spec: ModelSpec, model, optimizer, scheduler, scaler,
               history: list, ckpt_path: Path, device: torch.device) -> dict:
    """The main process's epoch tail: refuse non-finite weights (keeping the last good checkpoint),
    measure the test error when due, save the checkpoint and the logs, print one line; return the
    epoch's log row."""
    epoch = row["epoch"]
    bad = _non_finite(model)
    if bad:  # the loss stayed finite but the weights or BN statistics did not
        _diverged(f"non-finite values in {bad} after epoch {epoch}", ckpt_path)
    if cfg.eval_every >= 0 and (epoch == cfg.epochs or (cfg.eval_every and epoch % cfg.eval_every == 0)):
        row["test_error"] = test_error(model, data, cfg, device)
    rows = [*history, row]
    own(ckpt_path.parent, "train")  # before its first output: the run got this far, the folder is its
    save_checkpoint(ckpt_path, spec, model.state_dict(), optimizer=optimizer.state_dict(),
                    scheduler=scheduler.state_dict(), scaler=scaler.state_dict(), rng=rng_state(), epoch=epoch,
                    step=scheduler.last_epoch, config=cfg.to_dict(), provenance=data.provenance, history=rows)
    logs.write_logs(ckpt_path.parent, rows, cfg.tensorboard)
    test = f"  test error {100 * row['test_error']:.2f}%" if "test_error" in row else ""
    print(f"epoch {epoch}/{cfg.epochs}  loss {row['train_loss']:.4f}{test}  {row['seconds']:.0f}s  "
          f"{row['images_per_s']:.0f} img/s")
    return row


def _diverged(what: str, ckpt_path: Path) -> None:
    kept = ckpt_path if ckpt_path.exists() else "none (first epoch)"
    raise TrainingDiverged(f"{what}; the last good checkpoint is {kept} - lower --lr or check the data")


def _non_finite(model: torch.nn.Module) -> str | None:
    """The first parameter or buffer holding NaN or infinity, if any."""
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            return name
    return None


def _check_same_settings(saved: dict, now: dict) -> None:
    changed = sorted(k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k])
    if changed:
        detail = ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in changed)
        raise ValueError(f"the checkpoint was trained with other settings ({detail}); resume with the same "
                         "settings or start a new --out")


def _check_tensorboard() -> None:
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        raise ValueError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
