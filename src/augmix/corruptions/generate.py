"""Writing -C datasets in the released on-disk layouts: parallel, deterministic, resumable.

* CIFAR-C layout (CIFAR-10-C, CIFAR-100-C): ``OUT/<corruption>.npy`` uint8
  ``[S*N, 32, 32, 3]``, severity-major (rows ``0..N-1`` are severity 1, ...), and
  ``OUT/labels.npy`` ``[S*N]`` uint8; ``OUT/meta.json`` records what was generated.
* ImageNet-C layout: ``OUT/<corruption>/<severity>/<wnid>/<file>.JPEG`` from an
  ImageFolder tree, after the published preprocessing (Resize(256), CenterCrop(224) for
  ImageNet; Resize((64, 64)) for Tiny-ImageNet), saved as JPEG quality 85, optimize=True.

Every unit of work (a chunk of images for one corruption and severity) has its own seed,
``SeedSequence([seed, corruption, severity, chunk])``, so results do not depend on the number
of processes. Finished units are files written atomically; a rerun skips them.

``reference_stream=True`` writes instead what the published ``make_*_c.py`` scripts write
after ``np.random.seed(seed)`` before each corruption: one ``RandomState(seed)`` per
corruption, drawn through its severities and then its images in order, one image at a time
(``corrupt`` with a ``RandomState``). A corruption is then the unit of work.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

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
)
from augmix.io import (
    atomic_path,
    ensure_writable_dir,
    is_valid_npy,
    merge_meta,
    open_image,
    remove_stale_temps,
    save_npy,
)
from augmix.workers import run, shared

CHUNK = 1000  # images per unit of work in the CIFAR layout (fixes the seeding, keep constant)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".webp")


def _seed(seed: int, corruption: str, severity: int, unit: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, C_AND_CBAR.index(corruption), severity, unit]))


def _check_request(corruptions: Sequence[str], severities: Sequence[int]) -> None:
    unknown = [c for c in corruptions if c not in C_AND_CBAR]
    if unknown:
        raise ValueError(f"unknown corruption(s) {', '.join(unknown)}; choose from {', '.join(ALL)} (-C) or "
                         f"{', '.join(CBAR_ALL)} (-C-bar)")
    bad = [s for s in severities if s not in (1, 2, 3, 4, 5)]
    if bad or not severities:
        raise ValueError(f"severities must be among 1..5, got {list(severities)}")


def _check_tables(names: Sequence[str], size: int) -> None:
    """Refuse, before anything is written, a corruption that has no published table at ``size``."""
    from augmix.corruptions.tables import table_for

    _check_request(names, [1])
    if any(n in ALL for n in names):
        table_for(size)
    cbar = [n for n in names if n in CBAR_ALL]
    if cbar:
        table = cbar_table_for(size)
        other = [n for n in cbar if n not in table]
        if other:
            raise ValueError(f"{', '.join(other)} is not a {size} px -C-bar corruption; choose from {', '.join(table)}")


# ------------------------------------------------------------------------ CIFAR layout

def _cifar_unit(args: tuple[str, int, int, int, str]) -> int:
    corruption, severity, unit, seed, part = args
    x = shared()[unit * CHUNK:(unit + 1) * CHUNK]
    out = corrupt(x, corruption, severity, seed=_seed(seed, corruption, severity, unit))
    save_npy(Path(part), out)
    return len(x)


def _cifar_reference_unit(args: tuple[str, list[int], int, str]) -> int:
    corruption, severities, seed, path = args
    images = shared()
    stream = np.random.RandomState(seed)
    save_npy(Path(path), np.concatenate([corrupt(images, corruption, s, seed=stream) for s in severities]))
    return len(images) * len(severities)


def generate_cifar_c(images: np.ndarray, labels: np.ndarray, out: str | Path,
                     corruptions: Sequence[str] = BENCHMARK, severities: Sequence[int] = (1, 2, 3, 4, 5),
                     seed: int = 0, workers: int | None = None, progress: bool = True,
                     source: str = "", reference_stream: bool = False) -> Path:
    """Write a CIFAR-C style dataset of ``images`` (uint8 [N, H, W, 3]) to ``out``.

    ``reference_stream``: the published generator's random stream (see the module's notes).
    """
    _check_request(corruptions, severities)
    images = np.ascontiguousarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images [N, H, W, 3], got {images.dtype} {images.shape}")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    out = ensure_writable_dir(out)
    remove_stale_temps(out)
    n = len(images)
    sevs = list(severities)
    mode = "reference-stream" if reference_stream else "batched"
    meta = {"layout": "cifar-c", "severities": sevs, "n_per_severity": n, "seed": seed, "mode": mode,
            "image_size": list(images.shape[1:3]), "source": source, "chunk": CHUNK}
    meta = merge_meta(out, meta, ("severities", "n_per_severity", "seed", "image_size", "mode"), "corruptions",
                      corruptions, "a -C set", defaults={"mode": "batched"})
    meta_path = out / "meta.json"
    with atomic_path(meta_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    label_dtype = np.uint8 if labels.max() < 256 else np.int64
    save_npy(out / "labels.npy", np.tile(np.asarray(labels, dtype=label_dtype), len(sevs)))

    shape = (len(sevs) * n, *images.shape[1:])
    workers = workers or os.cpu_count() or 1
    if reference_stream:
        todo = [(c, sevs, seed, str(out / f"{c}.npy")) for c in corruptions
                if not is_valid_npy(out / f"{c}.npy", shape)]
        with tqdm(total=len(todo) * n * len(sevs), unit="img", desc=f"corrupting {n} images (reference stream)",
                  disable=not progress) as bar:
            run(_cifar_reference_unit, todo, workers, bar, images)
        return out
    units = (n + CHUNK - 1) // CHUNK
    todo, pending = [], []
    for corruption in corruptions:
        if (out / f"{corruption}.npy").exists() and is_valid_npy(out / f"{corruption}.npy", shape):
            continue
        pending.append(corruption)
        parts = out / ".parts" / corruption
        parts.mkdir(parents=True, exist_ok=True)
        for severity in sevs:
            for unit in range(units):
                part = parts / f"s{severity}_{unit:05d}.npy"
                if not part.exists():
                    todo.append((corruption, severity, unit, seed, str(part)))
    total = sum(min(CHUNK, n - task[2] * CHUNK) for task in todo)
    with tqdm(total=total, unit="img", desc=f"corrupting {n} images", disable=not progress) as bar:
        run(_cifar_unit, todo, workers, bar, images)
    for corruption in pending:  # assemble severity-major, then drop the parts
        parts = out / ".parts" / corruption
        blocks = [np.load(parts / f"s{s}_{u:05d}.npy") for s in sevs for u in range(units)]
        save_npy(out / f"{corruption}.npy", np.concatenate(blocks))
        shutil.rmtree(parts)
    shutil.rmtree(out / ".parts", ignore_errors=True)
    return out


# --------------------------------------------------------------------- ImageNet layout

def list_image_folder(root: str | Path) -> list[tuple[Path, str]]:
    """(file, class folder) pairs of an ImageFolder tree, sorted like the source's loader."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no such image folder: {root}")
    items = []
    for cls in sorted(d for d in os.listdir(root) if (root / d).is_dir() and not d.startswith(".")):
        for dirpath, _, files in sorted(os.walk(root / cls)):
            for fname in sorted(files):  # hidden files (e.g. a killed run's temporaries) are not data
                if fname.lower().endswith(IMAGE_EXTENSIONS) and not fname.startswith("."):
                    items.append((Path(dirpath) / fname, cls))
    if not items:
        raise ValueError(f"found no images in class sub-folders of {root} (expected ROOT/<class>/<image>)")
    return items


