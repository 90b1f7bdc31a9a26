"""AugMix as torchvision v2 transforms: per-image (``AugMix``) and batched on any device
(``AugMixBatch``).

Both are ``torchvision.transforms.v2.Transform`` subclasses, so they take any v2 sample: an
image alone, or tuples, lists and dicts holding one (PIL images, plain tensors,
``tv_tensors.Image``), with labels and other entries passed through untouched. Bounding
boxes, masks, key points and videos are refused with a ``TypeError``: AugMix mixes several
differently-warped copies of an image, which no single geometry of a box or mask follows.

``make_params`` draws the random choices with the shared sampler (``sample_params``),
``transform(image, params)`` applies them with ``apply_pil`` / ``apply_tensor``, and
``forward(*sample, params=...)`` replays given parameters (the last draw is kept in
``last_params``). Both take one ``AugMixConfig`` (or its fields as keywords), so they sample
the same distribution. A seeded transform (``generator=``) draws from a ``SeededStream``:
different in every ``DataLoader`` worker and epoch, reproducible from ``torch.manual_seed``.

``output`` chooses what an image becomes: ``"float"`` (float32 in [0, 1], no rounding: the
reference mixes in float), ``"uint8"`` (rounded to 8 bits) or ``"pil"`` (a PIL image, for PIL
pipelines such as ``ToTensor`` after it or timm's ``AugMixDataset``). Rounding to 8 bits moves
each value by at most half a grey level (1/510); timm's own AugMix truncates instead (up to
one level, on average half a level darker).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import fields
from typing import Any, Literal

import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms.v2 import Transform
from torchvision.transforms.v2.functional import to_pil_image

from augmix.augment.apply import BACKENDS, Backend, apply_pil, apply_tensor, to_float
from augmix.augment.sampler import AugMixConfig, AugMixParams, Seed, SeededStream, sample_params

Output = Literal["float", "uint8", "pil"]
OUTPUTS: tuple[str, ...] = typing.get_args(Output)
_GEOMETRY = (tv_tensors.BoundingBoxes, tv_tensors.Mask, *(
    (tv_tensors.KeyPoints,) if hasattr(tv_tensors, "KeyPoints") else ()))
_REFUSED = (*_GEOMETRY, tv_tensors.Video)


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


def _as_output(x: torch.Tensor, output: Output, like: Any) -> Any:
    """A float32 [C, H, W] or [B, C, H, W] result in [0, 1] as ``output`` asks, in the type of ``like``."""
    if output == "uint8":
        x = x.mul(255).round_().clamp_(0, 255).to(torch.uint8)
    elif output == "pil":
        return to_pil_image(x.mul(255).round_().clamp_(0, 255).to(torch.uint8))
    return tv_tensors.wrap(x, like=like) if isinstance(like, tv_tensors.Image) else x


class _AugMixTransform(Transform):
    def __init__(self, config: AugMixConfig | None, generator: Seed, output: Output, settings: dict) -> None:
        super().__init__()
        self.config = resolve_config(config, settings)
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose {', '.join(OUTPUTS)}")
        self.output = output
        self.stream = SeededStream.of(generator)
        self.last_params: AugMixParams | None = None

    def check_inputs(self, flat_inputs: list[Any]) -> None:
        refused = _REFUSED if self.config.geometric else (tv_tensors.Video,)
        found = [type(x).__name__ for x in flat_inputs if isinstance(x, refused)]
        if found and found[0] == "Video":
            raise TypeError(f"{type(self).__name__} cannot transform Video: AugMix mixes several differently-warped "
                            "copies of an image; apply it to each frame's image")
        if found:
            raise TypeError(f"{type(self).__name__} cannot transform {found[0]}: AugMix mixes several "
                            "differently-warped copies of the image, which no box, mask or key point follows; "
                            "pass geometric=False (no rotate, shear or translate) to keep every pixel in place "
                            "and let boxes, masks and key points pass through, or apply it to images only")

    def _passes(self, inpt: Any) -> bool:
        """Boxes, masks and key points under an op set that moves no pixel: returned as they are."""
        return isinstance(inpt, _GEOMETRY)

    def _draw(self, n: int, generator: Seed) -> AugMixParams:
        if generator is not None:
            return sample_params(n, self.config, generator)
        return sample_params(n, self.config, self.stream.rng() if self.stream is not None else None)

    def _replayed(self) -> AugMixParams | None:
        """The parameters ``forward(..., params=)`` is replaying, if any."""
        return getattr(self, "_replay", None)

    def _keep(self, params: AugMixParams) -> AugMixParams:
        self.last_params = params
        return params

    def forward(self, *inputs: Any, params: AugMixParams | None = None) -> Any:
        """Transform a v2 sample; ``params`` replays a draw (e.g. ``last_params``) instead of a new one."""
        self._replay = params
        try:
            return super().forward(*inputs)
        finally:
            self._replay = None

    def extra_repr(self) -> str:
        return f"{self.config}, output={self.output!r}" + (f", generator={self.stream.seed}" if self.stream else "")


class AugMix(_AugMixTransform):
    """Per-image AugMix for ``torchvision.transforms.v2.Compose`` (and v1 ``Compose``).

    Takes a PIL image or an image tensor ``[C, H, W]`` (uint8, or float in [0, 1]), alone or
    in a v2 sample, and returns the mixed image as ``output`` says (float32 ``[C, H, W]`` by
    default: mixing happens in float space as in the reference). With ``preprocess`` (e.g.
    ``Compose([ToTensor(), Normalize(...)])``) every view is preprocessed before mixing,
    exactly the reference's ``aug(image, preprocess)``; the output is then that float tensor.
    All images of one sample get the same draw.
    """

    def __init__(self, config: AugMixConfig | None = None, *,
                 preprocess: Callable[[Image.Image], torch.Tensor] | None = None, generator: Seed = None,
                 output: Output = "float", **settings) -> None:
        super().__init__(config, generator, output, settings)
        if preprocess is not None and output != "float":
            raise ValueError("with preprocess, AugMix returns the preprocessed float tensor; leave output='float'")
        self.preprocess = preprocess

    def make_params(self, flat_inputs: Any = None, generator: Seed = None) -> AugMixParams:
        """One image's random choices (batch size 1)."""
        return self._keep(self._replayed() or self._draw(1, generator))

    def transform(self, inpt: Any, params: AugMixParams) -> Any:
        if self._passes(inpt):
            return inpt
        if isinstance(inpt, Image.Image):
            out = apply_pil(inpt, params, self.preprocess or to_float)
            return out if self.preprocess else _as_output(out, self.output, inpt)
        if not isinstance(inpt, torch.Tensor) or inpt.ndim != 3:
            shape = tuple(inpt.shape) if isinstance(inpt, torch.Tensor) else type(inpt).__name__
            raise ValueError(f"AugMix takes a PIL image or a [C, H, W] tensor, got {shape}; "
                             "use AugMixBatch for batches")
        out = apply_tensor(inpt.as_subclass(torch.Tensor).unsqueeze(0), params)[0]
        return self.preprocess(out) if self.preprocess else _as_output(out, self.output, inpt)


