"""``augmix.corruptions``: the 19 corruptions (see ``augmix.corrupt``)."""

from augmix.corrupt import ALL, BENCHMARK, CATEGORY, CORRUPTIONS, EXTRA, TABLES, corrupt, table_for

__all__ = ["ALL", "BENCHMARK", "CATEGORY", "CORRUPTIONS", "EXTRA", "TABLES", "corrupt", "table_for"]
