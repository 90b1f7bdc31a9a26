"""Model registry: the AugMix reference's CIFAR architectures, a CIFAR ResNet-18, small fast
CNNs for CPU work, and torchvision's ImageNet ResNet-50."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from augmix.models.allconv import AllConvNet
from augmix.models.blurpool import resnet50_maxblur
from augmix.models.densenet import DenseNet
from augmix.models.resnet import ResNet18, SmallCNN
from augmix.models.resnext import ResNeXt
from augmix.models.wrn import WideResNet


def _resnet50(num_classes: int) -> nn.Module:
    import torchvision

    return torchvision.models.resnet50(weights=None, num_classes=num_classes)


MODELS: dict[str, Callable[[int], nn.Module]] = {
    "wrn40_2": lambda k: WideResNet(40, k, 2, 0.0),
    "allconv": AllConvNet,
    "densenet": DenseNet,
    "resnext29": ResNeXt,
    "resnet18": ResNet18,
    "small": SmallCNN,
    "tiny": lambda k: SmallCNN(k, width=0.5),
    "resnet50": _resnet50,
    "resnet50_maxblur": lambda k: resnet50_maxblur(k),
}


def create_model(name: str, num_classes: int) -> nn.Module:
    """A freshly initialised model by registry name."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](num_classes)


__all__ = ["MODELS", "AllConvNet", "DenseNet", "ResNeXt", "ResNet18", "SmallCNN", "WideResNet",
           "create_model"]
