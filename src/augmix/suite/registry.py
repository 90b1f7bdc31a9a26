"""The registry of benchmarks: every benchmark the suite evaluates, the report renders and
``compare`` sets side by side, in report order. Adding a benchmark is one module (its
``Benchmark`` entry) and one line here."""

from __future__ import annotations

from augmix.suite.benchmark import Benchmark
from augmix.suite.cbar import CBAR
from augmix.suite.corruption import C
from augmix.suite.natural import SHIFTS
from augmix.suite.perturbation import P
from augmix.suite.threedcc import THREEDCC

REGISTRY: dict[str, Benchmark] = {b.name: b for b in (C, CBAR, THREEDCC, P, *SHIFTS)}
