"""Applying sampled AugMix parameters: deterministic given ``AugMixParams``.

Two back-ends with one meaning:

* ``apply_pil`` follows the reference's ``aug()`` (google-research/augmix ``cifar.py``)
  step by step on one PIL image: each chain is a sequence of PIL ops, the chains and
  the original are preprocessed to float tensors and mixed convexly.
* ``apply_tensor`` does the same for a batch ``[B, C, H, W]`` (uint8 or float, any
  device) with different ops per image. Its ``"torch"`` back-end advances all
  ``B * width`` chains one step at a time (the geometric ops of a step share one fused
  affine resampling, the other ops run once per op on the images that drew them); for a
  uint8 batch on the CPU the default picks the compiled ``"kernel"`` back-end
  (``augment.compiled``), which walks each image through its chains with Pillow's own
  arithmetic and is both faster and exact. On a GPU the default is the ``"graph"``
  back-end (``augment.graph``): the same arithmetic on every chain with masks, so a
  batch never waits for the host and compiles as one graph.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Literal

import torch
from PIL import Image
from torchvision.transforms.functional import pil_to_tensor

from augmix.augment import functional as Fn
from augmix.augment.ops import OP_SPECS, op_arg
from augmix.augment.sampler import AugMixParams, params_to_device


def to_float(img: Image.Image | torch.Tensor) -> torch.Tensor:
    """``ToTensor()`` semantics: PIL/uint8 -> float32 in [0, 1]; float tensors unchanged."""
    if isinstance(img, Image.Image):
        img = pil_to_tensor(img)
    if img.dtype == torch.uint8:
        return img.to(torch.float32).div_(255)
    return img


def pil_chains(img: Image.Image, params: AugMixParams) -> list[Image.Image]:
    """The augmented chains of one PIL image (batch size 1), before mixing."""
    if params.batch_size != 1:
        raise ValueError(f"PIL parameters are for one image, got {params.batch_size}")
    ops, levels, signs = params.ops[0].tolist(), params.levels[0].tolist(), params.signs[0].tolist()
    depths = params.depths[0].tolist()
    chains = []
    for i in range(params.width):
        aug = img.copy()
        for d in range(depths[i]):
            name = params.op_names[ops[i][d]]
            aug = Fn.NAME_TO_OP[name](aug, op_arg(name, levels[i][d], signs[i][d], img.height, img.width))
        chains.append(aug)
    return chains


def _kernel_takes(img: Image.Image, params: AugMixParams) -> bool:
    """Whether the compiled kernel serves this PIL image: RGB or grey, one image's parameters."""
    return img.mode in ("RGB", "L") and params.batch_size == 1


def kernel_chains(img: Image.Image, params: AugMixParams) -> list[Image.Image] | None:
    """``pil_chains`` computed by the compiled kernel (Pillow's arithmetic: the same bytes, held
    by ``tests/test_compiled.py``), for RGB and grey images; None for other modes."""
    if not _kernel_takes(img, params):
        return None
    from augmix.augment import compiled

    chains = compiled.chains_uint8(pil_to_tensor(img).unsqueeze(0), params)[0]
    return [Image.fromarray(c[0] if img.mode == "L" else c.transpose(1, 2, 0), img.mode) for c in chains]


def apply_pil(
    img: Image.Image,
    params: AugMixParams,
    preprocess: Callable[[Image.Image], torch.Tensor] = to_float,
    kernel: bool = True,
) -> torch.Tensor:
    """AugMix of one PIL image with parameters ``params`` (batch size 1).

    Mixing happens after ``preprocess`` (e.g. ToTensor + Normalize); the mix is convex,
    so preprocessing commutes with it, as the reference notes. ``kernel``: the chains come
    from the compiled kernel (RGB and grey images), whose bytes are Pillow's, so the result is
    the same to the bit; ``False`` runs Pillow's ops themselves, as the reference does.
    """
    if kernel and preprocess is to_float and _kernel_takes(img, params):
        from augmix.augment import compiled  # the default preprocess: chains and mix compiled, the same bits

        return compiled.augmix_to_float(pil_to_tensor(img), params)
    weights = params.chain_weights[0]
    mix = None
    chains = (kernel_chains(img, params) if kernel else None) or pil_chains(img, params)
    for i, aug in enumerate(chains):
        term = weights[i] * preprocess(aug)
        mix = term if mix is None else mix + term
    m = params.mix_weights[0]
    return (1 - m) * preprocess(img) + m * mix


