"""-C-bar noise fields: single-frequency greyscale, concentric sine waves, plasma, Perlin, blue and brownish noise."""

from __future__ import annotations

import functools

import numpy as np
from scipy.fftpack import ifft2

from augmix.corruptions.cbar.numerics import (
    Rng,
    c_pow,
    draw_randint,
    draw_uniform,
    float_parameter,
    norm2,
    pixel_grid,
)
from augmix.corruptions.cbar.perlin import Perlin


def sample_single_frequency_greyscale(sev: float, size: int, rng: Rng) -> dict:
    freq_mag = draw_uniform(rng, -np.pi, np.pi)
    freq_2 = draw_uniform(rng, -abs(freq_mag), abs(freq_mag))
    freq = np.array([freq_mag, freq_2])[rng.permutation(2)]
    phase = draw_uniform(rng, 0, 2 * np.pi)
    return {"freq": freq, "phase": phase, "intensity": float_parameter(sev, 196)}


def apply_single_frequency_greyscale(image, size, freq, phase, intensity):
    y, x = pixel_grid(size)
    noise = np.sin(x * freq[0] + y * freq[1] + phase)
    noise = np.stack((noise, noise, noise), axis=2)
    return np.clip(image + intensity * noise, 0, 255).astype(np.uint8)


def sample_cocentric_sine_waves(sev, size, rng):
    offset = draw_uniform(rng, 0, size, size=2)
    freq = draw_uniform(rng, 0, 10)
    amplitude = draw_uniform(rng, 0, size / 10)
    ring_width = draw_uniform(rng, 0, size / 10)
    return {"offset": offset, "freq": freq, "amplitude": amplitude, "ring_width": ring_width,
            "intensity": [float_parameter(sev, 128) for _ in range(3)]}


def apply_cocentric_sine_waves(image, size, offset, freq, amplitude, ring_width, intensity):
    y, x = pixel_grid(size)
    x0, y0 = offset[0], offset[1]
    angle = np.arctan2(x - x0, y - y0) * freq
    radius = np.sqrt(c_pow(x - x0, 2) + c_pow(y - y0, 2))
    dist = (radius + np.sin(angle) * amplitude) % ring_width / ring_width
    dist = dist - 1 / 2
    noise = np.stack((intensity[0] * dist, intensity[1] * dist, intensity[2] * dist), axis=2)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def sample_plasma_noise(sev, size, rng):
    time = draw_uniform(rng, 0.0, 6 * np.pi)
    iterations = int(draw_randint(rng, 4, 7))
    sharpness = draw_uniform(rng, 0.5, 1.0)
    scale = draw_uniform(rng, 0.075, 0.2) * size
    return {"time": time, "iterations": iterations, "sharpness": sharpness, "scale": scale,
            "intensity": float_parameter(sev, 64)}


def apply_plasma_noise(image, size, time, iterations, sharpness, scale, intensity):
    y, x = pixel_grid(size)
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


def sample_perlin_noise(sev, size, rng):
    return {"m": np.array([[1, 0], [0, 1]]) / (32 * size / 224), "turbulence": 16.0, "gain": 0.5, "bias": 0.5,
            "alpha": float_parameter(sev, 0.50), "seed": int(draw_randint(rng, 0, 2 ** 32))}


def apply_perlin_noise(image, size, m, turbulence, seed, gain, bias, alpha):
    gen = Perlin(np.random.RandomState(seed=seed))
    y, x = pixel_grid(size)
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
    y, x = pixel_grid(size)
    return norm2(x - center, y - center)


def _fourier_noise(size: int, power: np.ndarray, random_state: Rng) -> np.ndarray:
    phases = draw_uniform(random_state, 0, 2 * np.pi, size=(size, size // 2))
    if size % 2 == 0:
        phases = np.concatenate((phases, phases[::-1, ::-1]), axis=1)
    else:
        center_freq = draw_uniform(random_state, 0, 2 * np.pi, size=(size // 2, 1))
        center_freq = np.concatenate((center_freq, np.array([[0.0]]), center_freq[::-1, :]), axis=0)
        phases = np.concatenate((phases, center_freq, phases[::-1, ::-1]), axis=1)
    fourier = power * (np.cos(phases) + np.sin(phases) * 1j)
    fourier = np.roll(fourier, size // 2, axis=0)
    fourier = np.roll(fourier, size // 2, axis=1)
    noise = np.real(ifft2(fourier))
    return noise / np.std(noise)


def sample_blue_noise_sample(sev, size, rng):
    return {"seed": int(draw_randint(rng, 0, 2 ** 32)), "threshold": float_parameter(sev, 3.0) - 2.5}


def apply_blue_noise_sample(image, size, seed, threshold):
    noise = _fourier_noise(size, _radial(size), np.random.RandomState(seed=seed))
    mask = noise > threshold
    return np.clip(image * mask.reshape(size, size, 1), 0, 255).astype(np.uint8)


def sample_brownish_noise(sev, size, rng):
    return {"seed": int(draw_randint(rng, 0, 2 ** 32)), "intensity": float_parameter(sev, 64)}


@functools.lru_cache(maxsize=8)
def _brown_power(size: int) -> np.ndarray:
    return 1 / (c_pow(_radial(size), 2) + 1)


def apply_brownish_noise(image, size, seed, intensity):
    rs = np.random.RandomState(seed=seed)
    noise = np.stack([_fourier_noise(size, _brown_power(size), rs) for _ in range(3)], axis=2)
    return np.clip(image + intensity * noise, 0, 255).astype(np.uint8)


