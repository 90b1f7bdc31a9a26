"""CIFAR ResNet-18 (He et al., 2016 widths; 3x3 stem, no max-pool) and a small fast CNN.

``SmallCNN`` is this project's model for CPU-scale experiments: four conv-BN-ReLU stages
(32-64-128-256 channels at width 1) with max-pooling: 0.39 M parameters ("small"),
0.10 M at width 0.5 ("tiny").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.short(x))


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [_Basic(cin, cout, stride), _Basic(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1))


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        c = [max(8, int(v * width)) for v in (32, 64, 128, 256)]

        def block(cin: int, cout: int, pool: bool) -> list[nn.Module]:
            mods: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                                     nn.ReLU(inplace=True)]
            return mods + ([nn.MaxPool2d(2)] if pool else [])

        self.features = nn.Sequential(*block(3, c[0], False), *block(c[0], c[1], True),
                                      *block(c[1], c[2], True), *block(c[2], c[3], True))
        self.fc = nn.Linear(c[3], num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # logits scaled by 1/8 (as airbench does) keep SGD at lr 0.1 stable for this shallow net
        return self.fc(F.adaptive_max_pool2d(self.features(x), 1).flatten(1)) / 8
