"""The AugMix operation set and how a sampled *level* becomes each op's argument.

Source: google-research/augmix ``augmentations.py`` (Hendrycks et al., ICLR 2020).
A level is drawn from U(0.1, severity); ``int_parameter(level, m) = int(level * m / 10)``
and ``float_parameter(level, m) = level * m / 10``; rotate, shear and translate take a
random sign. The reference hard-codes ``IMAGE_SIZE`` (32 for CIFAR, 224 for ImageNet) for
translation; here translation uses the size of the image actually augmented.

This module is data: the mechanism that applies the ops lives in ``functional``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

OpFamily = Literal["point", "bilinear", "translate", "enhance"]


@dataclass(frozen=True)
class OpSpec:
    """How one op maps a level in [0.1, severity] to its argument.

    ``arg = offset + base - scale(level, maxval)`` for ``kind`` 'int' or 'float', where
    ``scale`` is the reference's ``int_parameter`` / ``float_parameter``; ``base`` and
    the minus sign express posterize (4 - ...) and solarize (256 - ...).
    """

    name: str
    kind: str  # "none" | "int" | "float"
    maxval: float = 0.0  # the reference's maxval; "size/3" ops use the image size instead
    signed: bool = False  # random +/- sign (rotate, shear, translate)
    base: float | None = None  # arg = base - scaled (posterize, solarize)
    offset: float = 0.0  # arg = scaled + offset (enhance ops: 0.1 + level*1.8/10)
    size_axis: int | None = None  # translate: maxval = image size along this axis / 3
    family: OpFamily = "point"  # how back-ends apply it: point (a lookup table), bilinear, translate, enhance (a blend)
    all_ops_only: bool = False  # one of the four ops the reference adds only with --all-ops

    @property
    def geometric(self) -> bool:
        """Whether the op moves pixels (rotate, shear, translate)."""
        return self.family in ("bilinear", "translate")


# google-research/augmix augmentations.py, op by op, in the order of its ``augmentations_all``
# list (the sampler draws ops by their position in it). Every back-end reads this table: the
# PIL and tensor ops (``functional``, by name), the compiled kernel and the sync-free graph
# (by ``family``).
OP_SPECS: dict[str, OpSpec] = {
    "autocontrast": OpSpec("autocontrast", "none"),
    "equalize": OpSpec("equalize", "none"),
    "posterize": OpSpec("posterize", "int", maxval=4, base=4),  # bits = 4 - int(l*4/10)
    "rotate": OpSpec("rotate", "int", maxval=30, signed=True, family="bilinear"),
    "solarize": OpSpec("solarize", "int", maxval=256, base=256),  # 256 - int(l*256/10)
    "shear_x": OpSpec("shear_x", "float", maxval=0.3, signed=True, family="bilinear"),
    "shear_y": OpSpec("shear_y", "float", maxval=0.3, signed=True, family="bilinear"),
    "translate_x": OpSpec("translate_x", "int", signed=True, size_axis=-1, family="translate"),
    "translate_y": OpSpec("translate_y", "int", signed=True, size_axis=-2, family="translate"),
    # The four below overlap the ImageNet-C test corruptions; the reference leaves
    # them out unless ``--all-ops`` is given.
    "color": OpSpec("color", "float", maxval=1.8, offset=0.1, family="enhance", all_ops_only=True),
    "contrast": OpSpec("contrast", "float", maxval=1.8, offset=0.1, family="enhance", all_ops_only=True),
    "brightness": OpSpec("brightness", "float", maxval=1.8, offset=0.1, family="enhance", all_ops_only=True),
    "sharpness": OpSpec("sharpness", "float", maxval=1.8, offset=0.1, family="enhance", all_ops_only=True),
}

# The reference's ``augmentations`` and ``augmentations_all`` lists, in their order.
AUGMIX_OPS: tuple[str, ...] = tuple(name for name, spec in OP_SPECS.items() if not spec.all_ops_only)
AUGMIX_OPS_ALL: tuple[str, ...] = tuple(OP_SPECS)


def ops_in(family: OpFamily) -> tuple[str, ...]:
    """The ops of one ``OpSpec.family``, in table order."""
    return tuple(name for name, spec in OP_SPECS.items() if spec.family == family)


def op_names(all_ops: bool = False, geometric: bool = True) -> tuple[str, ...]:
    """The reference op set, or with ``all_ops`` the set plus the four enhance ops; without
    ``geometric`` the ops that move pixels (rotate, shear, translate) are left out, in order."""
    names = AUGMIX_OPS_ALL if all_ops else AUGMIX_OPS
    return names if geometric else tuple(n for n in names if not OP_SPECS[n].geometric)


@functools.lru_cache(maxsize=64)
def _arg_table(names: tuple[str, ...], height: int, width: int) -> np.ndarray:
    """Per-op columns of ``levels_to_args``: maxval, is_int, has_base, base, offset, signed, none."""
    rows = []
    for name in names:
        spec = OP_SPECS[name]
        maxval = spec.maxval
        if spec.size_axis is not None:
            maxval = (width if spec.size_axis == -1 else height) / 3
        rows.append((maxval, spec.kind == "int", spec.base is not None, spec.base or 0.0, spec.offset,
                     spec.signed, spec.kind == "none"))
    table = np.array(rows, dtype=np.float64)
    table.flags.writeable = False
    return table


def levels_to_args(
    names: tuple[str, ...], ops: torch.Tensor, levels: torch.Tensor, signs: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Op arguments for a whole draw at once: ``ops`` index ``names``; float64, shape of ``ops``.

    Reproduces the reference's arithmetic (see ``op_arg``) elementwise, in one pass over a
    per-op table rather than one pass per op; in numpy on the host, where parameters are drawn
    (a handful of small arrays: torch's per-call cost would be most of a 224 px image's time).
    """
    maxval, is_int, has_base, base, offset, signed, none = np.moveaxis(
        _arg_table(names, height, width)[ops.cpu().numpy().astype(np.intp)], -1, 0)
    scaled = levels.cpu().numpy().astype(np.float64) * maxval / 10
    scaled = np.where(is_int > 0, np.trunc(scaled), scaled)
    scaled = np.where(has_base > 0, base - scaled, scaled) + offset
    scaled = np.where(signed > 0, scaled * signs.cpu().numpy().astype(np.float64), scaled)
    return torch.from_numpy(np.where(none > 0, 0.0, scaled)).to(levels.device)


def level_to_arg(
    name: str, level: torch.Tensor, sign: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Op argument(s) of one op for ``level`` (float64 tensor); ``sign`` is +1/-1 per element.

    Integer ops truncate as Python's ``int()`` does (levels are positive, so truncation is
    floor); only signed ops use ``sign``.
    """
    level, sign = torch.broadcast_tensors(torch.as_tensor(level, dtype=torch.float64),
                                          torch.as_tensor(sign, dtype=torch.float64))
    return levels_to_args((name,), torch.zeros(level.shape, dtype=torch.long), level, sign, height, width)


def op_arg(name: str, level: float, sign: float, height: int, width: int) -> float:
    """``level_to_arg`` for one step, in plain Python floats exactly as the reference computes."""
    spec = OP_SPECS[name]
    if spec.kind == "none":
        return 0.0
    maxval = spec.maxval
    if spec.size_axis is not None:
        maxval = (width if spec.size_axis == -1 else height) / 3
    scaled = level * maxval / 10
    if spec.kind == "int":
        scaled = float(int(scaled))
    if spec.base is not None:
        scaled = spec.base - scaled
    scaled = scaled + spec.offset
    return scaled * sign if spec.signed else scaled
