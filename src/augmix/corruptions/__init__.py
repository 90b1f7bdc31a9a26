"""Common corruptions (CIFAR-10-C / Tiny-ImageNet-C / ImageNet-C): tables, functions, datasets.

The tables are imported at once; the functions (numpy, scipy, OpenCV, numba) on first use, so
that reading a table (the command line's help does) loads none of them.
"""

from __future__ import annotations

from augmix._lazy import lazy_exports
from augmix.corruptions.tables import ALL, BENCHMARK, CATEGORY, EXTRA, TABLES, table_for

_LAZY = {"corrupt": "augmix.corruptions.apply", "CORRUPTIONS": "augmix.corruptions.functional"}

__all__ = ["ALL", "BENCHMARK", "CATEGORY", "CORRUPTIONS", "EXTRA", "TABLES", "corrupt", "table_for"]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