def read_image_folder(root: str | Path) -> tuple[np.ndarray, np.ndarray, str]:
    """All images of an ImageFolder tree as uint8 [N, H, W, 3] (they must share one size) and labels."""
    items = list_image_folder(root)
    classes = sorted({c for _, c in items})
    arrays = [np.asarray(open_image(path)) for path, _ in items]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"the CIFAR-C layout needs images of one size; {root} has {sorted(shapes)[:3]}...: "
                         "resize them first, or use the ImageNet-C layout")
    labels = np.array([classes.index(c) for _, c in items])
    return np.stack(arrays), labels, f"ImageFolder {root} ({len(items)} images, {len(classes)} classes)"


def check_headers(paths: list[Path], progress: bool) -> None:
    """Refuse a folder holding a file that is not an image before any output is written
    (reading headers only: a fraction of a millisecond per file)."""
    from PIL import UnidentifiedImageError

    for path in tqdm(paths, desc="checking images", unit="img", disable=not progress or len(paths) < 5000):
        try:
            with Image.open(path):
                pass
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            raise ValueError(f"cannot read {path} as an image ({type(err).__name__}); remove it from the "
                             "folder or replace it") from None


def preprocess(img: Image.Image, size: int) -> Image.Image:
    """The published preprocessing: ImageNet Resize(256) + CenterCrop(224); Tiny Resize((64, 64))."""
    import torchvision.transforms.functional as TF

    if size == 224:
        img = TF.resize(img, IMAGENET_PREPROCESS["resize"])
        return TF.center_crop(img, IMAGENET_PREPROCESS["center_crop"])
    if size == 64:
        return TF.resize(img, list(TINYIMAGENET_PREPROCESS["resize"]))
    raise ValueError(f"no published preprocessing for size {size}; use 224 (ImageNet) or 64 (Tiny-ImageNet)")


