"""File helpers: every output is written as a unit and checked, into folders augmix owns.

* ``atomic_path`` / ``save_npy`` / ``write_bytes`` / ``save_image``: a file is written under a
  hidden temporary name, verified (an image's bytes read back equal to those encoded), and only
  then renamed into place, so no command leaves a half-written file under a final name, even on
  a full disk;
* OS errors name the file and the cause (``os_error``);
* ``ensure_writable_dir`` checks an output folder before any work: never an input or a folder
  inside one, never a non-empty folder augmix did not make, never one another verb made;
  ``own`` writes the marker naming the verb once the run has passed its checks, and
  ``output_lock`` keeps a second run out of it;
* ``staged_outputs`` writes a report's files as one unit: a failed run leaves the previous
  complete outputs as they were, a successful one replaces them all.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

TEMP_SUFFIX = ".augmix-tmp"  # no reader takes a file with this ending for data
MARKER = ".augmix-output"  # in every output folder augmix makes: {"verb": the command that made it}
LOCK = ".augmix-lock"
COMPLETE = ".augmix-complete"  # written last into each finished folder of a tree layout (-C, -P trees)
PROBE = ".augmix-write-test."  # the file that proves a folder writable, removed at once
STAGING = ".augmix-staging"  # a report's files before they replace the previous ones (staged_outputs)


def os_error(err: OSError, path: str | os.PathLike) -> OSError:
    """``err`` with the file it concerns and a cause a person can act on."""
    text = str(err)
    if err.errno is None and "requested and" in text and "written" in text:  # numpy's short write: a full disk
        return OSError(errno.ENOSPC, f"No space left on device ({text}); free space and run again", str(path))
    if err.errno == errno.EFBIG:  # a file-size limit (ulimit -f), not a full disk
        return OSError(errno.EFBIG, "File too large for the file-size limit (ulimit -f); raise the limit or write "
                       "elsewhere", str(path))
    if err.filename is None:
        return OSError(err.errno or errno.EIO, err.strerror or text, str(path))
    return err


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, verify: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success (and once ``verify(tmp)`` passes) rename
    it onto ``path``.

    On any exception the temporary file is removed and ``path`` is untouched, so a
    reader sees either the old complete file or the new complete file. The temporary
    name is hidden and ends in ``TEMP_SUFFIX``, so a kill that leaves it behind leaves
    nothing an image or array reader would pick up (``remove_stale_temps`` clears it).
    Writers name the format explicitly (the temporary name has no data extension).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # the temporary name is as long as a legitimate final one at most: a 250-character file name still fits
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:200]}.", suffix=TEMP_SUFFIX)
        os.close(fd)
    except OSError as err:
        raise os_error(err, path) from None
    with _removed_on_failure(tmp, path):
        yield Path(tmp)
        if verify is not None:
            verify(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)


@contextlib.contextmanager
def _removed_on_failure(tmp: str | os.PathLike, path: Path) -> Iterator[None]:
    """Remove the temporary file ``tmp`` if the block fails; an OS error then names ``path``."""
    try:
        yield
    except OSError as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise os_error(err, path) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def reads_back(path: Path) -> None:
    """Raise unless ``path`` is a whole image (a short write leaves a truncated one).

    A JPEG is whole when it ends with its end-of-image marker: a short write cuts the
    marker off, and the entropy-coded data cannot contain it (a 0xFF byte there is always
    followed by 0x00). Two small reads instead of a decode, on the hot path of writing a
    -C set. Other formats are decoded.
    """
    from PIL import Image

    try:
        with open(path, "rb") as f:
            head = f.read(2)
            if head == b"\xff\xd8":
                f.seek(-2, os.SEEK_END)
                if f.read(2) == b"\xff\xd9":
                    return
                raise OSError("no JPEG end-of-image marker")
    except OSError:
        raise OSError(errno.EIO, "the image written does not read back whole (it ends early); is the disk full?") \
            from None
    try:
        with Image.open(path) as img:
            img.load()
    except Exception as err:  # noqa: BLE001 - whatever the decoder says, the file is not whole
        raise OSError(errno.EIO, f"the image written does not read back whole ({type(err).__name__}); is the "
                      "disk full?") from None


_TEMPS = itertools.count()


def _write_all(fd: int, data: memoryview) -> None:
    """``os.write`` until every byte is out (a write may take only part of them)."""
    while data:
        data = data[os.write(fd, data):]


def _read_from_start(fd: int, n: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, n, 0)
    os.lseek(fd, 0, os.SEEK_SET)  # (Windows has no pread)
    return os.read(fd, n)


def write_bytes(path: str | os.PathLike, data: bytes | memoryview) -> None:
    """``data`` into ``path`` as a unit: written under a hidden temporary name beside it (made with
    the usual permissions), read back through the same descriptor and compared byte for byte, and
    only then renamed into place. A short or lost write raises and leaves ``path`` as it was."""
    path = Path(path)
    view = memoryview(data).cast("B")
    while True:  # the process id and a counter make the name unique; O_EXCL makes sure
        tmp = path.parent / f".{path.name[:200]}.{os.getpid()}-{next(_TEMPS)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
        except FileNotFoundError:  # the folder is new: made once, then the name is tried again
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise os_error(err, path) from None
        except OSError as err:
            raise os_error(err, path) from None
    with _removed_on_failure(tmp, path):
        try:
            _write_all(fd, view)
            back = _read_from_start(fd, len(view) + 1)
        finally:
            os.close(fd)
        if back != view:
            raise OSError(errno.EIO, "the file written does not read back whole (its bytes are not those written); "
                                     "is the disk full?")
        os.replace(tmp, path)


def save_image(img, path: str | os.PathLike, format: str, **options) -> None:
    """``img.save`` as a unit: encoded in memory, then ``write_bytes`` (the bytes read back equal
    the bytes encoded, so the file is whole without decoding it)."""
    buf = io.BytesIO()
    img.save(buf, format=format, **options)
    write_bytes(path, buf.getbuffer())


def image_is_whole(path: str | os.PathLike) -> bool:
    """Whether an existing output image decodes whole (a rerun re-makes one that does not)."""
    try:
        reads_back(Path(path))
    except OSError:
        return False
    return True


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


def open_image(path: str | os.PathLike, keep_mode: bool = False):
    """Open an image file as 8-bit RGB, with a one-line error for anything that is not one
    (``keep_mode``: grey and RGBA images stay grey and RGBA).

    16-bit images are scaled to 8 bits (``round(v / 257)``), not clipped as Pillow's
    ``convert`` would; float or other deep modes are refused, and so is an image of more than
    ``max_pixels`` pixels (Pillow's decompression-bomb limit) before it is decoded.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is a folder, not an image file" if path.is_dir() else
                                f"no such image file: {path}")
    try:
        with warnings.catch_warnings():  # refused below in one line instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            check_pixels(img, path)
            img.load()
            if keep_mode and img.mode in ("L", "RGB", "RGBA"):
                return img.copy()
            if keep_mode and (img.mode == "LA" or "transparency" in img.info):
                return img.convert("RGBA")
            return _rgb8(img, path)
    except Image.DecompressionBombError:
        raise ValueError(f"{path} is larger than {max_pixels():,} pixels, Pillow's limit against decompression "
                         "bombs; shrink it first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        if isinstance(err, ValueError) and str(err).startswith(str(path)):
            raise
        raise ValueError(f"cannot read {path} as an image ({err.__class__.__name__}); "
                         "pass a PNG, JPEG or other file Pillow can open") from None


def max_pixels() -> int:
    """The largest image (in pixels) augmix decodes: Pillow's decompression-bomb threshold."""
    from PIL import Image

    return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def check_pixels(img, path: str | os.PathLike) -> None:
    """Refuse an opened (not yet decoded) image of more than ``max_pixels()`` pixels, or one whose
    shorter side resized to 256 px (ImageNet's preprocessing) would be: a 1 x 100000 strip of a
    few hundred bytes would ask for gigabytes there."""
    w, h = img.size
    if w * h > max_pixels():
        raise ValueError(f"{path} is {w} x {h} pixels, more than {max_pixels():,}, Pillow's limit against "
                         "decompression bombs; shrink it first")
    resized = 256 * 256 * max(w, h) // max(1, min(w, h))
    if resized > max_pixels():
        raise ValueError(f"{path} is {w} x {h} pixels: its shorter side resized to 256 px would make {resized:,} "
                         f"pixels, more than {max_pixels():,}; crop it to a usable aspect ratio first")


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
    """``np.save`` atomically (a temporary file renamed into place once it reads back)."""
    import numpy as np

    def whole(tmp: Path) -> None:
        if not is_valid_npy(tmp, array.shape, array.dtype):
            raise OSError(errno.EIO, "the array written does not read back whole; is the disk full?")

    with atomic_path(path, verify=whole) as tmp, open(tmp, "wb") as f:
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
    _check_source(old, meta, folder, what)
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


def source_id(*parts: bytes | str) -> str:
    """A digest of what a set is made from (its images and labels, or its file list), that
    meta.json records so that a rerun can add only to a set made from the same sources."""
    import hashlib

    digest = hashlib.sha256()
    for part in parts:
        digest.update(os.fsencode(part) if isinstance(part, str) else part)  # (file names in any encoding)
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _check_source(old: dict, meta: dict, folder: Path, what: str) -> None:
    """Refuse to add to a set made from other source images (a folder of an earlier version,
    which recorded no ``source_id``, is taken as it is)."""
    if "source_id" in old and "source_id" in meta and old["source_id"] != meta["source_id"]:
        raise ValueError(f"{folder} holds {what} made from other source images ({old.get('source', '?')} there, "
                         f"{meta.get('source', '?')} now); choose another --out for these images")


class MissingTool(RuntimeError):
    """A program or packaged file the work needs is absent or failed (ffmpeg, the frost photographs);
    the message says what to install. The CLI prints it as one line."""


class OutputError(OSError):
    """An output location that cannot be written; raised before any work is done."""


def ensure_writable_dir(path: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), *,
                        owned: bool = True, verb: str | None = None) -> Path:
    """Create ``path`` if needed and prove a file can be written there, before the work starts.

    ``owned`` (every command's ``--out``): the folder must not be, or lie inside, or hold any of
    ``inputs``, and an existing non-empty folder must be one augmix made (its ``MARKER``), by
    ``verb`` when given. Nothing is written into it yet: the verb calls ``own`` once its own
    checks have passed.
    """
    path = Path(path)
    check_outside(path, inputs)
    if owned and path.is_dir():
        _check_owner(path, verb)
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {path} is a file, not a folder; choose a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=PROBE)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"cannot write to {path} ({err.strerror or type(err).__name__}); choose another "
                          "output folder") from None
    return path


