"""The imagecorruptions package's adaptations to the image size (``anysize.py``) in torch, on any
device: batched over images of one size ``[N, 3, H, W]`` with a ``torch.Generator``, equal to the
package in distribution (the same PSNR tests as numpy's default mode). The twelve corruptions the
package leaves as published are ``tensor.py``'s, which take any height and width.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from augmix.corruptions import anysize, tensor
from augmix.corruptions.tensor import EXACT, Tensor, _bilinear, _const, _fold_symmetric, _rand, _to_255, _unit


def line_blur(x: Tensor, radius: int, sigma: float, angles: list[float]) -> Tensor:
    """The package's motion blur of [N, C, H, W] (float64), one angle per image: its taps, edge
    pixels repeated (a replicated border as wide as the longest tap, then one slice per tap), cut
    where a tap leaves the image."""
    n, c, h, w = x.shape
    out = torch.zeros_like(x, dtype=torch.float64)
    for i, angle in enumerate(angles):
        kernel, offsets = anysize.line_taps(radius, sigma, angle, (h, w))
        pad = int(np.abs(offsets).max()) if len(offsets) else 0
        img = torch.nn.functional.pad(x[i:i + 1].double(), (pad, pad, pad, pad), mode="replicate")[0]
        for k, (dy, dx) in enumerate(offsets.tolist()):
            out[i].add_(img[:, pad - dy:pad - dy + h, pad - dx:pad - dx + w], alpha=float(kernel[k]))
    return out


def _angles(n: int, low: float, high: float, gen: torch.Generator, device) -> list[float]:
    return _rand(n, gen, device, low, high, torch.float64).tolist()  # the taps are laid out on the host


def motion_blur(x, c, gen):
    radius, sigma = c
    return line_blur(x, radius, sigma, _angles(len(x), -45, 45, gen, x.device)).clamp(0, 255)


def clipped_zoom(x: Tensor, zoom_factor: float, shape: tuple[int, int] | None = None) -> Tensor:
    """The package's ``clipped_zoom`` of [N, C, H, W] (each axis from its own centre crop, the
    top-left ``shape`` kept; default all of it): two taps per row and column."""
    h, w = x.shape[-2:]
    full = anysize.zoomed_shape((h, w), zoom_factor)
    oh, ow = shape or full
    (rlo, rhi, rwl, rwh), (clo, chi, cwl, cwh) = (
        [_const(a, x, torch.long if a.dtype.kind == "i" else x.dtype) for a in anysize._axis_taps(s, float(zoom_factor),
                                                                                                 min(o, f))]
        for s, o, f in ((h, oh, full[0]), (w, ow, full[1])))
    y = x.index_select(2, rlo) * rwl.view(-1, 1) + x.index_select(2, rhi) * rwh.view(-1, 1)
    return y.index_select(3, clo) * cwl + y.index_select(3, chi) * cwh


def zoom_blur(x, c, gen):
    start, stop, step = c
    x = _unit(x)
    factors = np.arange(start, stop, step)
    out = torch.zeros_like(x)
    for factor in factors:
        out += clipped_zoom(x, factor, tuple(x.shape[-2:]))
    return _to_255((x + out) / (len(factors) + 1))


def snow(x, c, gen):
    loc, scale, zoom, threshold, radius, sigma, keep = c
    n, _, h, w = x.shape
    x = _unit(x)
    layer = torch.randn((n, 1, h, w), generator=gen, device=x.device, dtype=EXACT) * scale + loc
    layer = clipped_zoom(layer, zoom)  # zoomed, thresholded and blurred at its zoomed size, then cut
    layer = torch.where(layer < threshold, 0, layer).clamp(0, 1)
    layer = line_blur(layer, radius, sigma, _angles(n, -135, -45, gen, x.device))
    layer = (torch.round(layer * 255).clamp(0, 255).floor() / 255.0)[..., :h, :w].float()
    grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)  # cv2 RGB2GRAY
    x = keep * x + (1 - keep) * torch.maximum(x, grey * 1.5 + 0.5)
    return _to_255(x + layer + layer.flip(2, 3))


@functools.lru_cache(maxsize=16)
def frost_covers(shape: tuple[int, int], device: str) -> tuple[Tensor, Tensor]:
    """The six frost photographs as the package scales them for ``shape``, padded into one
    [6, H, W, 3] tensor on ``device``, and their sizes [6, 2]."""
    covers = [anysize.frost_cover(k, shape) for k in range(6)]
    stack = np.zeros((6, max(a.shape[0] for a in covers), max(a.shape[1] for a in covers), 3), dtype=np.uint8)
    for k, a in enumerate(covers):
        stack[k, :a.shape[0], :a.shape[1]] = a
    sizes = np.array([a.shape[:2] for a in covers], dtype=np.int64)
    return torch.from_numpy(stack).to(device), torch.from_numpy(sizes).to(device)


def frost(x, c, gen):
    n, _, h, w = x.shape
    stack, sizes = frost_covers((h, w), str(x.device))
    pick = torch.randint(0, 6, (n,), generator=gen, device=x.device)  # the package draws randint(6)
    room = sizes[pick] - torch.tensor([h, w], device=x.device)
    corner = torch.minimum((_rand((n, 2), gen, x.device, dtype=torch.float64) * room).long(), room - 1)
    yy = corner[:, 0].view(n, 1, 1) + torch.arange(h, device=x.device).view(1, h, 1)
    xx = corner[:, 1].view(n, 1, 1) + torch.arange(w, device=x.device).view(1, 1, w)
    crop = stack[pick.view(n, 1, 1), yy, xx].permute(0, 3, 1, 2).double()
    return (c[0] * x.double() + c[1] * crop).clamp(0, 255)


def fog(x, c, gen):
    n, _, h, w = x.shape
    x = _unit(x, EXACT)
    top = x.amax(dim=(1, 2, 3), keepdim=True)
    mapsize = 1 << (max(h, w, 3) - 1).bit_length()  # next power of two of the longest axis; float32 map
    x = x + c[0] * tensor.plasma_fractal(n, mapsize, c[1], gen, x.device)[:, None, :h, :w]
    return _to_255(x * top / (top + c[0]))


def spatter(x, c, gen):
    return tensor.spatter(x, c, gen, dry_black=True)  # a dry layer of water: the package's black image


def _nearest(size_in: int, size_out: int, device) -> Tensor:
    return torch.from_numpy(anysize.nearest_indices(size_in, size_out)).to(device)


def pixelate(x, c, gen):
    n, _, h, w = x.shape
    y = tensor._pillow_resize_axis(tensor._pillow_resize_axis(x.double(), int(w * c), 3), int(h * c), 2)
    y = y.index_select(3, _nearest(y.shape[3], w, x.device)).index_select(2, _nearest(y.shape[2], h, x.device))
    return y.to(torch.uint8)


def elastic_transform(x, c, gen):
    alpha = c
    n, _, h, w = x.shape
    image = _unit(x)
    max_d = h * 0.005
    fields = _rand((2, n, h, w), gen, x.device, -max_d, max_d, EXACT)
    dx, dy = (tensor._smooth(fields, h * 0.01, 3.0, "reflect", sigma_cols=w * 0.01) * alpha).float()
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device, dtype=torch.float32),
                            torch.arange(w, device=x.device, dtype=torch.float32), indexing="ij")
    return _to_255(_bilinear(image, gy + dy, gx + dx, _fold_symmetric))
