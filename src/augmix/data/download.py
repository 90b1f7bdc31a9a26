"""Downloading and unpacking the official archives: resumable, verified, atomic.

A download goes to ``<file>.part`` (resumed with an HTTP Range request after a
failure, retried with back-off), is checked against the published md5 (or SHA-256), and
only then renamed to its final name. Extraction (tar or zip) unpacks into a temporary folder
beside the target and renames it into place, so an interrupted run never leaves a
half-extracted dataset; a plain file is moved into its folder once verified.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from augmix.data.sources import ARCHIVES, Archive

ENV_ROOT = "AUGMIX_DATA"


class DataError(Exception):
    """Missing, unreachable or damaged data; the message says what to do."""


def default_root() -> Path:
    """``$AUGMIX_DATA`` if set, else ``~/.cache/augmix``."""
    return Path(os.environ.get(ENV_ROOT) or Path.home() / ".cache" / "augmix")


def md5sum(path: Path, chunk: int = 1 << 20, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _where_to_put(archive: Archive, root: Path) -> str:
    algo, digest = archive.checksum
    if archive.kind == "file":
        return (f"download {archive.url} yourself ({archive.size_hint}, {algo} {digest}) and put it at "
                f"{root / archive.folder / archive.filename}; --data-dir or ${ENV_ROOT} choose another root")
    return (f"download {archive.url} yourself ({archive.size_hint}, {algo} {digest}) and put it at "
            f"{root / archive.filename}, or put the unpacked folder at {root / archive.folder}; "
            f"--data-dir or ${ENV_ROOT} choose another root")


def download(archive: Archive, root: Path, retries: int = 4, timeout: float = 30.0) -> Path:
    """Fetch ``archive`` into ``root`` (resuming ``.part`` files); return the verified file."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / archive.filename
    if final.exists():
        return final
    part = final.with_name(final.name + ".part")
    last_error: Exception | None = None
    for attempt in range(retries):
        try:
            have = part.stat().st_size if part.exists() else 0
            req = urllib.request.Request(archive.url, headers={"Range": f"bytes={have}-"} if have else {})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if have and resp.status != 206:  # server ignored the range: start over
                    have = 0
                total = int(resp.headers.get("Content-Length", 0)) + have
                with open(part, "ab" if have else "wb") as f, tqdm(
                    total=total or None, initial=have, unit="B", unit_scale=True,
                    desc=f"downloading {archive.filename}",
                ) as bar:
                    while block := resp.read(1 << 20):
                        f.write(block)
                        bar.update(len(block))
            break
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            last_error = err
            if attempt + 1 < retries:
                time.sleep(min(2**attempt, 30))
    else:
        raise DataError(f"cannot download {archive.name} ({last_error}); {_where_to_put(archive, root)}")
    algo, published = archive.checksum
    digest = md5sum(part, algorithm=algo)
    if digest != published:
        part.unlink()
        raise DataError(f"{archive.filename}: {algo} {digest} does not match the published {published}; "
                        f"the partial file was removed, run again to re-download")
    os.replace(part, final)
    return final


def extract(archive_path: Path, archive: Archive, root: Path) -> Path:
    """Unpack into ``root/archive.folder`` atomically (temporary folder, then rename)."""
    target = root / archive.folder
    if archive.kind == "file":
        target = target / archive.filename
    if target.exists():
        return target
    algo, published = archive.checksum
    digest = md5sum(archive_path, algorithm=algo)
    if digest != published:
        raise DataError(f"{archive_path}: {algo} {digest} is not the published {published} for "
                        f"{archive.name}; delete it (or replace it with the official file) and run again")
    if archive.kind == "file":
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(archive_path, target)
        return target
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{archive.folder}."))
    try:
        if archive.kind == "zip":
            _unzip(archive_path, tmp)
        else:
            with tarfile.open(archive_path) as tar:
                tar.extractall(tmp, filter="data")
        inner = tmp / archive.folder
        if not inner.is_dir():
            raise DataError(f"{archive_path} does not contain the folder {archive.folder}/")
        os.replace(inner, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _unzip(path: Path, dest: Path) -> None:
    """Extract a zip archive, refusing members that would land outside ``dest``."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            resolved = (dest / member).resolve()
            if not resolved.is_relative_to(dest.resolve()):
                raise DataError(f"{path} holds a member outside its folder ({member}); it is not the official file")
        zf.extractall(dest)


def ensure(key: str, root: Path | None = None, download_ok: bool = True) -> Path:
    """The unpacked folder of dataset ``key`` (see ``ARCHIVES``), fetching it if needed."""
    archive = ARCHIVES[key]
    root = Path(root) if root is not None else default_root()
    if root.exists() and not root.is_dir():
        raise DataError(f"the data root {root} is a file, not a folder; give --data-dir a folder (or set "
                        f"${ENV_ROOT})")
    target = root / archive.folder
    if archive.kind == "file":
        if (target / archive.filename).is_file():
            return target / archive.filename
    elif target.is_dir():
        return target
    path = root / archive.filename
    if not path.exists():
        if not download_ok:
            raise DataError(f"{archive.name} not found under {root}; {_where_to_put(archive, root)}")
        path = download(archive, root)
    return extract(path, archive, root)
