"""ResNeXt-29 (Xie et al., 2017) for CIFAR as in the AugMix reference: cardinality 4, base width 32."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from augmix.models.init import he_init


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, cardinality: int, base_width: int, stride: int) -> None:
        super().__init__()
        dim = int(planes * base_width / 64) * cardinality
        self.reduce = nn.Sequential(nn.Conv2d(cin, dim, 1, bias=False), nn.BatchNorm2d(dim))
        self.grouped = nn.Sequential(nn.Conv2d(dim, dim, 3, stride, 1, groups=cardinality, bias=False),
                                     nn.BatchNorm2d(dim))
        self.expand = nn.Sequential(nn.Conv2d(dim, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4))
        self.down = None
        if stride != 1 or cin != planes * 4:
            self.down = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False),
                                      nn.BatchNorm2d(planes * 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.reduce(x))
        y = F.relu(self.grouped(y))
        y = self.expand(y)
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNeXt(nn.Module):
    def __init__(self, num_classes: int = 10, depth: int = 29, cardinality: int = 4, base_width: int = 32):
        super().__init__()
        n = (depth - 2) // 9
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        layers, cin = [], 64
        for planes, stride in ((64, 1), (128, 2), (256, 2)):
            for j in range(n):
                layers.append(_Bottleneck(cin, planes, cardinality, base_width, stride if j == 0 else 1))
                cin = planes * 4
        self.stages = nn.Sequential(*layers)
        self.fc = nn.Linear(256 * 4, num_classes)
        he_init(self, linear="kaiming")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
