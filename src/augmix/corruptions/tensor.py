"""The 19 corruptions in torch: batched, on any device (CPU or CUDA).

Each function follows hendrycks/robustness ``ImageNet-C/create_c/make_*_c.py`` as
``functional`` does (same formulas, the same tables from ``tables.py``), on uint8 images
``[N, 3, H, W]`` with a ``torch.Generator`` on the images' device. Draws come from torch's
generator, so outputs equal the published generator in distribution (held to the same PSNR
tests as the default mode), not bit for bit; deterministic steps are the published ones,
several exactly (pixelate is Pillow's fixed-point box filter, motion blur ImageMagick's taps
and rounding, spatter's edge chain OpenCV's Canny -> distance transform -> equalisation ->
emboss on uint8).

Steps that are sequential or data-dependent in the source are written for a device:

* glass blur's pixel walk (each pixel, in descending order, takes its neighbour's current
  value) is resolved exactly by pointer jumping: a pixel reads a neighbour's final value when
  the walk reached that neighbour first, its original value otherwise;
* spatter's Canny hysteresis is a connected-components pass (hooking and pointer jumping),
  its chamfer distance transform an iterated min-plus filter (distances
  are truncated at 20, so 21 rounds suffice), its histogram equalisation a per-image LUT;
* frost crops one of five padded photographs per image by gathering.

The random streams differ between devices (torch's CPU and CUDA generators are different
algorithms): a seed fixes the output on one device type.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from augmix.corruptions import blocks
from augmix.corruptions.tables import ALL, FOG_MAPSIZE, FROST_SCALE, SPECS, check_severity, table_for

Tensor = torch.Tensor
TensorCorruption = Callable[[Tensor, object, torch.Generator], Tensor]


def _rand(shape, gen: torch.Generator, device, low: float = 0.0, high: float = 1.0,
          dtype: torch.dtype = torch.float32) -> Tensor:
    """Uniform draws on [low, high)."""
    u = torch.rand(shape, generator=gen, device=device, dtype=dtype)
    return u * (high - low) + low if (low, high) != (0.0, 1.0) else u


def _unit(x: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    return x.to(dtype) / 255.0


# Deterministic corruptions compute in float64, as the source does: their outputs truncate to 8
# bits, and a value the formula makes a whole number (a flat region, a grey pixel) lands on
# either side of it by the rounding of the dtype used. float32 moved 1-13 % of such values one
# level at 224 px; float64 keeps them where the published generator puts them.
EXACT = torch.float64


def _to_255(x: Tensor) -> Tensor:
    return x.clamp(0, 1) * 255


def _const(array: np.ndarray, like: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    return torch.as_tensor(array, dtype=dtype or like.dtype, device=like.device)


# ---------------------------------------------------------------------- shared filters

_DENSE = 512  # up to this side, a filter is a dense matrix product; above, a separable convolution


def _smooth(x: Tensor, sigma: float, truncate: float, mode: str, sigma_cols: float | None = None) -> Tensor:
    """scipy's ``gaussian_filter`` over the last two axes of [..., H, W] (``sigma_cols``: another
    sigma along the columns). Small images: two matrix products (BLAS speed in float64, and any
    kernel width: elastic's reaches 1,025 taps); large ones: two 1-D convolutions of the image
    with its borders folded in by ``mode`` (a matrix product there costs H * W * (H + W))."""
    h, w = x.shape[-2:]
    sigma_cols = sigma if sigma_cols is None else sigma_cols
    radii = (int(truncate * float(sigma) + 0.5), int(truncate * float(sigma_cols) + 0.5))
    if max(h, w) <= _DENSE or radii[0] >= h or radii[1] >= w:
        rows = _const(blocks.gaussian_matrix(h, float(sigma), truncate, mode), x)
        cols = rows if (w, sigma_cols) == (h, sigma) else _const(
            blocks.gaussian_matrix(w, float(sigma_cols), truncate, mode), x)
        return rows @ x @ cols.t()
    fold = _fold_symmetric if mode == "reflect" else (lambda i, n: i.clamp(0, n - 1))
    y = x.reshape(-1, h, w)
    for dim, (sig, r, n) in enumerate(((sigma, radii[0], h), (sigma_cols, radii[1], w))):
        offsets = np.arange(-r, r + 1, dtype=np.float64)
        taps = np.exp(-0.5 / (sig * sig) * offsets ** 2)
        taps /= taps.sum()
        padded = y.index_select(1 + dim, fold(torch.arange(-r, n + r, device=x.device), n))
        y = torch.zeros_like(y)
        for t, weight in enumerate(taps):  # one shifted add per tap (no im2col copies)
            y.add_(padded[:, t:t + h] if dim == 0 else padded[:, :, t:t + w], alpha=float(weight))
    return y.reshape(x.shape)


def _separable(x: Tensor, taps: Tensor, mode: str) -> Tensor:
    """Correlate the last two axes of [N, C, H, W] with ``taps`` (each way), borders by ``mode``."""
    n, c, h, w = x.shape
    r = (len(taps) - 1) // 2
    y = x.reshape(n * c, 1, h, w)
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode=mode), taps.view(1, 1, -1, 1))
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode=mode), taps.view(1, 1, 1, -1))
    return y.view(n, c, h, w)


def _gaussian(x: Tensor, sigma: float, truncate: float = 4.0) -> Tensor:
    """skimage.filters.gaussian (scipy's ``gaussian_filter``, mode "nearest") per image and channel."""
    return _smooth(x, sigma, truncate, "nearest")


def _box3(x: Tensor) -> Tensor:
    """The sum over each 3 x 3 neighbourhood, borders mirrored without the edge (OpenCV's default)."""
    return _separable(x, torch.ones(3, dtype=x.dtype, device=x.device), "reflect")


def clipped_zoom(x: Tensor, zoom_factor: float) -> Tensor:
    """The source's ``clipped_zoom`` of [N, C, H, W] floats: scipy's order-1 zoom of the centre
    crop, trimmed back to the size (two taps per output row and column)."""
    lo, hi, wlo, whi = (_const(a, x, torch.long if a.dtype.kind == "i" else x.dtype)
                        for a in blocks.zoom_taps(x.shape[-1], float(zoom_factor)))
    y = x.index_select(2, lo) * wlo.view(-1, 1) + x.index_select(2, hi) * whi.view(-1, 1)
    return y.index_select(3, lo) * wlo + y.index_select(3, hi) * whi


def _fold_reflect101(i: Tensor, n: int) -> Tensor:
    """OpenCV's BORDER_REFLECT_101 index into [0, n)."""
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = i.remainder(period)
    return torch.where(i > n - 1, period - i, i)


def _fold_symmetric(i: Tensor, n: int) -> Tensor:
    """scipy.ndimage's "reflect" (half-sample symmetric) index into [0, n)."""
    period = 2 * n
    i = i.remainder(period)
    return torch.where(i >= n, period - 1 - i, i)


def _bilinear(img: Tensor, sy: Tensor, sx: Tensor, fold) -> Tensor:
    """``img`` [N, C, H, W] sampled linearly at rows ``sy`` and columns ``sx`` [N, H, W]; taps
    outside the image are folded back in by ``fold``."""
    n, c, h, w = img.shape
    y0, x0 = torch.floor(sy), torch.floor(sx)
    fy, fx = (sy - y0).unsqueeze(1), (sx - x0).unsqueeze(1)
    y0, x0 = y0.long(), x0.long()
    ya, yb = fold(y0, h), fold(y0 + 1, h)
    xa, xb = fold(x0, w), fold(x0 + 1, w)
    flat = img.reshape(n, c, h * w)

    def tap(yy: Tensor, xx: Tensor) -> Tensor:
        idx = (yy * w + xx).view(n, 1, h * w).expand(n, c, h * w)
        return flat.gather(2, idx).view(n, c, h, w)

    top = tap(ya, xa) * (1 - fx) + tap(ya, xb) * fx
    bottom = tap(yb, xa) * (1 - fx) + tap(yb, xb) * fx
    return top * (1 - fy) + bottom * fy


def motion_blur(x: Tensor, radius: float, sigma: float, angles: Tensor) -> Tensor:
    """ImageMagick's MotionBlurImage of [N, C, H, W] 8-bit values (float), one angle per image
    (degrees): ``blocks.motion_blur``'s taps and weights, edges repeated, the result rounded to
    16 bits and truncated to 8 as the source's PNG round trip does."""
    n, c, h, w = x.shape
    kernel = blocks.motion_kernel(radius, sigma)
    width = len(kernel)
    a = math.pi * angles.double() / 180.0
    i = torch.arange(width, dtype=torch.float64, device=x.device)
    px, py = width * torch.sin(a), width * torch.cos(a)  # ImageMagick's own arithmetic (blocks.motion_offsets)
    hyp = torch.hypot(px, py)
    dx = torch.ceil(i * (py / hyp).unsqueeze(1) - 0.5).long()
    dy = torch.ceil(i * (px / hyp).unsqueeze(1) - 0.5).long()
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    flat = x.reshape(n, c, h * w)
    acc = torch.zeros_like(x)
    for k in range(width):
        yy = (rows + dy[:, k].view(n, 1, 1)).clamp(0, h - 1)
        xx = (cols + dx[:, k].view(n, 1, 1)).clamp(0, w - 1)
        idx = (yy * w + xx).view(n, 1, h * w).expand(n, c, h * w)
        acc += float(kernel[k]) * flat.gather(2, idx).view(n, c, h, w)
    return torch.floor(torch.round(acc * 257) / 257).clamp(0, 255)


# ------------------------------------------------------------------------------ noise

def gaussian_noise(x, c, gen):
    x = _unit(x)
    return _to_255(x + c * torch.randn(x.shape, generator=gen, device=x.device))


def shot_noise(x, c, gen):
    return _to_255(torch.poisson(_unit(x) * c, generator=gen) / c)


def impulse_noise(x, c, gen):
    # skimage.util.random_noise(mode='s&p', amount=c): each value flipped with prob. c, to 1 or 0 evenly
    flipped = _rand(x.shape, gen, x.device) < c
    salted = _rand(x.shape, gen, x.device) < 0.5
    return torch.where(flipped, salted.to(torch.uint8) * 255, x)


def speckle_noise(x, c, gen):
    x = _unit(x)
    return _to_255(x + x * (c * torch.randn(x.shape, generator=gen, device=x.device)))


# ------------------------------------------------------------------------------- blur

def gaussian_blur(x, c, gen):
    return _to_255(_gaussian(_unit(x, EXACT), c))


def glass_walk(x: Tensor, max_delta: int, deltas: Tensor) -> Tensor:
    """One pass of glass blur's walk over [N, C, H, W]: rows, then columns, descending from
    ``H - d`` to ``d + 1``, each pixel taking the current value of a neighbour offset by
    ``deltas[:, k] = (dx, dy)`` at step k, drawn as ``randint(-d, d)`` (the source's "swap"
    copies one way). Resolved exactly without the sequential loop: node ``p`` (the final value of
    pixel p) points at the final value of its neighbour q when the walk passed q first, else at
    q's original value (node ``P + q``); original-value nodes point at themselves; pointer
    jumping follows every chain to its end in log2(steps) gathers."""
    n, c, h, w = x.shape
    d = max_delta
    rows = torch.arange(h - d, d, -1, device=x.device)
    cols = torch.arange(w - d, d, -1, device=x.device)
    if not len(rows) or not len(cols):
        return x
    hh = rows.view(-1, 1).expand(len(rows), len(cols)).reshape(-1)
    ww = cols.view(1, -1).expand(len(rows), len(cols)).reshape(-1)
    hp, wp = hh + deltas[..., 1], ww + deltas[..., 0]  # the source's dx, dy = randint(-d, d, size=(2,))
    walked = (hp > d) & (hp <= h - d) & (wp > d) & (wp <= w - d)
    earlier = walked & ((hp > hh) | ((hp == hh) & (wp > ww)))
    pixels = h * w
    ptr = torch.arange(2 * pixels, device=x.device).repeat(n, 1)
    ptr[:, :pixels] += pixels  # an untouched pixel keeps its original value
    ptr[:, hh * w + ww] = torch.where(earlier, hp * w + wp, hp * w + wp + pixels)
    for _ in range(max(1, math.ceil(math.log2(len(hh) + 1)))):
        ptr = ptr.gather(1, ptr)
    src = (ptr[:, :pixels] - pixels).view(n, 1, pixels).expand(n, c, pixels)
    return x.reshape(n, c, pixels).gather(2, src).view(n, c, h, w)


def glass_blur(x, c, gen):
    sigma, max_delta, iterations = c
    # the source's np.uint8(gaussian(x / 255.) * 255), in float64 as there (truncation of near-integers)
    x = torch.floor(_gaussian(x.double() / 255.0, sigma) * 255)
    n, _, h, w = x.shape
    steps = max(h - 2 * max_delta, 0) * max(w - 2 * max_delta, 0)
    for _ in range(iterations):
        x = glass_walk(x, max_delta, torch.randint(-max_delta, max_delta, (n, steps, 2), generator=gen,
                                                   device=x.device))
    return _to_255(_gaussian(x.float() / 255.0, sigma))


def _filter2d(x: Tensor, kernel: Tensor) -> Tensor:
    """cv2.filter2D (correlation, BORDER_REFLECT_101) of [N, C, H, W] with a square ``kernel`` [K, K],
    as one banded matrix product per kernel row: BLAS speed in float64 (torch's direct float64
    convolution made the 32 px distribution test's defocus blur 9x slower on our CPU)."""
    n, c, h, w = x.shape
    k = kernel.shape[0]
    r = k // 2
    padded = F.pad(x.reshape(n * c, 1, h, w), (r, r, r, r), mode="reflect")
    padded = padded.squeeze(1)
    if w > _DENSE:  # the banded matrices grow as W^2 (and im2col as K^2 copies): one shifted add per tap
        out = torch.zeros((n * c, h, w), dtype=x.dtype, device=x.device)
        for i in range(k):
            for j in range(k):
                out.add_(padded[:, i:i + h, j:j + w], alpha=float(kernel[i, j]))
        return out.view(n, c, h, w)
    cols = torch.arange(w + 2 * r, device=x.device).view(-1, 1) - torch.arange(w, device=x.device).view(1, -1)
    inside = (cols >= 0) & (cols < k)
    bands = torch.where(inside, kernel[:, cols.clamp(0, k - 1)], 0.0)  # [K, W + 2r, W]: row i's taps
    out = torch.zeros((n * c, h, w), dtype=x.dtype, device=x.device)
    for i in range(k):
        out += padded[:, i:i + h] @ bands[i]
    return out.view(n, c, h, w)


def defocus_blur(x, c, gen):
    radius, alias_blur = c
    kernel = _const(blocks.disk(radius=radius, alias_blur=alias_blur), x, EXACT)
    return _to_255(_filter2d(_unit(x, EXACT), kernel))


def _motion_blur(x, c, gen):
    radius, sigma = c
    return motion_blur(x.float(), radius, sigma, _rand(len(x), gen, x.device, -45, 45, torch.float64))


def zoom_blur(x, c, gen):
    start, stop, step = c
    x = _unit(x)
    factors = np.arange(start, stop, step)
    out = torch.zeros_like(x)
    for factor in factors:
        out += clipped_zoom(x, factor)
    return _to_255((x + out) / (len(factors) + 1))


# ---------------------------------------------------------------------------- weather

def snow(x, c, gen):
    loc, scale, zoom, threshold, radius, sigma, keep = c
    n, _, h, w = x.shape
    x = _unit(x)
    layer = torch.randn((n, 1, h, w), generator=gen, device=x.device) * scale + loc
    layer = clipped_zoom(layer, zoom)
    layer = torch.where(layer < threshold, 0, layer)
    layer = torch.floor(layer.clamp(0, 1) * 255)
    layer = motion_blur(layer, radius, sigma, _rand(n, gen, x.device, -135, -45, torch.float64)) / 255.0
    grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)  # cv2 RGB2GRAY
    x = keep * x + (1 - keep) * torch.maximum(x, grey * 1.5 + 0.5)
    return _to_255(x + layer + layer.flip(2, 3))


@functools.lru_cache(maxsize=8)
def frost_stack(scale: float, device: str) -> tuple[Tensor, Tensor]:
    """The five frost photographs the source draws from, padded into one [5, H, W, 3] tensor,
    and their sizes [5, 2]."""
    layers = blocks.frost_layers(scale)[:5]  # the source draws randint(5): frost6 is never used
    hmax = max(a.shape[0] for a in layers)
    wmax = max(a.shape[1] for a in layers)
    stack = np.zeros((5, hmax, wmax, 3), dtype=np.uint8)
    for k, a in enumerate(layers):
        stack[k, :a.shape[0], :a.shape[1]] = a
    sizes = np.array([a.shape[:2] for a in layers], dtype=np.int64)
    return torch.from_numpy(stack).to(device), torch.from_numpy(sizes).to(device)


def frost_picks(n: int, sizes: Tensor, h: int, w: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """The source's draws for ``n`` images: a photograph ``randint(5)`` and the crop's top-left
    corner ``randint(0, side - size)`` each way (uniform over the photograph's room)."""
    pick = torch.randint(0, 5, (n,), generator=gen, device=sizes.device)
    room = sizes[pick] - torch.tensor([h, w], device=sizes.device)
    corner = torch.minimum((_rand((n, 2), gen, sizes.device, dtype=torch.float64) * room).long(), room - 1)
    return pick, corner


def frost(x, c, gen):
    n, _, h, w = x.shape
    stack, sizes = frost_stack(FROST_SCALE.get(h, 1.0), str(x.device))
    pick, corner = frost_picks(n, sizes, h, w, gen)
    yy = corner[:, 0].view(n, 1, 1) + torch.arange(h, device=x.device).view(1, h, 1)
    xx = corner[:, 1].view(n, 1, 1) + torch.arange(w, device=x.device).view(1, 1, w)
    crop = stack[pick.view(n, 1, 1), yy, xx].permute(0, 3, 1, 2).float()
    return (c[0] * x.float() + c[1] * crop).clamp(0, 255)


def plasma_fractal(n: int, mapsize: int, wibbledecay: float, gen: torch.Generator, device) -> Tensor:
    """``n`` diamond-square height maps [n, mapsize, mapsize] in [0, 1] (``blocks.plasma_fractal``)."""
    m = torch.zeros((n, mapsize, mapsize), device=device)
    step, wibble = mapsize, 100.0

    def wibbled(a: Tensor) -> Tensor:
        return a / 4 + wibble * _rand(a.shape, gen, device, -wibble, wibble)

    while step >= 2:
        half = step // 2
        corner = m[:, 0::step, 0::step]
        square = corner + corner.roll(-1, 1)
        square = square + square.roll(-1, 2)
        m[:, half::step, half::step] = wibbled(square)
        dr, ul = m[:, half::step, half::step], m[:, 0::step, 0::step]
        m[:, 0::step, half::step] = wibbled(dr + dr.roll(1, 1) + ul + ul.roll(-1, 2))
        m[:, half::step, 0::step] = wibbled(dr + dr.roll(1, 2) + ul + ul.roll(-1, 1))
        step //= 2
        wibble /= wibbledecay
    m = m - m.amin(dim=(1, 2), keepdim=True)
    return m / m.amax(dim=(1, 2), keepdim=True)


def fog(x, c, gen):
    n, _, h, w = x.shape
    x = _unit(x)
    top = x.amax(dim=(1, 2, 3), keepdim=True)
    mapsize = FOG_MAPSIZE.get(h, 1 << (max(h, w) - 1).bit_length())
    x = x + c[0] * plasma_fractal(n, mapsize, c[1], gen, x.device)[:, None, :h, :w]
    return _to_255(x * top / (top + c[0]))


def hsv_map_tensor(x: Tensor, value_shift: float = 0.0, sat_scale: float = 1.0, sat_shift: float = 0.0) -> Tensor:
    """scikit-image's rgb2hsv -> V + shift, S * scale + shift (clipped) -> hsv2rgb (``blocks.hsv_map``)."""
    x = _unit(x, EXACT)
    r, g, b = x.unbind(1)
    v = x.amax(1)
    delta = v - x.amin(1)
    flat = delta == 0
    safe = torch.where(flat, 1.0, delta)
    s = torch.where(flat, 0.0, delta / torch.where(v == 0, 1.0, v))
    # the last of red, green, blue to equal the maximum wins, as in skimage
    h = torch.where(b == v, 4.0 + (r - g) / safe, torch.where(g == v, 2.0 + (b - r) / safe, (g - b) / safe))
    h = torch.where(flat, 0.0, (h / 6.0).remainder(1.0))
    v = (v + value_shift).clamp(0, 1)
    s = (s * sat_scale + sat_shift).clamp(0, 1)
    hi = torch.floor(h * 6)
    f = h * 6 - hi
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    k = hi.long().remainder(6).unsqueeze(1)
    choices = torch.stack([torch.stack(rgb, 1) for rgb in
                           ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))], 1)
    out = choices.gather(1, k.unsqueeze(1).expand(-1, 1, 3, -1, -1)).squeeze(1)
    return _to_255(out)


