"""Random streams keyed by names, never by positions in a list.

Every unit of work of a generator (a benchmark, a corruption, a severity, a chunk of images)
draws from its own ``numpy.random.Generator``, derived from the user's seed and the *names*
that identify the unit. Adding a corruption to a table, or reordering one, therefore leaves
every other corruption's images unchanged. ``SCHEME`` names this derivation; it is recorded
in each generated folder's ``meta.json`` so that a resume never mixes two schemes.
"""

from __future__ import annotations

import hashlib

import numpy as np

SCHEME = "names-sha256-v1"  # recorded in meta.json as "seeding"
LEGACY_SCHEME = "list-positions"  # folders written before SCHEME existed (no "seeding" key)


def name_key(name: str) -> list[int]:
    """A stable 128-bit key of ``name`` (four 32-bit words of its SHA-256), the same on every machine
    and Python version (Python's ``hash`` of a string is salted per process)."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()[:16]  # (the same bytes for UTF-8)
    return [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """The generator of the unit of work identified by ``keys`` (names and integers) under ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    entropy: list[int] = [int(seed)]
    for key in keys:
        if isinstance(key, str):
            entropy += name_key(key)
        else:
            entropy.append(int(key))
    return np.random.default_rng(np.random.SeedSequence(entropy))


def torch_generator(rng: np.random.Generator, device: str = "cpu"):
    """A ``torch.Generator`` on ``device`` seeded by one draw of ``rng``: a unit's stream for torch
    code (its numbers then depend on the device type: torch's CPU and CUDA generators differ)."""
    import torch

    return torch.Generator(device=device).manual_seed(int(rng.integers(2 ** 63)))
