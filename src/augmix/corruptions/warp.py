"""OpenCV 4's ``warpAffine`` and ``warpPerspective`` (bilinear), bit for bit, whatever OpenCV is
installed.

The published generators warp with OpenCV: -C elastic transform (``warpAffine`` of a float32
image, reflect-101 border) and -P tilt (``warpPerspective`` of an 8-bit image, black border).
The released sets were made with the OpenCV of 2018-2019, whose warps quantise each source
coordinate to 1/32 pixel (``INTER_BITS = 5``) and interpolate 8-bit images in 15-bit fixed
point. OpenCV 4.10 to 4.14 give the same bytes (measured); OpenCV 5.0 samples at full
precision (on a float32 image every value changes, by up to 0.025; on 8-bit images up to 5
levels) and 5.1 changed ``warpPerspective`` again. So the published output is a property of
the OpenCV version, and this module holds it to OpenCV 4's arithmetic (imgwarp.cpp:
``WarpAffineInvoker``, ``WarpPerspectiveInvoker``, ``remapBilinear``, ``initInterTab2D``):
coordinates in float64 numpy (IEEE, as the C++), interpolation in numba.
"""

from __future__ import annotations

import numpy as np

from augmix.jit import kernel

INTER_BITS = 5
TAB = 1 << INTER_BITS  # INTER_TAB_SIZE: sub-pixel positions per pixel
AB_BITS = 10  # warpAffine's fixed-point coordinate bits, max(10, INTER_BITS)
COEF_BITS = 15  # INTER_REMAP_COEF_BITS: the 8-bit path's weight scale
REFLECT_101, CONSTANT = 4, 0  # cv2.BORDER_REFLECT_101, cv2.BORDER_CONSTANT
PERSPECTIVE_BLOCK = 32  # warpPerspective's BLOCK_SZ: column blocks of BLOCK_SZ**2 / min(BLOCK_SZ / 2, rows)


def _weights() -> tuple[np.ndarray, np.ndarray]:
    """initInterTab2D(INTER_LINEAR): per sub-pixel position ``fy * 32 + fx`` the four weights
    (top-left, top-right, bottom-left, bottom-right) as float32 and as 15-bit integers. Where the
    integers do not sum to 2**15 the C++ moves the difference onto an extreme weight, searching
    ``itab[k1 * 2 + k2]`` for k1, k2 in 1..2, which for a 2x2 kernel runs past the entry into
    the next, not yet written (zero) ones: only position 0 is affected (1.0 saturates to 32767),
    and it becomes (32767, 0, 0, 1)."""
    f = [np.float32(i) * np.float32(1.0 / TAB) for i in range(TAB)]
    lin = [(np.float32(1) - v, v) for v in f]  # interpolateLinear
    tab = np.zeros((TAB * TAB, 4), np.float32)
    flat = np.zeros(TAB * TAB * 4 + 4, np.int64)  # itab, with the zeros the search reads past the end
    for i in range(TAB):
        for j in range(TAB):
            base, isum = (i * TAB + j) * 4, 0
            for k1 in range(2):
                for k2 in range(2):
                    v = np.float32(lin[i][k1] * lin[j][k2])
                    tab[i * TAB + j, k1 * 2 + k2] = v
                    iv = int(np.clip(np.rint(np.float64(v) * (1 << COEF_BITS)), -32768, 32767))  # saturate_cast<short>
                    flat[base + k1 * 2 + k2] = iv
                    isum += iv
            if isum != 1 << COEF_BITS:
                diff = isum - (1 << COEF_BITS)
                big = small = (1, 1)
                for k1 in (1, 2):
                    for k2 in (1, 2):
                        v = flat[base + k1 * 2 + k2]
                        if v < flat[base + small[0] * 2 + small[1]]:
                            small = (k1, k2)
                        elif v > flat[base + big[0] * 2 + big[1]]:
                            big = (k1, k2)
                k1, k2 = big if diff < 0 else small
                flat[base + k1 * 2 + k2] -= diff
    return tab, flat[: TAB * TAB * 4].reshape(TAB * TAB, 4).astype(np.int32)


FLOAT_WEIGHTS, INT_WEIGHTS = _weights()


@kernel()
def _border(p: int, n: int, mode: int) -> int:
    """borderInterpolate: the source index for ``p``; -1 (the constant) outside, for a constant border."""
    if 0 <= p < n:
        return p
    if mode == CONSTANT:
        return -1
    if n == 1:
        return 0
    while p < 0 or p >= n:  # reflect-101
        p = -p if p < 0 else 2 * n - 2 - p
    return p


@kernel(inline="always")
def _split(x, y):
    """A 1/32-pixel coordinate pair as the source pixel (saturate_cast<short>) and table position."""
    sx = min(max(x >> INTER_BITS, -32768), 32767)
    sy = min(max(y >> INTER_BITS, -32768), 32767)
    return sx, sy, (y & (TAB - 1)) * TAB + (x & (TAB - 1))


