"""Shared helpers for the benchmark scripts: real images when available, JSON output, timing."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = HERE.parents[1] / "shared" / "data"
RESULTS = HERE / "results"


def cifar_root() -> tuple[Path | None, str]:
    """A data root holding CIFAR-10/100 in the official layout, and a note on its provenance.

    Order: ``$AUGMIX_DATA`` or ``~/.cache/augmix`` if it holds CIFAR-10; else the developers'
    ``../shared/data`` copy, unpacked once into a cache folder; else ``None``.
    """
    from augmix.data import default_root

    root = default_root()
    if (root / "cifar-10-batches-py").is_dir():
        return root, f"CIFAR-10 (official layout at {root})"
    if (SHARED / "prepare.py").exists():
        cache = Path(tempfile.gettempdir()) / "augmix-bench-data"
        for name, folder in (("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python")):
            if not (cache / folder).is_dir():
                subprocess.run([sys.executable, str(SHARED / "prepare.py"), name, str(cache)], check=True,
                               stdout=subprocess.DEVNULL)
        return cache, ("CIFAR-10 (../shared/data copy: official order, 99.8% exact pixels; "
                       "109 images JPEG-recovered)")
    return None, "none"


def imagewoof_val() -> Path | None:
    """The developers' Imagewoof2-320 validation photographs (an ImageNet subset, class folders),
    unpacked once into a cache folder from ``../shared/data``; ``None`` where that copy is absent."""
    folder = Path(tempfile.gettempdir()) / "augmix-bench-data" / "imagewoof2-320-val500" / "val"
    if not folder.is_dir() and (SHARED / "prepare.py").exists():
        subprocess.run([sys.executable, str(SHARED / "prepare.py"), "imagewoof", str(folder.parents[1])], check=True,
                       stdout=subprocess.DEVNULL)
    return folder if folder.is_dir() else None


def photo_subset(folder: Path | None, n: int, work: Path) -> tuple[Path, str]:
    """A class-folder tree under ``work`` with copies of the first ``n`` photographs of ``folder``
    (default: the developers' Imagewoof copy), and where they came from; exits if too few."""
    import shutil

    if folder is None:
        folder = imagewoof_val()
        if folder is None:
            sys.exit("error: no photographs found; give --folder DIR (a class-folder tree, e.g. ImageNet val)")
        note = "Imagewoof2-320 validation (ImageNet photographs, 320 px)"
    else:
        note = f"photographs under {folder}"
    from augmix.data.images import walk_image_tree

    items = walk_image_tree(folder).images[:n]
    if len(items) < n:
        sys.exit(f"error: {folder} holds {len(items)} images, fewer than {n}")
    subset = work / "photos"
    for it in items:
        dst = subset / it.cls / it.relative
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(it.path, dst)
    return subset, f"{note}, first {n} images"


@contextlib.contextmanager
def commit_checkouts(compare_ref: str | None, work: Path) -> Iterator[dict[str, Path]]:
    """``{arm: src folder}`` of git worktrees under ``work``: HEAD as "this" and, if given,
    ``compare_ref`` under its short hash; removed afterwards. What a benchmark measures is then a
    commit, never an edited tree."""
    refs = [compare_ref, "HEAD"] if compare_ref else ["HEAD"]
    arms: dict[str, Path] = {}
    try:
        for i, ref in enumerate(refs):
            tree = work / f"tree{i}"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), ref], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            arms["this" if ref == "HEAD" else git_commit(ref)] = tree / "src"
        yield arms
    finally:
        for src in arms.values():
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(src.parent)], check=False)


def round_order(arms: dict, r: int) -> list:
    """The arms' order in round ``r``: reversed every other round, so that neither arm always runs
    just after the other (whose files the kernel may still be writing back) or on a fresh cache."""
    items = list(arms.items())
    return items if r % 2 == 0 else items[::-1]


def git_commit(ref: str = "HEAD") -> str:
    """The short hash of ``ref`` in this repository."""
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", ref], capture_output=True, text=True,
                          check=True).stdout.strip()


def imagenet_images(n: int, folder: Path | None = None, synthetic: bool = False) -> tuple[np.ndarray, str]:
    """``n`` photographs spread over ``folder`` (an image tree; default: the developers' Imagewoof
    copy), Resize(256) + CenterCrop(224) as ImageNet-C's sources; synthetic noise only when
    ``synthetic`` allows it (and says so), else refuse."""
    from augmix.corruptions.released import preprocess
    from augmix.data.images import walk_image_tree

    if folder is not None:
        if not folder.is_dir():
            sys.exit(f"error: {folder} is not a folder; give a folder of photographs (e.g. ImageNet val)")
        items = walk_image_tree(folder).images
        step = max(1, len(items) // n)
        arr = np.stack([np.asarray(preprocess(item.load(), 224)) for item in items[::step][:n]])
        return arr, f"{len(arr)} photographs from {folder}, 256/224 crop"
    folder = imagewoof_val()
    if folder is not None:
        items = walk_image_tree(folder).images[:: max(1, 500 // n)][:n]
        arr = np.stack([np.asarray(preprocess(item.load(), 224)) for item in items])
        return arr, f"Imagewoof2-320 validation (ImageNet photographs), {len(arr)} images, 256/224 crop"
    if not synthetic:
        sys.exit("error: no photographs for the 224 px timings; give a folder of photographs (e.g. ImageNet val), "
                 "or --synthetic to time uniform noise instead (recorded as such)")
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 224, 224, 3), dtype=np.uint8), "synthetic uniform noise (no photographs found)"


def cifar_test_images(n: int) -> tuple[np.ndarray, str]:
    """``n`` CIFAR-10 test images (uint8 NHWC) and their provenance; synthetic if no data."""
    from augmix.data import load_cifar

    root, note = cifar_root()
    if root is None:
        rng = np.random.default_rng(0)
        noise = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        return noise, "synthetic uniform noise (no CIFAR found)"
    data = load_cifar("cifar10", root, train=False, download=False)
    return data.images[:n], note + f", first {n} test images"


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "numba": _version("numba"),
            "pillow": _version("PIL"), "cpu": cpu_model(), "cores": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except (ImportError, AttributeError):
        return None


def timed(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls (seconds), after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def save(name: str, payload: dict, path: Path | None = None) -> Path:
    """``payload`` as ``benchmarks/results/<name>.json`` (or ``path``), written whole or not at all."""
    path = Path(path) if path is not None else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)
    print(f"saved {path}")
    return path
