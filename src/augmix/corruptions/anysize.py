"""The corruptions at any image size, as the ``imagecorruptions`` package defines them.

bethgelab's ``imagecorruptions`` (maintained fork ``imagecorruptions-imaug`` 1.1.5; Michaelis
et al. 2019, the COCO-C / Pascal-C / Cityscapes-C benchmarks) takes ImageNet-C's 224 px
parameters (``tables.ANY_SIZE``) to images of any height and width >= 32 and adapts seven
corruptions to the size; the other twelve are the published functions of ``functional.py``
unchanged. Where it differs from the published generator (docs/PARITY.md lists each):

* ``motion_blur`` and ``snow`` blur with a numpy line kernel (taps of ``2 * radius + 1``,
  edge pixels repeated, stopped where a tap leaves the image), not ImageMagick;
* ``zoom_blur`` and ``snow`` zoom each axis by its own centre crop and keep the *top-left*
  corner of the zoomed image (the published code keeps its centre);
* ``fog``'s plasma map is float32, at the next power of two of the longer side;
* ``frost`` draws one of six photographs (the published code: five), scaled to cover the
  image and then by 1.1 (bicubic), and crops it at random;
* ``pixelate`` scales back up with nearest-neighbour (the published code: box);
* ``elastic_transform`` is a rewrite: no random affine, displacements of at most 0.5 % of
  the height smoothed with sigma = 1 % of each side, scaled by 12.5 ... 30;
* ``spatter``'s mud colour is float64.

Functions take uint8 batches ``[N, H, W, 3]`` and a random source as ``functional.py``'s
do: a ``numpy.random.Generator`` (the fast default mode, equal in distribution) or a
``functional.ReferenceStream`` over the package's global ``np.random`` state, fed one image
at a time, which draws what the package draws and calls the exact library routines (scipy's
zoom and ``map_coordinates``) so that the bytes are the package's.
"""

from __future__ import annotations

import functools
import math

import cv2
import numba
import numpy as np
from PIL import Image
from scipy import ndimage

from augmix.corruptions import blocks, functional
from augmix.corruptions.functional import _fast, _gaussian, _unit
from augmix.corruptions.tables import ALL, SPECS
from augmix.jit import announce_first_compile, kernel

# ----------------------------------------------------------------------- motion blur

