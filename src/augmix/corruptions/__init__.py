"""Common corruptions (CIFAR-10-C / Tiny-ImageNet-C / ImageNet-C): tables, functions, datasets."""

from augmix.corruptions.apply import corrupt
from augmix.corruptions.functional import CORRUPTIONS
from augmix.corruptions.tables import ALL, BENCHMARK, CATEGORY, EXTRA, TABLES, table_for

__all__ = ["ALL", "BENCHMARK", "CATEGORY", "CORRUPTIONS", "EXTRA", "TABLES", "corrupt", "table_for"]
