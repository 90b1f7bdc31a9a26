"""The 13 AugMix ops with explicit, already-sampled magnitudes.

Every op takes a PIL image (and then *is* the PIL call the reference makes, so it
matches google-research/augmix pixel for pixel) or a tensor ``[..., C, H, W]``
(uint8 or float in [0, 1], any device). For tensors the magnitude may be a number or a
tensor with one value per image, so a batch can carry different magnitudes.

Tensor semantics:

* uint8 tensors follow Pillow's integer arithmetic: bilinear results and blends are
  truncated, greyscale uses Pillow's fixed-point weights, the 3x3 smooth filter keeps
  border pixels, and sampling outside the image gives black, inside it clamps to the
  edge as Pillow does. The test-suite measures the remaining difference to Pillow.
* float tensors get the same maps without the 8-bit rounding; posterize and equalize,
  which are defined on 8-bit codes, quantise to 8 bits first.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from PIL import Image, ImageEnhance, ImageOps

from augmix.augment.ops import OP_SPECS

Magnitude = float | int | torch.Tensor
ImageLike = Image.Image | torch.Tensor

_EPS = 1e-4  # float32 slack before truncating a value Pillow computes in double
# grid_sample's float32 coordinates put an integer-valued sample up to ~5e-3 below the
# integer at 224 px; Pillow (double) truncates the exact value.
_AFFINE_EPS = 1e-2


# --------------------------------------------------------------------------- helpers

def _check_tensor(x: torch.Tensor) -> None:
    if x.ndim < 3:
        raise ValueError(
            f"expected an image tensor of shape [..., C, H, W], got shape {tuple(x.shape)}; "
            "add a channel dimension (e.g. x.unsqueeze(0)) for a single grey image"
        )
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise TypeError(f"expected a uint8 or floating-point tensor, got {x.dtype}")


def _flat(x: torch.Tensor) -> tuple[torch.Tensor, torch.Size]:
    _check_tensor(x)
    return x.reshape(-1, *x.shape[-3:]), x.shape


def _per_image(m: Magnitude, n: int, device: torch.device, dtype=torch.float64) -> torch.Tensor:
    """Magnitude as a tensor of shape [n] (one value per image)."""
    t = torch.as_tensor(m, dtype=dtype, device=device)
    if t.numel() == 1:
        return t.reshape(1).expand(n)
    if t.numel() != n:
        raise ValueError(f"got {t.numel()} magnitudes for {n} images; give one or one per image")
    return t.reshape(n)


def _finish(
    out: torch.Tensor, like: torch.Tensor, shape: torch.Size, eps: float = _EPS
) -> torch.Tensor:
    """Round like Pillow (truncate) for uint8 input, clamp for float input; restore shape.

    ``eps`` absorbs float32 error where Pillow computes in double; blends, which Pillow
    itself computes in float32, pass 0.
    """
    if like.dtype == torch.uint8:
        out = (out + eps).floor_().clamp_(0, 255).to(torch.uint8)
    else:
        out = out.clamp(0, 1).to(like.dtype)
    return out.reshape(shape)


def _scale(x: torch.Tensor) -> float:
    return 255.0 if x.dtype == torch.uint8 else 1.0


def _to_codes(x: torch.Tensor) -> torch.Tensor:
    """8-bit codes of an image (uint8 kept; float in [0,1] rounded)."""
    if x.dtype == torch.uint8:
        return x
    return (x * 255).round_().clamp_(0, 255).to(torch.uint8)


def _from_codes(codes: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return codes if like.dtype == torch.uint8 else codes.to(like.dtype) / 255


def _is_pil(img: ImageLike) -> bool:
    return isinstance(img, Image.Image)


# ----------------------------------------------------------------- geometric (affine)

def affine_matrix(name: str, arg: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pillow's output->input affine coefficients (a, b, c, d, e, f), shape [N, 6], float64.

    An output pixel centre (x + .5, y + .5) samples the input at
    (a*x' + b*y' + c, d*x' + e*y' + f), exactly as ``Image.transform(AFFINE)`` and
    ``Image.rotate`` (about the centre, no expand) define it.
    """
    arg = arg.to(torch.float64)
    one, zero = torch.ones_like(arg), torch.zeros_like(arg)
    if name == "rotate":
        # Image.rotate: angle % 360, matrix rounded to 15 digits, centre (w/2, h/2).
        angle = -torch.deg2rad(torch.remainder(arg, 360.0))
        a = torch.round(torch.cos(angle), decimals=15)
        b = torch.round(torch.sin(angle), decimals=15)
        d, e = -b, a
        cx, cy = width / 2.0, height / 2.0
        c = a * -cx + b * -cy + cx
        f = d * -cx + e * -cy + cy
        return torch.stack([a, b, c, d, e, f], -1)
    if name == "shear_x":
        return torch.stack([one, arg, zero, zero, one, zero], -1)
    if name == "shear_y":
        return torch.stack([one, zero, zero, arg, one, zero], -1)
    if name == "translate_x":
        return torch.stack([one, zero, arg, zero, one, zero], -1)
    if name == "translate_y":
        return torch.stack([one, zero, zero, zero, one, arg], -1)
    raise ValueError(f"{name!r} is not a geometric op")


