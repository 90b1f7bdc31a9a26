"""The ImageNet layout: a tree of files from an ImageFolder tree of source images.

* -C and -C-bar (ImageNet-C, Tiny-ImageNet-C, ImageNet-C-bar):
  ``OUT/<corruption>/<severity>/<class>/<file>.JPEG``, saved as the release saved them
  (quality 85, optimize=True);
* -P (ImageNet-P, Tiny-ImageNet-P): ``OUT/<perturbation>/<class>/<file>.mp4``, the frames
  encoded as the published scripts encode them (H.264 through ffmpeg at one frame per second,
  ``-tune grain`` for noise, ``-crf 20`` otherwise, preset veryslow; ffmpeg from the
  ``imageio-ffmpeg`` package).

Units are a few source images, each decoded once for all the outputs still to do; a file is
written atomically and checked, and each finished ``<corruption>/<severity>`` (or
``<perturbation>``) folder gets its completeness marker last. ``reference_stream``: one unit
per corruption or perturbation, through the images in the published loader's order.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from augmix.corruptions import released as C
from augmix.corruptions.apply import corrupt
from augmix.corruptions.tables import IMAGENET_JPEG
from augmix.generation.config import GenerateConfig
from augmix.generation.scaffold import Writer, resolve, write_set
from augmix.io import COMPLETE, MissingTool, atomic_path, image_is_whole, mark_complete, save_image, source_id
from augmix.perturbations import released as P
from augmix.perturbations.functional import Streams
from augmix.perturbations.tables import FFMPEG_ARGS, frames, is_noise, table_for
from augmix.results import Subset

PER_TASK = 4  # source images per -C task: each task does all their outputs (75 each for a full -C)
VIDEOS_PER_TASK = 8  # source images per -P task (one perturbation)


def _save_jpeg(arr: np.ndarray, target: Path) -> None:
    save_image(Image.fromarray(arr), target, "JPEG", **IMAGENET_JPEG)


def _is_done(target: Path) -> bool:
    return target.exists() and image_is_whole(target)  # a killed run's files are checked, not trusted


@dataclass(frozen=True)
class JpegTask:
    """Every (corruption, severity) of ``pairs`` still to do for a few source images, each
    decoded and resized once (not once per output, 75 times for a full set)."""

    items: Sequence
    names: Sequence[str]
    pairs: Sequence[tuple[str, int]]
    seed: int
    size: int
    out: str

    @property
    def count(self) -> int:
        return len(self.items) * len(self.pairs)

    def __call__(self) -> int:
        for item, name in zip(self.items, self.names, strict=True):
            img = None
            for corruption, severity in self.pairs:
                target = Path(self.out) / corruption / str(severity) / name
                if _is_done(target):
                    continue
                if img is None:
                    img = self.source(item)
                self.write(img, name, corruption, severity, target)
        return self.count

    def source(self, item) -> np.ndarray:
        """An item's image as its outputs are made from it: the published preprocessing."""
        return np.asarray(C.preprocess(item.load(), self.size))

    def write(self, img: np.ndarray, name: str, corruption: str, severity: int, target: Path) -> None:
        _save_jpeg(C.corrupt_prepared(img, name, corruption, severity, self.seed), target)


@dataclass(frozen=True)
class JpegDeviceTask(JpegTask):
    """Every (corruption, severity) still to do for one batch of source images on a device: the
    batch decoded once (threads), corrupted per pair by the torch back-end, written as the released
    JPEGs by a thread pool (Pillow's encoder releases the GIL) while the device works on."""

    batch: int = 0  # the batch's number: its streams' unit
    device: str = "cpu"
    threads: int = 1

    def __call__(self) -> int:
        targets = {(c, s): [Path(self.out) / c / str(s) / name for name in self.names] for c, s in self.pairs}
        todo = [pair for pair, paths in targets.items() if not all(_is_done(t) for t in paths)]
        if not todo:
            return self.count
        with ThreadPoolExecutor(self.threads) as pool:
            x = C.images_to_device(np.stack(list(pool.map(
                lambda item: np.asarray(C.preprocess(item.load(), self.size)), self.items))), self.device)
            writes = []
            for corruption, severity in todo:
                made = C.corrupt_device_batch(x, self.batch, corruption, severity, self.seed)
                writes += [pool.submit(_save_jpeg, arr, target)
                           for arr, target in zip(made, targets[corruption, severity], strict=True)]
            for write in writes:
                write.result()
        return self.count


