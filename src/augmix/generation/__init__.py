"""Generating benchmark sets: ``GenerateConfig`` (the settings) and ``generate`` (sources ->
generators). The generators themselves are ``augmix.corruptions.generate`` and
``augmix.perturbations.generate``."""

from augmix.generation.config import BENCHMARKS, GenerateConfig
from augmix.generation.run import generate

__all__ = ["BENCHMARKS", "GenerateConfig", "generate"]
