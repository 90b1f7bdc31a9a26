"""The -P perturbation sequences of Hendrycks & Dietterich (ICLR 2019), batched over images.

Each function follows one block of hendrycks/robustness ``ImageNet-P/create_p/make_*_p.py``
step for step (same formulas and number types, parameters from ``tables.py``). It takes a
batch of uint8 *canvases* ``[N, H, W, 3]`` - the image after the published resize (none for
CIFAR, Resize(64) for Tiny-ImageNet, Resize(256) for ImageNet) - and returns the frames
``[N, T, S, S, 3]`` uint8, centre-cropped to the table's size ``S`` as the source crops them.

Two things of the published code's time are kept because they shaped the released sets:

* the geometric perturbations call torchvision's ``affine`` as it was in torchvision 0.2-0.4
  (the versions of 2018-19, whose ``resample=`` argument the scripts pass): centre at
  ``(w/2 + 0.5, h/2 + 0.5)`` and the shear matrix of that time. Today's torchvision moved the
  centre by half a pixel and changed the shear; ``old_affine`` is the function of that time;
* frames are truncated to uint8 (``np.uint8(...)``, ``ToPILImage``'s ``mul(255).byte()``).

Random draws come from ``Streams``: a numpy ``Generator`` (fast, batched, equal in
distribution), or the published stream (``Streams.reference``): numpy's ``RandomState``
and torch's generator drawn image by image in the published order, so that the frames
equal the published script's byte for byte after ``np.random.seed(S)`` and
``torch.manual_seed(S)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import color as skcolor

from augmix import seeding
from augmix.corruptions import blocks
from augmix.corruptions.warp import warp_perspective
from augmix.perturbations.tables import ALL, BASE, TABLES, is_noise, split_name, table_for


class Streams:
    """Where a sequence's random numbers come from.

    ``Streams(rng)``: a numpy ``Generator``; gaussian noise is drawn in float32 from it.
    ``Streams.reference(seed)``: the published scripts' streams - numpy's global
    ``RandomState`` and torch's default generator, both seeded with ``seed``.
    """

    def __init__(self, rng: np.random.Generator | None = None, *, state: np.random.RandomState | None = None,
                 torch_generator=None) -> None:
        self.rng = rng
        self.state = state
        self.torch_generator = torch_generator

    @classmethod
    def reference(cls, seed: int) -> Streams:
        import torch

        return cls(state=np.random.RandomState(seed), torch_generator=torch.Generator().manual_seed(seed))

    @property
    def is_reference(self) -> bool:
        return self.state is not None

    def normal(self, size, loc=0.0, scale=1.0) -> np.ndarray:
        if self.state is not None:
            return self.state.normal(size=size, loc=loc, scale=scale)
        return self.rng.normal(size=size, loc=loc, scale=scale)

    def poisson(self, lam: np.ndarray) -> np.ndarray:
        return (self.state or self.rng).poisson(lam)

    def standard_normal_chw(self, shape: tuple[int, int, int]) -> np.ndarray:
        """float32 N(0, 1) noise of a CHW tensor from torch's generator (the source's
        ``torch.randn_like``), returned HWC."""
        import torch

        return torch.randn(shape, generator=self.torch_generator).numpy().transpose(1, 2, 0)


# ----------------------------------------------------------------------------- helpers

def old_affine_matrix(size: tuple[int, int], angle: float, translate: tuple[float, float], scale: float,
                      shear: float) -> list[float]:
    """The inverse affine matrix of torchvision 0.2-0.4's ``affine`` (centre ``w/2 + 0.5``)."""
    center = (size[0] * 0.5 + 0.5, size[1] * 0.5 + 0.5)
    angle = math.radians(angle)
    shear = math.radians(shear)
    scale = 1.0 / scale
    d = math.cos(angle + shear) * math.cos(angle) + math.sin(angle + shear) * math.sin(angle)
    matrix = [math.cos(angle + shear), math.sin(angle + shear), 0, -math.sin(angle), math.cos(angle), 0]
    matrix = [scale / d * m for m in matrix]
    matrix[2] += matrix[0] * (-center[0] - translate[0]) + matrix[1] * (-center[1] - translate[1])
    matrix[5] += matrix[3] * (-center[0] - translate[0]) + matrix[4] * (-center[1] - translate[1])
    matrix[2] += center[0]
    matrix[5] += center[1]
    return matrix


