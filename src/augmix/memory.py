"""Memory guards shared by training and evaluation: how much is free on a device, a batch refused
before any work when its inputs alone would not fit, and an allocator failure inside a batch
turned into one line that says what to change."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import torch


def available_memory(device: torch.device) -> int:
    """Bytes free for tensors on ``device`` (the CPU: Linux's MemAvailable, else all of it)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_batch(batch_size: int, image_shape: tuple[int, ...], device: torch.device) -> None:
    """Refuse, before any work, a batch whose float inputs alone would not fit in free memory."""
    need = batch_size * int(np.prod(image_shape)) * 4 * 2  # the float input and its normalised copy
    free = available_memory(device)
    if need > free:
        raise ValueError(f"--batch-size {batch_size} needs {need / 2 ** 30:.1f} GiB for its inputs alone, more than "
                         f"the {free / 2 ** 30:.1f} GiB free on {device}; use a smaller --batch-size")


@contextlib.contextmanager
def one_line_oom(batch_size: int, device: torch.device):
    """An allocator failure inside a batch as one line that says what to change."""
    try:
        yield
    except (torch.OutOfMemoryError, RuntimeError) as err:
        text = str(err)
        if not isinstance(err, torch.OutOfMemoryError) and "memory" not in text.lower():
            raise
        raise ValueError(f"out of memory on {device} with --batch-size {batch_size}; use a smaller --batch-size"
                         ) from None