@kernel()
def _remap_u8(src, fx, fy, wtab, mode):
    h, w, c = src.shape
    oh, ow = fx.shape
    out = np.zeros((oh, ow, c), np.uint8)
    half = 1 << (COEF_BITS - 1)
    for i in range(oh):
        for j in range(ow):
            x, y, a = _split(fx[i, j], fy[i, j])
            w0, w1, w2, w3 = wtab[a, 0], wtab[a, 1], wtab[a, 2], wtab[a, 3]
            if 0 <= x < w - 1 and 0 <= y < h - 1:  # all four neighbours inside: remapBilinear's fast path
                for k in range(c):
                    s = (np.int32(src[y, x, k]) * w0 + np.int32(src[y, x + 1, k]) * w1
                         + np.int32(src[y + 1, x, k]) * w2 + np.int32(src[y + 1, x + 1, k]) * w3)
                    out[i, j, k] = min(max((s + half) >> COEF_BITS, 0), 255)
                continue
            if mode == CONSTANT and (x >= w or x + 1 < 0 or y >= h or y + 1 < 0):
                continue
            x0, x1, y0, y1 = _border(x, w, mode), _border(x + 1, w, mode), _border(y, h, mode), _border(y + 1, h, mode)
            for k in range(c):
                v0 = np.int32(src[y0, x0, k]) if x0 >= 0 and y0 >= 0 else np.int32(0)
                v1 = np.int32(src[y0, x1, k]) if x1 >= 0 and y0 >= 0 else np.int32(0)
                v2 = np.int32(src[y1, x0, k]) if x0 >= 0 and y1 >= 0 else np.int32(0)
                v3 = np.int32(src[y1, x1, k]) if x1 >= 0 and y1 >= 0 else np.int32(0)
                out[i, j, k] = min(max((v0 * w0 + v1 * w1 + v2 * w2 + v3 * w3 + half) >> COEF_BITS, 0), 255)
    return out


@kernel()
def _remap_f32(src, fx, fy, wtab, mode):
    h, w, c = src.shape
    oh, ow = fx.shape
    out = np.zeros((oh, ow, c), np.float32)
    zero = np.float32(0)
    for i in range(oh):
        for j in range(ow):
            x, y, a = _split(fx[i, j], fy[i, j])
            w0, w1, w2, w3 = wtab[a, 0], wtab[a, 1], wtab[a, 2], wtab[a, 3]
            if 0 <= x < w - 1 and 0 <= y < h - 1:
                for k in range(c):
                    out[i, j, k] = (src[y, x, k] * w0 + src[y, x + 1, k] * w1 + src[y + 1, x, k] * w2
                                    + src[y + 1, x + 1, k] * w3)
                continue
            if mode == CONSTANT and (x >= w or x + 1 < 0 or y >= h or y + 1 < 0):
                continue
            x0, x1, y0, y1 = _border(x, w, mode), _border(x + 1, w, mode), _border(y, h, mode), _border(y + 1, h, mode)
            for k in range(c):
                v0 = src[y0, x0, k] if x0 >= 0 and y0 >= 0 else zero
                v1 = src[y0, x1, k] if x1 >= 0 and y0 >= 0 else zero
                v2 = src[y1, x0, k] if x0 >= 0 and y1 >= 0 else zero
                v3 = src[y1, x1, k] if x1 >= 0 and y1 >= 0 else zero
                out[i, j, k] = v0 * w0 + v1 * w1 + v2 * w2 + v3 * w3
    return out


@kernel()
def _affine_coords(x0, y0, adelta, bdelta):
    """warpAffine's fixed-point source coordinates, ``(row start + column step) >> (AB_BITS - INTER_BITS)``."""
    fx = np.empty((len(x0), len(adelta)), np.int64)
    fy = np.empty_like(fx)
    for i in range(len(x0)):
        for j in range(len(adelta)):
            fx[i, j] = (x0[i] + adelta[j]) >> (AB_BITS - INTER_BITS)
            fy[i, j] = (y0[i] + bdelta[j]) >> (AB_BITS - INTER_BITS)
    return fx, fy


def _remap(src: np.ndarray, x: np.ndarray, y: np.ndarray, mode: int) -> np.ndarray:
    """remap with 1/32-pixel coordinates ``x``, ``y`` (int64, 5 fractional bits), bilinear."""
    squeeze = src.ndim == 2
    src = np.ascontiguousarray(src[..., None] if squeeze else src)
    if src.dtype == np.uint8:
        out = _remap_u8(src, x, y, INT_WEIGHTS, mode)
    elif src.dtype == np.float32:
        out = _remap_f32(src, x, y, FLOAT_WEIGHTS, mode)
    else:
        raise ValueError(f"warp takes uint8 or float32 images, not {src.dtype}")
    return out[..., 0] if squeeze else out


def _round(v: np.ndarray) -> np.ndarray:
    """saturate_cast<int>(double): nearest, ties to even, clamped to int32."""
    return np.clip(np.rint(v), -(2 ** 31), 2 ** 31 - 1).astype(np.int64)


