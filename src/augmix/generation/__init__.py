"""Generating benchmark sets: ``GenerateConfig`` (the settings), ``generate`` (sources ->
writers), and the one scaffold (``scaffold.write_set``) that the writers of both released
layouts plug into: ``arrays`` (the CIFAR layout: -C, -C-bar, -P arrays) and ``trees`` (the
ImageNet layout: -C JPEG trees, -P videos). What a unit *is* - its images, streams and
preprocessing - are pure functions in ``augmix.corruptions.released`` and
``augmix.perturbations.released``; ``workers`` runs the units in processes and torchrun ranks."""

from augmix.generation.arrays import generate_cifar_c, generate_cifar_p
from augmix.generation.config import BENCHMARKS, GenerateConfig
from augmix.generation.run import generate
from augmix.generation.trees import generate_folder_c, generate_folder_p

__all__ = ["BENCHMARKS", "GenerateConfig", "generate", "generate_cifar_c", "generate_cifar_p", "generate_folder_c",
           "generate_folder_p"]
