"""Loading weights saved by the reference code (google-research/augmix ``cifar.py``).

Our WRN-40-2, DenseNet-40-12 and ResNeXt-29 hold the reference architectures' tensors, in
the same order and shapes, under names of our own; AllConvNet's names are the same. The
reference's names and shapes (``reference_keys.json``, listed from its definitions) let a
checkpoint it saved be recognised and renamed, so ``augmix evaluate --arch wrn40_2
--weights checkpoint.pth.tar`` loads it as it is.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import torch


@functools.cache
def reference_keys() -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    """Per architecture, the reference's state-dict (name, shape) list for 10 classes."""
    data = json.loads(resources.files("augmix.models").joinpath("reference_keys.json").read_text())
    return {arch: [(name, tuple(shape)) for name, shape in keys] for arch, keys in data["archs"].items()}


def from_reference(arch: str, state: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``state`` renamed to ``model``'s names if it is the reference's layout of ``arch``; else unchanged."""
    ref = reference_keys().get(arch)
    if ref is None or list(state) != [name for name, _ in ref]:
        return state
    ours = list(model.state_dict())
    if len(ours) != len(ref):
        return state
    return dict(zip(ours, state.values(), strict=True))
