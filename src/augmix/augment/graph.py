"""AugMix chains without host synchronisation: one fixed-shape stream of kernels per batch.

``apply.apply_chains`` groups the chains by op at every step (``nonzero``, ``any``), which
is the fastest way on a CPU but makes a GPU wait for the host at every op and step and
breaks ``torch.compile`` graphs. Here every step runs on *all* chains with per-chain
parameters and keeps each chain's own result by masks:

* the rotate and shear ops are one bilinear affine resampling with per-chain matrices
  (identity for the other chains); the translations, whole pixels in AugMix, are one
  nearest-neighbour resampling, which is exact;
* on uint8 images the four point ops (autocontrast, equalize, posterize, solarize) are
  one per-chain lookup table [C, 256] and a single gather;
* the enhance ops (``all_ops``) are one blend with a per-chain degenerate image.

The arithmetic is ``functional``'s, so results equal the grouped path's (tested), and the
shapes never depend on the data: a batch is one graph, with no ``.item()``,
``.nonzero()`` or boolean indexing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from augmix.augment import functional as Fn
from augmix.augment.ops import ops_in
from augmix.augment.sampler import AugMixParams, params_to_device

_BILINEAR, _TRANSLATE, _POINT, _ENHANCE = (ops_in(f) for f in ("bilinear", "translate", "point", "enhance"))


def _selected(mask: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, 1, 1, 1)


def _translate(src: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """Whole-pixel translation of float32 ``src`` with black fill: output (x, y) = input (x + dx, y + dy).

    Nearest-neighbour sampling at pixel centres offset by whole pixels picks exactly the
    source pixel (float32 error ~1e-3 px is far from the 0.5 px rounding boundary).
    """
    n, _, h, w = src.shape
    dev = src.device
    xs = (torch.arange(w, device=dev, dtype=torch.float32) + 0.5).view(1, 1, w)
    ys = (torch.arange(h, device=dev, dtype=torch.float32) + 0.5).view(1, h, 1)
    grid = torch.empty(n, h, w, 2, device=dev, dtype=torch.float32)
    grid[..., 0] = (xs + dx.to(torch.float32).view(n, 1, 1)) * (2.0 / w) - 1
    grid[..., 1] = (ys + dy.to(torch.float32).view(n, 1, 1)) * (2.0 / h) - 1
    return F.grid_sample(src, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def _geometric(chains: torch.Tensor, src: torch.Tensor, names: tuple[str, ...], op: torch.Tensor,
               arg: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """Rotate/shear (bilinear, as ``functional.affine``) and translate (exact), float32."""
    n, _, h, w = src.shape
    bilinear = [k for k, name in enumerate(names) if name in _BILINEAR]
    shifts = [k for k, name in enumerate(names) if name in _TRANSLATE]
    hit = torch.zeros_like(on)
    out = src
    if shifts:
        zero = torch.zeros_like(arg)
        dx, dy = zero, zero
        for k in shifts:
            sel = on & (op == k)
            if names[k] == "translate_x":
                dx = torch.where(sel, arg, dx)
            else:
                dy = torch.where(sel, arg, dy)
            hit = hit | sel
        out = _translate(src, dx, dy)
    if bilinear:
        mats = torch.tensor([1.0, 0, 0, 0, 1, 0], dtype=torch.float64, device=src.device).expand(n, 6)
        tilt = torch.zeros_like(on)
        for k in bilinear:
            sel = on & (op == k)
            mats = torch.where(sel.view(-1, 1), Fn.affine_matrix(names[k], arg, h, w), mats)
            tilt = tilt | sel
        resampled = Fn.round_affine(Fn.sample_affine(src, mats), chains.dtype == torch.uint8)
        out = torch.where(_selected(tilt), resampled, out)
        hit = hit | tilt
    return torch.where(_selected(hit), out.to(chains.dtype), chains)


def _point_luts(name: str, codes: torch.Tensor, index: torch.Tensor, arg: torch.Tensor) -> torch.Tensor:
    """The lookup tables int64 [N * C, 256] that ``functional``'s uint8 point op applies."""
    n, c = codes.shape[:2]
    dev = codes.device
    values = torch.arange(256, device=dev, dtype=torch.int64).expand(n * c, 256)
    if name == "equalize":
        return Fn.equalize_luts(codes, index)
    if name == "autocontrast":  # functional's map, applied to the 256 codes
        scale, offset = (t.reshape(n * c, 1) for t in Fn.autocontrast_map(codes, 255.0))
        return (values.to(torch.float64) * scale + offset).floor_().clamp_(0, 255).to(torch.int64)
    if name == "posterize":
        bits = arg.to(torch.int64).clamp(0, 8).repeat_interleave(c, output_size=n * c).view(-1, 1)
        return values & ((~((1 << (8 - bits)) - 1)) & 0xFF)
    if name == "solarize":
        t = arg.to(torch.float32).repeat_interleave(c, output_size=n * c).view(-1, 1)
        t8 = t.clamp(0, 255).to(torch.int64)
        return torch.where((values >= t8) & (t <= 255), 255 - values, values)
    raise ValueError(f"{name!r} is not a point op")