def old_affine(img: Image.Image, angle: float = 0, translate: tuple[float, float] = (0, 0), scale: float = 1,
               shear: float = 0, resample: int = Image.NEAREST) -> Image.Image:
    """torchvision 0.2-0.4 ``F.affine`` on a PIL image (black fill)."""
    matrix = old_affine_matrix(img.size, angle, translate, scale, shear)
    return img.transform(img.size, Image.AFFINE, matrix, resample)


def center_crop(x: np.ndarray, size: int) -> np.ndarray:
    """torchvision's ``CenterCrop`` on [..., H, W, C] (offsets rounded as ``int(round(.))``)."""
    h, w = x.shape[-3:-1]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return x[..., top:top + size, left:left + size, :]


def _to_float32(x: np.ndarray) -> np.ndarray:
    """``ToTensor``'s values: float32(v) / 255 (in float32)."""
    return x.astype(np.float32) / np.float32(255)


def _byte(x: np.ndarray) -> np.ndarray:
    """``ToPILImage``'s ``mul(255).byte()`` / ``np.uint8(x * 255)``: float32, truncated."""
    return (x * np.float32(255)).astype(np.uint8)


def _lin(i: int, spec: tuple[float, float]) -> float:
    """``(i + a) * b``, the source's frame schedules."""
    return (i + spec[0]) * spec[1]


def _each(x: np.ndarray, frames: int, crop: int, fn: Callable[[Image.Image, int], np.ndarray]) -> np.ndarray:
    """Apply ``fn(PIL canvas, i)`` for every image and frame; centre-crop."""
    n = len(x)
    out = np.empty((n, frames, crop, crop, 3), dtype=np.uint8)
    for k in range(n):
        img = Image.fromarray(x[k])
        for i in range(frames):
            out[k, i] = center_crop(np.asarray(fn(img, i)), crop)
    return out


# ------------------------------------------------------------------------------ noise

def gaussian_noise(x, crop, p, difficulty, streams):
    sigma = np.float32(p["sigma"][difficulty - 1])
    c = center_crop(x, crop)
    out = np.empty((len(x), p["frames"], crop, crop, 3), dtype=np.uint8)
    out[:, 0] = c
    t = _to_float32(c)
    if streams.is_reference:  # torch.randn_like(x) per frame, image by image
        for k in range(len(x)):
            for i in range(1, p["frames"]):
                out[k, i] = _byte(np.clip(t[k] + sigma * streams.standard_normal_chw((3, crop, crop)), 0, 1))
        return out
    import torch  # the same float32 arithmetic in torch's kernels, a few images at a time (in cache)

    gen = seeding.torch_generator(streams.rng)
    s32 = torch.tensor(sigma)
    for i in range(0, len(x), 8):
        base = torch.from_numpy(t[i:i + 8])[:, None]
        noise = torch.randn((len(base), p["frames"] - 1, crop, crop, 3), generator=gen)
        out[i:i + 8, 1:] = (torch.clamp(base + s32 * noise, 0, 1) * 255).to(torch.uint8).numpy()
    return out


def _noise_frames(x, crop, frames: int, streams, noisy: Callable[[np.ndarray, tuple], np.ndarray]) -> np.ndarray:
    """A float64 noise perturbation's frames: the clean image, then ``noisy(z, shape)`` of the image
    in [0, 1] (``z``, broadcastable to ``shape``) truncated to uint8. The published stream draws
    frame by frame, image by image; the fast one a few images at a time (the arrays stay in cache)."""
    c = center_crop(x, crop)
    out = np.empty((len(x), frames, crop, crop, 3), dtype=np.uint8)
    out[:, 0] = c
    if streams.is_reference:
        for k in range(len(x)):
            z = c[k] / 255.0
            for i in range(1, frames):
                out[k, i] = np.uint8(255 * np.clip(noisy(z, z.shape), 0, 1))
        return out
    for i in range(0, len(x), 8):
        z = (c[i:i + 8] / 255.0)[:, None]
        out[i:i + 8, 1:] = np.uint8(255 * np.clip(noisy(z, (len(z), frames - 1, *c.shape[1:])), 0, 1))
    return out


def shot_noise(x, crop, p, difficulty, streams):
    rate = p["rate"][difficulty - 1]
    return _noise_frames(x, crop, p["frames"], streams,
                         lambda z, shape: streams.poisson(np.broadcast_to(z * rate, shape)) / rate)


