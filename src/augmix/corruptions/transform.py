"""``Corrupt``: the corruptions as a torchvision v2 transform, for evaluation pipelines of any
task (classification, detection, segmentation), in the manner of mmdetection's ``Corrupt`` step.

The image of a sample (PIL, a tensor ``[C, H, W]`` or a batch ``[B, C, H, W]``, a
``tv_tensors.Image``; any size >= 32 px; RGB, grey or RGBA) is corrupted; boxes, masks, key
points, labels and every other entry pass through unchanged. ``make_params`` draws the
corruption, the severity and the corruption's own seed; ``transform`` applies them
(``forward(..., params=)`` replays a draw, e.g. ``last_params``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms.v2 import Transform

from augmix.augment.sampler import Seed, SeededStream
from augmix.corruptions.apply import DEFINITIONS, Definition, corrupt
from augmix.corruptions.tables import ALL, check_severity

_PASSED = (tv_tensors.BoundingBoxes, tv_tensors.Mask, *(
    (tv_tensors.KeyPoints,) if hasattr(tv_tensors, "KeyPoints") else ()))


def _names(corruption: str | Sequence[str]) -> tuple[str, ...]:
    names = (corruption,) if isinstance(corruption, str) else tuple(corruption)
    unknown = [n for n in names if n not in ALL]
    if not names or unknown:
        raise ValueError(f"unknown corruption {(unknown or [''])[0]!r}; choose one or more of {', '.join(ALL)}")
    return names


def _severities(severity: int | Sequence[int]) -> tuple[int, ...]:
    values = (severity,) if isinstance(severity, (int, np.integer)) else tuple(severity)
    if not values:
        raise ValueError("severity must be an integer 1..5 or a non-empty sequence of them, e.g. range(1, 6)")
    return tuple(check_severity(v) for v in values)


class Corrupt(Transform):
    """Corrupt the image of a v2 sample with ``corruption`` at ``severity`` (1-5).

    ``corruption`` is a name or a list of names and ``severity`` an integer or a sequence
    (e.g. ``range(1, 6)``): each call draws one of each, uniformly, as mmdetection's
    ``Corrupt`` step does per image. ``seed`` makes the draws reproducible and, as
    ``AugMix``'s ``generator``, different in every ``DataLoader`` worker and epoch; without it
    they come from torch's global generator. ``definition`` is ``corrupt``'s (default: the
    published generators' for square 32, 64 and 224 px images, the ``imagecorruptions``
    package's for every other size).

    Images keep their type, size and mode (grey stays grey, RGBA keeps its alpha; other PIL
    modes are corrupted as RGB and returned RGB); float tensors in [0, 1] are corrupted at 8
    bits and returned as float; tensors on a GPU are corrupted there by the torch back-end.
    Boxes, masks, key points and labels are returned unchanged. Elastic transform moves pixels
    by a few pixels while the labels stay where they were, as in the published benchmarks
    (COCO-C, Cityscapes-C, ImageNet-C), which keep the clean labels.
    """

    def __init__(self, corruption: str | Sequence[str], severity: int | Sequence[int] = 3,
                 seed: Seed = None, definition: Definition | None = None) -> None:
        super().__init__()
        self.corruptions = _names(corruption)
        self.severities = _severities(severity)
        if definition is not None and definition not in DEFINITIONS:
            raise ValueError(f"unknown corruption definition {definition!r}; choose from {', '.join(DEFINITIONS)}")
        self.definition = definition
        self.stream = SeededStream.of(seed)
        self.last_params: dict[str, Any] | None = None
        self._replay: dict[str, Any] | None = None

    def _draw(self, high: int, rng: Any) -> int:
        if isinstance(rng, np.random.Generator):
            return int(rng.integers(high))
        return int(torch.randint(high, (), generator=rng))

    def make_params(self, flat_inputs: Any = None) -> dict[str, Any]:
        """The corruption, severity and seed of this call."""
        if self._replay is not None:
            params = self._replay
        else:
            rng = self.stream.rng() if self.stream is not None else None
            params = {"corruption": self.corruptions[self._draw(len(self.corruptions), rng)],
                      "severity": self.severities[self._draw(len(self.severities), rng)],
                      "seed": self._draw(2 ** 62, rng)}
        self.last_params = params
        return params

    def check_inputs(self, flat_inputs: list[Any]) -> None:
        if any(isinstance(x, tv_tensors.Video) for x in flat_inputs):
            raise TypeError("Corrupt cannot transform Video: apply it to each frame's image")

    def forward(self, *inputs: Any, params: dict[str, Any] | None = None) -> Any:
        """Transform a v2 sample; ``params`` replays a draw (e.g. ``last_params``) instead of a new one."""
        self._replay = params
        try:
            return super().forward(*inputs)
        finally:
            self._replay = None

    def _corrupt(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return corrupt(x, params["corruption"], params["severity"], seed=np.random.default_rng(params["seed"]),
                       definition=self.definition)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, _PASSED) or not isinstance(inpt, (Image.Image, torch.Tensor)):
            return inpt
        if isinstance(inpt, Image.Image):
            img = inpt if inpt.mode in ("RGB", "L", "RGBA") else inpt.convert("RGB")
            return Image.fromarray(self._corrupt(np.asarray(img), params), mode=img.mode)
        x = inpt.as_subclass(torch.Tensor)
        if x.ndim not in (3, 4) or x.shape[-3] not in (1, 3, 4):
            raise ValueError(f"Corrupt takes images [C, H, W] or [B, C, H, W] with C = 1, 3 or 4, got {tuple(x.shape)}")
        floating = x.is_floating_point()
        u8 = x.mul(255).round().clamp(0, 255).to(torch.uint8) if floating else x
        if u8.dtype != torch.uint8:
            raise ValueError(f"Corrupt takes uint8 images or float images in [0, 1], got {x.dtype}")
        if x.device.type != "cpu":  # the torch back-end, on the images' device
            from augmix.corruptions.tensor import corrupt_tensor

            out = corrupt_tensor(u8, params["corruption"], params["severity"], seed=params["seed"],
                                 definition=self.definition)
        else:
            arr = np.ascontiguousarray(u8.movedim(-3, -1).numpy())
            out = torch.from_numpy(self._corrupt(arr, params)).movedim(-1, -3)
        out = out.float().div_(255) if floating else out
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out

    def extra_repr(self) -> str:
        names = self.corruptions[0] if len(self.corruptions) == 1 else list(self.corruptions)
        sev = self.severities[0] if len(self.severities) == 1 else list(self.severities)
        return f"corruption={names!r}, severity={sev}" + (f", seed={self.stream.seed}" if self.stream else "")


__all__ = ["Corrupt"]
