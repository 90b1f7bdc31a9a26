"""numba kernels compile on their first call on a machine (then load from the on-disk cache):
say so once, so a progress bar that stops for a few seconds does not look like a hang."""

from __future__ import annotations

import sys
from pathlib import Path

_told: set[str] = set()


def announce_first_compile(dispatcher, what: str) -> None:
    """Print one line to stderr if ``dispatcher`` is about to be compiled rather than loaded."""
    if what in _told or getattr(dispatcher, "signatures", None):
        return
    try:
        cached = Path(dispatcher._cache._cache_file._index_path).exists()
    except AttributeError:  # not a cached numba dispatcher, or numba changed: say nothing
        return
    _told.add(what)
    if not cached:
        from tqdm import tqdm

        tqdm.write(f"augmix: compiling {what} (once per machine, up to a minute)", file=sys.stderr)