@dataclass(frozen=True)
class JpegReferenceTask:
    """One corruption through all its severities on one published stream (nothing is skipped:
    the stream runs through every image)."""

    items: Sequence
    names: Sequence[str]
    corruption: str
    severities: Sequence[int]
    seed: int
    size: int
    out: str

    @property
    def count(self) -> int:
        return len(self.items) * len(self.severities)

    def __call__(self) -> int:
        stream = np.random.RandomState(self.seed)
        for severity in self.severities:
            for item, name in zip(self.items, self.names, strict=True):
                arr = corrupt(np.asarray(C.preprocess(item.load(), self.size)), self.corruption, severity,
                              seed=stream)
                _save_jpeg(arr, Path(self.out) / self.corruption / str(severity) / name)
        return self.count


class TreeSet(Writer):
    """What the ImageNet layout's writers share: the source items and their output names."""

    def __init__(self, config: GenerateConfig, names: list[str], items: Sequence, out_names: list[str],
                 source: str, subset: Subset | None) -> None:
        super().__init__(config, names)
        self.items, self.out_names, self.source, self.subset = list(items), out_names, source, subset
        self.todo: list = []

    def _common_meta(self) -> dict:
        c = self.config
        return {"size": c.size, "seed": c.seed, "mode": c.mode, "seeding": c.seeding,
                "subset": self.subset and self.subset.as_meta(), "source": self.source, "images": len(self.items),
                "source_id": source_id(*(f"{Path(i.path).resolve()} {os.stat(i.path).st_size}" for i in self.items))}


