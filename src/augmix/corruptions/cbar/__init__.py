"""The -C-bar corruptions (Mintun, Kirillov & Xie, "On Interaction Between Augmentations and
Corruptions in Natural Corruption Robustness", NeurIPS 2021): their one explicit registry.

Each corruption is a pair of functions, as in facebookresearch/augmentation-corruption
``imagenet_c_bar/corrupt.py``: ``sample_*`` draws the random parameters in the published
order, ``apply_*`` applies them deterministically. They live by kind in ``noise``,
``overlays``, ``warps`` and ``optics``, on the exact numerics of ``numerics`` (see there for
what the published code's arithmetic requires). ``TRANSFORMS`` names every pair; nothing is found
by its name at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from augmix.corruptions.cbar import noise, optics, overlays, warps
from augmix.corruptions.cbar.numerics import Rng, float_parameter
from augmix.corruptions.tables import CBAR_TABLES, cbar_table_for, check_severity

# name -> (sample(severity parameter, size, rng) -> params, apply(image, size, **params) -> image)
TRANSFORMS: dict[str, tuple[Callable, Callable]] = {
    "single_frequency_greyscale": (noise.sample_single_frequency_greyscale, noise.apply_single_frequency_greyscale),
    "cocentric_sine_waves": (noise.sample_cocentric_sine_waves, noise.apply_cocentric_sine_waves),
    "plasma_noise": (noise.sample_plasma_noise, noise.apply_plasma_noise),
    "perlin_noise": (noise.sample_perlin_noise, noise.apply_perlin_noise),
    "blue_noise_sample": (noise.sample_blue_noise_sample, noise.apply_blue_noise_sample),
    "brownish_noise": (noise.sample_brownish_noise, noise.apply_brownish_noise),
    "sparkles": (overlays.sample_sparkles, overlays.apply_sparkles),
    "inverse_sparkles": (overlays.sample_inverse_sparkles, overlays.apply_inverse_sparkles),
    "checkerboard_cutout": (overlays.sample_checkerboard_cutout, overlays.apply_checkerboard_cutout),
    "lines": (overlays.sample_lines, overlays.apply_lines),
    "pinch_and_twirl": (warps.sample_pinch_and_twirl, warps.apply_pinch_and_twirl),
    "ripple": (warps.sample_ripple, warps.apply_ripple),
    "caustic_refraction": (warps.sample_caustic_refraction, warps.apply_caustic_refraction),
    "circular_motion_blur": (optics.sample_circular_motion_blur, optics.apply_circular_motion_blur),
    "transverse_chromatic_abberation": (optics.sample_transverse_chromatic_abberation,
                                        optics.apply_transverse_chromatic_abberation),
}


@dataclass(frozen=True)
class CbarSpec:
    """One -C-bar corruption, as ``tables.Spec`` is one -C corruption: its kind (the module of
    its functions), the published severity parameters per image side (``CBAR_TABLES``: 32 for
    CIFAR-10-C-bar, 224 for ImageNet-C-bar; a corruption may belong to one set only), and its
    sample / apply pair."""

    name: str
    kind: str
    published: dict[int, tuple[float, ...]]
    sample: Callable
    apply: Callable


SPECS: dict[str, CbarSpec] = {
    name: CbarSpec(name, sample.__module__.rsplit(".", 1)[-1],
                   {size: table[name] for size, table in CBAR_TABLES.items() if name in table}, sample, apply)
    for name, (sample, apply) in TRANSFORMS.items()
}


def sample_cbar_params(name: str, severity: float, size: int, rng: Rng) -> dict:
    """The published ``sample_parameters`` of ``name`` at severity parameter ``severity``."""
    return SPECS[name].sample(severity, size, rng)


def apply_cbar_params(image: np.ndarray, name: str, size: int, params: dict) -> np.ndarray:
    """Apply ``name`` with fixed ``params`` to one uint8 image [size, size, 3]."""
    if name == "caustic_refraction":
        params = {("size_" if k == "size" else k): v for k, v in params.items()}
    # the published kernels meet 0/0 and x/0 where a branch later discards the value (e.g. the
    # centre of a twirl); the vectorised forms compute them everywhere and mask them
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return SPECS[name].apply(image, size, **params)


def corrupt_cbar(images: np.ndarray, name: str, severity: int, seed: int | Rng = 0) -> np.ndarray:
    """Corrupt uint8 images [N, S, S, 3] (S 32 or 224) with -C-bar ``name`` at severity 1-5.

    ``seed``: an int or ``Generator`` (fast mode, equal in distribution), or a
    ``RandomState``, drawn image by image as the published transforms draw from numpy's
    global stream (after ``np.random.seed(S)``, the same output as the published code fed
    these images in this order).
    """
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != np.uint8 or x.shape[1] != x.shape[2]:
        raise ValueError(f"expected square uint8 RGB images [N, S, S, 3], got {x.dtype} {x.shape}")
    size = x.shape[1]
    table = cbar_table_for(size)
    if name not in table:
        raise ValueError(f"{name!r} is not a {size} px -C-bar corruption; choose from {', '.join(table)}")
    severity = check_severity(severity)
    sev = table[name][severity - 1]
    rng = seed if isinstance(seed, (np.random.RandomState, np.random.Generator)) else np.random.default_rng(seed)
    out = np.empty_like(x)
    for k in range(len(x)):
        out[k] = apply_cbar_params(x[k], name, size, sample_cbar_params(name, sev, size, rng))
    return out


__all__ = ["TRANSFORMS", "apply_cbar_params", "corrupt_cbar", "float_parameter", "sample_cbar_params"]