def owner(folder: str | os.PathLike) -> str | None:
    """The verb whose outputs ``folder`` holds: its marker's verb ("" for the empty marker of an
    earlier version, which named none), or None when augmix did not make it."""
    import json

    marker = Path(folder) / MARKER
    if not marker.is_file():
        return None
    try:
        text = marker.read_text(errors="replace").strip()
        verb = json.loads(text).get("verb", "") if text else ""
    except (OSError, ValueError, AttributeError):
        return None  # not a marker augmix wrote
    return verb if isinstance(verb, str) else None


def _check_owner(folder: Path, verb: str | None) -> None:
    names = [n for n in os.listdir(folder) if n not in (LOCK, STAGING) and not _transient(n)]
    if not names:
        return
    made_by = owner(folder)
    if made_by is None:
        raise OutputError(f"{folder} is a non-empty folder augmix did not make; choose a new or empty --out (nothing "
                          "there was changed)")
    if verb is not None and made_by and made_by != verb:
        raise OutputError(f"{folder} holds the outputs of `augmix {made_by}`; choose another --out for `augmix "
                          f"{verb}` (nothing there was changed)")


def _transient(name: str) -> bool:
    """A working file of a run in progress (a temporary, a write probe): not an output."""
    return name.endswith(TEMP_SUFFIX) or name.startswith(PROBE)


