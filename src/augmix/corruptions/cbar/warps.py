"""-C-bar warps: pinch and twirl, ripple, caustic refraction."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from augmix.corruptions.cbar.numerics import (
    bilinear_sample,
    c_pow,
    draw_uniform,
    float_parameter,
    norm2,
    pixel_grid,
)


def sample_pinch_and_twirl(sev, size, rng):
    n = 5 if size == 224 else 3
    angles = np.array([rng.choice([1, -1]) * float_parameter(sev, np.pi / 2) for _ in range(n ** 2)]).reshape(n, n)
    return {"num_per_axis": n, "angles": angles, "amount": float_parameter(sev, 0.4) + 0.1}


def apply_pinch_and_twirl(image, size, num_per_axis, angles, amount):
    out = image.copy().astype(np.float32)
    grid_size = size // num_per_axis
    radius = grid_size / 2
    for i in range(num_per_axis):
        for j in range(num_per_axis):
            lo, hi = i * grid_size, (i + 1) * grid_size
            u, d = j * grid_size, (j + 1) * grid_size
            center = np.array([u + radius, lo + radius])
            y, x = np.meshgrid(np.arange(u, d), np.arange(lo, hi), indexing="ij")
            dx = y - center[0]
            dy = x - center[1]
            dist = norm2(dx, dy)
            still = (dist > radius) | (np.round(dist, 3) == 0.0)
            dd = dist / radius
            t = c_pow(np.sin(np.pi * 0.5 * dd), -amount)
            e = 1 - dd
            a = angles[i, j] * c_pow(e, 2)
            wx = dx * t
            wy = dy * t
            p0 = np.where(still, y, center[0] + (wx * np.cos(a) - wy * np.sin(a)))
            p1 = np.where(still, x, center[1] + (wx * np.sin(a) + wy * np.cos(a)))
            vals, _ = bilinear_sample(out, p0, p1)
            out[u:d, lo:hi, :] = vals
    return np.clip(out, 0, 255).astype(np.uint8)


def sample_ripple(sev, size, rng):
    amplitudes = np.array([float_parameter(sev, 0.025) for _ in range(2)]) * size
    wavelengths = draw_uniform(rng, 0.1, 0.3, size=2) * size
    phases = draw_uniform(rng, 0, 2 * np.pi, size=2)
    return {"amplitudes": amplitudes, "wavelengths": wavelengths, "phases": phases}


def apply_ripple(image, size, wavelengths, phases, amplitudes):
    y, x = pixel_grid(size)
    p0 = y + amplitudes[0] * np.sin(2 * np.pi * y / wavelengths[0] + phases[0])
    p1 = x + amplitudes[1] * np.sin(2 * np.pi * x / wavelengths[1] + phases[1])
    return np.clip(bilinear_sample(image, p0, p1)[0], 0, 255).astype(np.uint8)


def sample_caustic_refraction(sev, size, rng):
    time = draw_uniform(rng, 0.5, 2.0)
    csize = draw_uniform(rng, 0.75, 1.25) * size
    return {"time": time, "size": csize, "eta": 4.0, "lens_scale": float_parameter(sev, 0.5 * size),
            "lighting_amount": float_parameter(sev, 2.0), "softening": 1}


def _caustic_noise(size: int, time: float, csize: float) -> np.ndarray:
    y, x = pixel_grid(size)
    p0 = (y / csize % 1) * 6.28318530718 - 250
    p1 = (x / csize % 1) * 6.28318530718 - 250
    i0, i1 = p0.copy(), p1.copy()
    c = 1.0
    inten = 0.005
    for n in range(5):
        t = time * (1.0 - (3.5 / (n + 1)))
        i0, i1 = p0 + (np.cos(t - i0) + np.sin(t + i1)), p1 + (np.sin(t - i1) + np.cos(t + i0))
        length = np.sqrt(c_pow(p0 / (np.sin(i0 + t) / inten), 2) + c_pow(p1 / (np.cos(i1 + t) / inten), 2))
        c = c + 1.0 / length
    c = c / 5.0
    c = 1.17 - c_pow(c, 1.4)
    colour = np.clip(c_pow(np.abs(c), 8.0), 0, 1)
    return np.stack([colour, colour, colour], axis=2)


def apply_caustic_refraction(image, size, time, size_, eta, lens_scale, lighting_amount, softening):
    noise = gaussian_filter(_caustic_noise(size, time, size_), sigma=softening)
    luma_w = np.array([0.2126, 0.7152, 0.0722])
    y, x = pixel_grid(size)

    def luma(dy, dx):
        rows, cols = y + dy, x + dx
        inside = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
        px = noise[np.clip(rows, 0, size - 1), np.clip(cols, 0, size - 1)]
        flat = px.reshape(-1, 1, 3)
        dots = np.matmul(flat, np.broadcast_to(luma_w.reshape(1, 3, 1), (len(flat), 3, 1)))[:, 0, 0]
        return np.where(inside, dots.reshape(size, size), 0.0)

    north, south = luma(0, -1), luma(0, 1)
    west, east = luma(-1, 0), luma(1, 0)
    normal = np.stack([east - west, south - north, np.ones_like(east)], axis=-1)
    nflat = normal.reshape(-1, 3)
    nnorm = np.sqrt(np.matmul(nflat[:, None, :], nflat[:, :, None])[:, 0, 0])
    normal = nflat / nnorm[:, None]
    incident = np.array([0.0, 0.0, 1.0])
    vec = _refract(incident, normal, eta) * lens_scale
    vec = np.round(vec, 3).reshape(size, size, 3)
    img = image.astype(np.float32) / 255
    vals, is32 = bilinear_sample(img, y + vec[..., 0], x + vec[..., 1])
    delta_a = (north - south) * lighting_amount
    delta_b = (east - west) * lighting_amount
    # ``out_pixel += delta``: in float32 (delta rounded first) where the pixel is float32
    v32 = vals.astype(np.float32)
    v32 = (v32 + delta_a.astype(np.float32)[..., None]).astype(np.float32)
    v32 = (v32 + delta_b.astype(np.float32)[..., None]).astype(np.float32)
    v64 = vals + delta_a[..., None]
    v64 = v64 + delta_b[..., None]
    out = np.where(is32[..., None], v32.astype(np.float64), v64)
    out = np.clip(out, 0, 1)
    return np.clip((out * 255).astype(np.uint8), 0, 255)


def _refract(incident: np.ndarray, normal: np.ndarray, eta: float) -> np.ndarray:
    """The published ``refract`` for every normal [P, 3] (same LAPACK inverse per pixel)."""
    cosang = normal @ incident
    out = np.tile(incident, (len(normal), 1)).astype(np.float64)
    bend = ~(np.abs(cosang) >= 1.0 - 1e-3)
    if bend.any():
        nrm = normal[bend]
        angle = np.arccos(nrm @ incident)
        out_angle = np.arcsin(np.sin(angle) / eta)
        unrot = np.stack([np.cos(out_angle), np.sin(out_angle), np.zeros_like(out_angle)], axis=-1)
        spectator = np.cross(incident, nrm)
        sn = np.sqrt(np.matmul(spectator[:, None, :], spectator[:, :, None])[:, 0, 0])
        spectator = spectator / sn[:, None]
        orthogonal = np.cross(nrm, spectator)
        rot = np.stack((nrm, orthogonal, spectator), axis=1)
        out[bend] = np.matmul(np.linalg.inv(rot), unrot[:, :, None])[:, :, 0]
    return out


