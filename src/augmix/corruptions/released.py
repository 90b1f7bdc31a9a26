"""How the released -C and -C-bar sets are made, as pure functions of images and named random
streams: the units of work of both layouts and their streams, the published preprocessing,
the output names, and the released JPEG. The writers that put them on disk (claiming the
folder, workers, meta.json) are ``augmix.generation``; on-the-fly evaluation
(``augmix.suite.generated``) calls the same functions, so its images equal a written set's.

* CIFAR-C layout (CIFAR-10-C, CIFAR-100-C): units of ``CHUNK`` images per corruption and
  severity, each with its stream (seed, benchmark, corruption, severity, chunk).
* ImageNet-C layout: one stream per output file (seed, benchmark, corruption, severity,
  class/file), after the published preprocessing (Resize(256), CenterCrop(224) for ImageNet;
  Resize((64, 64)) for Tiny-ImageNet), saved as JPEG quality 85, optimize=True. The torch
  back-end's units are batches of ``DEVICE_BATCH`` source images.

Streams are keyed by names (``augmix.seeding``), never by positions in a table or a listing,
so results depend neither on the number of processes nor on the order of any table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from augmix import seeding
from augmix.corruptions.apply import corrupt
from augmix.corruptions.tables import (
    ALL,
    BENCHMARK,
    C_AND_CBAR,
    CBAR_ALL,
    IMAGENET_JPEG,
    IMAGENET_PREPROCESS,
    TINYIMAGENET_PREPROCESS,
    cbar_table_for,
    table_for,
)

CHUNK = 1000  # images per unit of work in the CIFAR layout (fixes the seeding, keep constant)
DEVICE_BATCH = 64  # source images per unit of the torch back-end in the ImageNet layout (fixes its seeding)


def _stream(benchmark: str, seed: int, corruption: str, severity: int, unit: int | str) -> np.random.Generator:
    return seeding.stream(seed, benchmark, corruption, str(severity), str(unit))


def torch_stream(benchmark: str, seed: int, corruption: str, severity: int, unit: int | str, device: str):
    """The torch generator of one unit of the torch back-end, on ``device``, from the unit's named stream."""
    return seeding.torch_generator(_stream(benchmark, seed, corruption, severity, unit), device)


