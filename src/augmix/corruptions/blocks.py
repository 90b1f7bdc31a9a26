"""Building blocks of the corruptions, batched over images and written for speed.

Each reproduces a step of hendrycks/robustness ``make_*_c.py`` exactly in method:

* ``gaussian_nearest`` - ``scipy.ndimage.gaussian_filter(mode="nearest")`` over the spatial axes, to
  the bit (glass blur, spatter, Gaussian blur);
* ``disk`` - the anti-aliased disk kernel of defocus blur;
* ``motion_blur`` - ImageMagick's ``MotionBlurImage`` (which the source calls through
  Wand): a one-sided Gaussian line kernel of width ``2*ceil(radius)+1`` along the
  angle, taps at ``ceil(i*cos - 0.5), ceil(i*sin - 0.5)``, edge pixels repeated, the
  result rounded to 8 bits as the PNG round trip does;
* ``clipped_zoom`` - ``scipy.ndimage.zoom(order=1)`` of the centre crop, then the centre
  trimmed, as a separable two-tap interpolation per zoom factor;
* ``hsv_map`` - scikit-image's ``rgb2hsv`` -> shift V or scale S -> ``hsv2rgb``, per pixel
  in float64 with its formulas (numba);
* ``poisson_codes`` - Poisson draws with means ``code / 255 * lam`` for 8-bit codes, by
  inverting each of the 256 CDFs (exactly Poisson; faster than numpy's per-draw sampler);
* ``gaussian_reflect`` - ``scipy.ndimage.gaussian_filter(mode="reflect")`` over the last two
  axes as two matrix products (elastic transform's displacement fields, whose kernel at
  224 px reaches 1,025 taps: wider than the image);
* ``bilinear_reflect`` - ``scipy.ndimage.map_coordinates(order=1, mode="reflect")`` of
  displaced pixel grids (elastic transform; numba);
* ``plasma_fractal`` - the diamond-square height map of fog, one per image;
* ``glass_shuffle`` - glass blur's sequential local pixel swaps (numba);
* ``frost_layers`` - the published frost photographs, from the registry package that ships
  them (``imagecorruptions``), scaled as the source scales them per image size.
"""

from __future__ import annotations

import functools
import math
from importlib import resources

import cv2
import numba
import numpy as np

from augmix.io import MissingTool
from augmix.jit import announce_first_compile, kernel


@kernel()
def _unit_to_u8(flat, out):  # pragma: no cover - compiled
    for i in range(flat.shape[0]):
        out[i] = np.uint8(min(max(flat[i], 0.0), 1.0) * 255)


def unit_to_u8(x: np.ndarray) -> np.ndarray:
    """``np.uint8(np.clip(x, 0, 1) * 255)`` of float ``x`` in one pass (the same values: clipped,
    scaled in x's precision, truncated)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.shape, dtype=np.uint8)
    announce_first_compile(_unit_to_u8, "corruption kernels")
    _unit_to_u8(flat, out)
    return out.reshape(x.shape)


@kernel()
def _gauss_vertical(x, w, out):  # pragma: no cover - compiled
    """``out`` [H, M] = x [H, M] filtered along H by the symmetric kernel ``w`` (``w[k]`` at distance
    k), edges repeated: scipy's ``correlate1d`` for a symmetric kernel, the same float64 sum in the
    same order (the centre, then the pairs from the farthest in), one row at a time."""
    h, m = x.shape
    r = w.shape[0] - 1
    acc = np.empty(m, np.float64)
    for y in range(h):
        centre = x[y]
        w0 = w[0]
        for j in range(m):
            acc[j] = np.float64(centre[j]) * w0
        for k in range(r, 0, -1):
            a = x[max(y - k, 0)]
            b = x[min(y + k, h - 1)]
            wk = w[k]
            for j in range(m):
                acc[j] += (np.float64(a[j]) + np.float64(b[j])) * wk
        o = out[y]
        for j in range(m):
            o[j] = acc[j]


@kernel()
def _gauss_horizontal(x, w, c, out):  # pragma: no cover - compiled
    """``_gauss_vertical`` along W of ``x`` [H, W * C] (C channels interleaved), through one
    edge-padded float64 row."""
    h, m = x.shape
    width = m // c
    r = w.shape[0] - 1
    pad = np.empty((width + 2 * r) * c, np.float64)
    acc = np.empty(m, np.float64)
    for y in range(h):
        row = x[y]
        for i in range(r):
            for ch in range(c):
                pad[i * c + ch] = row[ch]
                pad[(r + width + i) * c + ch] = row[(width - 1) * c + ch]
        for j in range(m):
            pad[r * c + j] = row[j]
        centre = pad[r * c:]
        w0 = w[0]
        for j in range(m):
            acc[j] = centre[j] * w0
        for k in range(r, 0, -1):
            a = pad[(r - k) * c:]
            b = pad[(r + k) * c:]
            wk = w[k]
            for j in range(m):
                acc[j] += (a[j] + b[j]) * wk
        o = out[y]
        for j in range(m):
            o[j] = acc[j]


def gaussian_nearest(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(x, (0, sigma, sigma[, 0]), mode="nearest", truncate=...)`` of
    float images [N, H, W] or [N, H, W, C], to the bit (scipy's kernel, its symmetric sum in float64
    and its rounding to the input's dtype after each axis), one L1-sized row at a time."""
    if x.dtype not in (np.float32, np.float64) or x.ndim not in (3, 4):
        raise ValueError(f"gaussian_nearest takes float images [N, H, W(, C)], got {x.dtype} {x.shape}")
    if sigma <= 1e-15:  # scipy leaves such an axis alone
        return x.copy()
    radius = int(truncate * float(sigma) + 0.5)
    taps = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (float(sigma) * float(sigma)) * taps ** 2)  # scipy's _gaussian_kernel1d(sigma, 0, radius)
    half = np.ascontiguousarray((phi / phi.sum())[radius:])
    n, h, w = x.shape[:3]
    c = x.shape[3] if x.ndim == 4 else 1
    src = np.ascontiguousarray(x).reshape(n, h, w * c)
    tmp = np.empty((h, w * c), dtype=x.dtype)
    out = np.empty(src.shape, dtype=x.dtype)
    announce_first_compile(_gauss_vertical, "corruption kernels")
    for i in range(n):
        _gauss_vertical(src[i], half, tmp)
        _gauss_horizontal(tmp, half, c, out[i])
    return out.reshape(x.shape)


