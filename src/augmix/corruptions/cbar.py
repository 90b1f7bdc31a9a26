"""The -C-bar corruptions (Mintun, Kirillov & Xie, "On Interaction Between Augmentations and
Corruptions in Natural Corruption Robustness", NeurIPS 2021).

Each corruption is two functions, as in facebookresearch/augmentation-corruption
``imagenet_c_bar/corrupt.py``: ``sample_*`` draws the random parameters in the published
``sample_parameters`` order (from a numpy ``RandomState`` - the published global stream - or
a ``Generator``), and ``apply_*`` applies them deterministically. The published code
evaluates per-pixel Python kernels; here they are vectorised over pixels with the same
floating-point operations in the same order, including three things a plain vectorisation
would change:

* ``np.linalg.norm`` of a 2-vector is a BLAS dot (fused multiply-add where the BLAS uses one):
  ``_norm2`` computes it with the same BLAS call;
* ``x ** y`` on numpy scalars is the C library's ``pow``, which differs from numpy's vectorised
  power in the last bit: ``_spow`` calls the scalar one;
* the published requirements pin numpy 1.x, whose value-based casting computes a float32 array
  times a numpy float64 scalar in float32 (numpy 2 computes it in float64). The bilinear
  interpolation, circular motion blur and the weighting of float32 images follow numpy 1.x.

The severities 1-5 of each set use the parameters of ``tables.CBAR_TABLES``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy.fftpack import ifft2
from scipy.ndimage import gaussian_filter, rotate, zoom
from skimage.draw import line_aa

from augmix.corruptions.tables import CBAR_ALL, cbar_table_for

Rng = np.random.RandomState | np.random.Generator


def float_parameter(level: float, maxval: float) -> float:
    return float(level) * maxval / 10.0


def _uniform(rng: Rng, low=0.0, high=1.0, size=None):
    return rng.uniform(low=low, high=high, size=size)


def _randint(rng: Rng, low: int, high: int, size=None):
    if isinstance(rng, np.random.RandomState):
        return rng.randint(low=low, high=high, size=size)
    return rng.integers(low, high, size=size)


def _spow(base, exponent) -> np.ndarray:
    """Elementwise ``a ** b`` with the C library's ``pow``, as numpy computes it on scalars."""
    def one(a, b):
        try:
            return math.pow(a, b)
        except (ValueError, OverflowError):
            return float("nan") if not (a == 0 and b < 0) else float("inf")

    return np.frompyfunc(one, 2, 1)(np.asarray(base, np.float64), np.asarray(exponent, np.float64)).astype(np.float64)


def _norm2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.linalg.norm([a, b])`` elementwise: the same BLAS dot per vector."""
    v = np.stack([np.asarray(a, np.float64), np.asarray(b, np.float64)], axis=-1)
    flat = v.reshape(-1, 1, 2)
    return np.sqrt(np.matmul(flat, flat.transpose(0, 2, 1))[:, 0, 0]).reshape(v.shape[:-1])


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row (y) and column (x) indices of every pixel, int64."""
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return y, x


