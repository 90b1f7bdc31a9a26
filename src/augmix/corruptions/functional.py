"""The 19 corruptions of Hendrycks & Dietterich (ICLR 2019), batched over images.

Every function follows hendrycks/robustness ``ImageNet-C/create_c/make_*_c.py`` step for
step (same formulas, constants from ``tables.py``), applied to a batch of uint8 images
``[N, H, W, 3]`` with a ``numpy.random.Generator``, and returns values in [0, 255] (float, or
uint8 where the 8-bit result is at hand: pixelate and JPEG are Pillow's, contrast, frost and the
blurs are truncated in one pass); ``apply.corrupt`` truncates the others to uint8 as the
source's ``np.uint8(...)`` does.
Random draws come from the generator in a different order than the source's global
``np.random`` stream, so outputs match the source in distribution, not bit for bit.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from augmix.corruptions import blocks, warp
from augmix.corruptions.tables import ALL, FOG_MAPSIZE, FROST_SCALE, SPECS

Corruption = Callable[[np.ndarray, object, np.random.Generator], np.ndarray]


def _unit(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) / 255.0


def _fast(rng) -> bool:
    """Whether the default mode's own numerics apply (the reference stream keeps the published
    calls): the fast zoom, Poisson draws and Gaussian smoothing of ``blocks``, small integer
    draws, and the additive noises and elastic transform's displacement fields in float32
    (continuous noise: equal in distribution, at half the memory traffic). Deterministic
    corruptions keep float64 in both modes: float32 would move exact grey levels of flat regions
    one level down."""
    return not isinstance(rng, ReferenceStream)


def _unit32(x: np.ndarray) -> np.ndarray:
    out = x.astype(np.float32)
    out *= np.float32(1 / 255)
    return out


def _to_255(x: np.ndarray) -> np.ndarray:
    """clip(x, 0, 1) * 255, in place."""
    np.clip(x, 0, 1, out=x)
    x *= 255
    return x


def _gaussian(x: np.ndarray, sigma: float, mode: str = "nearest", truncate: float = 4.0,
              channels: bool = True) -> np.ndarray:
    """skimage.filters.gaussian over the spatial axes of [N, H, W(, C)] (per image, per channel):
    scipy's ``gaussian_filter``, for float images in mode "nearest" by ``blocks.gaussian_nearest``
    (the same bits)."""
    if mode == "nearest" and x.dtype in (np.float32, np.float64) and x.ndim == (4 if channels else 3):
        return blocks.gaussian_nearest(x, sigma, truncate)
    sig = (0, sigma, sigma, 0) if channels else (0, sigma, sigma)
    return ndimage.gaussian_filter(x, sigma=sig, mode=mode, truncate=truncate)


# ------------------------------------------------------------------------------ noise

def gaussian_noise(x, c, rng):
    if _fast(rng):
        noise = rng.standard_normal(size=x.shape, dtype=np.float32)
        noise *= np.float32(c)
        noise += _unit32(x)
        return _to_255(noise)
    x = _unit(x)
    return np.clip(x + rng.normal(size=x.shape, scale=c), 0, 1) * 255


def shot_noise(x, c, rng):
    if not _fast(rng):  # numpy's own sampler: the published stream
        return np.clip(rng.poisson(_unit(x) * c) / c, 0, 1) * 255
    return np.clip(blocks.poisson_codes(x, c, rng) / c, 0, 1) * 255


def impulse_noise(x, c, rng):
    # skimage.util.random_noise(mode='s&p', amount=c): each value flipped with prob. c,
    # to 1 (salt) or 0 (pepper) with equal odds.
    if _fast(rng):  # on the 8-bit values directly (0 and 1 are 0 and 255)
        flipped = rng.random(x.shape, dtype=np.float32) < c
        salted = rng.random(x.shape, dtype=np.float32) < 0.5
        out = x.copy()
        out[flipped & salted] = 255
        out[flipped & ~salted] = 0
        return out
    x = _unit(x)
    flipped = rng.random(x.shape) < c
    salted = rng.random(x.shape) < 0.5
    x[flipped & salted] = 1.0
    x[flipped & ~salted] = 0.0
    return np.clip(x, 0, 1) * 255


def speckle_noise(x, c, rng):
    if _fast(rng):
        x = _unit32(x)
        noise = rng.standard_normal(size=x.shape, dtype=np.float32)
        noise *= np.float32(c)
        noise *= x
        noise += x
        return _to_255(noise)
    x = _unit(x)
    return np.clip(x + x * rng.normal(size=x.shape, scale=c), 0, 1) * 255


# ------------------------------------------------------------------------------- blur

def gaussian_blur(x, c, rng):
    # one image at a time: the same filter, and a float64 copy of one image, not of the batch
    return _stack([blocks.unit_to_u8(_gaussian(_unit(img[None]), c))[0] for img in x])


def glass_blur(x, c, rng):
    sigma, max_delta, iterations = c
    x = np.uint8(_gaussian(_unit(x), sigma) * 255)
    x = blocks.glass_shuffle(x, max_delta, iterations, rng, draws=np.int8 if _fast(rng) else np.int64)
    return np.clip(_gaussian(x / 255.0, sigma), 0, 1) * 255


def defocus_blur(x, c, rng):
    radius, alias_blur = c
    kernel = blocks.disk(radius=radius, alias_blur=alias_blur)
    # the source's cv2.filter2D (BORDER_REFLECT_101), all channels at once, one image at a time
    return _stack([blocks.unit_to_u8(cv2.filter2D(_unit(img), -1, kernel)) for img in x])


def motion_blur(x, c, rng):
    radius, sigma = c
    angles = rng.uniform(-45, 45, size=len(x))
    return blocks.motion_blur(x, radius, sigma, angles)


def _clipped_zoom(rng) -> Callable[[np.ndarray, float], np.ndarray]:
    """The fast zoom (two taps per row and column), or scipy's own in reference-stream mode."""
    return blocks.clipped_zoom if _fast(rng) else blocks.clipped_zoom_exact


