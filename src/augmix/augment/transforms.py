"""AugMix as transforms: per-image (``AugMix``) and batched on any device (``AugMixBatch``).

Both draw their parameters with ``sample_params`` and apply them with ``apply_pil`` or
``apply_tensor``, so they sample the same distribution.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image

from augmix.augment.apply import BACKENDS, apply_pil, apply_tensor, to_float
from augmix.augment.sampler import AugMixConfig, Seed, as_numpy_rng, sample_params


class AugMix:
    """Per-image AugMix for ``torchvision.transforms.Compose``.

    Takes a PIL image or an image tensor ``[C, H, W]`` (uint8 or float in [0, 1]) and
    returns the mixed image as float32 ``[C, H, W]``: mixing happens in float space as
    in the reference, so there is no rounding back to 8 bits. With ``preprocess`` (e.g.
    ``Compose([ToTensor(), Normalize(...)])``) every view is preprocessed before mixing,
    exactly the reference's ``aug(image, preprocess)``.
    """

    def __init__(
        self,
        severity: int = 3,
        width: int = 3,
        depth: int = -1,
        alpha: float = 1.0,
        all_ops: bool = False,
        preprocess: Callable[[Image.Image], torch.Tensor] | None = None,
        generator: Seed = None,
    ) -> None:
        self.config = AugMixConfig(severity, width, depth, alpha, all_ops)
        self.preprocess = preprocess
        # an int seeds one stream for the transform's lifetime (not the same draw each call)
        self.generator = as_numpy_rng(generator) if isinstance(generator, int) else generator

    def __call__(self, img: Image.Image | torch.Tensor) -> torch.Tensor:
        params = sample_params(1, self.config, self.generator)
        if isinstance(img, Image.Image):
            return apply_pil(img, params, self.preprocess or to_float)
        if not isinstance(img, torch.Tensor) or img.ndim != 3:
            shape = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
            raise ValueError(f"AugMix takes a PIL image or a [C, H, W] tensor, got {shape}; "
                             "use AugMixBatch for batches")
        out = apply_tensor(img.unsqueeze(0), params)[0]
        return self.preprocess(out) if self.preprocess else out

    def __repr__(self) -> str:
        return f"AugMix({self.config})"


class AugMixBatch(torch.nn.Module):
    """Batched AugMix with ops sampled per image, on the batch's device.

    ``forward(x)`` takes ``[B, C, H, W]`` uint8 (0-255) or float (0-1) and returns the
    mixed batch as float32 in [0, 1]. With ``jsd=True`` it returns the triplet
    ``(clean, aug1, aug2)`` used by the Jensen-Shannon consistency loss, the two
    augmentations drawn independently for every image. ``generator`` (or the per-call
    argument) makes the draw reproducible. ``backend`` is ``apply_tensor``'s: the default
    uses the compiled kernel for uint8 batches on the CPU and torch ops elsewhere.
    """

    def __init__(
        self,
        severity: int = 3,
        width: int = 3,
        depth: int = -1,
        alpha: float = 1.0,
        all_ops: bool = False,
        jsd: bool = False,
        generator: Seed = None,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.config = AugMixConfig(severity, width, depth, alpha, all_ops)
        self.jsd = jsd
        self.backend = backend
        self.generator = as_numpy_rng(generator) if isinstance(generator, int) else generator

    def forward(
        self, x: torch.Tensor, generator: Seed = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not isinstance(x, torch.Tensor) or x.ndim != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"AugMixBatch takes a batch [B, C, H, W], got {shape}")
        # a per-call generator (int or Generator) fixes this call's draw
        gen = generator if generator is not None else self.generator
        b = x.shape[0]
        if not self.jsd:
            return apply_tensor(x, sample_params(b, self.config, gen), self.backend)
        params = sample_params(2 * b, self.config, gen)
        both = apply_tensor(torch.cat([x, x]), params, self.backend)
        return to_float(x), both[:b], both[b:]

    def extra_repr(self) -> str:
        return f"{self.config}, jsd={self.jsd}, backend={self.backend}"