def brightness(x, c, gen):
    return hsv_map_tensor(x, value_shift=c)


def spatter_edges(layer: Tensor) -> Tensor:
    """``blocks.spatter_edges`` of uint8 liquid layers [N, H, W]: Canny (50, 150), the chamfer
    distance to the nearest edge truncated at 20, 3 x 3 mean, uint8, histogram equalisation,
    emboss, 3 x 3 mean (float32)."""
    edges = canny(layer, 50, 150)
    dist = _chamfer_truncated(~edges, 20.0)
    dist = torch.floor((_box3(dist.double().unsqueeze(1)) * (1 / 9.0)).float())  # cv2.blur, then astype(uint8)
    dist = _equalize(dist.squeeze(1).long())
    emboss = torch.tensor([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=torch.float64, device=layer.device)
    dist = F.conv2d(F.pad(dist.double().unsqueeze(1), (1, 1, 1, 1), mode="reflect"), emboss.view(1, 1, 3, 3))
    dist = dist.clamp(0, 255)  # filter2D to CV_8U saturates
    return torch.round(_box3(dist) / 9.0).squeeze(1).float()


def canny(img: Tensor, low: int, high: int) -> Tensor:
    """OpenCV's Canny of uint8 [N, H, W] (aperture 3, L1 magnitude): Sobel with replicated borders,
    non-maximum suppression with OpenCV's integer sector test, hysteresis by 8-connected
    components that hold a strong pixel."""
    n, h, w = img.shape
    x = F.pad(img.double().unsqueeze(1), (1, 1, 1, 1), mode="replicate")
    sobel = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64, device=img.device)
    dx = F.conv2d(x, sobel.view(1, 1, 3, 3)).squeeze(1).long()
    dy = F.conv2d(x, sobel.t().contiguous().view(1, 1, 3, 3)).squeeze(1).long()
    mag = dx.abs() + dy.abs()
    m = F.pad(mag, (1, 1, 1, 1))  # zero magnitude outside the image

    def at(oy, ox):
        return m[:, 1 + oy:1 + oy + h, 1 + ox:1 + ox + w]

    shift = 15
    tg22 = int(0.4142135623730950488016887242097 * (1 << shift) + 0.5)
    ax, ay = dx.abs(), dy.abs() << shift
    tg22x = ax * tg22
    tg67x = tg22x + (ax << (shift + 1))
    s = torch.where((dx ^ dy) < 0, -1, 1)
    horizontal = (mag > at(0, -1)) & (mag >= at(0, 1))
    vertical = (mag > at(-1, 0)) & (mag >= at(1, 0))
    # diagonal: previous row at column j - s, next row at j + s
    up_left, up_right = at(-1, -1), at(-1, 1)
    down_left, down_right = at(1, -1), at(1, 1)
    diagonal = torch.where(s > 0, (mag > up_left) & (mag > down_right), (mag > up_right) & (mag > down_left))
    kept = torch.where(ay < tg22x, horizontal, torch.where(ay > tg67x, vertical, diagonal))
    candidate = (mag > low) & kept
    strong = candidate & (mag > high)
    return _components_with(candidate, strong)


