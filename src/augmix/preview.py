"""Picture grids that show what AugMix (and the corruptions) do to real images."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image, ImageDraw

from augmix.augment import functional as Fn
from augmix.augment.apply import apply_pil, pil_chains
from augmix.augment.ops import OP_SPECS, level_to_arg
from augmix.augment.sampler import AugMixConfig, Seed, as_numpy_rng, sample_params

TILE = 128
LABEL_H = 16


def _tile(img: Image.Image | torch.Tensor) -> Image.Image:
    if isinstance(img, torch.Tensor):
        arr = (img.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        img = Image.fromarray(arr)
    scale = max(1, TILE // max(img.size))
    big = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    big.thumbnail((TILE, TILE))
    return big


def grid(rows: Sequence[Sequence[Image.Image | torch.Tensor]],
         labels: Sequence[str] | None = None) -> Image.Image:
    """Paste tiles row by row on a white sheet, with an optional label above each column."""
    ncol = max(len(r) for r in rows)
    top = LABEL_H if labels else 0
    sheet = Image.new("RGB", (ncol * (TILE + 4) + 4, top + len(rows) * (TILE + 4) + 4), "white")
    draw = ImageDraw.Draw(sheet)
    for j, text in enumerate(labels or []):
        draw.text((4 + j * (TILE + 4), 2), text[:22], fill="black")
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            t = _tile(img)
            sheet.paste(t, (4 + j * (TILE + 4), top + 4 + i * (TILE + 4)))
    return sheet


def augmix_grid(images: Sequence[Image.Image], config: AugMixConfig = AugMixConfig(),
                samples: int = 4, seed: Seed = 0) -> Image.Image:
    """One row per image: the original, each chain of one draw, then ``samples`` AugMix results."""
    rng = as_numpy_rng(seed)
    rows = []
    for img in images:
        params = sample_params(1, config, rng)
        chains = pil_chains(img, params)
        mixed = [apply_pil(img, params)] + [
            apply_pil(img, sample_params(1, config, rng)) for _ in range(samples - 1)]
        rows.append([img, *chains, *mixed])
    labels = ["original"] + [f"chain {i + 1}" for i in range(config.width)] + [
        f"augmix {i + 1}" for i in range(samples)]
    return grid(rows, labels)


def ops_grid(image: Image.Image, severities: Sequence[int] = (1, 3, 6, 10),
             all_ops: bool = True) -> Image.Image:
    """Every op (rows) at the largest level of each severity (columns), positive sign."""
    names = AugMixConfig(all_ops=all_ops).ops
    rows = []
    for name in names:
        row = [image]
        for sev in severities:
            level = torch.tensor([float(sev)], dtype=torch.float64)
            arg = level_to_arg(name, level, torch.ones(1), image.height, image.width).item()
            row.append(Fn.NAME_TO_OP[name](image, arg))
        rows.append(row)
    sheet = grid(rows, ["original"] + [f"severity {s}" for s in severities])
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(names):
        kind = " (all-ops)" if OP_SPECS[name].all_ops_only else ""
        draw.text((6, LABEL_H + 6 + i * (TILE + 4)), name + kind, fill="yellow")
    return sheet


def corruption_grid(image: Image.Image, corruptions: Sequence[str] | None = None,
                    seed: int = 0) -> Image.Image:
    """Every corruption (rows) at severities 1-5 (columns), on ``image`` resized to a table size."""
    import numpy as np

    from augmix.corruptions import ALL, corrupt

    size = 32 if min(image.size) < 64 else 64 if min(image.size) < 224 else 224
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
    arr = np.asarray(square)
    names = list(corruptions or ALL)
    rows = [[square] + [Image.fromarray(corrupt(arr, name, s, seed=seed)) for s in range(1, 6)]
            for name in names]
    sheet = grid(rows, ["clean"] + [f"severity {s}" for s in range(1, 6)])
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(names):
        draw.text((6, LABEL_H + 6 + i * (TILE + 4)), name, fill="yellow")
    return sheet