def speckle_noise(x, crop, p, difficulty, streams):
    sigma = p["sigma"][difficulty - 1]
    return _noise_frames(x, crop, p["frames"], streams,
                         lambda z, shape: z + z * streams.normal(size=shape, scale=sigma))


# ------------------------------------------------------------------------------- blur

def motion_blur(x, crop, p, difficulty, streams):
    n, t = len(x), p["frames"]
    angles = np.array([_lin(i, p["angle"]) for i in range(t)], dtype=np.float64)
    if p.get("before_resize"):  # Tiny-ImageNet: blur the image as given, then Resize(64) each frame
        raise ValueError("the 64 px motion blur blurs the image before its Resize(64); use sequence() "
                         "with the original image")
    c = np.ascontiguousarray(center_crop(x, crop))
    rep = np.repeat(c, t, axis=0)  # [n * t, S, S, 3]: one angle per frame
    return blocks.motion_blur(rep, p["radius"], p["sigma"], np.tile(angles, n)).reshape(n, t, crop, crop, 3)


def zoom_blur(x, crop, p, difficulty, streams):
    n, t = len(x), p["frames"]
    out = np.empty((n, t, crop, crop, 3), dtype=np.uint8)
    for k in range(n):
        img = Image.fromarray(x[k])
        first = center_crop(x[k], crop)
        out[k, 0] = first
        avg = _to_float32(first)
        for i in range(1, t):
            z = old_affine(img, scale=1 + p["scale_step"] * i, resample=Image.BILINEAR)
            avg += _to_float32(center_crop(np.asarray(z), crop))
            out[k, i] = _byte(avg / np.float32(i + 1))
    return out


def gaussian_blur(x, crop, p, difficulty, streams):
    c = center_crop(x, crop) / 255.0
    out = np.empty((len(x), p["frames"], crop, crop, 3), dtype=np.uint8)
    for i in range(p["frames"]):
        sigma = p["sigma"][0] + p["sigma"][1] * i
        blurred = ndimage.gaussian_filter(c, sigma=(0, sigma, sigma, 0), mode="nearest", truncate=p["truncate"])
        out[:, i] = np.uint8(255 * blurred)
    return out


# ---------------------------------------------------------------------------- weather

def _png_grey_layer(layer: np.ndarray) -> np.ndarray:
    """The snow layer as the source hands it to ImageMagick: an 8-bit grey PNG."""
    return (np.clip(layer.squeeze(), 0, 1) * 255).astype(np.uint8)


def snow(x, crop, p, difficulty, streams):
    n, t = len(x), p["frames"]
    c = center_crop(x, crop)
    step, start = p["angle_step"]
    angles = np.array([i * step + start for i in range(t)], dtype=np.float64)
    out = np.empty((n, t, crop, crop, 3), dtype=np.uint8)
    for k in range(n):
        z = c[k] / 255.0
        layer = streams.normal(size=(crop, crop), loc=p["loc"], scale=p["scale"])
        layer = blocks.clipped_zoom_exact(layer[None, :, :, None], p["zoom"])[0]
        layer[layer < p["threshold"]] = 0
        grey = _png_grey_layer(layer)
        moving = blocks.motion_blur(np.repeat(grey[None, :, :, None], t, axis=0), p["radius"], p["sigma"],
                                    angles) / 255.0  # [t, S, S, 1]
        grey_img = cv2.cvtColor(np.float32(z), cv2.COLOR_RGB2GRAY).reshape(crop, crop, 1)
        base = 0.85 * z + (1 - 0.85) * np.maximum(z, grey_img * 1.5 + 0.5)
        out[k] = np.uint8(np.clip(base + moving + np.rot90(moving, k=2, axes=(1, 2)), 0, 1) * 255)
    return out


def brightness(x, crop, p, difficulty, streams):
    c = center_crop(x, crop)
    hsv = skcolor.rgb2hsv(np.array(c, copy=True) / 255.0)  # the same for every frame
    out = np.empty((len(x), p["frames"], crop, crop, 3), dtype=np.uint8)
    for i in range(p["frames"]):
        shift = (i + p["shift"][0]) * p["shift"][1] / 100.0
        frame = hsv.copy()
        frame[..., 2] = np.clip(frame[..., 2] + shift, 0, 1)
        out[:, i] = np.uint8(skcolor.hsv2rgb(frame) * 255)
    return out


