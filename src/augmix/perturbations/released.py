"""How the released -P sets are made, as pure functions of images and named random streams: the
units of work of both layouts and their streams, and the published video encoding's settings.
The writers that put them on disk are ``augmix.generation``.

* CIFAR-P layout (CIFAR-10-P, CIFAR-100-P): units of ``CHUNK`` images per perturbation, each
  with its stream (seed, "p", perturbation, chunk); one sequence of ``T`` frames per image.
* ImageNet-P layout: one stream per video (seed, "p", perturbation, class/file).

``Streams.reference(seed)`` instead gives what the published scripts draw after
``np.random.seed(seed)`` and ``torch.manual_seed(seed)``: one stream per perturbation, drawn
image by image in order.
"""

from __future__ import annotations

import numpy as np

from augmix import seeding
from augmix.perturbations.functional import Streams, perturb, sequence
from augmix.perturbations.tables import ALL

CHUNK = 500  # images per unit of work in the CIFAR layout (fixes the seeding, keep constant)


def stream(seed: int, name: str, unit: int | str) -> np.random.Generator:
    """The named stream of one unit (a chunk number or a video's output name)."""
    return seeding.stream(seed, "p", name, str(unit))


def check_names(names: tuple[str, ...] | list[str] | None) -> list[str]:
    """The perturbations to write (default: all of the table), each known."""
    names = list(names) if names else list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown or not names:
        raise ValueError(f"unknown perturbation(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(ALL)}")
    return names


def perturb_unit(images: np.ndarray, name: str, seed: int, unit: int, size: int) -> np.ndarray:
    """Unit ``unit`` (images ``unit * CHUNK ...``) of a CIFAR-layout -P set: its sequences."""
    x = images[unit * CHUNK:(unit + 1) * CHUNK]
    return perturb(x, name, seed=stream(seed, name, unit), size=size)


def perturb_reference(images: np.ndarray, name: str, seed: int, size: int) -> np.ndarray:
    """Every sequence of a CIFAR-layout -P file as the published script writes it after seeding."""
    return perturb(images, name, seed=Streams.reference(seed), size=size)


def video_frames(item, name: str, size: int, streams: Streams) -> np.ndarray:
    """The frames [T, size, size, 3] of one source image (``item.load()``) of an ImageNet-P tree."""
    return sequence(item.load(), name, size, streams)


__all__ = ["CHUNK", "check_names", "perturb_reference", "perturb_unit", "stream", "video_frames"]