def line_taps(radius: int, sigma: float, angle: float, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The package's motion-blur taps for one angle: weights and (row, column) source offsets,
    cut where a tap would leave an image of ``shape`` (the package stops there, unnormalised)."""
    width = radius * 2 + 1
    i = np.arange(width)
    kernel = np.exp(-(i - 0) ** 2 / (2 * (sigma ** 2))) / (np.sqrt(2 * np.pi) * sigma)
    kernel = kernel / np.sum(kernel)
    point = (width * np.sin(np.deg2rad(angle)), width * np.cos(np.deg2rad(angle)))
    hypot = math.hypot(point[0], point[1])
    offsets = []
    for k in range(width):
        dy = -math.ceil(((k * point[0]) / hypot) - 0.5)
        dx = -math.ceil(((k * point[1]) / hypot) - 0.5)
        if abs(dy) >= shape[0] or abs(dx) >= shape[1]:
            break
        offsets.append((dy, dx))
    return kernel[:len(offsets)], np.array(offsets, dtype=np.int64).reshape(-1, 2)


@kernel()
def _line_blur(x, kernel, offsets, out):  # pragma: no cover - compiled
    """out[y, x] = sum_k kernel[k] * x[clip(y - dy_k), clip(x - dx_k)] in float64, taps in order
    (the package's ``shift``: rolled copies with the edge row or column repeated). Row by row, all
    taps into one output row while it is in cache: each adds a shifted source run (slices indexed
    from 0, so that the loop vectorises), its clipped ends from the edge pixel."""
    h, wc = x.shape
    w, c = out.shape[1], out.shape[2]
    flat = out.reshape(h, wc)
    for y in range(h):
        dst = flat[y]
        dst[:] = 0.0
        for k in range(kernel.shape[0]):
            dy, dx = offsets[k, 0], offsets[k, 1]
            wk = kernel[k]
            lo, hi = min(max(dx, 0), w), max(min(w + dx, w), 0)  # columns whose source is inside the row
            src = x[min(max(y - dy, 0), h - 1)]
            for i in range(lo * c):
                dst[i] = dst[i] + wk * src[i % c]
            if hi > lo:
                run, part = dst[lo * c:hi * c], src[(lo - dx) * c:(hi - dx) * c]
                for j in range(run.shape[0]):
                    run[j] = run[j] + wk * part[j]
            for i in range(hi * c, wc):
                dst[i] = dst[i] + wk * src[wc - c + i % c]


def line_blur(x: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """The package's ``_motion_blur`` of one image ``[H, W]`` or ``[H, W, C]`` (float64 result)."""
    kernel, offsets = line_taps(radius, sigma, angle, x.shape[:2])
    src = np.ascontiguousarray(x if x.ndim == 3 else x[..., None], dtype=np.float64)
    out = np.empty(src.shape, dtype=np.float64)
    announce_first_compile(_line_blur, "corruption kernels")
    _line_blur(src.reshape(src.shape[0], -1), kernel, offsets, out)
    return out if x.ndim == 3 else out[..., 0]


def motion_blur(x, c, rng):
    radius, sigma = c
    out = np.empty(x.shape, dtype=np.float64)
    for i in range(len(x)):
        out[i] = line_blur(x[i], radius, sigma, rng.uniform(-45, 45))
    return np.clip(out, 0, 255)


# ------------------------------------------------------------------------------ zoom

@functools.lru_cache(maxsize=256)
def _axis_taps(size: int, zoom_factor: float, length: int) -> tuple[np.ndarray, ...]:
    """Order-1 ``scipy.ndimage.zoom`` of one axis' centre crop, its first ``length`` outputs as two
    taps each: (first source index, second, their float32 weights)."""
    ch = int(np.ceil(size / float(zoom_factor)))
    top = (size - ch) // 2
    out_len = int(round(ch * zoom_factor))
    scale = (ch - 1) / (out_len - 1) if out_len > 1 else 0.0
    coords = np.arange(length, dtype=np.float64) * scale
    lo = np.minimum(np.floor(coords).astype(np.int64), ch - 1)
    frac = coords - lo
    hi = np.minimum(lo + 1, ch - 1)
    return top + lo, top + hi, (1 - frac).astype(np.float32), np.where(hi == lo, 0.0, frac).astype(np.float32)


def zoomed_shape(shape: tuple[int, int], zoom_factor: float) -> tuple[int, int]:
    """The shape of the package's ``clipped_zoom`` result (each axis' crop, zoomed, not trimmed)."""
    return tuple(int(round(int(np.ceil(s / float(zoom_factor))) * zoom_factor)) for s in shape)


def clipped_zoom(x: np.ndarray, zoom_factor: float, rng, shape: tuple[int, int] | None = None) -> np.ndarray:
    """The package's ``clipped_zoom`` of images ``[N, H, W, C]``, its top-left ``shape`` (default: all
    of it): scipy's zoom itself for the reference stream, two float32 taps per axis otherwise."""
    h, w = x.shape[1:3]
    full = zoomed_shape((h, w), zoom_factor)
    oh, ow = shape or full
    if not _fast(rng):
        ch0, ch1 = int(np.ceil(h / float(zoom_factor))), int(np.ceil(w / float(zoom_factor)))
        top0, top1 = (h - ch0) // 2, (w - ch1) // 2
        return np.stack([ndimage.zoom(img[top0:top0 + ch0, top1:top1 + ch1], (zoom_factor, zoom_factor, 1),
                                      order=1)[:oh, :ow] for img in x])
    return blocks.zoom_by_taps(x, _axis_taps(h, float(zoom_factor), min(oh, full[0])),
                               _axis_taps(w, float(zoom_factor), min(ow, full[1])))


def zoom_blur(x, c, rng):
    start, stop, step = c
    x = _unit(x).astype(np.float32)
    h, w = x.shape[1:3]
    out = np.zeros_like(x)
    factors = np.arange(start, stop, step)
    for zoom_factor in factors:
        out += clipped_zoom(x, zoom_factor, rng, (h, w))
    x = (x + out) / (len(factors) + 1)
    return np.clip(x, 0, 1) * 255


# ---------------------------------------------------------------------------- weather

def snow(x, c, rng):
    loc, scale, zoom, threshold, radius, sigma, keep = c
    n, h, w, _ = x.shape
    x = x.astype(np.float32) / 255.0
    out = np.empty(x.shape, dtype=np.float64)
    for i in range(n):  # the layer is zoomed, thresholded and blurred at its zoomed size, then cut
        layer = rng.normal(size=(h, w), loc=loc, scale=scale)
        layer = clipped_zoom(layer[None, ..., None], zoom, rng)[0]
        layer[layer < threshold] = 0
        layer = np.clip(layer.squeeze(-1), 0, 1)
        layer = line_blur(layer, radius, sigma, rng.uniform(-135, -45))
        layer = (np.round(layer * 255).astype(np.uint8) / 255.0)[:h, :w, None]
        grey = cv2.cvtColor(x[i], cv2.COLOR_RGB2GRAY).reshape(h, w, 1)
        xi = keep * x[i] + (1 - keep) * np.maximum(x[i], grey * 1.5 + 0.5)
        out[i] = np.clip(xi + layer + np.rot90(layer, k=2), 0, 1) * 255
    return out


@functools.lru_cache(maxsize=64)
def frost_cover(index: int, shape: tuple[int, int]) -> np.ndarray:
    """Frost photograph ``index`` (0-5) as the package scales it for an image of ``shape``: by
    the larger factor that makes it cover the image (1 if it does), times 1.1, bicubic (RGB)."""
    layer = blocks.frost_layers(1.0)[index]
    fh, fw = layer.shape[:2]
    factor = max(shape[0] / fh if fh < shape[0] else 1, shape[1] / fw if fw < shape[1] else 1)
    factor *= 1.1
    size = (int(np.ceil(fw * factor)), int(np.ceil(fh * factor)))
    return cv2.resize(layer, dsize=size, interpolation=cv2.INTER_CUBIC)


@kernel()
def _blend_luts(x, layer, a, b, out):  # pragma: no cover - compiled
    """out = uint8(clip(a[x] + b[layer], 0, 255)): c0 * x + c1 * frost in float64, by table."""
    h, w, c = x.shape
    for i in range(h):
        for j in range(w):
            for ch in range(c):
                out[i, j, ch] = np.uint8(min(max(a[x[i, j, ch]] + b[layer[i, j, ch]], 0.0), 255.0))


def frost(x, c, rng):
    n, h, w, _ = x.shape
    out = np.empty(x.shape, dtype=np.uint8)
    codes = np.arange(256, dtype=np.uint8)
    a, b = c[0] * codes, c[1] * codes  # the package's float64 products, one per 8-bit value
    announce_first_compile(_blend_luts, "corruption kernels")
    for i in range(n):
        layer = frost_cover(int(rng.integers(6)), (h, w))  # the package draws randint(6)
        top = rng.integers(0, layer.shape[0] - h)
        left = rng.integers(0, layer.shape[1] - w)
        _blend_luts(x[i], layer[top:top + h, left:left + w], a, b, out[i])
    return out


def _plasma_draws(mapsize: int, wibbledecay: float, rng) -> list[np.ndarray]:
    """The uniform draws of one diamond-square map, in the package's order: per step, squares,
    then the two diamond sets, each ``wibble * uniform(-wibble, wibble)`` (float64)."""
    draws, step, wibble = [], mapsize, 100
    while step >= 2:
        cells = mapsize // step
        for _ in range(3):
            draws.append(wibble * rng.uniform(-wibble, wibble, (cells, cells)))
        step //= 2
        wibble /= wibbledecay
    return draws


@kernel()
def _plasma(mapsize, draws):  # pragma: no cover - compiled
    """The package's float32 diamond-square map (``plasma_fractal``) from its draws: the same
    float32 sums in the same order, each mean stored as float32(sum / 4 + draw)."""
    m = np.empty((mapsize, mapsize), dtype=np.float32)
    m[0, 0] = 0
    step, k = mapsize, 0
    while step >= 2:
        half, cells = step // 2, mapsize // step
        sq, lt, tt = draws[k], draws[k + 1], draws[k + 2]
        for i in range(cells):  # squares: corner + the one below, then + the same one column right
            for j in range(cells):
                i1, j1 = (i + 1) % cells, (j + 1) % cells
                a = m[i * step, j * step] + m[i1 * step, j * step]
                b = m[i * step, j1 * step] + m[i1 * step, j1 * step]
                m[i * step + half, j * step + half] = np.float32(np.float32(a + b) / np.float32(4) + sq[i, j])
        for i in range(cells):  # diamonds: (dr + dr one row up) + (ul + ul one column right)
            for j in range(cells):
                ip, j1 = (i - 1) % cells, (j + 1) % cells
                a = m[i * step + half, j * step + half] + m[ip * step + half, j * step + half]
                b = m[i * step, j * step] + m[i * step, j1 * step]
                m[i * step, j * step + half] = np.float32(np.float32(a + b) / np.float32(4) + lt[i, j])
        for i in range(cells):  # (dr + dr one column left) + (ul + ul one row down)
            for j in range(cells):
                i1, jp = (i + 1) % cells, (j - 1) % cells
                a = m[i * step + half, j * step + half] + m[i * step + half, jp * step + half]
                b = m[i * step, j * step] + m[i1 * step, j * step]
                m[i * step + half, j * step] = np.float32(np.float32(a + b) / np.float32(4) + tt[i, j])
        step //= 2
        k += 3
    m -= m.min()
    return m / m.max()


@kernel()
def _fog_apply(x, fractal, strength, out):  # pragma: no cover - compiled
    """out = clip((x / 255 + strength * fractal) * max / (max + strength), 0, 1) * 255, float64 as
    the package (strength * fractal in float32), max over the clean image / 255."""
    h, w, c = x.shape
    max_val = blocks.image_max(x) / 255.0
    s32 = np.float32(strength)
    for i in range(h):
        for j in range(w):
            add = np.float64(s32 * fractal[i, j])
            for ch in range(c):
                v = (x[i, j, ch] / 255.0 + add) * max_val / (max_val + strength)
                out[i, j, ch] = min(max(v, 0.0), 1.0) * 255


def fog(x, c, rng):
    n, h, w, _ = x.shape
    mapsize = 1 << (max(h, w, 3) - 1).bit_length()  # next power of two of the longest axis
    out = np.empty(x.shape, dtype=np.float64)
    announce_first_compile(_plasma, "corruption kernels")
    for i in range(n):
        fractal = _plasma(mapsize, numba.typed.List(_plasma_draws(mapsize, c[1], rng)))
        _fog_apply(x[i], fractal, float(c[0]), out[i])
    return out


def spatter(x, c, rng):
    if c[5] == 0:  # water: the published function at any size (a dry layer: the package's black image)
        return functional.spatter(x, c, rng, dry_black=True)
    loc, scale, sigma, threshold, intensity, _ = c
    n, h, w, _ = x.shape
    out = np.empty(x.shape, dtype=np.float64)
    mud = np.array([63 / 255.0, 42 / 255.0, 20 / 255.0])  # mud brown, float64 as the package has it
    for i in range(n):
        xi = x[i].astype(np.float32) / 255.0
        liquid = _gaussian(rng.normal(size=(h, w), loc=loc, scale=scale)[None], sigma, channels=False)[0]
        m = _gaussian(np.where(liquid > threshold, 1, 0).astype(np.float32)[None], intensity, channels=False)[0]
        m[m < 0.8] = 0
        colour = np.broadcast_to(mud, (h, w, 3)) * m[..., None]
        xi *= (1 - m[..., np.newaxis])
        out[i] = np.clip(xi + colour, 0, 1) * 255
    return out


# ---------------------------------------------------------------------------- digital

def nearest_indices(size_in: int, size_out: int) -> np.ndarray:
    """Pillow's NEAREST resize indices along one axis (``ImagingScaleAffine``): the source
    coordinate starts at scale / 2 and grows by the scale, one float64 addition per pixel (the
    torch back-end's pixelate)."""
    scale = size_in / size_out
    coords = np.cumsum(np.concatenate([[scale * 0.5], np.full(size_out - 1, scale)]))
    return np.minimum(coords.astype(np.int64), size_in - 1)


def pixelate(x, c, rng):
    n, h, w, _ = x.shape  # Pillow's box down-sampling, then its nearest up-sampling (Pillow's C beats a lookup)
    return functional.pil_batch([Image.fromarray(img).resize((int(w * c), int(h * c)), Image.BOX).resize(
        (w, h), Image.NEAREST) for img in x])


def elastic_transform(x, c, rng):
    alpha = c
    n, h, w, ch = x.shape
    sigma = np.array((h, w)) * 0.01
    max_d = h * 0.005  # both displacements scale with the height, as the package has it
    out = np.empty(x.shape, dtype=np.float32)
    for i in range(n):
        image = np.array(x[i], dtype=np.float32) / 255.0
        fields = [(ndimage.gaussian_filter(rng.uniform(-max_d, max_d, size=(h, w)), sigma, mode="reflect",
                                           truncate=3) * alpha).astype(np.float32) for _ in range(2)]
        dx, dy = fields
        if _fast(rng):
            out[i] = blocks.bilinear_reflect(image, dy, dx)
            continue
        xx, yy, zz = np.meshgrid(np.arange(w), np.arange(h), np.arange(ch))
        indices = (np.reshape(yy + dy[..., None], (-1, 1)), np.reshape(xx + dx[..., None], (-1, 1)),
                   np.reshape(zz, (-1, 1)))
        out[i] = ndimage.map_coordinates(image, indices, order=1, mode="reflect").reshape(image.shape)
    return np.clip(out, 0, 1) * 255


# The package's function for each corruption: its own where it adapts to the size, otherwise
# the published one (the same formula, which needs no size); each spec names which.
CORRUPTIONS: dict[str, functional.Corruption] = {name: SPECS[name].function("imagecorruptions") for name in ALL}