def own(folder: str | os.PathLike, verb: str) -> None:
    """Mark ``folder`` as ``verb``'s output folder (once the run has passed its checks, before its
    first output); an earlier version's empty marker gets the verb."""
    import json

    if owner(folder) != verb:
        with atomic_path(Path(folder) / MARKER) as tmp:
            tmp.write_text(json.dumps({"verb": verb}) + "\n")


@contextlib.contextmanager
def staged_outputs(folder: str | os.PathLike, complete: str) -> Iterator[Path]:
    """Write a report's files as one unit: the block writes them into the staging folder it is
    given; when it succeeds they replace what the previous run wrote (listed in ``MANIFEST``),
    ``complete`` (e.g. results.json, the folder's mark of a finished run) moved in last. If the
    block fails, the staging folder is dropped and the previous outputs stay as they were; a
    kill during the swap leaves no ``complete`` file (readers refuse the folder) and a manifest
    that lists every file there, so the next run clears them."""
    import shutil

    out = Path(folder)
    stage = out / STAGING
    shutil.rmtree(stage, ignore_errors=True)  # a killed run's
    stage.mkdir(parents=True)
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    new = sorted(p.name for p in stage.iterdir() if not p.name.startswith("."))
    if complete not in new:
        shutil.rmtree(stage, ignore_errors=True)
        raise RuntimeError(f"the run wrote no {complete}")  # a programming error, not a user's
    old = _manifest(out)
    (out / complete).unlink(missing_ok=True)
    _write_manifest(out, sorted(set(old) | set(new)))  # every file that may be there during the swap
    for name in old:
        if name not in new:
            (out / name).unlink(missing_ok=True)
    for name in [n for n in new if n != complete] + [complete]:
        os.replace(stage / name, out / name)
    _write_manifest(out, new)
    shutil.rmtree(stage, ignore_errors=True)


