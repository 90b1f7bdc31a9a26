"""Training recipes by name (facts from the papers and reference code, as data).

CIFAR - google-research/augmix ``cifar.py``: SGD + Nesterov 0.9, lr 0.1, batch 128, weight
decay 5e-4, cosine annealing stepped every iteration to an lr of 1e-6, 100 epochs for
WRN-40-2 / AllConvNet, 200 for DenseNet and ResNeXt with DenseNet's weight decay 1e-4 in
the paper's appendix, AugMix severity 3, width 3, random depth, JSD weight 12.

ImageNet - the script that trained the released ResNet-50, posted by its author in
google-research/augmix issue #3 ("ImageNet hparams", comment of 2019-12-28: "We chose 180
epochs, but the previous model that we uploaded was trained for 90 epochs with
--aug-width=3"), and again in hendrycks/imagenet-r issue #1. Read from the stored copies:
180 epochs, SGD with Nesterov momentum 0.9, weight decay 1e-4, JSD weight 12, AugMix
severity 1, and a cosine annealing stepped every iteration (``LambdaLR`` with
``cosine_annealing(step, epochs * len(loader), 1, 1e-6 / (lr * batch / 256))``): from the
peak lr, linearly scaled by batch / 256, to an absolute 1e-6. Not legible in the stored
copies: the script's default lr, batch size and width; those stay the reference
``imagenet.py``'s (lr 0.1 per 256 images, batch 256, width 3). The reference
``imagenet.py``'s own schedule (90 epochs, lr divided by 10 at 1/3 and 2/3, no Nesterov) is
not what trained the released model.
"""

from __future__ import annotations

from augmix.augment import AugMixConfig

CIFAR_BASE = {
    "batch_size": 128, "lr": 0.1, "lr_min": 1e-6, "momentum": 0.9, "nesterov": True,
    "weight_decay": 5e-4, "augmix": AugMixConfig(severity=3, width=3, depth=-1, alpha=1.0),
    "jsd_lambda": 12.0, "method": "augmix_jsd",
}

RECIPES: dict[str, dict] = {
    "cifar-wrn": {**CIFAR_BASE, "model": "wrn40_2", "epochs": 100},
    "cifar-allconv": {**CIFAR_BASE, "model": "allconv", "epochs": 100},
    "cifar-densenet": {**CIFAR_BASE, "model": "densenet", "epochs": 200, "weight_decay": 1e-4},
    "cifar-resnext": {**CIFAR_BASE, "model": "resnext29", "epochs": 200},
    "cifar-resnet18": {**CIFAR_BASE, "model": "cifar_resnet18", "epochs": 100},
    # CPU-scale: the small CNN, a few epochs (this project's choice, not the paper's)
    "cifar-small": {**CIFAR_BASE, "model": "small", "epochs": 10},
    "imagenet-resnet50": {
        "dataset": "imagenet", "model": "resnet50", "epochs": 180, "batch_size": 256, "lr": 0.1,
        "lr_min": 1e-6, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4,
        "augmix": AugMixConfig(severity=1, width=3, depth=-1, alpha=1.0), "jsd_lambda": 12.0,
        "method": "augmix_jsd",
    },
}