def images_to_device(x: np.ndarray, device: str):
    """uint8 images [N, H, W, 3] as the torch back-end takes them: [N, 3, H, W] on ``device``."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(x)).to(device).permute(0, 3, 1, 2)


def _on_device(images, corruption: str, severity: int, generator) -> np.ndarray:
    """Images already on the device (``images_to_device``) corrupted by the torch back-end, back as numpy
    uint8 [N, H, W, 3]."""
    from augmix.corruptions.tensor import corrupt_tensor

    return corrupt_tensor(images, corruption, severity, seed=generator).permute(0, 2, 3, 1).cpu().numpy()


def names_for(names: Sequence[str] | None, benchmark: str, extra: bool, size: int) -> list[str]:
    """The corruptions to write at ``size`` px (``names``, or the benchmark's: -C's 15, with
    ``extra`` its 19; the -C-bar table of that size), each checked against its published table
    before anything is written."""
    if names:
        names = list(names)
    elif benchmark == "c":
        names = list(ALL if extra else BENCHMARK)
    else:
        names = list(cbar_table_for(size))
    unknown = [c for c in names if c not in C_AND_CBAR]
    if unknown:
        raise ValueError(f"unknown corruption(s) {', '.join(unknown)}; choose from {', '.join(ALL)} (-C) or "
                         f"{', '.join(CBAR_ALL)} (-C-bar)")
    if any(n in ALL for n in names):
        table_for(size)
    cbar = [n for n in names if n in CBAR_ALL]
    if cbar:
        table = cbar_table_for(size)
        other = [n for n in cbar if n not in table]
        if other:
            raise ValueError(f"{', '.join(other)} is not a {size} px -C-bar corruption; choose from {', '.join(table)}")
    return names


def _benchmark_of(name: str) -> str:
    return "c-bar" if name in CBAR_ALL else "c"


# ------------------------------------------------------------------------ CIFAR layout

def corrupt_unit(images: np.ndarray, corruption: str, severity: int, seed: int, unit: int,
                 device: str | None = None) -> np.ndarray:
    """Unit ``unit`` (images ``unit * CHUNK ...``) of a CIFAR-layout set, exactly as ``augmix corrupt``
    writes it (``device``: as ``--device`` does, with the torch back-end): what ``corrupt_arrays`` and
    on-the-fly evaluation compute too."""
    x = images[unit * CHUNK:(unit + 1) * CHUNK]
    bench = _benchmark_of(corruption)
    if device is not None:
        return _on_device(images_to_device(x, device), corruption, severity,
                          torch_stream(bench, seed, corruption, severity, unit, device))
    return corrupt(x, corruption, severity, seed=_stream(bench, seed, corruption, severity, unit))


def corrupt_arrays(images: np.ndarray, corruption: str, severity: int, seed: int,
                   device: str | None = None) -> np.ndarray:
    """Every image of a CIFAR-layout set at one corruption and severity, in memory: the rows
    ``augmix corrupt`` writes for ``images`` with ``seed`` (and ``--device``; the same chunks and streams)."""
    units = (len(images) + CHUNK - 1) // CHUNK
    return np.concatenate([corrupt_unit(images, corruption, severity, seed, u, device) for u in range(units)])


# --------------------------------------------------------------------- ImageNet layout

def check_preprocess_size(size: int) -> None:
    """Refuse a size without a published preprocessing (before any work)."""
    if size not in (224, 64):
        raise ValueError(f"no published preprocessing for size {size}; use 224 (ImageNet) or 64 (Tiny-ImageNet)")


def preprocess(img: Image.Image, size: int) -> Image.Image:
    """The published preprocessing: ImageNet Resize(256) + CenterCrop(224); Tiny Resize((64, 64)).

    torchvision's transforms of a PIL image, as Pillow calls: ``Resize(256)`` scales the short side
    to 256 and the long one to ``int(256 * long / short)``, bilinear; ``CenterCrop(224)`` starts at
    ``int(round((side - 224) / 2))`` (tests/test_generate.py holds them equal to torchvision's).
    Written with Pillow alone, so that a -C generator's processes need not load torch.
    """
    check_preprocess_size(size)
    if size == 64:
        target = tuple(TINYIMAGENET_PREPROCESS["resize"])[::-1]  # (width, height)
        return img if img.size == target else img.resize(target, Image.BILINEAR)
    short_to, crop = IMAGENET_PREPROCESS["resize"], IMAGENET_PREPROCESS["center_crop"]
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(short_to * long / short)
    target = (short_to, new_long) if w <= h else (new_long, short_to)
    if target != (w, h):
        img = img.resize(target, Image.BILINEAR)
    w, h = img.size  # both >= 256 now
    top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
    return img.crop((left, top, left + crop, top + crop))


def output_name(item, suffix: str | None = None) -> str:
    """Where an item's output goes below ``<corruption>/<severity>`` (or ``<perturbation>``):
    ``<class>/<file>``, with a JPEG ending by default (the released -C sets are JPEGs; a JPEG
    keeps its own) or ``suffix`` (the -P videos' ``.mp4``)."""
    rel = Path(item.relative)
    if suffix is None:
        name = rel.name if rel.suffix.lower() in (".jpg", ".jpeg") else rel.stem + ".JPEG"
    else:
        name = rel.stem + suffix
    return (Path(item.cls) / rel.parent / name).as_posix()


def check_output_names(items: Sequence, out_name=output_name) -> list[str]:
    """The output name of each item; two source files that would land on one name are refused."""
    names = [out_name(i) for i in items]
    seen: dict[str, object] = {}
    for item, name in zip(items, names, strict=True):
        if name in seen:
            raise ValueError(f"{seen[name]} and {item.path} would both be written as {name}; rename one of them")
        seen[name] = item.path
    return names


def corrupt_prepared(img: np.ndarray, name: str, corruption: str, severity: int, seed: int) -> np.ndarray:
    """One source image of an ImageNet-layout set, already preprocessed, corrupted as the default mode
    does before saving it (uint8 [size, size, 3]; the stream is keyed by its output name ``name``)."""
    return corrupt(img, corruption, severity, seed=unit_stream(corruption, severity, name, seed))


def unit_stream(corruption: str, severity: int, name: str, seed: int) -> np.random.Generator:
    """The stream of one output file of a tree (ImageNet layout or ``--keep-size``), keyed by its name."""
    return _stream(_benchmark_of(corruption), seed, corruption, severity, name)


def jpeg_roundtrip(arr: np.ndarray) -> np.ndarray:
    """``arr`` as it reads back from the released sets' JPEG (quality 85, optimize): the last step
    of ImageNet-C, whose effect on error is known to matter."""
    import io as _io

    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", **IMAGENET_JPEG)
    buf.seek(0)
    with Image.open(buf) as img:
        return np.array(img.convert("RGB"))


def corrupt_device_batch(images, batch: int, corruption: str, severity: int, seed: int) -> np.ndarray:
    """Batch ``batch`` (source images ``batch * DEVICE_BATCH ...``, preprocessed, on the device as
    ``images_to_device`` puts them) of an ImageNet-layout set as ``augmix corrupt --device`` makes it,
    before the JPEG save (uint8 [N, H, W, 3])."""
    gen = torch_stream("c", seed, corruption, severity, f"batch {batch}", str(images.device))
    return _on_device(images, corruption, severity, gen)


__all__ = ["CHUNK", "DEVICE_BATCH", "check_output_names", "corrupt_arrays", "corrupt_device_batch", "corrupt_prepared",
           "corrupt_unit", "images_to_device", "jpeg_roundtrip", "names_for", "output_name", "preprocess",
           "torch_stream", "unit_stream"]