def _folder_unit(args) -> int:
    items, corruption, severity, seed, size, out = args
    for index, path, cls in items:
        target = Path(out) / corruption / str(severity) / cls / _jpeg_name(path)
        if target.exists():
            continue
        img = preprocess(open_image(path), size)
        arr = corrupt(np.asarray(img), corruption, severity, seed=_seed(seed, corruption, severity, index))
        with atomic_path(target) as tmp:
            Image.fromarray(arr).save(tmp, format="JPEG", **IMAGENET_JPEG)
    return len(items)


def _folder_reference_unit(args) -> int:
    items, corruption, severities, seed, size, out = args
    stream = np.random.RandomState(seed)
    for severity in severities:  # the stream runs through every image, so nothing is skipped
        for _, path, cls in items:
            arr = corrupt(np.asarray(preprocess(open_image(path), size)), corruption, severity, seed=stream)
            with atomic_path(Path(out) / corruption / str(severity) / cls / _jpeg_name(path)) as tmp:
                Image.fromarray(arr).save(tmp, format="JPEG", **IMAGENET_JPEG)
    return len(items) * len(severities)


def _jpeg_name(path: Path) -> str:
    return path.name if path.suffix.lower() in (".jpg", ".jpeg") else path.stem + ".JPEG"


def generate_folder_c(src: str | Path, out: str | Path, corruptions: Sequence[str] = BENCHMARK,
                      severities: Sequence[int] = (1, 2, 3, 4, 5), size: int = 224, seed: int = 0,
                      workers: int | None = None, progress: bool = True, reference_stream: bool = False) -> Path:
    """Write an ImageNet-C style tree of the ImageFolder ``src`` to ``out``.

    ``reference_stream``: the published generator's random stream, one process per
    corruption and images in the published loader's order (the published ImageNet script
    ran 4 DataLoader workers, each with its own copy of numpy's state; see docs/PARITY.md).
    """
    _check_request(corruptions, severities)
    items = [(i, p, c) for i, (p, c) in enumerate(list_image_folder(src))]
    preprocess(Image.new("RGB", (8, 8)), size)  # validate size early
    check_headers([p for _, p, _ in items], progress)
    out = ensure_writable_dir(out)
    remove_stale_temps(out)
    per_task = 16
    if reference_stream:
        unit, tasks = _folder_reference_unit, [(items, c, list(severities), seed, size, str(out)) for c in corruptions]
    else:
        unit = _folder_unit
        tasks = [(items[i:i + per_task], c, s, seed, size, str(out))
                 for c in corruptions for s in severities for i in range(0, len(items), per_task)]
    workers = workers or os.cpu_count() or 1
    total = len(items) * len(corruptions) * len(severities)
    with tqdm(total=total, unit="img", desc="corrupting", disable=not progress) as bar:
        run(unit, tasks, workers, bar)
    with atomic_path(out / "meta.json") as tmp:
        tmp.write_text(json.dumps({"layout": "imagenet-c", "corruptions": list(corruptions),
                                   "severities": list(severities), "size": size, "seed": seed,
                                   "mode": "reference-stream" if reference_stream else "batched",
                                   "source": str(src), "images": len(items)}, indent=2))
    return out


