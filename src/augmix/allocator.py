"""CPU training and evaluation: let glibc keep freed memory, so large batches stop paying page faults."""

from __future__ import annotations

import ctypes
import ctypes.util


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to serve large blocks from the heap and keep what is freed.

    A training step frees and reallocates the same large activation buffers. By default
    glibc maps blocks above its mmap threshold fresh from the kernel and returns them on
    free, so every step pays page faults, and their cost grows faster than the batch
    (measured by ``benchmarks/step_scaling.py``). jemalloc and tcmalloc keep freed memory
    by design; this does the same with glibc. The process then keeps its peak memory.
    Returns whether the setting was applied (False off glibc).
    """
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc malloc.h
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, (1 << 31) - 1))
