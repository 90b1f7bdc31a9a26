"""``corrupt``: a corruption applied to any image, as users hand images over.

One image or a batch of one size, a list of sizes, RGB, grey or RGBA, either definition of the
19 corruptions (``definition_for``: the published generators' on square 32, 64 and 224 px
images, the ``imagecorruptions`` package's at any size >= 32 px), the fast batched mode or the
reference stream; the functions themselves are ``functional`` (published) and ``anysize``
(the package's), the -C-bar ones ``cbar``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from augmix.corruptions import anysize, functional
from augmix.corruptions.functional import ReferenceStream
from augmix.corruptions.tables import ALL, ANY_SIZE, CATEGORY, CBAR_ALL, TABLES, check_severity, table_for

MIN_SIDE = 32  # the imagecorruptions package refuses smaller images

Definition = Literal["published", "imagecorruptions"]
DEFINITIONS: tuple[str, ...] = ("published", "imagecorruptions")


def definition_for(height: int, width: int, definition: str | None = None, size: int | None = None) -> str:
    """Which definition corrupts ``height x width`` images: ``definition`` if given, else the
    published generators' for square 32, 64 and 224 px images (or when a table ``size`` is
    named) and the ``imagecorruptions`` package's for every other size. Refuses a size the
    chosen definition does not cover, in one line naming the fix."""
    if definition is None:
        definition = "published" if size or (height == width and height in TABLES) else "imagecorruptions"
    if definition not in DEFINITIONS:
        raise ValueError(f"unknown corruption definition {definition!r}; choose 'published' (hendrycks/robustness, "
                         f"square 32, 64 and 224 px) or 'imagecorruptions' (any size >= {MIN_SIDE} px)")
    if definition == "published" and height != width and not size:
        raise ValueError(f"the published generators define the corruptions on square images, got {height}x{width}; "
                         "pass definition='imagecorruptions' for images of any size and shape")
    if definition == "imagecorruptions" and min(height, width) < MIN_SIDE:
        raise ValueError(f"the corruptions need images of at least {MIN_SIDE}x{MIN_SIDE} pixels, got {height}x{width}; "
                         "upsample the image first")
    return definition


def _as_rgb(x: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """uint8 images as RGB batches [N, H, W, 3], and the function that puts a corrupted batch back
    in the shape given: one image or a batch, RGB, grey ([H, W] or [..., 1]) or RGBA (alpha kept)."""
    if x.dtype != np.uint8 or x.ndim not in (2, 3, 4) or (x.ndim > 2 and x.shape[-1] not in (1, 3, 4)):
        raise ValueError(f"expected uint8 images [H, W], [H, W, C] or [N, H, W, C] with C = 1 (grey), 3 (RGB) or "
                         f"4 (RGBA), got {x.dtype} {x.shape}")
    single = x.ndim < 4
    batch = x.reshape((1, *x.shape)) if single else x
    if batch.ndim == 3:  # one [H, W] grey image
        batch = batch[..., None]
    channels = batch.shape[-1]
    rgb = np.repeat(batch, 3, axis=-1) if channels == 1 else batch[..., :3]

    def restore(out: np.ndarray, noise: bool = False) -> np.ndarray:
        if channels == 1:
            out = out[..., :1] if noise else grey(out)[..., None]
        elif channels == 4:
            out = np.concatenate([out, batch[..., 3:]], axis=-1)
        return out.reshape(x.shape) if single else out
    return np.ascontiguousarray(rgb), restore


def grey(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma of uint8 RGB, Pillow's ``convert("L")`` integer arithmetic (equal channels
    give their own value back)."""
    r, g, b = (rgb[..., k].astype(np.uint32) for k in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def corrupt(images: np.ndarray | Sequence[np.ndarray], name: str, severity: int,
            seed: int | np.random.Generator | np.random.RandomState | None = 0,
            size: int | None = None, definition: Definition | None = None) -> np.ndarray | list[np.ndarray]:
    """Corrupt uint8 images at ``severity`` 1-5: one image ``[H, W, C]`` or ``[H, W]``, a batch
    ``[N, H, W, C]`` of one size, or a list of images of any sizes (returned as a list). C is 3
    (RGB), 1 (grey) or 4 (RGBA: the alpha channel passes through); grey images are corrupted as
    three equal channels and returned grey (the first channel for the noises, whose draws are
    per value, else the luma), each in the shape given.

    ``definition`` (``definition_for``): ``"published"`` - hendrycks/robustness's generators,
    whose tables exist for square 32, 64 and 224 px images (or that of ``size`` if given) - or
    ``"imagecorruptions"`` - the package's adaptation of the 224 px tables to any size >= 32 px
    (``anysize.py``; docs/PARITY.md lists the differences). The default is the published one
    where its tables apply and the package's otherwise.

    ``seed``: an int or a ``numpy.random.Generator`` gives the fast batched mode,
    deterministic and equal in distribution to the published generators. A
    ``numpy.random.RandomState`` gives the *reference-stream* mode: images are processed
    one by one, in order, drawing from that state exactly as the published
    ``make_*_c.py`` functions (or the package's) do from numpy's global state, so that after
    ``rs = RandomState(S)`` the output equals, byte for byte, the published script's after
    ``np.random.seed(S)`` (impulse noise excepted: the published code draws it from
    scikit-image's own unseeded generator). See docs/PARITY.md.

    The -C-bar corruptions (``tables.CBAR_ALL``) are served by ``cbar.corrupt_cbar`` with
    the same seeding.
    """
    if isinstance(images, (list, tuple)):  # any sizes: one stream, drawn image after image
        rng = seed if isinstance(seed, (np.random.Generator, np.random.RandomState)) else np.random.default_rng(seed)
        return [corrupt(img, name, severity, rng, size, definition) for img in images]
    if name in CBAR_ALL:  # the -C-bar corruptions (32 and 224 px)
        from augmix.corruptions.cbar import corrupt_cbar

        x = np.asarray(images)
        return corrupt_cbar(x[None], name, severity, seed)[0] if x.ndim == 3 else corrupt_cbar(x, name, severity, seed)
    if name not in functional.CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; choose from {', '.join(ALL)} (-C) or "
                         f"{', '.join(CBAR_ALL)} (-C-bar)")
    severity = check_severity(severity)
    x, restore = _as_rgb(np.asarray(images))
    chosen = definition_for(x.shape[1], x.shape[2], definition, size)
    if chosen == "published":
        params, fn = table_for(size or x.shape[1])[name][severity - 1], functional.CORRUPTIONS[name]
    else:
        params, fn = ANY_SIZE[name][severity - 1], anysize.CORRUPTIONS[name]
    if isinstance(seed, np.random.RandomState):
        stream = ReferenceStream(seed)
        out = np.stack([np.uint8(fn(np.ascontiguousarray(img[None]), params, stream))[0] for img in x])
    else:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        out = fn(x, params, rng)
        out = out if out.dtype == np.uint8 else np.uint8(out)  # np.uint8 of a uint8 array would copy it
    return restore(out, noise=CATEGORY[name] == "noise")
