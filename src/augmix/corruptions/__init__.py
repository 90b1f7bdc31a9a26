"""Common corruptions (CIFAR-10-C / Tiny-ImageNet-C / ImageNet-C): tables, functions, datasets.

The tables are imported at once; the functions (numpy, scipy, OpenCV, numba) on first use, so
that reading a table (the command line's help does) loads none of them.
"""

from __future__ import annotations

import importlib

from augmix.corruptions.tables import ALL, BENCHMARK, CATEGORY, EXTRA, TABLES, table_for

_LAZY = {"corrupt": "augmix.corruptions.apply", "CORRUPTIONS": "augmix.corruptions.functional"}

__all__ = ["ALL", "BENCHMARK", "CATEGORY", "CORRUPTIONS", "EXTRA", "TABLES", "corrupt", "table_for"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'augmix.corruptions' has no attribute {name!r}")