def _components_with(mask: Tensor, seeds: Tensor) -> Tensor:
    """Pixels of ``mask`` [N, H, W] whose 8-connected component in ``mask`` holds a ``seeds`` pixel.

    Components by hooking and pointer jumping (Shiloach-Vishkin style): every round each tree's
    root adopts the smallest label next to any of its pixels, then every pixel jumps to its
    root; a few rounds even for long contours."""
    n, h, w = mask.shape
    pixels = h * w
    far = float(pixels)  # pixel indices are exact in float32 (< 2^24 per image); ``far``: not in the mask
    flat_mask = torch.cat([mask.reshape(n, pixels), torch.zeros((n, 1), dtype=torch.bool, device=mask.device)], 1)
    index = torch.arange(pixels + 1, device=mask.device, dtype=torch.float32).expand(n, pixels + 1)
    parent = torch.where(flat_mask, index, far)
    while True:
        label = parent[:, :pixels].view(n, 1, h, w)
        low = -F.max_pool2d(-label, 3, stride=1, padding=1).view(n, pixels)
        low = torch.cat([torch.where(flat_mask[:, :pixels], low, far), torch.full((n, 1), far, device=mask.device)], 1)
        hooked = parent.clone().scatter_reduce_(1, parent.long(), low, reduce="amin")
        for _ in range(4):
            hooked = hooked.gather(1, hooked.long())
        if torch.equal(hooked, parent):
            break
        parent = hooked
    while True:  # the last jumps: every pixel at its root
        root = parent.gather(1, parent.long())
        if torch.equal(root, parent):
            break
        parent = root
    lab = parent.long()
    held = torch.zeros((n, pixels + 1), dtype=torch.float32, device=mask.device)
    held.scatter_reduce_(1, lab[:, :pixels], seeds.reshape(n, pixels).float(), reduce="amax")
    return mask & (held.gather(1, lab[:, :pixels]).view(n, h, w) > 0)