def zoom_blur(x, c, rng):
    start, stop, step = c
    x = _unit(x).astype(np.float32)
    factors = np.arange(start, stop, step)
    if _fast(rng):  # one pass, row by row, with the same float32 roundings as the loop below
        return blocks.zoom_blur(x, factors)
    out = np.zeros_like(x)
    zoom = _clipped_zoom(rng)
    for zoom_factor in factors:
        out += zoom(x, zoom_factor)
    x = (x + out) / (len(factors) + 1)
    return np.clip(x, 0, 1) * 255


# ---------------------------------------------------------------------------- weather

def snow(x, c, rng):
    loc, scale, zoom, threshold, radius, sigma, keep = c
    n, h, w, _ = x.shape
    x = x.astype(np.float32) / 255.0
    if _fast(rng):  # drawn in float32, which the fast zoom computes in
        layer = rng.standard_normal(size=(n, h, w, 1), dtype=np.float32)
        layer *= np.float32(scale)
        layer += np.float32(loc)
    else:
        layer = rng.normal(size=(n, h, w, 1), loc=loc, scale=scale)
    layer = _clipped_zoom(rng)(layer, zoom)
    layer[layer < threshold] = 0
    layer = (np.clip(layer, 0, 1) * 255).astype(np.uint8)
    layer = blocks.motion_blur(layer, radius, sigma, rng.uniform(-135, -45, size=n)) / 255.0
    # the source's cv2.cvtColor(RGB2GRAY) itself (a float32 dot product rounds differently in rare cases)
    grey = cv2.cvtColor(np.ascontiguousarray(x.reshape(n * h, w, 3)), cv2.COLOR_RGB2GRAY).reshape(n, h, w, 1)
    return blocks.snow_mix(x, grey, layer, keep)  # keep x + (1 - keep) max(x, 1.5 grey + .5), + flakes, clip