def _point(chains: torch.Tensor, names: tuple[str, ...], op: torch.Tensor, arg: torch.Tensor,
           on: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    point = [k for k, name in enumerate(names) if name in _POINT]
    if not point:
        return out
    if chains.dtype != torch.uint8:  # float images: each op on every chain, kept by mask
        for k in point:
            sel = on & (op == k)
            out = torch.where(_selected(sel), Fn.NAME_TO_OP[names[k]](chains, arg), out)
        return out
    n, c, h, w = chains.shape
    index = chains.reshape(n * c, h * w).long()
    luts = torch.arange(256, device=chains.device, dtype=torch.int64).expand(n * c, 256)
    hit = torch.zeros_like(on)
    for k in point:
        sel = on & (op == k)
        luts = torch.where(sel.repeat_interleave(c, output_size=n * c).view(-1, 1),
                           _point_luts(names[k], chains, index, arg), luts)
        hit = hit | sel
    mapped = luts.to(torch.uint8).gather(1, index).view(n, c, h, w)
    return torch.where(_selected(hit), mapped, out)


def _enhance(chains: torch.Tensor, src: torch.Tensor, names: tuple[str, ...], op: torch.Tensor,
             arg: torch.Tensor, on: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    enhance = [k for k, name in enumerate(names) if name in _ENHANCE]
    if not enhance:
        return out
    exact = chains.dtype == torch.uint8
    deg = torch.zeros_like(src)
    hit = torch.zeros_like(on)
    for k in enhance:
        sel = on & (op == k)
        deg = torch.where(_selected(sel), Fn.degenerate(names[k], src, exact), deg)
        hit = hit | sel
    blended = Fn.blend(deg, src, arg.to(torch.float32).view(-1, 1, 1, 1), chains)
    return torch.where(_selected(hit), blended, out)


def chain_steps(chains: torch.Tensor, names: tuple[str, ...], ops: torch.Tensor, args: torch.Tensor,
                active: torch.Tensor) -> torch.Tensor:
    """Run ``[N, C, H, W]`` chains through their steps: ``ops``/``args``/``active`` are [N, depth].

    Pure tensor code with fixed shapes: traceable by ``torch.compile(fullgraph=True)``.
    """
    for step in range(ops.shape[1]):
        op, arg, on = ops[:, step], args[:, step], active[:, step]
        src = chains.to(torch.float32)  # one conversion a step, shared by the resamplings and blends
        out = _geometric(chains, src, names, op, arg, on)
        out = _point(chains, names, op, arg, on, out)
        chains = _enhance(chains, src, names, op, arg, on, out)
    return chains


def apply_chains_graph(x: torch.Tensor, params: AugMixParams) -> torch.Tensor:
    """The augmented chains ``[B, width, C, H, W]``, as ``apply.apply_chains``, sync-free."""
    b, c, h, w = params.check_batch(x)
    width, depth = params.width, params.ops.shape[2]
    dev = x.device
    # The parameters are drawn on the host; one copy each moves them, from pinned memory on CUDA.
    ops = params_to_device(params.ops.reshape(b * width, depth), dev)
    args = params_to_device(params.args(h, w).reshape(b * width, depth), dev)
    active = params_to_device(params.active().reshape(b * width, depth), dev)
    chains = x.unsqueeze(1).expand(b, width, c, h, w).reshape(b * width, c, h, w)
    return chain_steps(chains, params.op_names, ops, args, active).reshape(b, width, c, h, w)
