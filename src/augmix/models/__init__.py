"""Model registry: the AugMix reference's CIFAR architectures, a CIFAR ResNet-18, small fast
CNNs for CPU work, and torchvision's ImageNet ResNet-50.

Our names are chosen so that none is a torchvision or timm model of another architecture
(``resnet50`` *is* torchvision's); ``resolve_arch`` finds a name here, then in torchvision,
then in timm, and ``torchvision:NAME`` / ``timm:NAME`` ask one library explicitly.
"""

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
    "cifar_resnet18": ResNet18,  # the CIFAR variant (3x3 stem, no max-pool); torchvision's is "resnet18"
    "small": SmallCNN,
    "tiny": lambda k: SmallCNN(k, width=0.5),
    "resnet50": _resnet50,
    "resnet50_maxblur": lambda k: resnet50_maxblur(k),
}


# names of checkpoints written before a rename; read only when rebuilding a saved model
LEGACY_NAMES = {"resnet18": "cifar_resnet18"}
PREFIXES = ("augmix", "torchvision", "timm")


def create_model(name: str, num_classes: int) -> nn.Module:
    """A freshly initialised model by registry name."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](num_classes)


def resolve_arch(name: str) -> tuple[str, str]:
    """(library, model name) of an architecture name: ``augmix:``, ``torchvision:`` or ``timm:``
    prefixed, or bare (ours first, then torchvision's, then timm's). One line when unknown,
    naming where it looked."""
    prefix, sep, bare = name.partition(":")
    if sep and prefix not in PREFIXES:
        raise ValueError(f"unknown architecture prefix {prefix!r}; use {', '.join(p + ':' for p in PREFIXES)} "
                         "or a bare name")
    libraries = (prefix,) if sep else PREFIXES
    bare = bare if sep else name
    looked = []
    for lib in libraries:
        if lib == "augmix":
            looked.append(f"augmix ({', '.join(MODELS)})")
            if bare in MODELS:
                return lib, bare
        elif lib == "torchvision":
            import torchvision

            looked.append("torchvision.models.list_models()")
            if bare in torchvision.models.list_models():
                return lib, bare
        else:
            try:
                import timm
            except ImportError:
                looked.append("timm (not installed: pip install timm)")
                continue
            looked.append("timm.list_models()")
            if bare in timm.list_models():
                return lib, bare
    raise ValueError(f"unknown architecture {name!r}; looked in {'; '.join(looked)}")


def build_arch(name: str, num_classes: int) -> nn.Module:
    """A freshly initialised model of any architecture ``resolve_arch`` finds."""
    lib, bare = resolve_arch(name)
    if lib == "augmix":
        return create_model(bare, num_classes)
    if lib == "torchvision":
        import torchvision

        return torchvision.models.get_model(bare, weights=None, num_classes=num_classes)
    import timm

    return timm.create_model(bare, pretrained=False, num_classes=num_classes)


__all__ = ["LEGACY_NAMES", "MODELS", "AllConvNet", "DenseNet", "ResNeXt", "ResNet18", "SmallCNN", "WideResNet",
           "build_arch", "create_model", "resolve_arch"]
