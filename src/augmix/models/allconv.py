"""AllConvNet (Springenberg et al., 2015) in the AugMix reference's configuration.

96-96-96-maxpool+dropout-192-192-192-maxpool+dropout-conv3x3(valid)-NIN-NIN-avgpool,
BatchNorm and the sigmoid approximation of GELU after every convolution.
"""

from __future__ import annotations

import torch
from torch import nn

from augmix.models.init import he_init


class GELU(nn.Module):
    """x * sigmoid(1.702 x), the GELU approximation the reference uses."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(1.702 * x) * x


def _conv(cin: int, cout: int, k: int, pad: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=pad), nn.BatchNorm2d(cout), GELU()]


class AllConvNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        w1, w2 = 96, 192
        layers: list[nn.Module] = []
        layers += _conv(3, w1, 3, 1) + _conv(w1, w1, 3, 1) + _conv(w1, w1, 3, 1)
        layers += [nn.MaxPool2d(2, 2), nn.Dropout(0.5)]
        layers += _conv(w1, w2, 3, 1) + _conv(w2, w2, 3, 1) + _conv(w2, w2, 3, 1)
        layers += [nn.MaxPool2d(2, 2), nn.Dropout(0.5)]
        layers += _conv(w2, w2, 3, 0) + _conv(w2, w2, 1, 1) + _conv(w2, w2, 1, 1)
        layers += [nn.AvgPool2d(8)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(w2, num_classes)
        he_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))
