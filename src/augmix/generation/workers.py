"""Worker processes for the benchmark writers: they die with their parent, and on an
error the queued work is dropped rather than run; ``run`` executes a list of units of work
here or in such a pool, with progress.

Beyond one machine: under ``torchrun`` (``RANK`` / ``WORLD_SIZE`` in the environment) each
rank runs every ``WORLD_SIZE``-th unit, and ``barrier`` waits for all ranks (a gloo process
group, CPU only); the generators let rank 0 alone write meta.json, assemble the CIFAR-layout
arrays and check the whole set once every rank is done.

The clean images are handed to each worker once (``initargs``) and read there with
``shared()``, so a unit of work sends only its indices.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

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


def single_threaded() -> None:
    """One thread per library in a worker: the workers already fill the cores. Setting
    ``OMP_NUM_THREADS`` there is too late (numpy's, scipy's and OpenCV's OpenBLAS were loaded by
    the parent, each with a thread per core), so their pools are limited where they run
    (threadpoolctl); and an OpenMP team inherited from a parent that used torch's pool
    deadlocks after fork, so torch gets one thread too. OpenCV's own pool cannot be resized
    in a forked child of a parent that used it (that deadlocks): ``pool`` sizes it to one
    thread in the parent, before the workers fork, instead."""
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # (a dependency; without it the pools keep their sizes)
        return
    threadpool_limits(1)


def shared() -> np.ndarray:
    """The images given to ``init_worker``."""
    if _SHARED is None:
        raise RuntimeError("no images were shared with this worker")
    return _SHARED


def _start(images: np.ndarray | None) -> None:
    die_with_parent()
    single_threaded()
    init_worker(images)


@contextlib.contextmanager
def pool(workers: int, images: np.ndarray | None = None) -> Iterator[ProcessPoolExecutor]:
    """``workers`` processes holding ``images``; queued work is cancelled if the caller fails.

    OpenCV's thread pool is one thread while the pool runs: the workers fork with that setting
    (they already fill the cores), and the caller's setting is restored afterwards.
    """
    import sys

    cv2 = sys.modules.get("cv2")
    threads = cv2.getNumThreads() if cv2 is not None else None
    if cv2 is not None:
        cv2.setNumThreads(1)
    executor = ProcessPoolExecutor(workers, initializer=_start, initargs=(images,))
    try:
        yield executor
    except BaseException:
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        if cv2 is not None:
            cv2.setNumThreads(threads)
    executor.shutdown(wait=True)


FILES_PER_WORKER, FILES_BASE = 2, 24  # open files a pool needs per worker process, and besides (measured: 20
# workers ran under `ulimit -n 64`, 30 failed)


def check_open_files(workers: int) -> None:
    """Refuse, before any work, more worker processes than the open-file limit allows (a pool
    that runs out of file descriptors half-way fails with "Too many open files")."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if workers > 1 and soft != resource.RLIM_INFINITY and FILES_PER_WORKER * workers + FILES_BASE > soft:
        fit = max(1, (soft - FILES_BASE) // FILES_PER_WORKER)
        raise ValueError(f"--workers {workers} needs about {FILES_PER_WORKER * workers + FILES_BASE} open files, more "
                         f"than this process may open (ulimit -n {soft}); use --workers {fit} or fewer, or raise the "
                         "limit")


def shard() -> tuple[int, int]:
    """(rank, world size) of this process: torchrun's ``RANK`` and ``WORLD_SIZE``, else (0, 1)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
    except ValueError:
        raise ValueError("RANK and WORLD_SIZE must be integers (torchrun sets them)") from None
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK {rank} is not a rank of WORLD_SIZE {world}")
    return rank, world


def is_main() -> bool:
    """Whether this process writes what all ranks share (meta.json, assembled arrays)."""
    return shard()[0] == 0


def barrier() -> None:
    """Wait for every rank (nothing to wait for in a single process)."""
    rank, world = shard()
    if world == 1:
        return
    import torch.distributed as dist

    if not dist.is_initialized():
        try:
            dist.init_process_group("gloo")
        except (ValueError, RuntimeError) as err:
            raise ValueError(f"cannot join the other ranks ({str(err).splitlines()[0][:120]}); start the ranks with "
                             "torchrun, which sets MASTER_ADDR and MASTER_PORT") from None
    dist.barrier()


def claim_output(folder, stack: contextlib.ExitStack, verb: str):
    """A writer's output folder, claimed for the run: checked (empty, or ``verb``'s) and created,
    locked (by rank 0 for all ranks under torchrun) until ``stack`` closes, and cleared of killed
    runs' temporaries."""
    from augmix.io import ensure_writable_dir, output_lock, remove_stale_temps

    if not is_main():
        barrier()  # rank 0 claims the folder for every rank, then the others go on
        return Path(folder)
    out = ensure_writable_dir(folder, verb=verb)
    stack.enter_context(output_lock(out))
    remove_stale_temps(out)
    barrier()
    return out


def write_meta(folder, meta: dict) -> None:
    """meta.json, by rank 0 alone, atomically."""
    import json

    from augmix.io import atomic_path

    if is_main():
        with atomic_path(Path(folder) / "meta.json") as tmp:
            tmp.write_text(json.dumps(meta, indent=2))


def run(tasks: Sequence[Callable[[], int]], workers: int, bar, images: np.ndarray | None = None) -> None:
    """Each task (a picklable callable returning how many items it made) of this rank's share
    under torchrun: in this process for one worker or one task, else in a pool of at most
    ``workers``; each result is added to the progress ``bar``. Returns once every rank has
    finished its share."""
    rank, world = shard()
    if world > 1:
        share = list(tasks)[rank::world]
        if bar.total and tasks:
            bar.reset(total=round(bar.total * len(share) / len(tasks)))
        bar.set_description(f"{getattr(bar, 'desc', '')} (rank {rank} of {world})")
        _run(share, workers, bar, images)
        barrier()
        return
    _run(tasks, workers, bar, images)


def _call(task: Callable[[], int]) -> int:
    return task()


def _run(tasks: Sequence[Callable[[], int]], workers: int, bar, images: np.ndarray | None) -> None:
    if not tasks:
        return
    if workers <= 1 or len(tasks) == 1:
        init_worker(images)
        for task in tasks:
            bar.update(task())
        return
    with pool(min(workers, len(tasks)), images) as executor:
        for done in executor.map(_call, tasks, chunksize=1):
            bar.update(done)
