"""-C-bar overlays and occlusions: sparkles, inverse sparkles, checkerboard cutout, lines."""

from __future__ import annotations

import numpy as np
from skimage.draw import line_aa

from augmix.corruptions.cbar.numerics import c_pow, draw_randint, draw_uniform, float_parameter, norm2, pixel_grid


def _ray_factor(y, x, center, radius, ray_lengths, amount) -> np.ndarray:
    """The published sparkle kernel's ``f`` (before the colour mix) at every pixel."""
    rays = len(ray_lengths)
    lengths = np.asarray(ray_lengths, dtype=np.float64)
    dp0 = y - center[0]
    dp1 = x - center[1]
    dist = norm2(dp0, dp1)
    angle = np.arctan2(dp1, dp0)
    d = (angle + np.pi) / (2 * np.pi) * rays
    i = d.astype(np.int64)
    f = d - i
    if radius != 0:
        a, b = lengths[i % rays], lengths[(i + 1) % rays]
        length = a + f * (b - a)
        g = c_pow(length, 2) / (c_pow(dist, 2) + 1e-4)
        g = c_pow(g, (100 - amount) / 50.0)
        f = f - 0.5
        f = 1 - c_pow(f, 2)
        f = f * g
    return np.clip(f, 0, 1)


def sample_sparkles(sev, size, rng):
    centers = draw_uniform(rng, 0, size, size=(5, 2))
    radii = np.array([float_parameter(sev, 0.1) for _ in range(5)]) * size
    seed = int(draw_randint(rng, 0, 2 ** 32))
    nrays = draw_randint(rng, 50, 200, size=5)
    return {"centers": centers, "radii": radii, "color": np.array([255, 255, 255]), "randomness": 25, "seed": seed,
            "nrays": nrays, "amounts": np.array([50 for _ in range(5)])}


def apply_sparkles(image, size, centers, radii, nrays, amounts, color, randomness, seed):
    rs = np.random.RandomState(seed=seed)
    y, x = pixel_grid(size)
    for center, rays, amount, radius in zip(centers, nrays, amounts, radii, strict=True):
        lengths = [max(1, radius + randomness / 100.0 * radius * rs.randn()) for _ in range(rays)]
        f = _ray_factor(y, x, center, radius, lengths, amount)[..., None]
        value = image.astype(np.float32)
        image = value + f * (color - value)
    return np.clip(image, 0, 255).astype(np.uint8)


def sample_inverse_sparkles(sev, size, rng):
    center = draw_uniform(rng, 0.25, 0.75, size=2) * size
    amount = 100 - float_parameter(sev, 65)
    seed = int(draw_randint(rng, 0, 2 ** 32))
    rays = int(draw_randint(rng, 50, 200))
    return {"center": center, "radius": 0.25 * size, "color": np.array([255, 255, 255]), "randomness": 25,
            "seed": seed, "rays": rays, "amount": amount}


def apply_inverse_sparkles(image, size, center, radius, rays, amount, color, randomness, seed):
    rs = np.random.RandomState(seed=seed)
    lengths = [radius + randomness / 100.0 * radius * rs.randn() for _ in range(rays)]
    y, x = pixel_grid(size)
    f = _ray_factor(y, x, center, radius, lengths, amount)[..., None]
    out = color + f * (image.astype(np.float32) - color)
    return np.clip(out, 0, 255).astype(np.uint8)



def sample_checkerboard_cutout(sev, size, rng):
    angle = draw_uniform(rng, 0, 2 * np.pi)
    scales = np.maximum(draw_uniform(rng, 0.1, 0.25) * size, 1)
    return {"angle": angle, "scales": (scales, scales), "fraction": float_parameter(sev, 1.0),
            "seed": int(draw_randint(rng, 0, 2 ** 32))}


def apply_checkerboard_cutout(image, size, scales, angle, fraction, seed):
    rs = np.random.RandomState(seed=seed)
    grid = rs.uniform(size=(int(4 * size // scales[0]), int(4 * size // scales[1]))) < fraction
    y, x = pixel_grid(size)
    nx = (np.cos(angle) * y + np.sin(angle) * x) / scales[0]
    ny = (-np.sin(angle) * y + np.cos(angle) * x) / scales[1]
    ix, iy = np.trunc(nx).astype(np.int64), np.trunc(ny).astype(np.int64)  # int(): towards zero
    ix = np.where(ix < 0, ix + grid.shape[0], ix)  # a negative index counts from the end, as in Python
    iy = np.where(iy < 0, iy + grid.shape[1], iy)
    keep = (np.trunc(nx % 2) != np.trunc(ny % 2)) | ~grid[ix, iy]
    out = np.where(keep[..., None], image, np.array([128, 128, 128]))
    return np.clip(out, 0, 255).astype(np.uint8)


def sample_lines(sev, size, rng):
    density = float_parameter(sev, 1.0)
    angle = draw_uniform(rng, 0.0, 2 * np.pi)
    angle_variation = draw_uniform(rng, 0.1, 1.0)
    return {"length": 1.0, "density": density, "angle": angle, "angle_variation": angle_variation,
            "seed": int(draw_randint(rng, 0, 2 ** 32))}


def apply_lines(image, size, length, density, angle, angle_variation, seed):
    num_lines = int(density * size)
    ln = length * size
    rs = np.random.RandomState(seed=seed)
    out = image.copy()
    for _ in range(num_lines):
        x = size * rs.uniform()
        y = size * rs.uniform()
        a = angle + 2 * np.pi * angle_variation * (rs.uniform() - 0.5)
        s = np.sin(a) * ln
        c = np.cos(a) * ln
        rxc, ryc, rval = line_aa(int(x - c), int(y - s), int(x + c), int(y + s))
        keep = (rxc >= 0) & (ryc >= 0) & (rxc < size) & (ryc < size)
        xc, yc, val = rxc[keep].astype(int), ryc[keep].astype(int), rval[keep]
        out[xc, yc, :] = (1.0 - val.reshape(-1, 1)) * out[xc, yc, :].astype(np.float32) + val.reshape(-1, 1) * 128
    return out.astype(np.uint8)


