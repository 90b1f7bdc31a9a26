"""Ken Perlin's improved noise as the published ``utils/perlin.py`` computes it (used by ``perlin_noise``)."""

from __future__ import annotations

import numpy as np

from augmix.corruptions.cbar.numerics import Rng, c_pow, draw_randint


class Perlin:
    """``utils.perlin_noise.PerlinNoiseGenerator``, its tables drawn from ``random_state`` as
    published, evaluated on arrays of points."""

    B = 256
    N = 16 * 256

    def __init__(self, random_state: Rng) -> None:
        b = self.B

        def normalize(arr):
            return arr / np.linalg.norm(arr)

        self.p = np.arange(2 * b + 2)
        self.g = np.array([normalize((draw_randint(random_state, 0, 2 ** 31, size=2) % (2 * b) - b) / b)
                           for _ in range(2 * b + 2)])
        for i in np.arange(b - 1, -1, -1):
            k = self.p[i]
            j = draw_randint(random_state, 0, 2 ** 31) % b
            self.p[i] = self.p[j]
            self.p[j] = k
        for i in range(b + 2):
            self.p[b + i] = self.p[i]
            self.g[b + i, :] = self.g[i, :]

    @staticmethod
    def s_curve(t):
        return c_pow(t, 2) * (3.0 - 2.0 * t)

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


