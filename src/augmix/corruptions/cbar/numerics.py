"""Numerics of the -C-bar corruptions, as facebookresearch/augmentation-corruption computes them.

The published code evaluates per-pixel Python kernels; the corruptions here vectorise them
over pixels with the same floating-point operations in the same order, including three
things a plain vectorisation would change:

* ``np.linalg.norm`` of a 2-vector is a BLAS dot (fused multiply-add where the BLAS uses one):
  ``norm2`` computes it with the same BLAS call;
* ``x ** y`` on numpy scalars is the C library's ``pow``, which differs from numpy's vectorised
  power in the last bit: ``c_pow`` calls the scalar one;
* the published requirements pin numpy 1.x, whose value-based casting computes a float32 array
  times a numpy float64 scalar in float32 (numpy 2 computes it in float64). The bilinear
  interpolation, circular motion blur and the weighting of float32 images follow numpy 1.x.

Random parameters are drawn from a numpy ``RandomState`` (the published global stream) or a
``Generator``, through ``draw_uniform`` and ``draw_randint``.
"""


from __future__ import annotations

import math

import numpy as np

Rng = np.random.RandomState | np.random.Generator


def float_parameter(level: float, maxval: float) -> float:
    return float(level) * maxval / 10.0


def draw_uniform(rng: Rng, low=0.0, high=1.0, size=None):
    return rng.uniform(low=low, high=high, size=size)


def draw_randint(rng: Rng, low: int, high: int, size=None):
    if isinstance(rng, np.random.RandomState):
        return rng.randint(low=low, high=high, size=size)
    return rng.integers(low, high, size=size)


def c_pow(base, exponent) -> np.ndarray:
    """Elementwise ``a ** b`` with the C library's ``pow``, as numpy computes it on scalars."""
    def one(a, b):
        try:
            return math.pow(a, b)
        except (ValueError, OverflowError):
            return float("nan") if not (a == 0 and b < 0) else float("inf")

    return np.frompyfunc(one, 2, 1)(np.asarray(base, np.float64), np.asarray(exponent, np.float64)).astype(np.float64)


def norm2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.linalg.norm([a, b])`` elementwise: the same BLAS dot per vector."""
    v = np.stack([np.asarray(a, np.float64), np.asarray(b, np.float64)], axis=-1)
    flat = v.reshape(-1, 1, 2)
    return np.sqrt(np.matmul(flat, flat.transpose(0, 2, 1))[:, 0, 0]).reshape(v.shape[:-1])


def pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row (y) and column (x) indices of every pixel, int64."""
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return y, x


def bilinear_sample(image: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