def _flow(layer: np.ndarray, kernel: tuple[float, ...]) -> np.ndarray:
    """``np.apply_along_axis(lambda m: np.convolve(m, kernel, 'same'), 0, layer)`` in one call.

    The columns are laid end to end with zeros between them, so one ``np.convolve`` computes
    every column's sums, term for term the same as the per-column calls.
    """
    h, w = layer.shape
    k = len(kernel)
    gap = k - 1
    seg = h + gap
    flat = np.zeros(w * seg, dtype=np.float64)
    flat.reshape(w, seg)[:, :h] = layer.T
    full = np.convolve(flat, np.asarray(kernel, dtype=np.float64), mode="full")
    start = (k - 1) // 2  # where numpy's 'same' window starts in the full result
    idx = np.arange(w)[:, None] * seg + start + np.arange(h)[None, :]
    return full[idx].T


def spatter(x, crop, p, difficulty, streams):
    n, t = len(x), p["frames"]
    c = center_crop(x, crop)
    out = np.empty((n, t, crop, crop, 3), dtype=np.uint8)
    for k in range(n):
        img = cv2.cvtColor(np.array(c[k], dtype=np.float32) / 255.0, cv2.COLOR_BGR2BGRA)
        liquid = streams.normal(size=(crop, crop), loc=p["loc"], scale=p["scale"])
        liquid = ndimage.gaussian_filter(liquid, sigma=p["sigma"], mode="nearest", truncate=4.0)
        liquid[liquid < p["threshold"]] = 0
        for i in range(t):
            li = (liquid * 255).astype(np.uint8)
            m = cv2.cvtColor(li * blocks.spatter_edges(li), cv2.COLOR_GRAY2BGRA)
            with np.errstate(invalid="ignore", divide="ignore"):  # no liquid left: the source's 0/0
                m /= np.max(m, axis=(0, 1))
            m *= 0.6
            colour = np.concatenate((175 / 255.0 * np.ones_like(m[..., :1]), 238 / 255.0 * np.ones_like(m[..., :1]),
                                     238 / 255.0 * np.ones_like(m[..., :1])), axis=2)
            colour = cv2.cvtColor(colour, cv2.COLOR_BGR2BGRA)
            with np.errstate(invalid="ignore"):
                out[k, i] = np.uint8(cv2.cvtColor(np.clip(img + m * colour, 0, 1), cv2.COLOR_BGRA2BGR) * 255)
            liquid = _flow(liquid, p["flow"])
    return out


# ------------------------------------------------------------------------- geometric

def translate(x, crop, p, difficulty, streams):
    return _each(x, p["frames"], crop, lambda img, i: old_affine(img, translate=(i + p["shift"], 0)))


def rotate(x, crop, p, difficulty, streams):
    return _each(x, p["frames"], crop,
                 lambda img, i: old_affine(img, angle=i + p["angle"], resample=Image.BILINEAR))


def scale(x, crop, p, difficulty, streams):
    b, k = p["scale"]
    return _each(x, p["frames"], crop,
                 lambda img, i: old_affine(img, scale=(i * k + b) / 100.0, resample=Image.BILINEAR))


def shear(x, crop, p, difficulty, streams):
    return _each(x, p["frames"], crop,
                 lambda img, i: old_affine(img, shear=i + p["shear"], resample=Image.BILINEAR))


def tilt_matrix(w: int, h: int, degrees: float) -> np.ndarray:
    """The source's perspective matrix ``P2 @ T @ RX @ RY @ P1`` for a tilt of ``degrees``."""
    phi = theta = np.deg2rad(degrees)
    f = np.sqrt(w ** 2 + h ** 2)
    p1 = np.array([[1, 0, -w / 2], [0, 1, -h / 2], [0, 0, 1], [0, 0, 1]])
    rx = np.array([[1, 0, 0, 0], [0, np.cos(theta), -np.sin(theta), 0], [0, np.sin(theta), np.cos(theta), 0],
                   [0, 0, 0, 1]])
    ry = np.array([[np.cos(phi), 0, -np.sin(phi), 0], [0, 1, 0, 0], [np.sin(phi), 0, np.cos(phi), 0],
                   [0, 0, 0, 1]])
    t = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, f], [0, 0, 0, 1]])
    p2 = np.array([[f, 0, w / 2, 0], [0, f, h / 2, 0], [0, 0, 1, 0]])
    return p2 @ t @ rx @ ry @ p1