# OpenCV's 5 x 5 chamfer weights for DIST_L2: 1 (axial), 1.4 (diagonal), 2.1969 (knight's move)
_CHAMFER = {1: 1.0, 2: 1.4, 5: 2.1969}


def _chamfer_truncated(far: Tensor, limit: float) -> Tensor:
    """cv2.distanceTransform(DIST_L2, 5) of [N, H, W] (distance from each ``far`` pixel to the
    nearest other pixel, outside the image counting as far), truncated at ``limit``: min-plus
    relaxation with the 5 x 5 chamfer weights in float32, ``limit + 1`` rounds (every step
    costs >= 1, so every distance <= ``limit`` has settled)."""
    n, h, w = far.shape
    cap = float(limit + 1)
    dist = torch.where(far, cap, 0.0)
    offsets = [(oy, ox, _CHAMFER[oy * oy + ox * ox]) for oy in range(-2, 3) for ox in range(-2, 3)
               if oy * oy + ox * ox in _CHAMFER]
    for _ in range(int(limit) + 1):
        padded = F.pad(dist, (2, 2, 2, 2), value=cap)
        best = dist
        for oy, ox, cost in offsets:
            best = torch.minimum(best, padded[:, 2 + oy:2 + oy + h, 2 + ox:2 + ox + w] + cost)
        dist = best
    return dist.clamp(max=limit)


