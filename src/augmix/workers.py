"""Worker processes for the dataset generators: they die with their parent, and on an
error the queued work is dropped rather than run; ``run`` executes a list of units of work
here or in such a pool, with progress.

The clean images are handed to each worker once (``initargs``) and read there with
``shared()``, so a unit of work sends only its indices.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

_SHARED: np.ndarray | None = None  # the clean images of this worker (or of the parent, with one worker)


def die_with_parent() -> None:
    """Make this process end when its parent dies, even by ``kill -9`` (Linux)."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def init_worker(images: np.ndarray | None = None) -> None:
    """Set up a worker (or, with one worker, this process): images shared, one BLAS thread."""
    global _SHARED
    _SHARED = images
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _single_threaded() -> None:
    """One torch thread in a forked worker: the workers already fill the cores, and an OpenMP
    thread team inherited from a parent that used torch's thread pool deadlocks after fork."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def shared() -> np.ndarray:
    """The images given to ``init_worker``."""
    if _SHARED is None:
        raise RuntimeError("no images were shared with this worker")
    return _SHARED


def _start(images: np.ndarray | None) -> None:
    die_with_parent()
    _single_threaded()
    init_worker(images)


@contextlib.contextmanager
def pool(workers: int, images: np.ndarray | None = None) -> Iterator[ProcessPoolExecutor]:
    """``workers`` processes holding ``images``; queued work is cancelled if the caller fails."""
    executor = ProcessPoolExecutor(workers, initializer=_start, initargs=(images,))
    try:
        yield executor
    except BaseException:
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def run(fn: Callable[[tuple], int], tasks: Sequence[tuple], workers: int, bar,
        images: np.ndarray | None = None) -> None:
    """``fn`` over ``tasks``: in this process for one worker or one task, else in a pool of at most
    ``workers``; each result (how many items it made) is added to the progress ``bar``."""
    if not tasks:
        return
    if workers <= 1 or len(tasks) == 1:
        init_worker(images)
        for task in tasks:
            bar.update(fn(task))
        return
    with pool(min(workers, len(tasks)), images) as executor:
        for done in executor.map(fn, tasks, chunksize=1):
            bar.update(done)