def frost(x, c, rng):
    n, h, w, _ = x.shape
    layers = blocks.frost_layers(FROST_SCALE.get(h, 1.0))
    out = np.empty(x.shape, dtype=np.float64)
    for i in range(n):
        layer = layers[rng.integers(5)]  # the source draws randint(5): frost6 is never used
        top = rng.integers(0, layer.shape[0] - h)
        left = rng.integers(0, layer.shape[1] - w)
        out[i] = c[0] * x[i] + c[1] * layer[top:top + h, left:left + w]
    return np.clip(out, 0, 255)


def fog(x, c, rng):
    n, h, w, _ = x.shape
    mapsize = FOG_MAPSIZE.get(h, 1 << (max(h, w) - 1).bit_length())
    fractal = blocks.plasma_fractal(n, mapsize, c[1], rng)
    return blocks.fog_mix(x, fractal, c[0])  # clip((x + c0 fractal) * max / (max + c0)) of x / 255


def brightness(x, c, rng):
    # skimage's rgb2hsv -> V + c, clipped -> hsv2rgb, per pixel with its float64 formulas
    return blocks.hsv_map(x, value_shift=c)


def spatter(x, c, rng, dry_black: bool = False):
    """``dry_black``: an image whose liquid layer is empty comes out black, as the imagecorruptions
    package's ``0 / 0`` cast to uint8 makes it (x86); otherwise it gets no spatter."""
    loc, scale, sigma, threshold, intensity, mud = c
    n, h, w, _ = x.shape
    x = x.astype(np.float32) / 255.0
    liquid = _gaussian(rng.normal(size=(n, h, w), loc=loc, scale=scale), sigma, channels=False)
    liquid[liquid < threshold] = 0
    if mud == 0:
        out = np.empty_like(x)
        water = np.array([175 / 255.0, 238 / 255.0, 238 / 255.0], dtype=np.float32)  # pale turquoise
        for i in range(n):
            layer = (liquid[i] * 255).astype(np.uint8)
            m = (layer * blocks.spatter_edges(layer)).astype(np.float32)
            peak = m.max()
            # the source divides by the maximum; an image without liquid gets no spatter
            m = m / peak * intensity if peak > 0 else np.zeros_like(m)
            out[i] = np.clip(x[i] + m[..., None] * water, 0, 1) if peak > 0 or not dry_black else 0
        return out * 255
    m = _gaussian(np.where(liquid > threshold, 1, 0).astype(np.float32), intensity, channels=False)
    m[m < 0.8] = 0
    mud_colour = np.array([63 / 255.0, 42 / 255.0, 20 / 255.0], dtype=np.float32)
    x = x * (1 - m[..., None]) + mud_colour * m[..., None]
    return np.clip(x, 0, 1) * 255


# ---------------------------------------------------------------------------- digital

def contrast(x, c, rng):
    means = blocks.channel_means(x)  # [N, 3], as the source's mean over the image
    values = np.arange(256) / 255.0
    out = np.empty(x.shape, dtype=np.uint8)
    for i, m in enumerate(means):  # the source's float64 formula for each 8-bit value, then looked up
        out[i] = blocks.lookup(x[i], np.uint8(np.clip((values[:, None] - m) * c + m, 0, 1) * 255))
    return out


def saturate(x, c, rng):
    return blocks.hsv_map(x, sat_scale=c[0], sat_shift=c[1])


