"""Writing -P datasets in the released on-disk layouts: parallel, deterministic, resumable.

* CIFAR-P layout (CIFAR-10-P, CIFAR-100-P): ``OUT/<perturbation>.npy`` uint8
  ``[N, T, 32, 32, 3]``, one sequence of ``T`` frames per test image in the split's order
  (the released files hold no labels; ``meta.json`` records what was generated).
* ImageNet-P layout: ``OUT/<perturbation>/<wnid>/<name>.mp4`` from an ImageFolder tree, the
  frames encoded as the published scripts encode them (H.264 through ffmpeg at one frame
  per second, ``-tune grain`` for noise, ``-crf 20`` otherwise, preset veryslow). ffmpeg
  comes from the ``imageio-ffmpeg`` package.

The generators take images (arrays, or items that load themselves, as
``augmix.data.images.walk_image_tree`` lists them); ``augmix.generation`` opens the sources.
Every unit of work has its own random stream keyed by names (``augmix.seeding``: seed, "p",
perturbation, chunk or class/file), so results depend neither on the number of processes
nor on the order of a table; finished units are files written atomically and a rerun skips
them. ``reference_stream=True`` writes what the published scripts write after
``np.random.seed(seed)`` and ``torch.manual_seed(seed)`` (one run per release file): one
stream per perturbation, drawn image by image in order.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from augmix import seeding
from augmix.corruptions.generate import check_output_names, output_name
from augmix.generation.config import GenerateConfig
from augmix.io import (
    COMPLETE,
    MissingTool,
    atomic_path,
    is_valid_npy,
    mark_complete,
    merge_meta,
    require_files,
    save_npy,
)
from augmix.perturbations.functional import Streams, perturb, sequence
from augmix.perturbations.tables import ALL, FFMPEG_ARGS, frames, is_noise, split_name, table_for
from augmix.results import Subset
from augmix.workers import barrier, claim_output, is_main, run, shared, write_meta

CHUNK = 500  # images per unit of work in the CIFAR layout (fixes the seeding, keep constant)


def _rng(seed: int, name: str, unit: int | str) -> np.random.Generator:
    return seeding.stream(seed, "p", name, str(unit))


def _check_names(names: Sequence[str] | None) -> list[str]:
    names = list(names) if names else list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown or not names:
        raise ValueError(f"unknown perturbation(s) {', '.join(unknown) or '(none given)'}; choose from "
                         f"{', '.join(ALL)}")
    return names


# ------------------------------------------------------------------------ CIFAR layout

def _cifar_unit(args: tuple[str, int, int, int, str]) -> int:
    name, unit, seed, size, part = args
    x = shared()[unit * CHUNK:(unit + 1) * CHUNK]
    save_npy(part, perturb(x, name, seed=_rng(seed, name, unit), size=size))
    return len(x)


def _cifar_reference_unit(args: tuple[str, int, int, str]) -> int:
    name, seed, size, path = args
    images = shared()
    save_npy(path, perturb(images, name, seed=Streams.reference(seed), size=size))
    return len(images)


def _assemble(parts: list[Path], path: Path, shape: tuple[int, ...]) -> None:
    """Concatenate the parts into ``path`` through a memory map (no second copy in memory)."""
    with atomic_path(path) as tmp:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        row = 0
        for part in parts:
            block = np.load(part, mmap_mode="r")
            arr[row:row + len(block)] = block
            row += len(block)
        arr.flush()
        del arr


def generate_cifar_p(images: np.ndarray, out: str | Path | GenerateConfig, names: Sequence[str] | None = None, *,
                     source: str = "", subset: Subset | None = None, **fields) -> Path:
    """Write CIFAR-P style sequences of ``images`` (uint8 [N, S, S, 3], S in 32/64/224).

    ``out``: a ``GenerateConfig``, or the output folder with the config's fields as keywords.
    """
    config = GenerateConfig.resolve(out, "p", names, **fields)
    with contextlib.ExitStack() as claim:
        names = _check_names(config.names)
        seed, workers, progress = config.seed, config.processes, config.progress
        reference_stream = config.reference_stream
        images = np.ascontiguousarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8 or images.shape[1] != images.shape[2]:
            raise ValueError(f"expected square uint8 images [N, S, S, 3], got {images.dtype} {images.shape}")
        size = images.shape[1]
        table_for(size)
        if size == 64 and any(split_name(n)[0] == "motion_blur" for n in names):
            raise ValueError("the 64 px motion blur blurs the image before its Resize(64); write that set from the "
                             "original images with --images (the ImageNet-P layout)")
        out = claim_output(config.out, claim)
        n = len(images)
        mode = "reference-stream" if reference_stream else "batched"
        meta = {"layout": "cifar-p", "n": n, "seed": seed, "mode": mode, "seeding": config.seeding,
                "subset": subset and subset.as_meta(), "image_size": size, "source": source, "chunk": CHUNK}
        keys = ("layout", "n", "seed", "mode", "seeding", "subset", "image_size")
        meta = merge_meta(out, meta, keys, "perturbations", names, "a -P set", defaults={"subset": None})
        meta["frames"] = {p: frames(p, size) for p in meta["perturbations"]}
        write_meta(out, meta)

        shapes = {p: (n, frames(p, size), size, size, 3) for p in names}
        pending = [p for p in names if not is_valid_npy(out / f"{p}.npy", shapes[p])]
        if reference_stream:
            tasks = [(p, seed, size, str(out / f"{p}.npy")) for p in pending]
            unit_fn, total = _cifar_reference_unit, len(tasks) * n
        else:
            units = (n + CHUNK - 1) // CHUNK
            tasks = []
            for p in pending:
                (out / ".parts" / p).mkdir(parents=True, exist_ok=True)
                tasks += [(p, u, seed, size, str(out / ".parts" / p / f"c{u:05d}.npy")) for u in range(units)
                          if not Path(out / ".parts" / p / f"c{u:05d}.npy").exists()]
            unit_fn, total = _cifar_unit, sum(min(CHUNK, n - t[1] * CHUNK) for t in tasks)
        barrier()  # every rank has listed the same work before any is done
        with tqdm(total=total, unit="seq", desc=f"perturbing {n} images", disable=not progress) as bar:
            run(unit_fn, tasks, workers, bar, images)
        if not is_main():  # rank 0 assembles and checks what all ranks made
            return out
        if not reference_stream:
            units = (n + CHUNK - 1) // CHUNK
            for p in pending:
                parts = [out / ".parts" / p / f"c{u:05d}.npy" for u in range(units)]
                require_files(parts)
                _assemble(parts, out / f"{p}.npy", shapes[p])
                shutil.rmtree(out / ".parts" / p)
            shutil.rmtree(out / ".parts", ignore_errors=True)
        bad = [p for p in names if not is_valid_npy(out / f"{p}.npy", shapes[p])]
        if bad:
            raise ValueError(f"{out / (bad[0] + '.npy')} is missing or incomplete after the run; run the same command "
                             "again to complete the set")
        return out


    # --------------------------------------------------------------------- ImageNet layout

def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by ``imageio-ffmpeg`` (or $AUGMIX_FFMPEG)."""
    exe = os.environ.get("AUGMIX_FFMPEG")
    if exe:
        return exe
    try:
        import imageio_ffmpeg
    except ImportError:
        raise MissingTool("writing ImageNet-P videos needs ffmpeg: pip install imageio-ffmpeg (or set "
                           "AUGMIX_FFMPEG to an ffmpeg with libx264)") from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def encode_mp4(frames_rgb: np.ndarray, path: str | Path, noise: bool) -> None:
    """Encode frames [T, H, W, 3] as make_imagenet_p.py does (libx264, 1 fps), atomically."""
    t, h, w, _ = frames_rgb.shape
    args = FFMPEG_ARGS["noise" if noise else "other"]
    with atomic_path(path) as tmp:
        cmd = [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
               "-framerate", "1", "-i", "-", "-vcodec", "libx264", *args, "-preset", "veryslow", "-f", "mp4",
               str(tmp)]
        done = subprocess.run(cmd, input=np.ascontiguousarray(frames_rgb, np.uint8).tobytes(), capture_output=True)
        if done.returncode != 0:
            reason = (done.stderr.decode(errors="replace").strip().splitlines() or ["unknown error"])[-1]
            raise MissingTool(f"ffmpeg could not encode {path}: {reason}")


