"""The training batch pipeline, built once per run so the loop only runs it.

Batched (``augment="batched"``), on the uint8 batch the loader gives:
    uint8 baselines -> AugMix (or scaling to [0, 1]) -> float baselines -> mixer -> adversary
Per image (``augment="per_image"``): the loader's workers already made the float views;
the pipeline only lays them out as one batch.
Both end with the input normalisation and return the loss to use for the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import torch

from augmix import baselines as B
from augmix.augment import AugMixBatch
from augmix.augment.apply import to_float
from augmix.losses import AugMixLoss
from augmix.train.config import TrainConfig

Stage = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
LossFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Step:
    """One training step's input (normalised, views concatenated), targets and loss."""

    x: torch.Tensor
    y: torch.Tensor
    loss: LossFn


class Pipeline:
    """Turns loader batches into ``Step`` s: augmentation stages, then mixer and adversary."""

    def __init__(self, stages: list[Stage], mean_std: tuple, device: torch.device, criterion: torch.nn.Module,
                 mixer: Callable | None = None, adversary: Callable | None = None) -> None:
        self.stages, self.criterion, self.mixer, self.adversary = stages, criterion, mixer, adversary
        self.device = device
        self.mean = torch.tensor(mean_std[0], device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(mean_std[1], device=device).view(1, 3, 1, 1)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std

    def run(self, batches: Iterator[tuple[torch.Tensor, torch.Tensor]], gen: torch.Generator,
            net: torch.nn.Module) -> Iterator[Step]:
        for x, y in batches:
            x, y = x.to(self.device), y.to(self.device)
            for stage in self.stages:
                x = stage(x, gen)
            loss: LossFn = partial(self.criterion, targets=y)
            if self.mixer is not None:
                mixed = self.mixer(x, y, gen)
                x, loss = mixed.x, mixed.loss
            if self.adversary is not None:
                x = self.adversary(net, x, y, self.normalise, generator=gen)
            yield Step(self.normalise(x).contiguous(memory_format=torch.channels_last), y, loss)


def build_pipeline(cfg: TrainConfig, mean_std: tuple, device: torch.device) -> Pipeline:
    """The pipeline ``cfg`` describes (method, batched or per image, baselines)."""
    criterion = AugMixLoss(cfg.jsd_lambda, jsd=cfg.views == 3)
    if cfg.augment_on(device) == "per_image":
        return Pipeline([_views_to_batch], mean_std, device, criterion)
    stages: list[Stage] = [B.make_uint8_transform(b) for b in cfg.baselines if b in B.UINT8_TRANSFORMS]
    if cfg.method == "standard":
        stages.append(lambda x, gen: to_float(x))
    else:
        augmix = AugMixBatch(cfg.augmix, jsd=cfg.views == 3)
        stages.append(lambda x, gen: _concat(augmix(x, generator=gen)))
    for name in cfg.baselines:
        if name == "cutout":
            stages.append(B.Cutout(cfg.cutout_size))
        elif name == "patch_uniform":
            stages.append(B.PatchUniform(cfg.patch_size, cfg.patch_max_sigma))
    mixer = {"mixup": B.Mixup, "cutmix": B.CutMix}
    mixers = [mixer[b](cfg.mix_alpha) for b in cfg.baselines if b in mixer]
    adversary = partial(B.pgd, eps=cfg.pgd_eps, step=cfg.pgd_step, iters=cfg.pgd_iters) \
        if "adversarial" in cfg.baselines else None
    return Pipeline(stages, mean_std, device, criterion, mixers[-1] if mixers else None, adversary)


def _concat(views: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """AugMix+JSD's views (clean, aug1, aug2) as one batch, view-major, as the loss splits it."""
    return torch.cat(views) if isinstance(views, tuple) else views


def _views_to_batch(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The per-image loader's ``[B, views, C, H, W]`` as one view-major batch ``[views * B, C, H, W]``."""
    if x.ndim == 5:
        return x.transpose(0, 1).reshape(-1, *x.shape[2:])
    return x