# ------------------------------------------------------------------------- one entry

def generate(out: str | Path, *, dataset: str = "cifar10", data_dir: str | Path | None = None,
             images: str | Path | None = None, layout: str = "imagenet", size: int = 224,
             corruptions: Sequence[str] | None = None, extra: bool = False,
             severities: Sequence[int] = (1, 2, 3, 4, 5), seed: int = 0, workers: int | None = None,
             progress: bool = True, reference_stream: bool = False, benchmark: str = "c") -> Path:
    """Write a -C set from one of three sources, in the layout its benchmark was released in.

    * ``images`` with ``layout="imagenet"``: an ImageFolder tree -> ImageNet-C folders
      (``size`` 224: ImageNet preprocessing and table; 64: Tiny-ImageNet's);
    * ``images`` with ``layout="cifar"``: a folder of same-size images -> CIFAR-C arrays;
    * otherwise ``dataset``'s test split (cifar10, cifar100) -> CIFAR-C arrays.

    ``corruptions``: default the 15 benchmark ones, plus the 4 extra with ``extra``; with
    ``benchmark="c-bar"``, the 10 of CIFAR-10-C-bar (32 px) or ImageNet-C-bar (224 px).
    ``reference_stream``: byte-identical to the published scripts after ``np.random.seed(seed)``
    per corruption (slower: one process per corruption, one image at a time).
    """
    if layout not in ("imagenet", "cifar"):
        raise ValueError(f"unknown layout {layout!r}; choose imagenet or cifar")
    if benchmark not in ("c", "c-bar"):
        raise ValueError(f"unknown benchmark {benchmark!r}; choose c or c-bar")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if benchmark == "c-bar" and extra:
        raise ValueError("--extra adds the held-out -C corruptions; it does not apply to -C-bar")
    if benchmark == "c-bar" and images is not None and layout == "imagenet" and size != 224:
        raise ValueError("ImageNet-C-bar is published for 224 px images; use --size 224")
    names = list(corruptions) if corruptions else None
    if names is None and benchmark == "c":
        names = list(ALL if extra else BENCHMARK)
    if images is not None and layout == "imagenet":
        names = names or list(cbar_table_for(224))
        _check_tables(names, size)
        return generate_folder_c(images, out, names, severities, size=size, seed=seed, workers=workers,
                                 progress=progress, reference_stream=reference_stream)
    if images is not None:
        x, y, source = read_image_folder(images)
    else:
        from augmix.data import load_cifar

        test = load_cifar(dataset, data_dir, train=False)
        x, y, source = test.images, test.labels, test.source
    names = names or list(cbar_table_for(x.shape[1]))
    _check_tables(names, x.shape[1])
    return generate_cifar_c(x, y, out, names, severities, seed=seed, workers=workers, progress=progress,
                            source=source, reference_stream=reference_stream)
