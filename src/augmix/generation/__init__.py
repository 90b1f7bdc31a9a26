"""Generating benchmark sets: ``GenerateConfig`` (the settings), ``generate`` (sources ->
writers), and the one scaffold (``scaffold.write_set``) that the writers of both released
layouts plug into: ``arrays`` (the CIFAR layout: -C, -C-bar, -P arrays) and ``trees`` (the
ImageNet layout: -C JPEG trees, -P videos). What a unit *is* - its images, streams and
preprocessing - are pure functions in ``augmix.corruptions.released`` and
``augmix.perturbations.released``; ``workers`` runs the units in processes and torchrun ranks.

The settings are imported at once, the writers on first use (``augmix corrupt --help`` reads
only the settings)."""

from augmix._lazy import lazy_exports
from augmix.generation.config import BENCHMARKS, GenerateConfig

_LAZY = {"generate": "augmix.generation.run", "generate_cifar_c": "augmix.generation.arrays",
         "generate_cifar_p": "augmix.generation.arrays", "generate_folder_c": "augmix.generation.trees",
         "generate_folder_p": "augmix.generation.trees"}

__all__ = ["BENCHMARKS", "GenerateConfig", "generate", "generate_cifar_c", "generate_cifar_p", "generate_folder_c",
           "generate_folder_p"]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