def affine(x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Apply per-image Pillow affine coefficients ``matrix`` [N, 6] with Pillow's bilinear.

    Samples whose source point lies outside the image are black; inside, neighbours are
    clamped to the edge (Pillow's ``BILINEAR_HEAD``/``BILINEAR_BODY``), which is
    ``grid_sample`` with border padding times an in-bounds mask. The pixel-space
    coefficients are converted to ``grid_sample``'s normalised ones in float64.
    """
    xf, shape = _flat(x)
    src = xf if xf.is_floating_point() else xf.to(torch.float32)
    return round_affine(sample_affine(src, matrix), x.dtype == torch.uint8).to(x.dtype).reshape(shape)


def round_affine(out: torch.Tensor, uint8: bool) -> torch.Tensor:
    """``sample_affine``'s values rounded as Pillow does (in place): truncated for uint8 images
    (a convex combination of 0..255 values, so truncation is floor), clamped for float ones."""
    return out.add_(_AFFINE_EPS).floor_() if uint8 else out.clamp_(0, 1)


def sample_affine(src: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Pillow's bilinear affine of a float32 batch [N, C, H, W], before rounding."""
    n, _, h, w = src.shape
    dev = src.device
    a, b, c, d, e, f = matrix.to(torch.float64).reshape(n, 6).unbind(1)
    # With x_pix = (x_n + 1) * w / 2 on both sides, the map in normalised coordinates is
    # x_n' = a x_n + (b h/w) y_n + (a + b h/w + 2c/w - 1), and likewise for y.
    coef = torch.stack([a, b * h / w, a + b * h / w + 2 * c / w - 1,
                        d * w / h, e, d * w / h + e + 2 * f / h - 1], 1)
    coef = coef.to(dev, torch.float32).view(n, 6, 1, 1)
    xn = ((torch.arange(w, device=dev, dtype=torch.float32) + 0.5) * (2.0 / w) - 1).view(1, 1, w)
    yn = ((torch.arange(h, device=dev, dtype=torch.float32) + 0.5) * (2.0 / h) - 1).view(1, h, 1)
    gx = coef[:, 0] * xn + (coef[:, 1] * yn + coef[:, 2])
    gy = coef[:, 3] * xn + (coef[:, 4] * yn + coef[:, 5])
    valid = ((gx >= -1) & (gx < 1) & (gy >= -1) & (gy < 1)).to(torch.float32)  # source in [0, size)
    grid = torch.empty(n, h, w, 2, device=dev, dtype=torch.float32)
    grid[..., 0] = gx
    grid[..., 1] = gy
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.mul_(valid.unsqueeze(1))  # (a float mask multiplies faster than a bool one)


def shift(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Integer translation with black fill: output (x, y) = input (x + dx, y + dy).

    Exactly Pillow's affine translate for whole-pixel offsets (the bilinear weights are
    0/1), done by slicing: one copy per distinct offset pair.
    """
    xf, shape = _flat(x)
    n, _, h, w = xf.shape
    out = torch.zeros_like(xf)
    offsets = torch.stack([dx.reshape(n), dy.reshape(n)], 1).to(torch.int64).cpu()
    pairs, inverse = torch.unique(offsets, dim=0, return_inverse=True)
    for k, (ox, oy) in enumerate(pairs.tolist()):
        if abs(ox) >= w or abs(oy) >= h:
            continue
        idx = (inverse == k).nonzero().squeeze(1).to(xf.device)
        src = xf.index_select(0, idx)[..., max(oy, 0):h + min(oy, 0), max(ox, 0):w + min(ox, 0)]
        dst = torch.zeros_like(xf[: idx.numel()])
        dst[..., max(-oy, 0):h + min(-oy, 0), max(-ox, 0):w + min(-ox, 0)] = src
        out.index_copy_(0, idx, dst)
    return out.reshape(shape)


def _geometric_op(name: str) -> Callable[[ImageLike, Magnitude], ImageLike]:
    def tensor_op(img: torch.Tensor, arg: Magnitude) -> torch.Tensor:
        xf, _ = _flat(img)
        args = _per_image(arg, xf.shape[0], torch.device("cpu"))
        if name.startswith("translate") and bool((args == args.round()).all()):
            zero = torch.zeros_like(args)
            return shift(img, args, zero) if name == "translate_x" else shift(img, zero, args)
        return affine(img, affine_matrix(name, args, img.shape[-2], img.shape[-1]))

    return tensor_op


# ------------------------------------------------------------------------- point ops

def _blend(degenerate: torch.Tensor, img: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Pillow's ``Image.blend(degenerate, img, factor)`` in float32 (before rounding)."""
    return degenerate + factor * (img - degenerate)


def _grey(xf: torch.Tensor, exact: bool) -> torch.Tensor:
    """Luma [N,1,H,W] as Pillow's ``convert('L')`` (ITU-R 601-2, fixed point for uint8)."""
    if xf.shape[1] == 1:
        return xf
    if exact:
        xi = xf.to(torch.int32)
        lum = (xi[:, 0] * 19595 + xi[:, 1] * 38470 + xi[:, 2] * 7471 + 0x8000) >> 16
        return lum.unsqueeze(1).to(torch.float32)
    r, g, b = xf[:, 0], xf[:, 1], xf[:, 2]
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def degenerate(kind: str, x: torch.Tensor, exact: bool) -> torch.Tensor:
    """The image an enhance op blends with (``ImageEnhance``), float32 [N, C, H, W].

    ``x`` is float32 on Pillow's scale (0-255 when ``exact``, i.e. for uint8 input).
    """
    if kind == "brightness":
        return torch.zeros_like(x)
    if kind == "color":
        return _grey(x, exact).expand_as(x)
    if kind == "contrast":
        mean = _grey(x, exact).mean(dim=(1, 2, 3), keepdim=True, dtype=torch.float64)
        return ((mean + 0.5).floor() if exact else mean).to(torch.float32).expand_as(x)
    if kind == "sharpness":
        kernel = torch.tensor([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=torch.float32) / 13
        kernel = kernel.to(x.device).expand(x.shape[1], 1, 3, 3)
        smooth = F.conv2d(x, kernel, groups=x.shape[1])
        if exact:
            smooth = (smooth + 0.5).floor_().clamp_(0, 255)
        deg = x.clone()
        deg[..., 1:-1, 1:-1] = smooth  # Pillow's 3x3 filter copies the border
        return deg
    raise ValueError(kind)


def _enhance(kind: str, img: torch.Tensor, factor: Magnitude) -> torch.Tensor:
    xf, shape = _flat(img)
    exact = img.dtype == torch.uint8
    n = xf.shape[0]
    f = _per_image(factor, n, xf.device, torch.float32).view(n, 1, 1, 1)
    x = xf.to(torch.float32)
    return blend(degenerate(kind, x, exact), x, f, img).reshape(shape)


def blend(deg: torch.Tensor, x: torch.Tensor, factor: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The enhance ops' ``Image.blend(deg, x, factor)`` (float32, on Pillow's scale) rounded
    as Pillow rounds for images of ``like``'s dtype."""
    exact = like.dtype == torch.uint8
    return _finish(_blend(deg, x, factor).clamp_(0, 255 if exact else 1), like, x.shape, eps=0.0)


def autocontrast_map(xf: torch.Tensor, full: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``ImageOps.autocontrast``'s per-image, per-channel map ``v * scale + offset`` (float64,
    [N, C, 1, 1]) for images [N, C, H, W] on the scale 0..``full``; the identity where a channel is flat."""
    lo = xf.amin(dim=(-2, -1), keepdim=True).to(torch.float64)
    hi = xf.amax(dim=(-2, -1), keepdim=True).to(torch.float64)
    flat = hi <= lo
    # torch evaluates `number / tensor` as number * (1 / tensor); divide tensors to round
    # exactly as Pillow's `255.0 / (hi - lo)` does, and keep Pillow's double arithmetic.
    scale = torch.where(flat, torch.ones_like(hi), torch.full_like(hi, full) / (hi - lo).clamp_min(1e-12))
    offset = torch.where(flat, torch.zeros_like(lo), -lo * scale)
    return scale, offset


def _autocontrast_t(img: torch.Tensor) -> torch.Tensor:
    xf, shape = _flat(img)
    scale, offset = autocontrast_map(xf, _scale(img))
    if img.dtype == torch.uint8:
        out = xf.to(torch.float64).mul_(scale).add_(offset).floor_().clamp_(0, 255)
        return out.to(torch.uint8).reshape(shape)
    out = xf * scale.to(xf.dtype) + offset.to(xf.dtype)
    return out.clamp_(0, 1).reshape(shape)


def equalize_luts(codes: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
    """Pillow's ``ImageOps.equalize`` lookup tables, int64 [N * C, 256], for uint8 [N, C, H, W].

    Fixed shapes and no host synchronisation (histograms by ``scatter_add_``), so the
    same code serves the grouped and the sync-free tensor paths. ``index`` is ``codes`` as
    int64 [N * C, H * W] when the caller has it already.
    """
    n, ch, h, w = codes.shape
    flat = codes.reshape(n * ch, h * w).long() if index is None else index
    hist = torch.zeros(n * ch, 256, dtype=torch.int64, device=codes.device)
    hist.scatter_add_(1, flat, torch.ones_like(flat))
    # step = (total - count of the last non-empty bin) // 256
    last = 255 - (hist.flip(1) > 0).long().argmax(dim=1)
    last_count = hist.gather(1, last.view(-1, 1)).squeeze(1)
    step = (h * w - last_count) // EQUALIZE_DIVISOR
    nonempty = (hist > 0).sum(1)
    identity = (nonempty <= 1) | (step == 0)
    cum = torch.cumsum(hist, 1) - hist  # counts strictly below each code
    safe = step.clamp_min(1).view(-1, 1)
    lut = ((safe // 2 + cum) // safe).clamp_(max=255)
    ident = torch.arange(256, device=codes.device).expand_as(lut)
    return torch.where(identity.view(-1, 1), ident, lut)


def _equalize_t(img: torch.Tensor) -> torch.Tensor:
    """Pillow's ``ImageOps.equalize`` per image and channel, vectorised."""
    xf, shape = _flat(img)
    codes = _to_codes(xf)
    n, ch, h, w = codes.shape
    lut = equalize_luts(codes)
    out = lut.gather(1, codes.reshape(n * ch, h * w).long()).to(torch.uint8).reshape(n, ch, h, w)
    return _from_codes(out, xf).reshape(shape)


def _probe_equalize_divisor() -> int:
    """Older Pillow releases divide by 256 in ``ImageOps.equalize``, newer ones by 255.

    Probe the installed Pillow once so the tensor path matches the PIL path in use.
    """
    probe = Image.frombytes("L", (511, 1), bytes([0] * 255 + [1] * 255 + [2]))
    return 255 if ImageOps.equalize(probe).getpixel((300, 0)) == 128 else 256


EQUALIZE_DIVISOR = _probe_equalize_divisor()


def _posterize_t(img: torch.Tensor, bits: Magnitude) -> torch.Tensor:
    xf, shape = _flat(img)
    codes = _to_codes(xf)
    n = codes.shape[0]
    b = _per_image(bits, n, codes.device, torch.int64).clamp(0, 8)
    mask = ((~((1 << (8 - b)) - 1)) & 0xFF).to(torch.uint8).view(n, 1, 1, 1)
    return _from_codes(codes & mask, xf).reshape(shape)


def _solarize_t(img: torch.Tensor, threshold: Magnitude) -> torch.Tensor:
    xf, shape = _flat(img)
    n = xf.shape[0]
    full = _scale(img)
    t = _per_image(threshold, n, xf.device, torch.float32).view(n, 1, 1, 1)
    if img.dtype == torch.uint8:
        # 255 - v == v ^ 255 on 8 bits; a threshold of 256 inverts nothing.
        t8 = t.clamp(0, 255).to(torch.uint8)
        invert = (xf >= t8).logical_and_(t <= 255).to(torch.uint8).mul_(255)
        out = xf ^ invert
    else:
        out = torch.where(xf * 255 < t, xf, full - xf)
    return out.reshape(shape)


# ------------------------------------------------------------------- the public ops

def autocontrast(img: ImageLike, _: Magnitude | None = None) -> ImageLike:
    """Stretch each channel to the full range (``ImageOps.autocontrast``, cutoff 0)."""
    return ImageOps.autocontrast(img) if _is_pil(img) else _autocontrast_t(img)


def equalize(img: ImageLike, _: Magnitude | None = None) -> ImageLike:
    """Histogram-equalise each channel (``ImageOps.equalize``)."""
    return ImageOps.equalize(img) if _is_pil(img) else _equalize_t(img)


def posterize(img: ImageLike, bits: Magnitude) -> ImageLike:
    """Keep the ``bits`` most significant bits of each channel."""
    if not _is_pil(img):
        return _posterize_t(img, bits)
    if int(bits) < 1:  # old Pillow's mask arithmetic gave black; new Pillow refuses 0 bits
        return Image.new(img.mode, img.size)
    return ImageOps.posterize(img, int(bits))


def solarize(img: ImageLike, threshold: Magnitude) -> ImageLike:
    """Invert every value at or above ``threshold`` (on the 0-255 scale)."""
    return ImageOps.solarize(img, int(threshold)) if _is_pil(img) else _solarize_t(img, threshold)


def rotate(img: ImageLike, degrees: Magnitude) -> ImageLike:
    """Rotate counter-clockwise by ``degrees`` about the centre, bilinear, black fill."""
    if _is_pil(img):
        return img.rotate(float(degrees), resample=Image.BILINEAR)
    return _geometric_op("rotate")(img, degrees)


def _pil_affine(img: Image.Image, coeffs: tuple[float, ...]) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, coeffs, resample=Image.BILINEAR)


def shear_x(img: ImageLike, factor: Magnitude) -> ImageLike:
    """Horizontal shear: the output pixel (x, y) samples (x + factor*y, y)."""
    if _is_pil(img):
        return _pil_affine(img, (1, float(factor), 0, 0, 1, 0))
    return _geometric_op("shear_x")(img, factor)


def shear_y(img: ImageLike, factor: Magnitude) -> ImageLike:
    """Vertical shear: the output pixel (x, y) samples (x, y + factor*x)."""
    if _is_pil(img):
        return _pil_affine(img, (1, 0, 0, float(factor), 1, 0))
    return _geometric_op("shear_y")(img, factor)


def translate_x(img: ImageLike, pixels: Magnitude) -> ImageLike:
    """The output pixel (x, y) samples (x + pixels, y): content moves left for pixels > 0."""
    if _is_pil(img):
        return _pil_affine(img, (1, 0, float(pixels), 0, 1, 0))
    return _geometric_op("translate_x")(img, pixels)


def translate_y(img: ImageLike, pixels: Magnitude) -> ImageLike:
    """The output pixel (x, y) samples (x, y + pixels): content moves up for pixels > 0."""
    if _is_pil(img):
        return _pil_affine(img, (1, 0, 0, 0, 1, float(pixels)))
    return _geometric_op("translate_y")(img, pixels)


def color(img: ImageLike, factor: Magnitude) -> ImageLike:
    """Saturation: blend with the greyscale image (``ImageEnhance.Color``)."""
    if _is_pil(img):
        return ImageEnhance.Color(img).enhance(float(factor))
    return _enhance("color", img, factor)


def contrast(img: ImageLike, factor: Magnitude) -> ImageLike:
    """Blend with the mean grey level (``ImageEnhance.Contrast``)."""
    if _is_pil(img):
        return ImageEnhance.Contrast(img).enhance(float(factor))
    return _enhance("contrast", img, factor)


def brightness(img: ImageLike, factor: Magnitude) -> ImageLike:
    """Blend with black (``ImageEnhance.Brightness``)."""
    if _is_pil(img):
        return ImageEnhance.Brightness(img).enhance(float(factor))
    return _enhance("brightness", img, factor)


def sharpness(img: ImageLike, factor: Magnitude) -> ImageLike:
    """Blend with the 3x3-smoothed image (``ImageEnhance.Sharpness``)."""
    if _is_pil(img):
        return ImageEnhance.Sharpness(img).enhance(float(factor))
    return _enhance("sharpness", img, factor)


# Each op of the table (``ops.OP_SPECS``) is the function of its name above.
NAME_TO_OP: dict[str, Callable[..., ImageLike]] = {name: globals()[name] for name in OP_SPECS}

__all__ = list(NAME_TO_OP) + ["NAME_TO_OP", "affine", "affine_matrix"]