def _equalize(x: Tensor) -> Tensor:
    """cv2.equalizeHist of integer values [N, H, W] in 0..255, per image."""
    n = len(x)
    flat = x.reshape(n, -1)
    total = flat.shape[1]
    hist = torch.zeros((n, 256), dtype=torch.long, device=x.device).scatter_add_(1, flat, torch.ones_like(flat))
    first = (hist > 0).float().argmax(1, keepdim=True)
    base = hist.gather(1, first)
    scale = 255.0 / (total - base).clamp(min=1).float()
    lut = torch.round((hist.cumsum(1) - base).float() * scale).clamp(0, 255)
    lut = torch.where(base == total, first.float(), lut)  # one grey level: the image keeps it
    return lut.gather(1, flat).view(x.shape)


def spatter(x, c, gen, dry_black: bool = False):
    """``dry_black``: as ``functional.spatter``'s (the imagecorruptions package's black image)."""
    loc, scale, sigma, threshold, intensity, mud = c
    n, _, h, w = x.shape
    x = _unit(x)
    liquid = _gaussian(torch.randn((n, 1, h, w), generator=gen, device=x.device) * scale + loc, sigma)
    liquid = torch.where(liquid < threshold, 0, liquid)
    if mud == 0:
        layer = torch.floor(liquid * 255).clamp(0, 255)  # (liquid * 255).astype(np.uint8)
        m = layer * spatter_edges(layer.squeeze(1).to(torch.uint8)).unsqueeze(1)
        peak = m.amax(dim=(1, 2, 3), keepdim=True)
        # the source divides by the maximum; an image without liquid gets no spatter
        m = torch.where(peak > 0, m / torch.where(peak > 0, peak, 1.0) * intensity, 0.0)
        water = torch.tensor([175 / 255.0, 238 / 255.0, 238 / 255.0], device=x.device).view(1, 3, 1, 1)
        out = _to_255(x + m * water)
        return torch.where(peak > 0, out, 0.0) if dry_black else out
    m = _gaussian((liquid > threshold).float(), intensity)
    m = torch.where(m < 0.8, 0, m)
    mud_colour = torch.tensor([63 / 255.0, 42 / 255.0, 20 / 255.0], device=x.device).view(1, 3, 1, 1)
    return _to_255(x * (1 - m) + mud_colour * m)