def _video_name(item) -> str:
    return output_name(item, ".mp4")


def _folder_unit(args) -> int:
    items, names, perturbation, seed, size, out, reference = args
    streams = Streams.reference(seed) if reference else None
    for item, name in zip(items, names, strict=True):
        target = Path(out) / perturbation / name
        if target.exists() and not reference:
            continue
        st = streams or Streams(_rng(seed, perturbation, name))
        encode_mp4(sequence(item.load(), perturbation, size, st), target, is_noise(perturbation))
    return len(items)


def generate_folder_p(items: Sequence, out: str | Path | GenerateConfig, names: Sequence[str] | None = None, *,
                      source: str = "", subset: Subset | None = None, **fields) -> Path:
    """Write ImageNet-P style videos of ``items`` (each with ``.load()``, ``.cls``, ``.relative``
    and ``.path``, e.g. ``walk_image_tree(root).images``); ``size`` 224: ImageNet-P, 64: Tiny."""
    config = GenerateConfig.resolve(out, "p", names, **fields)
    with contextlib.ExitStack() as claim:
        names = _check_names(config.names)
        size, seed = config.size, config.seed
        table_for(size)
        items = list(items)
        if not items:
            raise ValueError("no images to perturb")
        out_names = check_output_names(items, _video_name)
        ffmpeg_exe()
        out = claim_output(config.out, claim)
        mode = "reference-stream" if config.reference_stream else "batched"
        meta = {"layout": "imagenet-p", "size": size, "seed": seed, "mode": mode, "seeding": config.seeding,
                "subset": subset and subset.as_meta(), "source": source, "images": len(items)}
        meta = merge_meta(out, meta, ("layout", "size", "seed", "mode", "seeding", "subset", "images"), "perturbations",
                          names, "a -P tree", defaults={"layout": "imagenet-p", "mode": "batched", "subset": None})
        meta["frames"] = {p: frames(p, size) for p in meta["perturbations"]}
        meta["complete_markers"] = True  # each finished <perturbation> folder holds COMPLETE
        write_meta(out, meta)  # before any video: a rerun checks these settings
        todo = [p for p in names if not (out / p / COMPLETE).exists()]
        if config.reference_stream:  # one stream per perturbation, through the images in the loader's order
            tasks = [(items, out_names, p, seed, size, str(out), True) for p in todo]
        else:
            tasks = [(items[i:i + 8], out_names[i:i + 8], p, seed, size, str(out), False)
                     for p in todo for i in range(0, len(items), 8)]
        barrier()  # every rank has listed the same work before any is done
        with tqdm(total=len(items) * len(todo), unit="video", desc="perturbing", disable=not config.progress) as bar:
            run(_folder_unit, tasks, config.processes, bar)
        if not is_main():  # rank 0 checks what all ranks made
            return out
        for p in todo:
            mark_complete(out / p, out_names)
        return out


__all__ = ["encode_mp4", "ffmpeg_exe", "generate_cifar_p", "generate_folder_p"]
