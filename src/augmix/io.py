"""Small file helpers: atomic writes, so no command ever leaves a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_SUFFIX = ".augmix-tmp"  # no reader takes a file with this ending for data


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is untouched, so a
    reader sees either the old complete file or the new complete file. The temporary
    name is hidden and ends in ``TEMP_SUFFIX``, so a kill that leaves it behind leaves
    nothing an image or array reader would pick up (``remove_stale_temps`` clears it).
    Writers name the format explicitly (the temporary name has no data extension).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temps(root: str | os.PathLike) -> int:
    """Delete temporary files that killed runs left under ``root``; return how many."""
    count = 0
    for tmp in Path(root).rglob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            count += 1
    return count


def open_image(path: str | os.PathLike):
    """Open an image file as 8-bit RGB, with a one-line error for anything that is not one.

    16-bit images are scaled to 8 bits (``round(v / 257)``), not clipped as Pillow's
    ``convert`` would; float or other deep modes are refused.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is a folder, not an image file" if path.is_dir() else
                                f"no such image file: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            return _rgb8(img, path)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        if isinstance(err, ValueError) and str(err).startswith(str(path)):
            raise
        raise ValueError(f"cannot read {path} as an image ({err.__class__.__name__}); "
                         "pass a PNG, JPEG or other file Pillow can open") from None


def _rgb8(img, path: Path):
    import numpy as np
    from PIL import Image

    if img.mode.startswith("I;16") or img.mode == "I":
        arr = np.asarray(img).astype(np.int64)
        if arr.min() < 0 or arr.max() > 65535:
            raise ValueError(f"{path} holds values outside 0..65535 (mode {img.mode}); convert it to 8-bit first")
        return Image.fromarray(np.rint(arr / 257).astype(np.uint8), "L").convert("RGB")
    if img.mode == "F" or img.mode.startswith(("BGR", "I;32")):
        raise ValueError(f"{path} is a {img.mode} image, which has no standard 8-bit reading; convert it to an "
                         "8-bit PNG or JPEG first")
    return img.convert("RGB")


def save_npy(path: str | os.PathLike, array) -> None:
    """``np.save`` atomically (a temporary file renamed into place)."""
    import numpy as np

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def is_valid_npy(path: str | os.PathLike, shape: tuple[int, ...], dtype="uint8") -> bool:
    """Whether ``path`` is a readable .npy array of this shape and dtype (else: make it again)."""
    import numpy as np

    try:
        arr = np.load(path, mmap_mode="r")
    except Exception:  # noqa: BLE001 - any damage means: make it again
        return False
    return isinstance(arr, np.ndarray) and arr.shape == tuple(shape) and arr.dtype == np.dtype(dtype)


def merge_meta(folder: Path, meta: dict, keys: tuple[str, ...], names_key: str, names, what: str,
               defaults: dict | None = None, accumulate: tuple[str, ...] = ()) -> dict:
    """``meta`` for a generator resuming into ``folder``: if ``folder/meta.json`` exists it must agree
    on ``keys`` (a missing key reads as ``defaults[key]``), and ``names_key`` (and each of
    ``accumulate``) becomes the union of its values and the new ones: meta.json never forgets what
    a folder holds. A disagreement is refused with one line; so is a folder written under
    another seeding scheme (``seeding``: a folder without the key predates name-keyed seeds)."""
    import json

    from augmix import seeding

    meta_path = Path(folder) / "meta.json"
    if not meta_path.exists():
        return {**meta, names_key: list(names)}
    try:
        old = json.loads(meta_path.read_text())
        if not isinstance(old, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError):
        raise ValueError(f"{meta_path} is damaged; delete {folder} and generate it again") from None
    defaults = dict(defaults or {})
    if "seeding" in keys and "seeding" not in old:
        old = {**old, "seeding": seeding.LEGACY_SCHEME if old.get("mode", "batched") == "batched" else meta["seeding"]}
    settings = [k for k in keys if k != "seeding"]
    same = {k: old.get(k, defaults.get(k)) for k in settings}
    if same != {k: meta[k] for k in settings}:
        diff = ", ".join(f"{k}: {same[k]!r} there, {meta[k]!r} now" for k in settings if same[k] != meta[k])
        raise ValueError(f"{folder} already holds {what} made with other settings ({diff}); choose another --out "
                         "or delete it")
    if "seeding" in keys and old["seeding"] != meta["seeding"]:
        raise ValueError(f"{folder} was generated with the {old['seeding']!r} seeding scheme, not "
                         f"{meta['seeding']!r}; resuming would mix the two - choose another --out or delete it")
    merged = {**meta, names_key: sorted(set(old.get(names_key, [])) | set(names))}
    for key in accumulate:
        merged[key] = sorted(set(old.get(key, [])) | set(meta.get(key, [])))
    return merged


class MissingTool(RuntimeError):
    """A program or packaged file the work needs is absent or failed (ffmpeg, the frost photographs);
    the message says what to install. The CLI prints it as one line."""


class OutputError(OSError):
    """An output location that cannot be written; raised before any work is done."""


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` if needed and prove a file can be written there, before the work starts."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".augmix-write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"cannot write to {path} ({err.strerror or type(err).__name__}); choose another "
                          "output folder") from None
    return path