def disk(radius: float, alias_blur: float = 0.1, dtype=np.float32) -> np.ndarray:
    """The source's ``disk``: an aliased disk, normalised, then a small Gaussian blur."""
    if radius <= 8:
        coords = np.arange(-8, 8 + 1)
        ksize = (3, 3)
    else:
        coords = np.arange(-radius, radius + 1)
        ksize = (5, 5)
    xx, yy = np.meshgrid(coords, coords)
    aliased = np.array((xx**2 + yy**2) <= radius**2, dtype=dtype)
    aliased /= np.sum(aliased)
    return cv2.GaussianBlur(aliased, ksize=ksize, sigmaX=alias_blur)


def motion_kernel(radius: float, sigma: float) -> np.ndarray:
    """ImageMagick's motion-blur weights: exp(-i^2 / 2 sigma^2), i = 0..2*ceil(radius), normalised."""
    width = int(2 * math.ceil(radius) + 1)
    sigma = max(abs(sigma), 1e-12)
    i = np.arange(width, dtype=np.float64)
    k = np.exp(-(i * i) / (2 * sigma * sigma)) / (math.sqrt(2 * math.pi) * sigma)
    return k / k.sum()


def motion_offsets(width: int, angle_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tap offsets (dx, dy) [N, width] of ImageMagick's MotionBlurImage for each angle."""
    a = np.pi * np.asarray(angle_deg, dtype=np.float64)[:, None] / 180.0  # DegreesToRadians: MagickPI*x/180
    i = np.arange(width, dtype=np.float64)[None, :]
    # ImageMagick's own arithmetic: point = (width sin a, width cos a), offset.x = ceil(i * point.y /
    # hypot(point) - 0.5), offset.y = ceil(i * point.x / hypot(point) - 0.5). Spelt out this way (not
    # i * cos a) it rounds as ImageMagick does where the value is a half integer, e.g. at -150 degrees.
    px, py = width * np.sin(a), width * np.cos(a)
    hyp = np.hypot(px, py)
    dx = np.ceil(i * py / hyp - 0.5).astype(np.int64)
    dy = np.ceil(i * px / hyp - 0.5).astype(np.int64)
    return dx, dy


@kernel()
def _motion_rows(padded, kernel, dx, dy, pad, c, out):  # pragma: no cover - compiled
    """One image's motion blur: ``padded`` [H + 2p, (W + 2p) * C] uint8 (edges repeated), ``out``
    [H, W * C] uint8. Each output row sums its taps' shifted source rows in float64, tap by tap in
    kernel order (the same roundings as summing whole shifted images), in an L1-sized row; four
    taps per pass over the row, each still its own rounded addition."""
    h, wc = out.shape
    n = kernel.shape[0]
    acc = np.empty(wc, np.float64)
    for y in range(h):
        acc[:] = 0.0
        i = 0
        while i + 4 <= n:
            s0 = padded[pad + dy[i] + y, (pad + dx[i]) * c:]
            s1 = padded[pad + dy[i + 1] + y, (pad + dx[i + 1]) * c:]
            s2 = padded[pad + dy[i + 2] + y, (pad + dx[i + 2]) * c:]
            s3 = padded[pad + dy[i + 3] + y, (pad + dx[i + 3]) * c:]
            k0, k1, k2, k3 = kernel[i], kernel[i + 1], kernel[i + 2], kernel[i + 3]
            for j in range(wc):
                v = acc[j]
                v += k0 * np.float64(s0[j])
                v += k1 * np.float64(s1[j])
                v += k2 * np.float64(s2[j])
                v += k3 * np.float64(s3[j])
                acc[j] = v
            i += 4
        while i < n:
            s0 = padded[pad + dy[i] + y, (pad + dx[i]) * c:]
            k0 = kernel[i]
            for j in range(wc):
                acc[j] += k0 * np.float64(s0[j])
            i += 1
        row = out[y]
        for j in range(wc):  # ImageMagick (Q16) rounds to 16 bits; the 8-bit PNG it writes truncates that
            v = np.floor(np.rint(acc[j] * 257) / 257)
            row[j] = np.uint8(min(max(v, 0.0), 255.0))


def motion_blur(x: np.ndarray, radius: float, sigma: float, angle_deg: np.ndarray) -> np.ndarray:
    """Motion-blur uint8 images [N, H, W, C] (one angle per image); returns uint8."""
    n, h, w, c = x.shape
    kernel = motion_kernel(radius, sigma)
    width = len(kernel)
    dx, dy = motion_offsets(width, angle_deg)
    pad = width
    out = np.empty(x.shape, dtype=np.uint8)
    announce_first_compile(_motion_rows, "corruption kernels")
    for j in range(n):  # edge-padded image, then one shifted source row per tap and output row
        padded = np.pad(x[j], ((pad, pad), (pad, pad), (0, 0)), mode="edge").reshape(h + 2 * pad, -1)
        _motion_rows(padded, kernel, dx[j], dy[j], pad, c, out[j].reshape(h, w * c))
    return out


@kernel()
def _snow_mix(x, grey, layer, keep, out):  # pragma: no cover - compiled
    """``snow_mix`` of one image [H, W, C]."""
    h, w, c = x.shape
    k = np.float32(keep)  # NumPy's scalars in float32 arrays' arithmetic are float32 (NEP 50)
    rest = np.float32(1 - keep)
    for y in range(h):
        for xx in range(w):
            flake = layer[y, xx, 0]  # float64, as the source's layer / 255.0
            turned = layer[h - 1 - y, w - 1 - xx, 0]
            g = grey[y, xx, 0] * np.float32(1.5) + np.float32(0.5)
            for ch in range(c):
                v = x[y, xx, ch]
                b = k * v + rest * max(v, g)
                f = (np.float64(b) + flake) + turned
                out[y, xx, ch] = np.uint8(min(max(f, 0.0), 1.0) * 255.0)


def snow_mix(x: np.ndarray, grey: np.ndarray, layer: np.ndarray, keep: float) -> np.ndarray:
    """Snow's last steps in one pass, as uint8: ``x = keep x + (1 - keep) max(x, 1.5 grey + 0.5)`` in
    float32, then ``clip(x + layer + layer turned by 180 degrees, 0, 1) * 255`` in float64 (the
    source's types: images [N, H, W, 3] and grey [N, H, W, 1] float32, the flakes [N, H, W, 1]
    float64), truncated."""
    out = np.empty(x.shape, dtype=np.uint8)
    announce_first_compile(_snow_mix, "corruption kernels")
    for i in range(x.shape[0]):
        _snow_mix(np.ascontiguousarray(x[i]), np.ascontiguousarray(grey[i]), np.ascontiguousarray(layer[i]),
                  float(keep), out[i])
    return out


@functools.lru_cache(maxsize=256)
def zoom_taps(size: int, zoom_factor: float) -> tuple[np.ndarray, ...]:
    """Order-1 ``scipy.ndimage.zoom`` of the centre crop, trimmed back to ``size``, as two taps per
    output index: (first source index, second source index, their weights as float32)."""
    ch = int(np.ceil(size / zoom_factor))
    top = (size - ch) // 2
    out_len = int(round(ch * zoom_factor))  # scipy.ndimage.zoom's output shape
    trim = (out_len - size) // 2
    scale = (ch - 1) / (out_len - 1) if out_len > 1 else 0.0
    coords = (np.arange(trim, trim + size, dtype=np.float64)) * scale
    lo = np.floor(coords).astype(np.int64)
    frac = coords - lo
    hi = np.minimum(lo + 1, ch - 1)
    lo = np.minimum(lo, ch - 1)
    same = hi == lo  # at the crop's last index both taps fall on one source value
    w_lo = np.where(same, (1 - frac) + frac, 1 - frac)
    w_hi = np.where(same, 0.0, frac)
    return top + lo, top + hi, w_lo.astype(np.float32), w_hi.astype(np.float32)


@kernel()
def _zoom_taps(x, rlo, rhi, rwl, rwh, clo, chi, cwl, cwh, out):  # pragma: no cover - compiled
    """out = two float32 taps per output row (rows ``rlo``/``rhi``, weights ``rwl``/``rwh``), then two
    per output column, of images [N, H, W, C]; ``out`` [N, len(rlo), len(clo), C]."""
    n, _, w, c = x.shape
    oh, ow = out.shape[1], out.shape[2]
    tmp = np.empty((oh, w, c), dtype=np.float32)
    for k in range(n):
        for i in range(oh):
            a, b, wa, wb = rlo[i], rhi[i], rwl[i], rwh[i]
            for j in range(w):
                for ch in range(c):
                    tmp[i, j, ch] = wa * x[k, a, j, ch] + wb * x[k, b, j, ch]
        for i in range(oh):
            for j in range(ow):
                a, b, wa, wb = clo[j], chi[j], cwl[j], cwh[j]
                for ch in range(c):
                    out[k, i, j, ch] = wa * tmp[i, a, ch] + wb * tmp[i, b, ch]


def zoom_by_taps(x: np.ndarray, rows: tuple[np.ndarray, ...], cols: tuple[np.ndarray, ...]) -> np.ndarray:
    """Images [N, H, W, C] resampled by two taps per output row and column (``zoom_taps``-style
    tuples: first index, second index, their float32 weights), in float32."""
    out = np.empty((x.shape[0], len(rows[0]), len(cols[0]), x.shape[3]), dtype=np.float32)
    announce_first_compile(_zoom_taps, "corruption kernels")
    _zoom_taps(np.ascontiguousarray(x, dtype=np.float32), *rows, *cols, out)
    return out


@kernel()
def _zoom_blur_planes(x, rlo, rhi, rwl, rwh, clo, chi, cwl, cwh, out):  # pragma: no cover - compiled
    """Zoom blur of one image's planes ``x`` [C, H, W] float32: ``out`` [C, H, W] uint8 =
    trunc(clip((x + sum_f zoom_f(x)) / (F + 1), 0, 1) * 255), each zoom ``zoom_by_taps``'s two
    float32 taps per row, then per column (taps [F, H] and [F, W]). Row by row: an output row's
    sum over the F zooms stays in L1, and every value takes the same float32 roundings, factor
    after factor, as adding whole zoomed images."""
    c, h, w = x.shape
    nf = rlo.shape[0]
    tmp = np.empty(w, np.float32)
    acc = np.empty(w, np.float32)
    div = np.float32(nf + 1)
    for ch in range(c):
        plane = x[ch]
        for i in range(h):
            acc[:] = 0
            for f in range(nf):
                ra, rb, wa, wb = plane[rlo[f, i]], plane[rhi[f, i]], rwl[f, i], rwh[f, i]
                for j in range(w):
                    tmp[j] = wa * ra[j] + wb * rb[j]
                ca, cb, va, vb = clo[f], chi[f], cwl[f], cwh[f]
                for j in range(w):
                    acc[j] += va[j] * tmp[ca[j]] + vb[j] * tmp[cb[j]]
            src = plane[i]
            row = out[ch, i]
            for j in range(w):
                v = (src[j] + acc[j]) / div
                row[j] = np.uint8(min(max(v, np.float32(0.0)), np.float32(1.0)) * np.float32(255.0))


def zoom_blur(x: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """The source's zoom blur of square images [N, H, W, C] (float32 in [0, 1]) with the fast
    ``clipped_zoom``: ``(x + sum of the zooms) / (len(factors) + 1)``, clipped, times 255, as uint8
    (one channel plane at a time: the column taps become plain gathers)."""
    n, h, w, c = x.shape
    if h != w:
        raise ValueError("zoom blur follows the source and needs square images")
    taps = [zoom_taps(h, float(f)) for f in factors]
    rows = tuple(np.stack([t[k] for t in taps]) for k in range(4))
    out = np.empty((n, c, h, w), dtype=np.uint8)
    announce_first_compile(_zoom_blur_planes, "corruption kernels")
    for k in range(n):
        _zoom_blur_planes(np.ascontiguousarray(x[k].transpose(2, 0, 1), dtype=np.float32), *rows, *rows, out[k])
    return np.ascontiguousarray(out.transpose(0, 2, 3, 1))


def clipped_zoom(x: np.ndarray, zoom_factor: float) -> np.ndarray:
    """The source's ``clipped_zoom`` on images [N, H, W, C] (float): zoom the centre, trim.

    Order-1 zoom has two taps per output row and column: a separable two-tap pass each way
    (float32), ~50x less arithmetic than the dense matrix products it replaced.
    """
    n, h, w, c = x.shape
    if h != w:
        raise ValueError("clipped_zoom follows the source and needs square images")
    taps = zoom_taps(h, float(zoom_factor))
    return zoom_by_taps(x, taps, taps)


def clipped_zoom_exact(x: np.ndarray, zoom_factor: float) -> np.ndarray:
    """``clipped_zoom`` computed as the source does, with ``scipy.ndimage.zoom`` per image
    (slower; its rounding, to the last bit, is the published generator's)."""
    from scipy.ndimage import zoom

    n, h, w, c = x.shape
    ch = int(np.ceil(h / zoom_factor))
    top = (h - ch) // 2
    out = []
    for img in x:
        big = zoom(img[top:top + ch, top:top + ch], (zoom_factor, zoom_factor, 1), order=1)
        trim = (big.shape[0] - h) // 2
        out.append(big[trim:trim + h, trim:trim + h])
    return np.stack(out)


@kernel()
def _plasma(draws, maps):  # pragma: no cover - compiled
    """The source's diamond-square maps [N, M, M] (float64) from its draws (``plasma_fractal``),
    each value as its numpy expression computes it: squares ``(corner + the one below) + (the same
    one column right)``, diamonds ``(dr + dr one row up) + (ul + ul one column right)`` and ``(dr +
    dr one column left) + (ul + ul one row down)``, every mean ``sum / 4 + draw``; then shifted to
    0 and scaled to a maximum of 1."""
    n, mapsize, _ = maps.shape
    for b in range(n):
        m = maps[b]
        m[0, 0] = 0.0
        step, k = mapsize, 0
        while step >= 2:
            half, cells = step // 2, mapsize // step
            sq, lt, tt = draws[k][b], draws[k + 1][b], draws[k + 2][b]
            for i in range(cells):
                for j in range(cells):
                    i1, j1 = (i + 1) % cells, (j + 1) % cells
                    a = m[i * step, j * step] + m[i1 * step, j * step]
                    c = m[i * step, j1 * step] + m[i1 * step, j1 * step]
                    m[i * step + half, j * step + half] = (a + c) / 4 + sq[i, j]
            for i in range(cells):
                for j in range(cells):
                    ip, j1 = (i - 1) % cells, (j + 1) % cells
                    a = m[i * step + half, j * step + half] + m[ip * step + half, j * step + half]
                    c = m[i * step, j * step] + m[i * step, j1 * step]
                    m[i * step, j * step + half] = (a + c) / 4 + lt[i, j]
            for i in range(cells):
                for j in range(cells):
                    i1, jp = (i + 1) % cells, (j - 1) % cells
                    a = m[i * step + half, j * step + half] + m[i * step + half, jp * step + half]
                    c = m[i * step, j * step] + m[i1 * step, j * step]
                    m[i * step + half, j * step] = (a + c) / 4 + tt[i, j]
            step //= 2
            k += 3
        m -= m.min()
        m /= m.max()


def plasma_fractal(n: int, mapsize: int, wibbledecay: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` diamond-square height maps [n, mapsize, mapsize] in [0, 1], float64: the source's fog,
    whose draws (per step: the squares, then the two diamond sets, ``wibble * uniform(-wibble,
    wibble)`` for all ``n`` images at once) are taken here in its order and summed by ``_plasma``."""
    assert mapsize & (mapsize - 1) == 0, "mapsize must be a power of two"
    draws = numba.typed.List()
    step, wibble = mapsize, 100.0
    while step >= 2:
        cells = mapsize // step
        for _ in range(3):
            draws.append(wibble * rng.uniform(-wibble, wibble, (n, cells, cells)))
        step //= 2
        wibble /= wibbledecay
    maps = np.empty((n, mapsize, mapsize), dtype=np.float64)
    announce_first_compile(_plasma, "corruption kernels")
    _plasma(draws, maps)
    return maps


@kernel()
def image_max(x):  # pragma: no cover - compiled
    """The largest value of one image [H, W, C] (fog's ``x.max()``, before its division by 255)."""
    h, w, c = x.shape
    top = x[0, 0, 0]
    for i in range(h):
        for j in range(w):
            for ch in range(c):
                top = max(top, x[i, j, ch])
    return top


@kernel()
def _fog_mix(x, fractal, strength, out):  # pragma: no cover - compiled
    """out = trunc(clip((x / 255 + strength * fractal) * max / (max + strength), 0, 1) * 255) of one
    image [H, W, C] (uint8), float64 as the source computes it; max over the clean image / 255."""
    h, w, c = x.shape
    max_val = image_max(x) / 255.0
    for i in range(h):
        for j in range(w):
            add = strength * fractal[i, j]
            for ch in range(c):
                v = (x[i, j, ch] / 255.0 + add) * max_val / (max_val + strength)
                out[i, j, ch] = np.uint8(min(max(v, 0.0), 1.0) * 255)


def fog_mix(x: np.ndarray, fractal: np.ndarray, strength: float) -> np.ndarray:
    """The source's fog of uint8 images [N, H, W, C] given their height maps [N, >= H, >= W], uint8."""
    out = np.empty(x.shape, dtype=np.uint8)
    announce_first_compile(_fog_mix, "corruption kernels")
    for i in range(len(x)):
        _fog_mix(np.ascontiguousarray(x[i]), fractal[i], float(strength), out[i])
    return out


@kernel()
def glass_walk(x, deltas, max_delta, iterations):  # pragma: no cover - compiled
    n, h, w, c = x.shape
    k = 0
    for img in range(n):
        k = 0
        for _ in range(iterations):
            for hh in range(h - max_delta, max_delta, -1):
                for ww in range(w - max_delta, max_delta, -1):
                    dx = deltas[img, k, 0]
                    dy = deltas[img, k, 1]
                    k += 1
                    hp = hh + dy
                    wp = ww + dx
                    for ch in range(c):  # the source's "swap": (hh, ww) takes the neighbour's value
                        x[img, hh, ww, ch] = x[img, hp, wp, ch]
    return x


def glass_shuffle(x: np.ndarray, max_delta: int, iterations: int, rng: np.random.Generator,
                  draws: type = np.int64) -> np.ndarray:
    """Glass blur's in-place local swaps, in the source's order (rows and columns descending).

    Offsets are drawn as the source's ``np.random.randint(-d, d)``: in [-d, d - 1], as
    ``draws`` integers (int64, numpy's default, for the reference stream; int8 is faster).
    """
    n, h, w, _ = x.shape
    steps = iterations * max(h - 2 * max_delta, 0) * max(w - 2 * max_delta, 0)
    size = (n, max(steps, 1), 2)
    if draws == np.int64:  # as numpy draws them by default (the reference stream's calls)
        deltas = rng.integers(-max_delta, max_delta, size=size).astype(np.int64)
    else:
        deltas = rng.integers(-max_delta, max_delta, size=size, dtype=draws)
    announce_first_compile(glass_walk, "the glass blur kernel")
    return glass_walk(np.ascontiguousarray(x), deltas, max_delta, iterations)


def spatter_edges(layer: np.ndarray) -> np.ndarray:
    """The published spatter's water-drop shading of one uint8 liquid layer [H, W] (float32):
    Canny edges, their distance transform truncated at 20, blurred, equalised, embossed and
    blurred again - the cv2 chain of ``make_*_c.py`` and ``make_*_p.py`` step for step."""
    dist = 255 - cv2.Canny(layer, 50, 150)
    dist = cv2.distanceTransform(dist, cv2.DIST_L2, 5)
    _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
    dist = cv2.blur(dist, (3, 3)).astype(np.uint8)
    dist = cv2.equalizeHist(dist)
    dist = cv2.filter2D(dist, cv2.CV_8U, np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]))
    return cv2.blur(dist, (3, 3)).astype(np.float32)


@functools.lru_cache(maxsize=8)
def frost_layers(scale: float) -> tuple[np.ndarray, ...]:
    """The frost photographs 1-6 as RGB uint8, resized by ``scale`` as the source does."""
    try:
        folder = resources.files("imagecorruptions") / "frost"
    except ModuleNotFoundError as err:
        raise MissingTool("frost needs the published frost photographs from the package "
                           "'imagecorruptions-imaug' (pip install imagecorruptions-imaug)") from err
    layers = []
    for name in ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg"):
        data = np.frombuffer((folder / name).read_bytes(), np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if img is None:
            raise MissingTool(f"cannot decode frost photograph {name} from the imagecorruptions package")
        if scale != 1.0:
            img = cv2.resize(img, (0, 0), fx=scale, fy=scale)
        layers.append(np.ascontiguousarray(img[..., ::-1]))
    return tuple(layers)


@kernel()
def _hsv_kernel(x, out, value_shift, sat_scale, sat_shift):  # pragma: no cover - compiled
    """skimage's rgb2hsv / hsv2rgb (0.26) per pixel, float64, same operations in the same order."""
    unit = np.arange(256) / 255.0  # img_as_float's values, looked up instead of divided per pixel
    for i in range(x.shape[0]):
        r, g, b = unit[x[i, 0]], unit[x[i, 1]], unit[x[i, 2]]
        v = max(r, max(g, b))
        delta = v - min(r, min(g, b))
        s = 0.0 if delta == 0.0 else delta / v
        h = 0.0
        if delta != 0.0:  # the last of red, green, blue to equal the maximum wins, as in skimage
            if b == v:
                h = 4.0 + (r - g) / delta
            elif g == v:
                h = 2.0 + (b - r) / delta
            else:
                h = (g - b) / delta
            h = h / 6.0  # in [-1/6, 5/6]: numpy's "% 1.0" adds 1 to a negative value and is exact otherwise
            if h < 0.0:
                h += 1.0
        v = min(max(v + value_shift, 0.0), 1.0)
        s = min(max(s * sat_scale + sat_shift, 0.0), 1.0)
        hi = math.floor(h * 6)
        f = h * 6 - hi
        p = v * (1 - s)
        q = v * (1 - f * s)
        t = v * (1 - (1 - f) * s)
        k = int(hi)  # 0..6 (6 where h * 6 rounds up to 6): "% 6"
        if k >= 6:
            k -= 6
        if k == 0:
            rr, gg, bb = v, t, p
        elif k == 1:
            rr, gg, bb = q, v, p
        elif k == 2:
            rr, gg, bb = p, v, t
        elif k == 3:
            rr, gg, bb = p, q, v
        elif k == 4:
            rr, gg, bb = t, p, v
        else:
            rr, gg, bb = v, p, q
        out[i, 0] = min(max(rr, 0.0), 1.0) * 255
        out[i, 1] = min(max(gg, 0.0), 1.0) * 255
        out[i, 2] = min(max(bb, 0.0), 1.0) * 255


@kernel()
def _channel_means(x, out):  # pragma: no cover - compiled
    n, h, w, c = x.shape
    for k in range(n):
        acc = np.zeros(c)
        for i in range(h):
            for j in range(w):
                for ch in range(c):
                    acc[ch] += x[k, i, j, ch] / 255.0
        for ch in range(c):
            out[k, ch] = acc[ch] / (h * w)


def channel_means(x: np.ndarray) -> np.ndarray:
    """``(x / 255.0).mean(axis=(1, 2))`` of uint8 images [N, H, W, C], to the bit: numpy sums a
    reduction whose kept axis is the inner one value after value (no pairwise summation), which
    this does in one pass without the float64 copy (held by tests/test_corruptions.py). With one
    channel numpy's sum is pairwise, so that case is numpy's own."""
    if x.shape[3] == 1:
        return (x / 255.0).mean(axis=(1, 2))
    out = np.empty((x.shape[0], x.shape[3]), dtype=np.float64)
    announce_first_compile(_channel_means, "corruption kernels")
    _channel_means(np.ascontiguousarray(x), out)
    return out


@kernel()
def _lookup(x, luts, out):  # pragma: no cover - compiled
    h, w, c = x.shape
    for i in range(h):
        for j in range(w):
            for ch in range(c):
                out[i, j, ch] = luts[x[i, j, ch], ch]


def lookup(x: np.ndarray, luts: np.ndarray) -> np.ndarray:
    """``luts[x[..., ch], ch]`` for every channel of one uint8 image [H, W, C] (``luts`` [256, C])."""
    out = np.empty(x.shape, dtype=luts.dtype)
    announce_first_compile(_lookup, "corruption kernels")
    _lookup(np.ascontiguousarray(x), np.ascontiguousarray(luts), out)
    return out


def hsv_map(x: np.ndarray, value_shift: float = 0.0, sat_scale: float = 1.0, sat_shift: float = 0.0) -> np.ndarray:
    """uint8 RGB [..., 3] -> HSV, ``V + value_shift`` and ``S * sat_scale + sat_shift`` (each
    clipped to [0, 1]) -> RGB, clipped and scaled to [0, 255] (float64): brightness and saturate."""
    flat = np.ascontiguousarray(x).reshape(-1, 3)
    out = np.empty(flat.shape, dtype=np.float64)
    announce_first_compile(_hsv_kernel, "corruption kernels")
    _hsv_kernel(flat, out, float(value_shift), float(sat_scale), float(sat_shift))
    return out.reshape(x.shape)


@kernel(inline="always")
def _reflect(i, n):  # pragma: no cover - compiled
    """scipy.ndimage's "reflect" (half-sample symmetric) index into [0, n)."""
    if 0 <= i < n:  # most indices: no integer division
        return i
    period = 2 * n
    i = i % period
    return i if i < n else period - 1 - i


@kernel()
def _bilinear_reflect(img, dy, dx, out):  # pragma: no cover - compiled
    h, w, c = img.shape
    for y in range(h):
        for x in range(w):
            sy = y + dy[y, x]
            sx = x + dx[y, x]
            y0 = math.floor(sy)
            x0 = math.floor(sx)
            fy = sy - y0
            fx = sx - x0
            ya, yb = _reflect(y0, h), _reflect(y0 + 1, h)
            xa, xb = _reflect(x0, w), _reflect(x0 + 1, w)
            for ch in range(c):
                top = img[ya, xa, ch] * (1 - fx) + img[ya, xb, ch] * fx
                bottom = img[yb, xa, ch] * (1 - fx) + img[yb, xb, ch] * fx
                out[y, x, ch] = top * (1 - fy) + bottom * fy


def bilinear_reflect(img: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``img`` [H, W, C] sampled at (y + dy, x + dx), linear, mirrored at the borders."""
    out = np.empty(img.shape, dtype=np.float32)
    announce_first_compile(_bilinear_reflect, "corruption kernels")
    _bilinear_reflect(np.ascontiguousarray(img, dtype=np.float32), np.ascontiguousarray(dy, dtype=np.float32),
                      np.ascontiguousarray(dx, dtype=np.float32), out)
    return out


_GUIDE = 256  # guide-table cells per CDF: the search starts at most a step or two short of its answer


@functools.lru_cache(maxsize=32)
def _poisson_cdfs(lam: float) -> tuple[np.ndarray, np.ndarray]:
    """CDFs [256, K] of Poisson(code / 255 * lam) for every 8-bit code (K past the last mass
    > 1e-18), and guide tables [256, _GUIDE]: the smallest k with cdf[k] >= j / _GUIDE."""
    from scipy.special import pdtr  # the Poisson CDF (scipy.stats would import ~0.4 s more per worker)

    top = int(lam + 14 * math.sqrt(lam) + 30)
    k = np.arange(top + 1)
    means = np.arange(256) / 255.0 * lam
    cdfs = np.ascontiguousarray(pdtr(k[None, :], means[:, None]))
    cells = np.arange(_GUIDE) / _GUIDE
    guides = np.stack([np.minimum(np.searchsorted(row, cells), top) for row in cdfs]).astype(np.int64)
    return cdfs, guides


@kernel()
def _invert_cdfs(codes, u, cdfs, guides, out):  # pragma: no cover - compiled
    last = cdfs.shape[1] - 1
    cells = guides.shape[1]
    for i in range(codes.shape[0]):
        c = codes[i]
        k = guides[c, int(u[i] * cells)]  # cdf[k - 1] < u: the answer is k or above
        while k < last and cdfs[c, k] < u[i]:
            k += 1
        out[i] = k


def poisson_codes(x: np.ndarray, lam: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson draws (float64) with means ``x / 255 * lam`` for uint8 ``x``: shot noise's
    ``rng.poisson(x / 255 * lam)``, by inverse-CDF sampling from one uniform per value."""
    flat = np.ascontiguousarray(x).reshape(-1)
    u = rng.random(flat.size)
    out = np.empty(flat.size, dtype=np.float64)
    cdfs, guides = _poisson_cdfs(float(lam))
    announce_first_compile(_invert_cdfs, "corruption kernels")
    _invert_cdfs(flat, u, cdfs, guides, out)
    return out.reshape(x.shape)


@functools.lru_cache(maxsize=32)
def gaussian_matrix(size: int, sigma: float, truncate: float, mode: str = "reflect") -> np.ndarray:
    """[size, size] matrix G with G @ v == gaussian_filter1d(v, sigma, mode=mode, truncate=truncate),
    for scipy's "reflect" (half-sample symmetric, repeated for kernels wider than the image) or
    "nearest" (edge values repeated)."""
    radius = int(truncate * float(sigma) + 0.5)  # scipy's kernel: exp(-x^2 / 2 sigma^2), normalised
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 / (sigma * sigma) * offsets.astype(np.float64) ** 2)
    taps /= taps.sum()
    period = 2 * size
    mat = np.zeros((size, size), dtype=np.float64)
    for i in range(size):
        if mode == "nearest":
            j = np.clip(i + offsets, 0, size - 1)
        else:
            j = (i + offsets) % period
            j = np.where(j < size, j, period - 1 - j)
        np.add.at(mat[i], j, taps)
    return mat


def gaussian_reflect(x: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """``gaussian_filter`` (mode "reflect") over the last two axes of float ``x`` [..., H, W], in
    x's precision (the default mode's elastic transform passes float32 fields)."""
    h, w = x.shape[-2:]
    rows = gaussian_matrix(h, float(sigma), float(truncate)).astype(x.dtype, copy=False)
    cols = rows if w == h else gaussian_matrix(w, float(sigma), float(truncate)).astype(x.dtype, copy=False)
    return np.matmul(np.matmul(rows, x), cols.T)
