"""Which torch device a command runs on: one check, shared by evaluation and generation."""

from __future__ import annotations

import torch


def resolve_device(device: str | None) -> torch.device:
    """``device`` as a torch device (default: CUDA when present), refusing one this machine lacks."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {device!r}; use cpu, cuda or cuda:N")
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"device {device} is not available on this machine ({torch.cuda.device_count()} CUDA "
                         "devices); use --device cpu")
    return dev