MANIFEST = ".augmix-files"  # the files of a folder's last staged_outputs, one name a line


def _manifest(folder: Path) -> list[str]:
    path = folder / MANIFEST
    names = path.read_text(errors="replace").split("\n") if path.is_file() else []
    return [n for n in names if n and "/" not in n and not n.startswith(".")]


def _write_manifest(folder: Path, names: list[str]) -> None:
    with atomic_path(folder / MANIFEST) as tmp:
        tmp.write_text("\n".join(names) + "\n")


def check_outside(out: str | os.PathLike, inputs: Sequence[str | os.PathLike]) -> None:
    """Refuse an output folder that is, lies inside, or holds one of ``inputs``."""
    where = Path(out).resolve()
    for given in inputs:
        inp = Path(given).resolve()
        if where == inp or inp in where.parents:
            raise OutputError(f"--out {out} is inside the input {given}; write the outputs elsewhere")
        if where in inp.parents:
            raise OutputError(f"the input {given} is inside --out {out}; write the outputs elsewhere")


def require_files(paths: Sequence[Path]) -> None:
    """Refuse to go on when a unit of work's file is missing (a rank or worker did not finish)."""
    missing = next((p for p in paths if not Path(p).is_file()), None)
    if missing is not None:
        raise ValueError(f"{missing} is missing after the run: a rank did not finish; run the same command again to "
                         "complete the set")


def mark_complete(folder: Path, names: Sequence[str]) -> None:
    """Write ``folder``'s completeness marker, last, once every one of ``names`` is in it."""
    require_files([folder / n for n in names])
    (folder / COMPLETE).touch()


def being_written(folder: str | os.PathLike) -> bool:
    """Whether an augmix run holds ``folder``'s lock now (its outputs are not finished)."""
    import fcntl

    path = Path(folder) / LOCK
    if str(Path(folder).resolve()) in _HELD or not path.is_file():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


_HELD: dict[str, int] = {}


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold ``folder``'s lock for the block: a second run writing there is refused in one line.

    Re-entrant within a process (a command that calls another on the same folder holds it
    once); the lock is the operating system's (``flock``), so a killed run leaves none behind.
    """
    import fcntl

    key = str(Path(folder).resolve())
    if key in _HELD:
        yield
        return
    path = Path(folder) / LOCK
    while True:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(f"another augmix run is writing to {folder}; wait for it to finish or choose another "
                              "--out") from None
        try:  # the file locked must still be the one at the path: a run that ends removes it, then unlocks
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    _HELD[key] = fd
    try:
        yield
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            os.unlink(Path(folder) / LOCK)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
