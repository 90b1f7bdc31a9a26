"""Writing -C and -C-bar datasets in the released on-disk layouts: parallel, deterministic,
resumable. The generator takes images - arrays, or items that load themselves (``.load()``)
- and writes them; where images come from is ``augmix.data``'s business (``augmix.generation``
joins the two).

* CIFAR-C layout (CIFAR-10-C, CIFAR-100-C): ``OUT/<corruption>.npy`` uint8
  ``[S*N, 32, 32, 3]``, severity-major (rows ``0..N-1`` are severity 1, ...), and
  ``OUT/labels.npy`` ``[S*N]`` uint8; ``OUT/meta.json`` records what was generated.
* ImageNet-C layout: ``OUT/<corruption>/<severity>/<class>/<file>.JPEG`` from class-folder
  items, after the published preprocessing (Resize(256), CenterCrop(224) for ImageNet;
  Resize((64, 64)) for Tiny-ImageNet), saved as JPEG quality 85, optimize=True.

Every unit of work has its own random stream keyed by names (``augmix.seeding``): (seed,
benchmark, corruption, severity, chunk) in the CIFAR layout, (seed, benchmark, corruption,
severity, class/file) in the ImageNet layout. Results depend neither on the number of
processes nor on the order of any table or folder listing. Finished units are files written
atomically; a rerun skips them, after checking that the folder was made with the same
settings and seeding scheme.

``reference_stream=True`` writes instead what the published ``make_*_c.py`` scripts write
after ``np.random.seed(seed)`` before each corruption: one ``RandomState(seed)`` per
corruption, drawn through its severities and then its images in order, one image at a time
(``corrupt`` with a ``RandomState``). A corruption is then the unit of work.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from augmix import seeding
from augmix.corruptions.functional import corrupt
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
from augmix.generation.config import GenerateConfig
from augmix.io import (
    COMPLETE,
    image_is_whole,
    is_valid_npy,
    mark_complete,
    merge_meta,
    require_files,
    save_image,
    save_npy,
)
from augmix.results import Subset
from augmix.workers import barrier, claim_output, is_main, run, shared, write_meta

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


def _config(out_or_config, names, severities, fields: dict) -> GenerateConfig:
    """``GenerateConfig.resolve``; keyword callers naming only -C-bar corruptions get the -C-bar benchmark."""
    bench = "c-bar" if names and all(n in CBAR_ALL for n in names) else "c"
    if not isinstance(out_or_config, GenerateConfig):
        fields = {**fields, "severities": tuple(severities)}
    return GenerateConfig.resolve(out_or_config, bench, names, **fields)


def names_for(config: GenerateConfig, size: int) -> list[str]:
    """The corruptions to write at ``size`` px, each checked against its published table before
    anything is written."""
    if config.names:
        names = list(config.names)
    elif config.benchmark == "c":
        names = list(ALL if config.extra else BENCHMARK)
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


def _cifar_unit(args: tuple[str, int, int, int, str, str | None]) -> int:
    corruption, severity, unit, seed, part, device = args
    out = corrupt_unit(shared(), corruption, severity, seed, unit, device)
    save_npy(Path(part), out)
    return len(out)


def _cifar_reference_unit(args: tuple[str, list[int], int, str]) -> int:
    corruption, severities, seed, path = args
    images = shared()
    stream = np.random.RandomState(seed)
    save_npy(Path(path), np.concatenate([corrupt(images, corruption, s, seed=stream) for s in severities]))
    return len(images) * len(severities)


def _check_arrays(out: Path, names: Sequence[str], shape: tuple[int, ...]) -> None:
    """The one check that the assembled CIFAR-layout set is complete."""
    bad = [c for c in names if not is_valid_npy(out / f"{c}.npy", shape)]
    if bad:
        raise ValueError(f"{out / (bad[0] + '.npy')} is missing or incomplete after the run; run the same command "
                         "again to complete the set")


def generate_cifar_c(images: np.ndarray, labels: np.ndarray, out: str | Path | GenerateConfig,
                     corruptions: Sequence[str] | None = None, severities: Sequence[int] = (1, 2, 3, 4, 5), *,
                     source: str = "", subset: Subset | None = None, **fields) -> Path:
    """Write a CIFAR-C style dataset of ``images`` (uint8 [N, H, W, 3]) and ``labels``.

    ``out``: a ``GenerateConfig``, or the output folder with the config's fields as keywords
    (``seed``, ``workers``, ``progress``, ``reference_stream``). ``subset``: which images of
    the test split these are (recorded in meta.json, so evaluation can check it).
    """
    config = _config(out, corruptions, severities, fields)
    with contextlib.ExitStack() as claim:
        images = np.ascontiguousarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images [N, H, W, 3], got {images.dtype} {images.shape}")
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        names = names_for(config, images.shape[1])
        out = claim_output(config.out, claim)
        n, sevs, seed = len(images), list(config.severities), config.seed
        mode = config.mode
        meta = {"layout": "cifar-c", "severities": sevs, "n_per_severity": n, "seed": seed, "mode": mode,
                "seeding": config.seeding, "subset": subset and subset.as_meta(), "image_size": list(images.shape[1:3]),
                "source": source, "chunk": CHUNK}
        keys = ("severities", "n_per_severity", "seed", "image_size", "mode", "seeding", "subset")
        meta = merge_meta(out, meta, keys, "corruptions", names, "a -C set",
                          defaults={"mode": "batched", "subset": None})
        write_meta(out, meta)
        if is_main():
            label_dtype = np.uint8 if labels.max() < 256 else np.int64
            save_npy(out / "labels.npy", np.tile(np.asarray(labels, dtype=label_dtype), len(sevs)))

        shape = (len(sevs) * n, *images.shape[1:])
        workers = config.processes
        if config.reference_stream:
            todo = [(c, sevs, seed, str(out / f"{c}.npy")) for c in names if not is_valid_npy(out / f"{c}.npy", shape)]
            barrier()  # every rank has listed the same work before any is done
            with tqdm(total=len(todo) * n * len(sevs), unit="img", desc=f"corrupting {n} images (reference stream)",
                      disable=not config.progress) as bar:
                run(_cifar_reference_unit, todo, workers, bar, images)
            if is_main():
                _check_arrays(out, names, shape)
            return out
        units = (n + CHUNK - 1) // CHUNK
        device = config.rank_device() if config.device is not None else None
        if device is not None:  # one process drives the device
            workers = 1
        todo, pending = [], []
        for corruption in names:
            if is_valid_npy(out / f"{corruption}.npy", shape):
                continue
            pending.append(corruption)
            parts = out / ".parts" / corruption
            parts.mkdir(parents=True, exist_ok=True)
            for severity in sevs:
                for unit in range(units):
                    part = parts / f"s{severity}_{unit:05d}.npy"
                    if not part.exists():
                        todo.append((corruption, severity, unit, seed, str(part), device))
        total = sum(min(CHUNK, n - task[2] * CHUNK) for task in todo)
        barrier()  # every rank has listed the same work before any is done
        with tqdm(total=total, unit="img", desc=f"corrupting {n} images", disable=not config.progress) as bar:
            run(_cifar_unit, todo, workers, bar, images)
        if not is_main():  # rank 0 assembles and checks what all ranks made
            return out
        for corruption in pending:  # assemble severity-major, then drop the parts
            parts = [out / ".parts" / corruption / f"s{s}_{u:05d}.npy" for s in sevs for u in range(units)]
            require_files(parts)
            save_npy(out / f"{corruption}.npy", np.concatenate([np.load(p) for p in parts]))
            shutil.rmtree(out / ".parts" / corruption)
        shutil.rmtree(out / ".parts", ignore_errors=True)
        _check_arrays(out, names, shape)
        return out


    # --------------------------------------------------------------------- ImageNet layout

def preprocess(img: Image.Image, size: int) -> Image.Image:
    """The published preprocessing: ImageNet Resize(256) + CenterCrop(224); Tiny Resize((64, 64))."""
    import torchvision.transforms.functional as TF

    if size == 224:
        img = TF.resize(img, IMAGENET_PREPROCESS["resize"])
        return TF.center_crop(img, IMAGENET_PREPROCESS["center_crop"])
    if size == 64:
        return TF.resize(img, list(TINYIMAGENET_PREPROCESS["resize"]))
    raise ValueError(f"no published preprocessing for size {size}; use 224 (ImageNet) or 64 (Tiny-ImageNet)")


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
    rng = _stream(_benchmark_of(corruption), seed, corruption, severity, name)
    return corrupt(img, corruption, severity, seed=rng)


def jpeg_roundtrip(arr: np.ndarray) -> np.ndarray:
    """``arr`` as it reads back from the released sets' JPEG (quality 85, optimize): the last step
    of ImageNet-C, whose effect on error is known to matter."""
    import io as _io

    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", **IMAGENET_JPEG)
    buf.seek(0)
    with Image.open(buf) as img:
        return np.array(img.convert("RGB"))


def _folder_unit(args) -> int:
    """Every (corruption, severity) still to do for a few source images, each decoded and
    resized once (not once per output, 75 times for a full set)."""
    items, names, pairs, seed, size, out = args
    for item, name in zip(items, names, strict=True):
        img = None
        for corruption, severity in pairs:
            target = Path(out) / corruption / str(severity) / name
            if target.exists() and image_is_whole(target):  # a killed run's files are checked, not trusted
                continue
            if img is None:
                img = np.asarray(preprocess(item.load(), size))
            arr = corrupt_prepared(img, name, corruption, severity, seed)
            save_image(Image.fromarray(arr), target, "JPEG", **IMAGENET_JPEG)
    return len(items) * len(pairs)


def corrupt_device_batch(images, batch: int, corruption: str, severity: int, seed: int) -> np.ndarray:
    """Batch ``batch`` (source images ``batch * DEVICE_BATCH ...``, preprocessed, on the device as
    ``images_to_device`` puts them) of an ImageNet-layout set as ``augmix corrupt --device`` makes it,
    before the JPEG save (uint8 [N, H, W, 3])."""
    gen = torch_stream("c", seed, corruption, severity, f"batch {batch}", str(images.device))
    return _on_device(images, corruption, severity, gen)


def _folder_device_unit(args) -> int:
    """Every (corruption, severity) still to do for one batch of source images on a device: the
    batch decoded once (threads), corrupted per pair by the torch back-end, written as the released
    JPEGs by a thread pool (Pillow's encoder releases the GIL) while the device works on."""
    from concurrent.futures import ThreadPoolExecutor

    items, names, pairs, seed, size, out, batch, device, threads = args
    targets = {(c, s): [Path(out) / c / str(s) / name for name in names] for c, s in pairs}
    todo = [pair for pair, paths in targets.items()
            if not all(t.exists() and image_is_whole(t) for t in paths)]  # a killed run's files are checked
    if not todo:
        return len(items) * len(pairs)
    with ThreadPoolExecutor(threads) as pool:
        x = images_to_device(np.stack(list(pool.map(lambda item: np.asarray(preprocess(item.load(), size)), items))),
                      device)  # once for all its outputs
        writes = []
        for corruption, severity in todo:
            made = corrupt_device_batch(x, batch, corruption, severity, seed)
            for arr, target in zip(made, targets[corruption, severity], strict=True):
                writes.append(pool.submit(save_image, Image.fromarray(arr), target, "JPEG", **IMAGENET_JPEG))
        for write in writes:
            write.result()
    return len(items) * len(pairs)


def _folder_reference_unit(args) -> int:
    items, names, corruption, severities, seed, size, out = args
    stream = np.random.RandomState(seed)
    for severity in severities:  # the stream runs through every image, so nothing is skipped
        for item, name in zip(items, names, strict=True):
            arr = corrupt(np.asarray(preprocess(item.load(), size)), corruption, severity, seed=stream)
            save_image(Image.fromarray(arr), Path(out) / corruption / str(severity) / name, "JPEG", **IMAGENET_JPEG)
    return len(items) * len(severities)


def generate_folder_c(items: Sequence, out: str | Path | GenerateConfig, corruptions: Sequence[str] | None = None,
                      severities: Sequence[int] = (1, 2, 3, 4, 5), *, source: str = "",
                      subset: Subset | None = None, **fields) -> Path:
    """Write an ImageNet-C style tree of ``items`` (each with ``.load()`` -> PIL image, ``.cls``,
    ``.relative`` and ``.path``, e.g. ``augmix.data.images.walk_image_tree(root).images``).

    ``reference_stream``: the published generator's random stream, one process per
    corruption and images in the published loader's order (the published ImageNet script
    ran 4 DataLoader workers, each with its own copy of numpy's state; see docs/PARITY.md).
    """
    config = _config(out, corruptions, severities, fields)
    with contextlib.ExitStack() as claim:
        size = config.size
        preprocess(Image.new("RGB", (8, 8)), size)  # validate size early
        names = names_for(config, size)
        items = list(items)
        if not items:
            raise ValueError("no images to corrupt")
        out_names = check_output_names(items)
        out = claim_output(config.out, claim)
        mode = config.mode
        meta = {"layout": "imagenet-c", "severities": list(config.severities), "size": size, "seed": config.seed,
                "mode": mode, "seeding": config.seeding, "subset": subset and subset.as_meta(), "source": source,
                "images": len(items)}
        meta = merge_meta(out, meta, ("size", "seed", "mode", "seeding", "subset", "images"), "corruptions", names,
                          "a -C tree", defaults={"mode": "batched", "subset": None}, accumulate=("severities",))
        meta["complete_markers"] = True  # each finished <corruption>/<severity> folder holds COMPLETE
        write_meta(out, meta)  # before any image: a rerun checks these settings
        sevs = list(config.severities)
        todo = [(c, s) for c in names for s in sevs if not (out / c / str(s) / COMPLETE).exists()]
        per_task = 4  # source images per task: each task does all their outputs (75 each for a full -C)
        workers = config.processes
        if config.reference_stream:  # one stream per corruption runs through all its severities: redo them all
            redo = list(dict.fromkeys(c for c, _ in todo))
            todo = [(c, s) for c in redo for s in sevs]
            unit = _folder_reference_unit
            tasks = [(items, out_names, c, sevs, config.seed, size, str(out)) for c in redo]
        elif config.device is not None:  # batches of DEVICE_BATCH images (their streams' unit), one process
            unit, workers = _folder_device_unit, 1
            tasks = [(items[i:i + DEVICE_BATCH], out_names[i:i + DEVICE_BATCH], todo, config.seed, size, str(out),
                      i // DEVICE_BATCH, config.rank_device(), config.processes)
                     for i in range(0, len(items), DEVICE_BATCH)]
        else:
            unit = _folder_unit
            # few images: split their outputs too, so that every worker has work
            chunks = -(-len(items) // per_task)
            groups = min(len(todo), max(1, -(-4 * config.processes // chunks))) or 1
            parts = [todo[g::groups] for g in range(groups)]
            tasks = [(items[i:i + per_task], out_names[i:i + per_task], part, config.seed, size, str(out))
                     for i in range(0, len(items), per_task) for part in parts]
        barrier()  # every rank has listed the same work before any is done
        with tqdm(total=len(items) * len(todo), unit="img", desc="corrupting", disable=not config.progress) as bar:
            run(unit, tasks, workers, bar)
        if not is_main():  # rank 0 checks what all ranks made
            return out
        for c, s in todo:
            mark_complete(out / c / str(s), out_names)
        return out


__all__ = ["CHUNK", "DEVICE_BATCH", "corrupt_arrays", "corrupt_device_batch", "generate_cifar_c", "generate_folder_c",
           "names_for", "preprocess", "images_to_device"]