class AugMixBatch(_AugMixTransform):
    """Batched AugMix with ops sampled per image, on the batch's device.

    Takes ``[B, C, H, W]`` uint8 (0-255) or float (0-1), alone or in a v2 sample, and returns
    the mixed batch (float32 in [0, 1], or uint8 with ``output="uint8"``). With
    ``jsd=True`` it returns the three views ``(clean, aug1, aug2)`` of the Jensen-Shannon
    consistency loss, the two augmentations drawn independently for every image (parameters
    for ``2B`` images: first ``aug1``, then ``aug2``). ``generator`` makes the draws
    reproducible (and differ per DataLoader worker); ``forward(x, generator=g)`` uses ``g``
    for that call. ``backend`` is ``apply_tensor``'s: the default uses the compiled kernel for
    uint8 batches on the CPU and torch ops elsewhere.
    """

    def __init__(self, config: AugMixConfig | None = None, *, jsd: bool = False, generator: Seed = None,
                 backend: Backend = "auto", output: Output = "float", **settings) -> None:
        super().__init__(config, generator, output, settings)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if output == "pil":
            raise ValueError("AugMixBatch returns tensors: output 'float' or 'uint8'")
        self.jsd = jsd
        self.backend = backend
        self._call_generator: Seed = None

    def make_params(self, flat_inputs: Any, generator: Seed = None) -> AugMixParams:
        """Random choices for every image of the batch (twice the batch with ``jsd``)."""
        replay = self._replayed()
        if replay is not None:
            return self._keep(replay)
        n = _the_batch(flat_inputs).shape[0] * (2 if self.jsd else 1)
        return self._keep(self._draw(n, generator or self._call_generator))

    def transform(self, inpt: Any, params: AugMixParams) -> Any:
        if self._passes(inpt):
            return inpt
        x = _check_batch(inpt).as_subclass(torch.Tensor)
        b = x.shape[0]
        if not self.jsd:
            return _as_output(apply_tensor(x, params, self.backend), self.output, inpt)
        if params.batch_size != 2 * b:
            raise ValueError(f"jsd=True needs parameters for 2 x {b} images, got {params.batch_size}")
        both = apply_tensor(torch.cat([x, x]), params, self.backend)
        return tuple(_as_output(v, self.output, inpt) for v in (to_float(x), both[:b], both[b:]))

    def forward(self, *inputs: Any, params: AugMixParams | None = None, generator: Seed = None) -> Any:
        """Transform a batch (or a v2 sample holding one); ``generator`` draws this call's parameters."""
        self._call_generator = generator
        try:
            return super().forward(*inputs, params=params)
        finally:
            self._call_generator = None

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, jsd={self.jsd}, backend={self.backend}"


def _the_batch(flat_inputs: Any) -> torch.Tensor:
    """The batch among v2's flattened inputs (or a batch given directly)."""
    if isinstance(flat_inputs, torch.Tensor):
        return _check_batch(flat_inputs)
    batches = [x for x in flat_inputs if isinstance(x, torch.Tensor) and not isinstance(x, _GEOMETRY)]
    if not batches:
        raise ValueError("AugMixBatch found no image batch [B, C, H, W] in its input")
    return _check_batch(batches[0])


def _check_batch(x: Any) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"AugMixBatch takes a batch [B, C, H, W], got {shape}")
    return x
