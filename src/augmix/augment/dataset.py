"""``AugMixDataset``: the reference's dataset wrapper for the per-image (DataLoader) path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from PIL import Image

from augmix.augment import compiled
from augmix.augment.apply import apply_pil, to_float
from augmix.augment.sampler import AugMixConfig, Seed, SeededStream, sample_params


class AugMixDataset(torch.utils.data.Dataset):
    """Wraps a dataset of ``(PIL image, label)``; returns ``((clean, aug1, aug2), label)``.

    With ``jsd=False`` it returns ``(augmix(image), label)``. Every view goes through
    ``preprocess`` (ToTensor + Normalize in the reference). Randomness comes from torch's
    global RNG, which DataLoader seeds per worker, or from ``generator`` (a ``SeededStream``:
    its own stream in every worker and epoch), so a seeded run is reproducible.
    """

    def __init__(
        self,
        dataset: Any,
        preprocess: Callable[[Image.Image], torch.Tensor] = to_float,
        jsd: bool = True,
        config: AugMixConfig = AugMixConfig(),
        generator: Seed = None,
    ) -> None:
        self.dataset = dataset
        self.preprocess = preprocess
        self.jsd = jsd
        self.config = config
        self.stream = SeededStream.of(generator)
        compiled.load()  # here, before the DataLoader forks its workers, so that they inherit it

    def _aug(self, img: Image.Image) -> torch.Tensor:
        seed = self.stream.rng() if self.stream is not None else None
        return apply_pil(img, sample_params(1, self.config, seed), self.preprocess)

    def __getitem__(self, i: int):
        img, label = self.dataset[i]
        if not isinstance(img, Image.Image):
            raise TypeError(f"AugMixDataset needs PIL images from the wrapped dataset, got "
                            f"{type(img).__name__}; put ToTensor in `preprocess`, not in the dataset")
        if not self.jsd:
            return self._aug(img), label
        return (self.preprocess(img), self._aug(img), self._aug(img)), label

    def __len__(self) -> int:
        return len(self.dataset)