def elastic_transform(x, c, rng):
    alpha, sigma, affine = c
    n, h, w, ch = x.shape
    image = x.astype(np.float32) / 255.0
    centre = np.float32((h, w)) // 2
    square = min(h, w) // 3
    pts1 = np.float32([centre + square, [centre[0] + square, centre[1] - square], centre - square])
    warped = np.empty_like(image)
    for i in range(n):
        pts2 = pts1 + rng.uniform(-affine, affine, size=pts1.shape).astype(np.float32)
        m = cv2.getAffineTransform(pts1, pts2)
        warped[i] = warp.warp_affine(image[i], m, (w, h), warp.REFLECT_101)  # OpenCV 4's arithmetic, as released
    if _fast(rng):  # U(-1, 1) in float32, smoothed by the same filter as two float32 matrix products
        noise = rng.random(size=(2, n, h, w), dtype=np.float32)
        noise *= 2
        noise -= 1
        if sigma > 0:  # (its kernel outgrows the image)
            noise = blocks.gaussian_reflect(noise, sigma, truncate=3)
    else:  # the published float64 draws and scipy's filter
        noise = rng.uniform(-1, 1, size=(2, n, h, w))
        if sigma > 0:
            noise = ndimage.gaussian_filter(noise, sigma=(0, 0, sigma, sigma), mode="reflect", truncate=3)
    dx = (noise[0] * alpha).astype(np.float32)
    dy = (noise[1] * alpha).astype(np.float32)
    out = np.empty_like(image)
    for i in range(n):  # map_coordinates(order=1, mode="reflect") at (y + dy, x + dx, channel)
        out[i] = blocks.bilinear_reflect(warped[i], dy[i], dx[i])
    return np.clip(out, 0, 1) * 255


def pixelate(x, c, rng):
    n, h, w, _ = x.shape
    small = (int(w * c), int(h * c))  # Pillow's 8-bit result, kept as it is
    return pil_batch([Image.fromarray(img).resize(small, Image.BOX).resize((w, h), Image.BOX) for img in x])


def _jpeg(img: np.ndarray, quality: int) -> Image.Image:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf)


def _jpeg_opencv(img: np.ndarray, quality: int) -> np.ndarray:
    """Pillow's JPEG round trip, through OpenCV's codec: the same pixels (both are libjpeg-turbo
    with baseline tables, 4:2:0, the integer DCT and fancy upsampling; held by the tests on
    photographs and odd sizes at every quality of the tables), in 0.55-0.65 of the CPU time at
    427x640, because OpenCV codes numpy's packed pixels where Pillow repacks them to 4 bytes and
    back."""
    _, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def jpeg_compression(x, c, rng):
    if _fast(rng):
        return _stack([_jpeg_opencv(np.ascontiguousarray(img), c) for img in x])
    return pil_batch([_jpeg(img, c) for img in x])


def _stack(images: list[np.ndarray]) -> np.ndarray:
    """Per-image results (writable arrays) as a batch; one image without a copy."""
    return images[0][None] if len(images) == 1 else np.stack(images)


def pil_batch(images: list[Image.Image]) -> np.ndarray:
    """Pillow's 8-bit results as a writable uint8 batch, each converted once: one image by
    ``np.array`` (``np.asarray`` of a Pillow image is a read-only view, and a copy of it costs a
    second pass), several into one preallocated batch."""
    if len(images) == 1:
        return np.array(images[0])[None]
    first = np.asarray(images[0])
    out = np.empty((len(images), *first.shape), dtype=first.dtype)
    for i, img in enumerate(images):
        out[i] = np.asarray(img)
    return out


CORRUPTIONS: dict[str, Corruption] = {name: SPECS[name].function() for name in ALL}  # each spec's numpy function


class ReferenceStream:
    """A ``numpy.random.RandomState`` seen through the ``Generator`` methods the corruptions call.

    Fed one image at a time, every corruption then draws the same numbers, in the same
    order, as the published generator's function does after ``np.random.seed``.
    """

    def __init__(self, state: np.random.RandomState) -> None:
        self.state = state

    def integers(self, low, high=None, size=None):
        return self.state.randint(low, high, size=size)

    def random(self, size=None):
        return self.state.random_sample(size)

    def __getattr__(self, name: str):  # normal, uniform, poisson: the same calls on both
        return getattr(self.state, name)