class FolderC(TreeSet):
    """-C / -C-bar JPEG trees (ImageNet-C's layout)."""

    what, names_key, desc = "a -C tree", "corruptions", "corrupting"
    keys = ("size", "seed", "mode", "seeding", "subset", "images")
    defaults = {"mode": "batched", "subset": None}
    accumulate = ("severities",)

    def __init__(self, config: GenerateConfig, items: Sequence, *, source: str = "",
                 subset: Subset | None = None) -> None:
        C.check_preprocess_size(config.size)  # before any work
        names = C.names_for(config.names, config.benchmark, config.extra, config.size)
        items = list(items)
        if not items:
            raise ValueError("no images to corrupt")
        super().__init__(config, names, items, C.check_output_names(items), source, subset)

    def meta(self) -> dict:
        return {"layout": "imagenet-c", "severities": list(self.config.severities), **self._common_meta()}

    def complete_meta(self, meta: dict) -> dict:
        return {**meta, "complete_markers": True}  # each finished <corruption>/<severity> folder holds COMPLETE

    @property
    def workers(self) -> int:
        return 1 if self.config.device is not None else self.config.processes  # one process drives a device

    def tasks(self, out: Path) -> list:
        c, sevs = self.config, list(self.config.severities)
        self.todo = [(n, s) for n in self.names for s in sevs if not (out / n / str(s) / COMPLETE).exists()]
        if c.reference_stream:  # one stream per corruption runs through all its severities: redo them all
            redo = list(dict.fromkeys(n for n, _ in self.todo))
            self.todo = [(n, s) for n in redo for s in sevs]
            return [JpegReferenceTask(self.items, self.out_names, n, sevs, c.seed, c.size, str(out)) for n in redo]
        if c.device is not None:  # batches of DEVICE_BATCH images (their streams' unit), one process
            step = C.DEVICE_BATCH
            return [JpegDeviceTask(self.items[i:i + step], self.out_names[i:i + step], self.todo, c.seed, c.size,
                                   str(out), batch=i // step, device=c.rank_device(), threads=c.processes)
                    for i in range(0, len(self.items), step)]
        # few images: split their outputs too, so that every worker has work
        chunks = -(-len(self.items) // PER_TASK)
        groups = min(len(self.todo), max(1, -(-4 * c.processes // chunks))) or 1
        parts = [self.todo[g::groups] for g in range(groups)]
        return [JpegTask(self.items[i:i + PER_TASK], self.out_names[i:i + PER_TASK], part, c.seed, c.size, str(out))
                for i in range(0, len(self.items), PER_TASK) for part in parts]

    def finish(self, out: Path) -> None:
        for corruption, severity in self.todo:
            mark_complete(out / corruption / str(severity), self.out_names)


# ------------------------------------------------------------------------ any size (--keep-size)

KEEP_SIZE_JPEG = {"quality": 95}  # how --keep-size writes a JPEG source's outputs (Pillow, 4:2:0)


def keep_size_name(item) -> str:
    """Where ``--keep-size`` writes an item below ``<corruption>/<severity>``: its path below the
    tree, PNG and JPEG names kept, any other format renamed to PNG."""
    rel = Path(item.relative)
    return rel.as_posix() if rel.suffix.lower() in (".png", ".jpg", ".jpeg") else rel.with_suffix(".png").as_posix()


def _save_as_named(arr: np.ndarray, target: Path) -> None:
    img = Image.fromarray(arr if arr.ndim == 3 and arr.shape[-1] != 1 else arr.reshape(arr.shape[:2]))
    if target.suffix.lower() == ".png":
        save_image(img, target, "PNG")
    else:
        save_image(img.convert("RGB") if img.mode == "RGBA" else img, target, "JPEG", **KEEP_SIZE_JPEG)


def _load_any(item) -> np.ndarray:
    return np.asarray(item.load(keep_mode=True))


@dataclass(frozen=True)
class AnySizeTask(JpegTask):
    """``JpegTask`` at each image's own size and mode, with the imagecorruptions definition."""

    def source(self, item) -> np.ndarray:
        return _load_any(item)

    def write(self, img: np.ndarray, name: str, corruption: str, severity: int, target: Path) -> None:
        rng = C.unit_stream(corruption, severity, name, self.seed)
        _save_as_named(corrupt(img, corruption, severity, seed=rng, definition="imagecorruptions"), target)


@dataclass(frozen=True)
class AnySizeDeviceTask(JpegTask):
    """``AnySizeTask`` with the torch back-end on a device: each image (sizes differ, so no batch)
    moved there once, corrupted per pair with its output's stream, written by a thread pool."""

    device: str = "cpu"
    threads: int = 1

    def __call__(self) -> int:
        from augmix import seeding
        from augmix.corruptions.tensor import corrupt_tensor

        with ThreadPoolExecutor(self.threads) as pool:
            writes = []
            for item, name in zip(self.items, self.names, strict=True):
                todo = [(c, s) for c, s in self.pairs if not _is_done(Path(self.out) / c / str(s) / name)]
                if not todo:
                    continue
                img = _load_any(item)
                x = torch_image(img, self.device)
                for corruption, severity in todo:
                    gen = seeding.torch_generator(C.unit_stream(corruption, severity, name, self.seed), self.device)
                    out = corrupt_tensor(x, corruption, severity, seed=gen, definition="imagecorruptions")
                    arr = out.permute(1, 2, 0).cpu().numpy()
                    writes.append(pool.submit(_save_as_named, arr if img.ndim == 3 else arr[..., 0],
                                              Path(self.out) / corruption / str(severity) / name))
            for write in writes:
                write.result()
        return self.count


def torch_image(img: np.ndarray, device: str):
    """uint8 [H, W] or [H, W, C] as the torch back-end takes one image: [C, H, W] on ``device``."""
    import torch

    arr = img[..., None] if img.ndim == 2 else img
    return torch.from_numpy(np.array(arr)).to(device).permute(2, 0, 1)  # a writable copy of the decoded image


@dataclass(frozen=True)
class AnySizeReferenceTask(JpegReferenceTask):
    """One corruption on one ``RandomState(seed)`` through its severities and the images in order: the
    package's ``corrupt`` run so after ``np.random.seed(seed)`` (glass blur and impulse noise aside)."""

    def __call__(self) -> int:
        stream = np.random.RandomState(self.seed)
        for severity in self.severities:
            for item, name in zip(self.items, self.names, strict=True):
                arr = corrupt(_load_any(item), self.corruption, severity, seed=stream, definition="imagecorruptions")
                _save_as_named(arr, Path(self.out) / self.corruption / str(severity) / name)
        return self.count


class FolderAnySize(FolderC):
    """``--keep-size``: any image tree, corrupted at each image's own size (the imagecorruptions
    package's definition), in ``OUT/<corruption>/<severity>/<path below the tree>``; with
    ``--device`` one image at a time by the torch back-end (its own streams, as for the other trees)."""

    what = "a -C tree at the images' own sizes"
    keys = (*FolderC.keys, "definition")
    defaults = {**FolderC.defaults, "definition": "imagecorruptions"}

    def __init__(self, config: GenerateConfig, items: Sequence, *, source: str = "",
                 subset: Subset | None = None) -> None:
        names = C.names_for(config.names, config.benchmark, config.extra, 224)
        items = list(items)
        if not items:
            raise ValueError("no images to corrupt")
        TreeSet.__init__(self, config, names, items, C.check_output_names(items, keep_size_name), source, subset)

    def meta(self) -> dict:
        return {**super().meta(), "layout": "any-size", "size": "each image's own", "definition": "imagecorruptions",
                "jpeg": {"format": "JPEG outputs of JPEG sources", **KEEP_SIZE_JPEG}}

    def tasks(self, out: Path) -> list:
        c, sevs = self.config, list(self.config.severities)
        tasks = super().tasks(out)
        if c.reference_stream:
            return [AnySizeReferenceTask(t.items, t.names, t.corruption, sevs, c.seed, 0, str(out)) for t in tasks]
        if c.device is not None:
            return [AnySizeDeviceTask(t.items, t.names, t.pairs, c.seed, 0, str(out), device=c.rank_device(),
                                      threads=c.processes) for t in tasks]
        return [AnySizeTask(t.items, t.names, t.pairs, c.seed, 0, str(out)) for t in tasks]


# ------------------------------------------------------------------------------- videos

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


def video_name(item) -> str:
    """Where an item's video goes below ``<perturbation>``: ``<class>/<file>.mp4``."""
    return C.output_name(item, ".mp4")


@dataclass(frozen=True)
class VideoTask:
    """The videos of a few source images under one perturbation (``reference``: all of them, on
    one published stream in order, nothing skipped)."""

    items: Sequence
    names: Sequence[str]
    perturbation: str
    seed: int
    size: int
    out: str
    reference: bool = False

    @property
    def count(self) -> int:
        return len(self.items)

    def __call__(self) -> int:
        streams = Streams.reference(self.seed) if self.reference else None
        for item, name in zip(self.items, self.names, strict=True):
            target = Path(self.out) / self.perturbation / name
            if target.exists() and not self.reference:
                continue
            st = streams or Streams(P.stream(self.seed, self.perturbation, name))
            encode_mp4(P.video_frames(item, self.perturbation, self.size, st), target, is_noise(self.perturbation))
        return self.count


class FolderP(TreeSet):
    """-P video trees (ImageNet-P's layout)."""

    what, names_key, unit, desc = "a -P tree", "perturbations", "video", "perturbing"
    keys = ("layout", "size", "seed", "mode", "seeding", "subset", "images")
    defaults = {"layout": "imagenet-p", "mode": "batched", "subset": None}

    def __init__(self, config: GenerateConfig, items: Sequence, *, source: str = "",
                 subset: Subset | None = None) -> None:
        names = P.check_names(config.names)
        table_for(config.size)
        items = list(items)
        if not items:
            raise ValueError("no images to perturb")
        out_names = C.check_output_names(items, video_name)
        ffmpeg_exe()
        super().__init__(config, names, items, out_names, source, subset)

    def meta(self) -> dict:
        return {"layout": "imagenet-p", **self._common_meta()}

    def complete_meta(self, meta: dict) -> dict:
        return {**meta, "frames": {p: frames(p, self.config.size) for p in meta["perturbations"]},
                "complete_markers": True}  # each finished <perturbation> folder holds COMPLETE

    def tasks(self, out: Path) -> list[VideoTask]:
        c = self.config
        self.todo = [p for p in self.names if not (out / p / COMPLETE).exists()]
        if c.reference_stream:  # one stream per perturbation, through the images in the loader's order
            return [VideoTask(self.items, self.out_names, p, c.seed, c.size, str(out), True) for p in self.todo]
        step = VIDEOS_PER_TASK
        return [VideoTask(self.items[i:i + step], self.out_names[i:i + step], p, c.seed, c.size, str(out))
                for p in self.todo for i in range(0, len(self.items), step)]

    def finish(self, out: Path) -> None:
        for perturbation in self.todo:
            mark_complete(out / perturbation, self.out_names)


def generate_folder_c(items: Sequence, out: str | Path | GenerateConfig, corruptions: Sequence[str] | None = None,
                      severities: Sequence[int] = (1, 2, 3, 4, 5), *, source: str = "",
                      subset: Subset | None = None, **fields) -> Path:
    """Write an ImageNet-C style tree of ``items`` (each with ``.load()`` -> PIL image, ``.cls``,
    ``.relative`` and ``.path``, e.g. ``augmix.data.images.walk_image_tree(root).images``).

    ``reference_stream``: the published generator's random stream, one process per
    corruption and images in the published loader's order (the published ImageNet script
    ran 4 DataLoader workers, each with its own copy of numpy's state; see docs/PARITY.md).
    """
    return write_set(FolderC(resolve(out, corruptions, severities, fields), items, source=source, subset=subset))


def generate_folder_p(items: Sequence, out: str | Path | GenerateConfig, names: Sequence[str] | None = None, *,
                      source: str = "", subset: Subset | None = None, **fields) -> Path:
    """Write ImageNet-P style videos of ``items`` (each with ``.load()``, ``.cls``, ``.relative``
    and ``.path``, e.g. ``walk_image_tree(root).images``); ``size`` 224: ImageNet-P, 64: Tiny."""
    return write_set(FolderP(resolve(out, names, None, fields, benchmark="p"), items, source=source, subset=subset))
