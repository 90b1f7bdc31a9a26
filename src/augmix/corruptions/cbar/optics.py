"""-C-bar lens effects: circular motion blur, transverse chromatic aberration."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import rotate, zoom

from augmix.corruptions.cbar.numerics import float_parameter


def sample_circular_motion_blur(sev, size, rng):
    return {"amount": float_parameter(sev, 15)}


def apply_circular_motion_blur(image, size, amount):
    num = 21
    image = image.astype(np.float32) / 255
    out = np.zeros_like(image)
    factors = []
    for i in range(num):
        angle = (2 * i / (num - 1) - 1) * amount
        f = np.exp(-2 * (2 * i / (num - 1) - 1) ** 2)
        factors.append(f)
        out += np.float32(f) * rotate(image, angle, reshape=False)  # numpy 1.x: f rounded to float32
    out /= np.float32(sum(factors))
    return np.clip(out * 255, 0, 255).astype(np.uint8)


def sample_transverse_chromatic_abberation(sev, size, rng):
    scale = float_parameter(sev, 0.5)
    scales = np.array([1.0, 1.0 + scale / 2, 1.0 + scale])
    return {"scales": scales[rng.permutation(3)]}


def apply_transverse_chromatic_abberation(image, size, scales):
    out = image.copy()
    for c in range(3):
        zoomed = zoom(image[:, :, c], scales[c], prefilter=False)
        edge = (zoomed.shape[0] - size) // 2
        out[:, :, c] = zoomed[edge:edge + size, edge:edge + size]
    return out.astype(np.uint8)