def warp_affine(src: np.ndarray, m: np.ndarray, size: tuple[int, int], border: int = REFLECT_101) -> np.ndarray:
    """``cv2.warpAffine(src, m, size, flags=INTER_LINEAR, borderMode=border)`` as OpenCV 4 computes it
    (``size`` is (width, height); black for a constant border)."""
    m = np.asarray(m, np.float64).reshape(6).copy()
    d = m[0] * m[4] - m[1] * m[3]  # the inverse map, in the C++'s order of operations
    d = 1.0 / d if d != 0 else 0.0
    a11, a22 = m[4] * d, m[0] * d
    m[0], m[1], m[3], m[4] = a11, m[1] * -d, m[3] * -d, a22
    m[2], m[5] = -m[0] * m[2] - m[1] * m[5], -m[3] * m[2] - m[4] * m[5]
    w, h = size
    scale, delta = float(1 << AB_BITS), (1 << AB_BITS) // TAB // 2
    xs, ys = np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)
    adelta, bdelta = _round(m[0] * xs * scale), _round(m[3] * xs * scale)
    x0 = _round((m[1] * ys + m[2]) * scale) + delta
    y0 = _round((m[4] * ys + m[5]) * scale) + delta
    return _remap(src, *_affine_coords(x0, y0, adelta, bdelta), border)


def _invert3(s: np.ndarray) -> np.ndarray:
    """cv::invert(DECOMP_LU) of a 3x3 float64 matrix: the adjugate over the determinant."""
    det = (s[0, 0] * (s[1, 1] * s[2, 2] - s[1, 2] * s[2, 1]) - s[0, 1] * (s[1, 0] * s[2, 2] - s[1, 2] * s[2, 0])
           + s[0, 2] * (s[1, 0] * s[2, 1] - s[1, 1] * s[2, 0]))
    if det == 0:
        return np.zeros((3, 3))
    d = 1.0 / det
    t = [(s[1, 1] * s[2, 2] - s[1, 2] * s[2, 1]) * d, (s[0, 2] * s[2, 1] - s[0, 1] * s[2, 2]) * d,
         (s[0, 1] * s[1, 2] - s[0, 2] * s[1, 1]) * d, (s[1, 2] * s[2, 0] - s[1, 0] * s[2, 2]) * d,
         (s[0, 0] * s[2, 2] - s[0, 2] * s[2, 0]) * d, (s[0, 2] * s[1, 0] - s[0, 0] * s[1, 2]) * d,
         (s[1, 0] * s[2, 1] - s[1, 1] * s[2, 0]) * d, (s[0, 1] * s[2, 0] - s[0, 0] * s[2, 1]) * d,
         (s[0, 0] * s[1, 1] - s[0, 1] * s[1, 0]) * d]
    return np.array(t, np.float64).reshape(3, 3)


@kernel()
def _perspective_coords(m, w, h, block):
    """WarpPerspectiveInvoker's fixed-point source coordinates: per row and column block, X0, Y0 and
    W0 at the block's first column, then ``W = 32 / (W0 + M6 * x1)``, ``X = round((X0 + M0 * x1) * W)``
    (float64, IEEE, operations in the C++'s order: numba fuses no multiply-add without fastmath)."""
    fx = np.empty((h, w), np.int64)
    fy = np.empty_like(fx)
    lo, hi = -2147483648.0, 2147483647.0
    for i in range(h):
        for b in range(0, w, block):
            xb, yb = float(b), float(i)
            x_0 = m[0] * xb + m[1] * yb + m[2]
            y_0 = m[3] * xb + m[4] * yb + m[5]
            w_0 = m[6] * xb + m[7] * yb + m[8]
            for j in range(b, min(b + block, w)):
                x1 = float(j - b)
                wt = w_0 + m[6] * x1
                wt = TAB / wt if wt != 0 else 0.0
                fx[i, j] = np.int64(np.rint(max(lo, min(hi, (x_0 + m[0] * x1) * wt))))  # saturate_cast<int>
                fy[i, j] = np.int64(np.rint(max(lo, min(hi, (y_0 + m[3] * x1) * wt))))
    return fx, fy


def warp_perspective(src: np.ndarray, m: np.ndarray, size: tuple[int, int], border: int = CONSTANT) -> np.ndarray:
    """``cv2.warpPerspective(src, m, size, flags=INTER_LINEAR, borderMode=border)`` as OpenCV 4
    computes it (``size`` is (width, height)). Each row is computed in column blocks from the
    block's first column, as the C++ does, so the rounding matches."""
    m = _invert3(np.asarray(m, np.float64).reshape(3, 3)).reshape(9)
    w, h = size
    block = min(PERSPECTIVE_BLOCK ** 2 // min(PERSPECTIVE_BLOCK // 2, h), w)  # bw0 = min(BLOCK_SZ**2 / bh0, cols)
    return _remap(src, *_perspective_coords(m, w, h, block), border)
