"""Perturbation sequences (CIFAR-10-P / Tiny-ImageNet-P / ImageNet-P): tables, sequences, datasets."""

from augmix.perturbations.functional import SEQUENCES, Streams, perturb, sequence
from augmix.perturbations.tables import ALL, BASE, CIFAR_TEST, IMAGENET_TEST, NOISE, TABLES, frames, is_noise

__all__ = ["ALL", "BASE", "CIFAR_TEST", "IMAGENET_TEST", "NOISE", "SEQUENCES", "TABLES", "Streams", "frames",
           "is_noise", "perturb", "sequence"]