def _bilinear(image: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``utils.image.bilinear_interpolation`` at every point (p0: row, p1: column): the values
    (float64) and where the published code's result is a float32 array.

    Out-of-image neighbours read as zeros. For a float32 image, numpy 1.x computes an
    in-image neighbour times a weight in float32 (the weight rounded to float32 first) and
    a term with an out-of-image neighbour in float64; sums follow the types of their terms.
    """
    h, w = image.shape[:2]
    p0 = np.asarray(p0, np.float64)
    p1 = np.asarray(p1, np.float64)
    l = np.floor(p0).astype(np.int64)
    u = np.floor(p1).astype(np.int64)
    r, d = l + 1, u + 1
    w_u = (1.0 - p1) + u
    w_d = (1.0 - d) + p1
    w_l = (1.0 - p0) + l
    w_r = (1.0 - r) + p0

    def pixel(rows, cols):
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        vals = image[np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)]
        return vals, inside

    lu, in_lu = pixel(l, u)
    ld, in_ld = pixel(l, d)
    ru, in_ru = pixel(r, u)
    rd, in_rd = pixel(r, d)
    if image.dtype != np.float32:  # uint8 (or float64) pixels: every product is float64
        def term(v, inside, wt):
            return np.where(inside[..., None], v.astype(np.float64) * wt[..., None], 0.0)

        al = term(lu, in_lu, w_u) + term(ld, in_ld, w_d)
        ar = term(ru, in_ru, w_u) + term(rd, in_rd, w_d)
        return al * w_l[..., None] + ar * w_r[..., None], np.zeros(p0.shape, dtype=bool)

    def term32(v, inside, wt):  # float32 product where the neighbour is inside, else an exact 0 (float64)
        return np.where(inside[..., None], (v * wt.astype(np.float32)[..., None]).astype(np.float32), np.float32(0))

    def add(a, a32, b, b32):  # a + b in float32 if both are float32, else in float64
        both = a32 & b32
        s32 = (a.astype(np.float32) + b.astype(np.float32)).astype(np.float64)
        s64 = a.astype(np.float64) + b.astype(np.float64)
        return np.where(both[..., None], s32, s64), both

    def scale(a, a32, wt):  # a * wt: float32 if a is float32 (wt rounded to float32), else float64
        p32 = (a.astype(np.float32) * wt.astype(np.float32)[..., None]).astype(np.float64)
        p64 = a * wt[..., None]
        return np.where(a32[..., None], p32, p64)

    al, al32 = add(term32(lu, in_lu, w_u), in_lu, term32(ld, in_ld, w_d), in_ld)
    ar, ar32 = add(term32(ru, in_ru, w_u), in_ru, term32(rd, in_rd, w_d), in_rd)
    out, out32 = add(scale(al, al32, w_l), al32, scale(ar, ar32, w_r), ar32)
    return out, out32


# ------------------------------------------------------------------------- noise fields

def sample_single_frequency_greyscale(sev: float, size: int, rng: Rng) -> dict:
    freq_mag = _uniform(rng, -np.pi, np.pi)
    freq_2 = _uniform(rng, -abs(freq_mag), abs(freq_mag))
    freq = np.array([freq_mag, freq_2])[rng.permutation(2)]
    phase = _uniform(rng, 0, 2 * np.pi)
    return {"freq": freq, "phase": phase, "intensity": float_parameter(sev, 196)}


def apply_single_frequency_greyscale(image, size, freq, phase, intensity):
    y, x = _grid(size)
    noise = np.sin(x * freq[0] + y * freq[1] + phase)
    noise = np.stack((noise, noise, noise), axis=2)
    return np.clip(image + intensity * noise, 0, 255).astype(np.uint8)


def sample_cocentric_sine_waves(sev, size, rng):
    offset = _uniform(rng, 0, size, size=2)
    freq = _uniform(rng, 0, 10)
    amplitude = _uniform(rng, 0, size / 10)
    ring_width = _uniform(rng, 0, size / 10)
    return {"offset": offset, "freq": freq, "amplitude": amplitude, "ring_width": ring_width,
            "intensity": [float_parameter(sev, 128) for _ in range(3)]}


def apply_cocentric_sine_waves(image, size, offset, freq, amplitude, ring_width, intensity):
    y, x = _grid(size)
    x0, y0 = offset[0], offset[1]
    angle = np.arctan2(x - x0, y - y0) * freq
    dist = (np.sqrt(_spow(x - x0, 2) + _spow(y - y0, 2)) + np.sin(angle) * amplitude) % ring_width / ring_width
    dist = dist - 1 / 2
    noise = np.stack((intensity[0] * dist, intensity[1] * dist, intensity[2] * dist), axis=2)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def sample_plasma_noise(sev, size, rng):
    time = _uniform(rng, 0.0, 6 * np.pi)
    iterations = int(_randint(rng, 4, 7))
    sharpness = _uniform(rng, 0.5, 1.0)
    scale = _uniform(rng, 0.075, 0.2) * size
    return {"time": time, "iterations": iterations, "sharpness": sharpness, "scale": scale,
            "intensity": float_parameter(sev, 64)}


def apply_plasma_noise(image, size, time, iterations, sharpness, scale, intensity):
    y, x = _grid(size)
    x = x / scale
    y = y / scale
    i = np.array([1.0, 1.0, 1.0, 0.0])
    for _ in range(iterations):
        r0 = np.cos(y * i[0] - i[3] + time / i[1]) / i[2]
        r1 = np.sin(x * i[0] - i[3] + time / i[1]) / i[2]
        r0, r1 = r0 + (-r1) * 0.3, r1 + r0 * 0.3
        x = x + r0
        y = y + r1
        i = i * np.array([1.93, 1.15, (2.25 - sharpness), time * i[1]])
    r = np.sin(x - time)
    b = np.sin(y + time)
    g = np.sin((x + y + np.sin(time)) * 0.5)
    noise = np.stack([r, g, b], axis=2)
    return np.clip((1 - intensity / 255) * image + intensity * noise, 0, 255).astype(np.uint8)


class _Perlin:
    """``utils.perlin_noise.PerlinNoiseGenerator``, its tables drawn from ``random_state`` as
    published, evaluated on arrays of points."""

    B = 256
    N = 16 * 256

    def __init__(self, random_state: Rng) -> None:
        b = self.B

        def normalize(arr):
            return arr / np.linalg.norm(arr)

        self.p = np.arange(2 * b + 2)
        self.g = np.array([normalize((_randint(random_state, 0, 2 ** 31, size=2) % (2 * b) - b) / b)
                           for _ in range(2 * b + 2)])
        for i in np.arange(b - 1, -1, -1):
            k = self.p[i]
            j = _randint(random_state, 0, 2 ** 31) % b
            self.p[i] = self.p[j]
            self.p[j] = k
        for i in range(b + 2):
            self.p[b + i] = self.p[i]
            self.g[b + i, :] = self.g[i, :]

    @staticmethod
    def s_curve(t):
        return _spow(t, 2) * (3.0 - 2.0 * t)

    def noise(self, x, y):
        t = x + self.N
        bx0 = t.astype(np.int64) % self.B
        bx1 = (bx0 + 1) % self.B
        rx0 = t % 1
        rx1 = rx0 - 1.0
        t = y + self.N
        by0 = t.astype(np.int64) % self.B
        by1 = (by0 + 1) % self.B
        ry0 = t % 1
        ry1 = ry0 - 1.0
        i = self.p[bx0]
        j = self.p[bx1]
        b00 = self.p[i + by0]
        b10 = self.p[j + by0]
        b01 = self.p[i + by1]
        b11 = self.p[j + by1]
        sx = self.s_curve(rx0)
        sy = self.s_curve(ry0)
        g = self.g
        u = rx0 * g[b00, 0] + ry0 * g[b00, 1]
        v = rx1 * g[b10, 0] + ry0 * g[b10, 1]
        a = u + sx * (v - u)
        u = rx0 * g[b01, 0] + ry1 * g[b01, 1]
        v = rx1 * g[b11, 0] + ry1 * g[b11, 1]
        b = u + sx * (v - u)
        return 1.5 * (a + sy * (b - a))

    def turbulence(self, x, y, octaves):
        t = np.zeros_like(x, dtype=np.float64)
        f = 1.0
        while f <= octaves:
            t = t + np.abs(self.noise(f * x, f * y)) / f
            f = f * 2
        return t


def sample_perlin_noise(sev, size, rng):
    return {"m": np.array([[1, 0], [0, 1]]) / (32 * size / 224), "turbulence": 16.0, "gain": 0.5, "bias": 0.5,
            "alpha": float_parameter(sev, 0.50), "seed": int(_randint(rng, 0, 2 ** 32))}


def apply_perlin_noise(image, size, m, turbulence, seed, gain, bias, alpha):
    gen = _Perlin(np.random.RandomState(seed=seed))
    y, x = _grid(size)
    ny = y * m[0, 0] + x * m[1, 0]
    nx = y * m[0, 1] + x * m[1, 1]
    f = gen.turbulence(ny, nx, turbulence) if turbulence != 1.0 else gen.noise(ny, nx)
    f = gain * f + bias
    noise = np.clip(np.stack([f, f, f], axis=2), 0, 1.0)
    out = (1 - alpha) * image.astype(np.float32) + 255 * alpha * noise
    return np.clip(out, 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=8)
def _radial(size: int) -> np.ndarray:
    """The published ``np.linalg.norm(np.array([x, y]) - center)`` for every pixel [y, x]."""
    center = size / 2
    y, x = _grid(size)
    return _norm2(x - center, y - center)


def _fourier_noise(size: int, power: np.ndarray, random_state: Rng) -> np.ndarray:
    phases = _uniform(random_state, 0, 2 * np.pi, size=(size, size // 2))
    if size % 2 == 0:
        phases = np.concatenate((phases, phases[::-1, ::-1]), axis=1)
    else:
        center_freq = _uniform(random_state, 0, 2 * np.pi, size=(size // 2, 1))
        center_freq = np.concatenate((center_freq, np.array([[0.0]]), center_freq[::-1, :]), axis=0)
        phases = np.concatenate((phases, center_freq, phases[::-1, ::-1]), axis=1)
    fourier = power * (np.cos(phases) + np.sin(phases) * 1j)
    fourier = np.roll(fourier, size // 2, axis=0)
    fourier = np.roll(fourier, size // 2, axis=1)
    noise = np.real(ifft2(fourier))
    return noise / np.std(noise)


def sample_blue_noise_sample(sev, size, rng):
    return {"seed": int(_randint(rng, 0, 2 ** 32)), "threshold": float_parameter(sev, 3.0) - 2.5}


def apply_blue_noise_sample(image, size, seed, threshold):
    noise = _fourier_noise(size, _radial(size), np.random.RandomState(seed=seed))
    mask = noise > threshold
    return np.clip(image * mask.reshape(size, size, 1), 0, 255).astype(np.uint8)


def sample_brownish_noise(sev, size, rng):
    return {"seed": int(_randint(rng, 0, 2 ** 32)), "intensity": float_parameter(sev, 64)}


@functools.lru_cache(maxsize=8)
def _brown_power(size: int) -> np.ndarray:
    return 1 / (_spow(_radial(size), 2) + 1)


def apply_brownish_noise(image, size, seed, intensity):
    rs = np.random.RandomState(seed=seed)
    noise = np.stack([_fourier_noise(size, _brown_power(size), rs) for _ in range(3)], axis=2)
    return np.clip(image + intensity * noise, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ sparkles

def _ray_factor(y, x, center, radius, ray_lengths, amount) -> np.ndarray:
    """The published sparkle kernel's ``f`` (before the colour mix) at every pixel."""
    rays = len(ray_lengths)
    lengths = np.asarray(ray_lengths, dtype=np.float64)
    dp0 = y - center[0]
    dp1 = x - center[1]
    dist = _norm2(dp0, dp1)
    angle = np.arctan2(dp1, dp0)
    d = (angle + np.pi) / (2 * np.pi) * rays
    i = d.astype(np.int64)
    f = d - i
    if radius != 0:
        a, b = lengths[i % rays], lengths[(i + 1) % rays]
        length = a + f * (b - a)
        g = _spow(length, 2) / (_spow(dist, 2) + 1e-4)
        g = _spow(g, (100 - amount) / 50.0)
        f = f - 0.5
        f = 1 - _spow(f, 2)
        f = f * g
    return np.clip(f, 0, 1)


def sample_sparkles(sev, size, rng):
    centers = _uniform(rng, 0, size, size=(5, 2))
    radii = np.array([float_parameter(sev, 0.1) for _ in range(5)]) * size
    seed = int(_randint(rng, 0, 2 ** 32))
    nrays = _randint(rng, 50, 200, size=5)
    return {"centers": centers, "radii": radii, "color": np.array([255, 255, 255]), "randomness": 25, "seed": seed,
            "nrays": nrays, "amounts": np.array([50 for _ in range(5)])}


def apply_sparkles(image, size, centers, radii, nrays, amounts, color, randomness, seed):
    rs = np.random.RandomState(seed=seed)
    y, x = _grid(size)
    for center, rays, amount, radius in zip(centers, nrays, amounts, radii, strict=True):
        lengths = [max(1, radius + randomness / 100.0 * radius * rs.randn()) for _ in range(rays)]
        f = _ray_factor(y, x, center, radius, lengths, amount)[..., None]
        value = image.astype(np.float32)
        image = value + f * (color - value)
    return np.clip(image, 0, 255).astype(np.uint8)


def sample_inverse_sparkles(sev, size, rng):
    center = _uniform(rng, 0.25, 0.75, size=2) * size
    amount = 100 - float_parameter(sev, 65)
    seed = int(_randint(rng, 0, 2 ** 32))
    rays = int(_randint(rng, 50, 200))
    return {"center": center, "radius": 0.25 * size, "color": np.array([255, 255, 255]), "randomness": 25,
            "seed": seed, "rays": rays, "amount": amount}


def apply_inverse_sparkles(image, size, center, radius, rays, amount, color, randomness, seed):
    rs = np.random.RandomState(seed=seed)
    lengths = [radius + randomness / 100.0 * radius * rs.randn() for _ in range(rays)]
    y, x = _grid(size)
    f = _ray_factor(y, x, center, radius, lengths, amount)[..., None]
    out = color + f * (image.astype(np.float32) - color)
    return np.clip(out, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ occlusion

def sample_checkerboard_cutout(sev, size, rng):
    angle = _uniform(rng, 0, 2 * np.pi)
    scales = np.maximum(_uniform(rng, 0.1, 0.25) * size, 1)
    return {"angle": angle, "scales": (scales, scales), "fraction": float_parameter(sev, 1.0),
            "seed": int(_randint(rng, 0, 2 ** 32))}


def apply_checkerboard_cutout(image, size, scales, angle, fraction, seed):
    rs = np.random.RandomState(seed=seed)
    grid = rs.uniform(size=(int(4 * size // scales[0]), int(4 * size // scales[1]))) < fraction
    y, x = _grid(size)
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
    angle = _uniform(rng, 0.0, 2 * np.pi)
    angle_variation = _uniform(rng, 0.1, 1.0)
    return {"length": 1.0, "density": density, "angle": angle, "angle_variation": angle_variation,
            "seed": int(_randint(rng, 0, 2 ** 32))}


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


# -------------------------------------------------------------------------------- warps

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
            dist = _norm2(dx, dy)
            still = (dist > radius) | (np.round(dist, 3) == 0.0)
            dd = dist / radius
            t = _spow(np.sin(np.pi * 0.5 * dd), -amount)
            e = 1 - dd
            a = angles[i, j] * _spow(e, 2)
            wx = dx * t
            wy = dy * t
            p0 = np.where(still, y, center[0] + (wx * np.cos(a) - wy * np.sin(a)))
            p1 = np.where(still, x, center[1] + (wx * np.sin(a) + wy * np.cos(a)))
            vals, _ = _bilinear(out, p0, p1)
            out[u:d, lo:hi, :] = vals
    return np.clip(out, 0, 255).astype(np.uint8)


def sample_ripple(sev, size, rng):
    amplitudes = np.array([float_parameter(sev, 0.025) for _ in range(2)]) * size
    wavelengths = _uniform(rng, 0.1, 0.3, size=2) * size
    phases = _uniform(rng, 0, 2 * np.pi, size=2)
    return {"amplitudes": amplitudes, "wavelengths": wavelengths, "phases": phases}


def apply_ripple(image, size, wavelengths, phases, amplitudes):
    y, x = _grid(size)
    p0 = y + amplitudes[0] * np.sin(2 * np.pi * y / wavelengths[0] + phases[0])
    p1 = x + amplitudes[1] * np.sin(2 * np.pi * x / wavelengths[1] + phases[1])
    return np.clip(_bilinear(image, p0, p1)[0], 0, 255).astype(np.uint8)


def sample_caustic_refraction(sev, size, rng):
    time = _uniform(rng, 0.5, 2.0)
    csize = _uniform(rng, 0.75, 1.25) * size
    return {"time": time, "size": csize, "eta": 4.0, "lens_scale": float_parameter(sev, 0.5 * size),
            "lighting_amount": float_parameter(sev, 2.0), "softening": 1}


def _caustic_noise(size: int, time: float, csize: float) -> np.ndarray:
    y, x = _grid(size)
    p0 = (y / csize % 1) * 6.28318530718 - 250
    p1 = (x / csize % 1) * 6.28318530718 - 250
    i0, i1 = p0.copy(), p1.copy()
    c = 1.0
    inten = 0.005
    for n in range(5):
        t = time * (1.0 - (3.5 / (n + 1)))
        i0, i1 = p0 + (np.cos(t - i0) + np.sin(t + i1)), p1 + (np.sin(t - i1) + np.cos(t + i0))
        length = np.sqrt(_spow(p0 / (np.sin(i0 + t) / inten), 2) + _spow(p1 / (np.cos(i1 + t) / inten), 2))
        c = c + 1.0 / length
    c = c / 5.0
    c = 1.17 - _spow(c, 1.4)
    colour = np.clip(_spow(np.abs(c), 8.0), 0, 1)
    return np.stack([colour, colour, colour], axis=2)


def apply_caustic_refraction(image, size, time, size_, eta, lens_scale, lighting_amount, softening):
    noise = gaussian_filter(_caustic_noise(size, time, size_), sigma=softening)
    luma_w = np.array([0.2126, 0.7152, 0.0722])
    y, x = _grid(size)

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
    vals, is32 = _bilinear(img, y + vec[..., 0], x + vec[..., 1])
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


# ----------------------------------------------------------------------- blur and colour

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


SAMPLERS: dict[str, Callable] = {n: globals()[f"sample_{n}"] for n in CBAR_ALL}
APPLIERS: dict[str, Callable] = {n: globals()[f"apply_{n}"] for n in CBAR_ALL}


def sample_params(name: str, severity: float, size: int, rng: Rng) -> dict:
    """The published ``sample_parameters`` of ``name`` at severity parameter ``severity``."""
    return SAMPLERS[name](severity, size, rng)


def apply_params(image: np.ndarray, name: str, size: int, params: dict) -> np.ndarray:
    """Apply ``name`` with fixed ``params`` to one uint8 image [size, size, 3]."""
    if name == "caustic_refraction":
        params = {("size_" if k == "size" else k): v for k, v in params.items()}
    # the published kernels meet 0/0 and x/0 where a branch later discards the value (e.g. the
    # centre of a twirl); the vectorised forms compute them everywhere and mask them
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return APPLIERS[name](image, size, **params)


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
    if isinstance(severity, bool) or severity not in (1, 2, 3, 4, 5):
        raise ValueError(f"severity must be 1..5, got {severity!r}")
    sev = table[name][severity - 1]
    rng = seed if isinstance(seed, (np.random.RandomState, np.random.Generator)) else np.random.default_rng(seed)
    out = np.empty_like(x)
    for k in range(len(x)):
        out[k] = apply_params(x[k], name, size, sample_params(name, sev, size, rng))
    return out