def apply_chains(x: torch.Tensor, params: AugMixParams) -> torch.Tensor:
    """The augmented chains ``[B, width, C, H, W]`` (same dtype as ``x``) before mixing."""
    b, c, h, w = params.check_batch(x)
    width, depth = params.width, params.ops.shape[2]
    dev = x.device
    ops = params.ops.reshape(b * width, depth).to(dev)
    args = params.args(h, w).reshape(b * width, depth).to(dev)
    active = params.active().reshape(b * width, depth).to(dev)
    chains = x.unsqueeze(1).expand(b, width, c, h, w).reshape(b * width, c, h, w).clone()
    geometric = torch.tensor([OP_SPECS[n].geometric for n in params.op_names], device=dev)
    for step in range(depth):
        op, arg, on = ops[:, step], args[:, step], active[:, step]
        geo = on & geometric[op]
        if geo.any():
            idx = geo.nonzero().squeeze(1)
            mats = torch.empty(idx.numel(), 6, dtype=torch.float64, device=dev)
            for k, name in enumerate(params.op_names):
                if OP_SPECS[name].geometric:
                    sel = op[idx] == k
                    if sel.any():
                        mats[sel] = Fn.affine_matrix(name, arg[idx][sel], h, w)
            chains.index_copy_(0, idx, Fn.affine(chains.index_select(0, idx), mats))
        for k, name in enumerate(params.op_names):
            if OP_SPECS[name].geometric:
                continue
            sel = on & (op == k)
            if sel.any():
                idx = sel.nonzero().squeeze(1)
                out = Fn.NAME_TO_OP[name](chains.index_select(0, idx), arg[idx])
                chains.index_copy_(0, idx, out)
    return chains.reshape(b, width, c, h, w)


def mix(x: torch.Tensor, chains: torch.Tensor, params: AugMixParams) -> torch.Tensor:
    """Convex AugMix mixture in float32: ``(1 - m) x + m * sum_i w_i chain_i``.

    uint8 views are scaled to [0, 1] through the weights (``ToTensor``'s division folded
    into the mixing coefficients).
    """
    b = x.shape[0]
    dev = x.device
    m = params_to_device(params.mix_weights, dev).view(b, 1, 1, 1)
    w = params_to_device(params.chain_weights, dev).view(b, -1, 1, 1, 1) * m.unsqueeze(1)
    scale = 1 / 255 if x.dtype == torch.uint8 else 1.0
    out = x.to(torch.float32).mul_((1 - m) * scale)
    for i in range(chains.shape[1]):
        out.addcmul_(chains[:, i].to(torch.float32), w[:, i] * scale)
    return out.clamp_(0, 1)


Backend = Literal["auto", "kernel", "torch", "graph"]
BACKENDS: tuple[str, ...] = typing.get_args(Backend)


def check_images(x: torch.Tensor, read_values: bool = True) -> torch.Tensor:
    """A batch the ops take, checked once at the edge: [B, C, H, W], uint8 (0-255) or float in
    [0, 1] (float64 and float16 are computed in float32). A channels-last batch is refused, not
    taken as one of H channels; with ``read_values``, on the CPU, so is a float batch holding
    0-255 values (it would be clipped to white). The sync-free path reads no values: on an
    accelerator that would make the host wait."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected a batch [B, C, H, W], got {shape}")
    if x.shape[1] not in (1, 3, 4) and x.shape[-1] in (1, 3, 4):
        raise ValueError(f"expected images [B, C, H, W], got shape {tuple(x.shape)}: channels last? use "
                         "x.permute(0, 3, 1, 2)")
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise ValueError(f"expected uint8 (0-255) or float (0-1) images, got {x.dtype}")
    if x.is_floating_point() and x.dtype != torch.float32:
        x = x.float()
    if read_values and x.is_floating_point() and x.device.type == "cpu" and x.numel():
        lo, hi = float(x.min()), float(x.max())
        if not (0.0 <= lo and hi <= 1.0):
            raise ValueError(f"float images must hold values in [0, 1], found {lo:g} to {hi:g}: divide 0-255 values "
                             "by 255, or pass uint8")
    return x


def apply_tensor(x: torch.Tensor, params: AugMixParams, backend: Backend = "auto") -> torch.Tensor:
    """AugMix of a batch ``[B, C, H, W]`` with per-image parameters; float32 in [0, 1].

    ``backend``: ``"kernel"`` (compiled; uint8 on the CPU only; Pillow-exact chains),
    ``"torch"`` (any dtype and device; chains grouped by op, fastest off the kernel on a
    CPU), ``"graph"`` (the same results without host synchronisation, for GPUs and
    ``torch.compile``), or ``"auto"``: the kernel where it applies, else ``"graph"`` on
    an accelerator and ``"torch"`` on the CPU.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    x = check_images(x, read_values=backend != "graph")
    if x.shape[0] == 0:
        return torch.empty(x.shape, dtype=torch.float32, device=x.device)
    if backend in ("auto", "kernel"):
        from augmix.augment import compiled  # numba: imported, and compiled, on first use

        if backend == "kernel" or compiled.fits(x):
            return compiled.augmix_uint8(x, params)  # refuses what it cannot take, naming backend='torch'
    if backend == "graph" or (backend == "auto" and x.device.type != "cpu"):
        from augmix.augment.graph import apply_chains_graph

        return mix(x, apply_chains_graph(x, params), params)
    return mix(x, apply_chains(x, params), params)
