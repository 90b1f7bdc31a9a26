"""numba kernels compile on their first call on a machine (then load from the on-disk cache):
say so once, so a progress bar that stops for a few seconds does not look like a hang; and a
cache that cannot be written costs a recompile next time, never the user's run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

_told: set[str] = set()


def kernel(**options: object) -> Callable[[Callable], Callable]:
    """``numba.njit(cache=True, **options)`` with a best-effort on-disk cache. On Linux numba
    raises when it cannot write a cache file (a file-size limit, a full disk, a read-only
    install), after the kernel compiled; here that becomes one line on stderr and the kernel
    runs from memory, compiled again by the next process."""
    import numba

    def wrap(fn):
        dispatcher = numba.njit(cache=True, **options)(fn)
        cache = getattr(dispatcher, "_cache", None)
        save = getattr(cache, "save_overload", None)
        if save is not None:
            def save_overload(sig, data, _save=save):
                try:
                    _save(sig, data)
                except OSError as err:
                    _cache_not_written(err)
            cache.save_overload = save_overload
        return dispatcher
    return wrap


def _cache_not_written(err: OSError) -> None:
    if "cache" not in _told:
        _told.add("cache")
        print(f"augmix: numba's kernel cache was not written ({err.strerror or err}); the kernels run, and "
              f"compile again in the next process", file=sys.stderr)


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
