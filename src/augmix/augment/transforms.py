"""AugMix as transforms: per-image (``AugMix``) and batched on any device (``AugMixBatch``).

Both follow torchvision v2's protocol: ``make_params`` draws the random choices with the
shared sampler (``sample_params``), ``transform(x, params)`` applies them with
``apply_pil`` / ``apply_tensor``, and ``forward(x, params=None)`` replays given parameters
as kornia's augmentations do (the last draw is kept in ``last_params``). Both take one
``AugMixConfig`` (or its fields as keywords), so they sample the same distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

import torch
from PIL import Image

from augmix.augment.apply import BACKENDS, apply_pil, apply_tensor, to_float
from augmix.augment.sampler import AugMixConfig, AugMixParams, Seed, as_numpy_rng, sample_params


def resolve_config(config: AugMixConfig | None, settings: dict) -> AugMixConfig:
    """``config``, or an ``AugMixConfig`` built from keyword settings (not both)."""
    if config is not None and settings:
        raise ValueError("give an AugMixConfig or its settings as keywords, not both")
    if config is not None:
        if not isinstance(config, AugMixConfig):
            raise TypeError(f"config must be an AugMixConfig, got {type(config).__name__}")
        return config
    known = {f.name for f in fields(AugMixConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f"unknown AugMix setting(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
    return AugMixConfig(**settings)


class _AugMixModule(torch.nn.Module):
    def __init__(self, config: AugMixConfig | None, generator: Seed, settings: dict) -> None:
        super().__init__()
        self.config = resolve_config(config, settings)
        # an int seeds one stream for the transform's lifetime (not the same draw each call)
        self.generator = as_numpy_rng(generator) if isinstance(generator, int) else generator
        self.last_params: AugMixParams | None = None

    def _draw(self, n: int, generator: Seed) -> AugMixParams:
        return sample_params(n, self.config, generator if generator is not None else self.generator)


class AugMix(_AugMixModule):
    """Per-image AugMix for ``torchvision.transforms.Compose``.

    Takes a PIL image or an image tensor ``[C, H, W]`` (uint8 or float in [0, 1]) and
    returns the mixed image as float32 ``[C, H, W]``: mixing happens in float space as
    in the reference, so there is no rounding back to 8 bits. With ``preprocess`` (e.g.
    ``Compose([ToTensor(), Normalize(...)])``) every view is preprocessed before mixing,
    exactly the reference's ``aug(image, preprocess)``.
    """

    def __init__(self, config: AugMixConfig | None = None, *,
                 preprocess: Callable[[Image.Image], torch.Tensor] | None = None, generator: Seed = None,
                 **settings) -> None:
        super().__init__(config, generator, settings)
        self.preprocess = preprocess

    def make_params(self, img: Image.Image | torch.Tensor | None = None, generator: Seed = None) -> AugMixParams:
        """One image's random choices (batch size 1)."""
        return self._draw(1, generator)

    def transform(self, img: Image.Image | torch.Tensor, params: AugMixParams) -> torch.Tensor:
        if isinstance(img, Image.Image):
            return apply_pil(img, params, self.preprocess or to_float)
        if not isinstance(img, torch.Tensor) or img.ndim != 3:
            shape = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
            raise ValueError(f"AugMix takes a PIL image or a [C, H, W] tensor, got {shape}; "
                             "use AugMixBatch for batches")
        out = apply_tensor(img.unsqueeze(0), params)[0]
        return self.preprocess(out) if self.preprocess else out

    def forward(self, img: Image.Image | torch.Tensor, params: AugMixParams | None = None) -> torch.Tensor:
        params = params if params is not None else self.make_params(img)
        self.last_params = params
        return self.transform(img, params)

    def extra_repr(self) -> str:
        return str(self.config)


class AugMixBatch(_AugMixModule):
    """Batched AugMix with ops sampled per image, on the batch's device.

    ``forward(x)`` takes ``[B, C, H, W]`` uint8 (0-255) or float (0-1) and returns the
    mixed batch as float32 in [0, 1]. With ``jsd=True`` it returns the three views
    ``(clean, aug1, aug2)`` of the Jensen-Shannon consistency loss, the two augmentations
    drawn independently for every image (parameters for ``2B`` images: first ``aug1``,
    then ``aug2``). ``generator`` (or the per-call argument) makes the draw reproducible.
    ``backend`` is ``apply_tensor``'s: the default uses the compiled kernel for uint8
    batches on the CPU and torch ops elsewhere.
    """

    def __init__(self, config: AugMixConfig | None = None, *, jsd: bool = False, generator: Seed = None,
                 backend: str = "auto", **settings) -> None:
        super().__init__(config, generator, settings)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.jsd = jsd
        self.backend = backend

    def make_params(self, x: torch.Tensor, generator: Seed = None) -> AugMixParams:
        """Random choices for every image of ``x`` (twice the batch with ``jsd``)."""
        _check_batch(x)
        return self._draw(x.shape[0] * (2 if self.jsd else 1), generator)

    def transform(self, x: torch.Tensor, params: AugMixParams
                  ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        _check_batch(x)
        b = x.shape[0]
        if not self.jsd:
            return apply_tensor(x, params, self.backend)
        if params.batch_size != 2 * b:
            raise ValueError(f"jsd=True needs parameters for 2 x {b} images, got {params.batch_size}")
        both = apply_tensor(torch.cat([x, x]), params, self.backend)
        return to_float(x), both[:b], both[b:]

    def forward(self, x: torch.Tensor, params: AugMixParams | None = None, generator: Seed = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        params = params if params is not None else self.make_params(x, generator)
        self.last_params = params
        return self.transform(x, params)

    def extra_repr(self) -> str:
        return f"{self.config}, jsd={self.jsd}, backend={self.backend}"


def _check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"AugMixBatch takes a batch [B, C, H, W], got {shape}")