# ---------------------------------------------------------------------------- digital

def contrast(x, c, gen):
    x = _unit(x, EXACT)
    means = x.mean(dim=(2, 3), keepdim=True)
    return _to_255((x - means) * c + means)


def saturate(x, c, gen):
    return hsv_map_tensor(x, sat_scale=c[0], sat_shift=c[1])


def elastic_transform(x, c, gen):
    alpha, sigma, affine = c
    n, _, h, w = x.shape
    image = _unit(x)
    centre = torch.tensor([h // 2, w // 2], dtype=torch.float64, device=x.device)
    square = min(h, w) // 3
    pts1 = torch.stack([centre + square, centre + torch.tensor([square, -square], device=x.device), centre - square])
    pts2 = pts1 + _rand((n, 3, 2), gen, x.device, -affine, affine).double()
    # cv2.warpAffine(image, getAffineTransform(pts1, pts2)) samples the source at the map pts2 -> pts1
    rows = torch.cat([pts2, torch.ones((n, 3, 1), dtype=torch.float64, device=x.device)], 2)
    inverse = torch.linalg.inv_ex(rows).inverse @ pts1  # [n, 3, 2]: (x, y, 1) @ it = source (x, y)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device, dtype=torch.float64),
                            torch.arange(w, device=x.device, dtype=torch.float64), indexing="ij")
    sx = gx * inverse[:, 0, 0].view(n, 1, 1) + gy * inverse[:, 1, 0].view(n, 1, 1) + inverse[:, 2, 0].view(n, 1, 1)
    sy = gx * inverse[:, 0, 1].view(n, 1, 1) + gy * inverse[:, 1, 1].view(n, 1, 1) + inverse[:, 2, 1].view(n, 1, 1)
    warped = _bilinear(image, sy.float(), sx.float(), _fold_reflect101)
    noise = _rand((2, n, h, w), gen, x.device, -1.0, 1.0)
    if sigma > 0:  # scipy's gaussian_filter(mode="reflect", truncate=3) as two matrix products
        noise = _smooth(noise, sigma, 3.0, "reflect")
    dx, dy = noise[0] * alpha, noise[1] * alpha
    out = _bilinear(warped, gy.float() + dy, gx.float() + dx, _fold_symmetric)
    return _to_255(out)


@functools.lru_cache(maxsize=64)
def _pillow_box(in_size: int, out_size: int) -> np.ndarray:
    """Pillow's BOX resampling weights [out, in] in its 8-bit fixed point (``precompute_coeffs``
    and ``normalize_coeffs_8bpc`` of libImaging/Resample.c: 22 fraction bits)."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    weights = np.zeros((out_size, in_size), dtype=np.float64)
    for xx in range(out_size):
        centre = (xx + 0.5) * scale
        lo = max(int(centre - support + 0.5), 0)
        hi = min(int(centre + support + 0.5), in_size)
        taps = np.array([1.0 if -0.5 < (j - centre + 0.5) / filterscale <= 0.5 else 0.0 for j in range(lo, hi)])
        if taps.sum() != 0:
            taps /= taps.sum()
        weights[xx, lo:hi] = np.trunc(taps * (1 << 22) + 0.5)
    return weights


def _pillow_resize_axis(x: Tensor, size: int, dim: int) -> Tensor:
    """One pass of Pillow's 8-bit BOX resize along ``dim`` (2: rows, 3: columns) of float64 values:
    fixed-point sums, rounded and clipped to 8 bits as ``clip8`` does."""
    weights = _const(_pillow_box(x.shape[dim], size), x)
    y = torch.matmul(weights, x) if dim == 2 else torch.matmul(x, weights.t())
    return torch.floor((y + (1 << 21)) / (1 << 22)).clamp(0, 255)


def pixelate(x, c, gen):
    n, _, h, w = x.shape
    y = x.double()
    y = _pillow_resize_axis(_pillow_resize_axis(y, int(w * c), 3), int(h * c), 2)  # Pillow: columns first
    return _pillow_resize_axis(_pillow_resize_axis(y, w, 3), h, 2).to(torch.uint8)


def jpeg_compression(x, c, gen):
    import warnings

    with warnings.catch_warnings():  # torchvision 0.29 points to TorchCodec, which has no JPEG encoder on CUDA
        warnings.simplefilter("ignore", DeprecationWarning)
        from torchvision.io import decode_jpeg, encode_jpeg

        encoded = encode_jpeg(list(x), quality=int(c))  # libjpeg-turbo on the CPU (as Pillow), nvJPEG on CUDA
        # decode_jpeg takes its bytes on the CPU whatever the device (nvJPEG decodes onto the GPU)
        return torch.stack(decode_jpeg([e.cpu() for e in encoded], device=x.device))


CORRUPTIONS: dict[str, TensorCorruption] = {name: SPECS[name].function(backend="torch") for name in ALL}


def generator_for(seed: int | torch.Generator | None, device: torch.device | str) -> torch.Generator:
    """A torch generator on ``device``: ``seed`` itself, a new one seeded with it, or for None one
    seeded from the operating system (fresh draws on every call, as numpy's ``default_rng(None)``)."""
    if isinstance(seed, torch.Generator):
        if seed.device.type != torch.device(device).type:
            raise ValueError(f"the generator is on {seed.device} but the images are on {device}; "
                             "make the generator on the images' device")
        return seed
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
        return gen
    return gen.manual_seed(int(seed))


def corrupt_tensor(images: Tensor, name: str, severity: int, seed: int | torch.Generator | None = 0,
                   size: int | None = None, definition: str | None = None) -> Tensor:
    """Corrupt uint8 images ``[N, C, H, W]`` (or one ``[C, H, W]``; C = 3, 1 for grey, 4 for
    RGBA), on their device, at ``severity`` 1-5. ``definition`` is ``corrupt``'s: the published
    table for square 32, 64 and 224 px images (or ``size``'s), the imagecorruptions package's
    adaptation at any other size >= 32 px; grey and alpha are handled as ``corrupt`` handles them.

    Returns uint8 on the same device, truncated as the source's ``np.uint8(...)`` does. Equal
    in distribution to ``corrupt`` (numpy) and to the published generator; a seed fixes the
    output on one device type (see the module's docstring); ``seed=None`` draws afresh each call
    (in a transform pipeline, so that every image gets its own corruption).
    """
    from augmix.corruptions.apply import definition_for

    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r} for the torch back-end; choose from {', '.join(ALL)}")
    severity = check_severity(severity)
    if not isinstance(images, Tensor):
        raise ValueError(f"expected a uint8 torch tensor [N, 3, H, W], got {type(images).__name__}; "
                         "use augmix.corruptions.corrupt for numpy arrays [N, H, W, 3]")
    single = images.ndim == 3
    x = images[None] if single else images
    if x.ndim != 4 or x.shape[1] not in (1, 3, 4) or x.dtype != torch.uint8:
        raise ValueError(f"expected uint8 images [N, C, H, W] with C = 1, 3 or 4, got {x.dtype} {tuple(x.shape)}")
    channels = x.shape[1]
    rgb = x.expand(-1, 3, -1, -1) if channels == 1 else x[:, :3]
    chosen = definition_for(x.shape[2], x.shape[3], definition, size)
    spec = SPECS[name]
    params = (table_for(size or x.shape[2])[name] if chosen == "published" else spec.any_size)[severity - 1]
    gen = generator_for(seed, x.device)
    out = spec.function(chosen, "torch")(rgb.contiguous(), params, gen)
    out = out if out.dtype == torch.uint8 else out.clamp(0, 255).to(torch.uint8)  # truncation, as np.uint8
    if channels == 1:  # as ``corrupt``: the first channel for the noises, else Pillow's luma
        out = out[:, :1] if spec.category == "noise" else _luma(out)
    elif channels == 4:
        out = torch.cat([out, x[:, 3:]], 1)
    return out[0] if single else out


def _luma(rgb: Tensor) -> Tensor:
    """``apply.grey`` of uint8 [N, 3, H, W]: Pillow's integer ITU-R 601-2 luma, [N, 1, H, W]."""
    r, g, b = rgb.long().unbind(1)
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).to(torch.uint8).unsqueeze(1)


__all__ = ["CORRUPTIONS", "corrupt_tensor", "frost_picks", "generator_for", "glass_walk", "plasma_fractal",
           "spatter_edges"]
