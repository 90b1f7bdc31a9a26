"""Input normalisation per dataset family (facts from the reference code, as data)."""

from __future__ import annotations

# google-research/augmix cifar.py: Normalize([0.5] * 3, [0.5] * 3)
CIFAR_MEAN_STD: tuple[tuple[float, ...], tuple[float, ...]] = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
# google-research/augmix imagenet.py (torchvision's ImageNet statistics)
IMAGENET_MEAN_STD: tuple[tuple[float, ...], tuple[float, ...]] = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def mean_std_for(dataset: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The reference's normalisation for a dataset name (ImageNet's for ``imagenet``, else CIFAR's)."""
    return IMAGENET_MEAN_STD if dataset == "imagenet" else CIFAR_MEAN_STD