def tilt(x, crop, p, difficulty, streams):
    n, h, w, _ = x.shape
    out = np.empty((n, p["frames"], crop, crop, 3), dtype=np.uint8)
    for i in range(p["frames"]):
        mat = tilt_matrix(w, h, p["degrees"][1] * (i + p["degrees"][0]))
        for k in range(n):
            out[k, i] = center_crop(warp_perspective(x[k], mat, (w, h)), crop)  # OpenCV 4's arithmetic, as released
    return out


SEQUENCES: dict[str, Callable] = {name: globals()[name] for name in BASE}  # each perturbation's function, by name


@dataclass(frozen=True)
class PerturbationSpec:
    """One -P perturbation, as ``corruptions.tables.Spec`` is one corruption: whether flips count
    against the first frame (the noises), its published parameters per image side (``TABLES``,
    named fields: frames and schedules), the release names of its difficulties, and its function."""

    name: str
    noise: bool
    published: dict[int, dict]
    releases: tuple[str, ...]
    function: Callable


SPECS: dict[str, PerturbationSpec] = {
    name: PerturbationSpec(name, is_noise(name), {size: TABLES[size][name] for size in TABLES},
                           tuple(n for n in ALL if split_name(n)[0] == name), SEQUENCES[name])
    for name in BASE
}


# ----------------------------------------------------------------------------- entry

def preprocess(img: Image.Image, size: int) -> Image.Image:
    """The published resize before the sequences: none (32), Resize(64) (64), Resize(256) (224)."""
    import torchvision.transforms.functional as TF

    from augmix.perturbations.tables import RESIZE

    table_for(size)
    return img if RESIZE[size] is None else TF.resize(img, RESIZE[size])


def sequence(image: Image.Image | np.ndarray, name: str, size: int, streams: Streams) -> np.ndarray:
    """The frames ``[T, size, size, 3]`` of one image as the published script makes them.

    ``image``: the image as read (the published resize is applied here).
    """
    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    base, difficulty = split_name(name)
    p = table_for(size)[base]
    if p.get("before_resize"):  # make_tinyimagenet_p.py blurs the original image, then resizes
        t = p["frames"]
        src = np.asarray(img.convert("RGB"))[None]
        angles = np.array([_lin(i, p["angle"]) for i in range(t)], dtype=np.float64)
        blurred = blocks.motion_blur(np.repeat(src, t, axis=0), p["radius"], p["sigma"], angles)
        return np.stack([center_crop(np.asarray(preprocess(Image.fromarray(f), size)), size) for f in blurred])
    canvas = np.asarray(preprocess(img.convert("RGB"), size))[None]
    return SEQUENCES[base](np.ascontiguousarray(canvas), size, p, difficulty, streams)[0]


def perturb(images: np.ndarray, name: str, seed: int | np.random.Generator | Streams = 0,
            size: int | None = None) -> np.ndarray:
    """The -P sequences ``[N, T, S, S, 3]`` of same-size uint8 images ``[N, S, S, 3]`` (CIFAR-P style).

    The table is the published one for the image size (32, 64 or 224 px) unless ``size`` is
    given; the images are taken as already preprocessed (for 224 px and 64 px sequences of
    photographs, use ``sequence``, which applies the published resize). ``seed``: an int or a
    numpy ``Generator`` (fast mode), or ``Streams.reference(S)`` (the published stream: the
    output equals the published script's after ``np.random.seed(S)``, ``torch.manual_seed(S)``,
    for images processed in this order).
    """
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3 or x.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB images [N, H, W, 3], got {x.dtype} {x.shape}")
    if x.shape[1] != x.shape[2]:
        raise ValueError(f"the perturbations are defined on square images, got {x.shape[1]}x{x.shape[2]}")
    size = size or x.shape[1]
    if x.shape[1] < size:
        raise ValueError(f"{x.shape[1]} px images are smaller than the {size} px sequences asked for")
    base, difficulty = split_name(name)
    p = table_for(size)[base]
    if p.get("before_resize"):
        raise ValueError("the 64 px motion blur is defined on the image before its resize; use sequence()")
    streams = seed if isinstance(seed, Streams) else Streams(
        seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed))
    return SEQUENCES[base](np.ascontiguousarray(x), size, p, difficulty, streams)
