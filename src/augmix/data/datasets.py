"""The datasets augmix trains on, evaluates on and generates from, by name: the one list that
``TrainConfig``, ``EvalConfig`` and ``GenerateConfig`` (and so the command line) read."""

from __future__ import annotations

DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "digits", "imagenet")
CIFAR_DATASETS: tuple[str, ...] = ("cifar10", "cifar100")  # the test splits with released CIFAR-layout sets
