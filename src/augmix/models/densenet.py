"""DenseNet (Huang et al., 2017) as the AugMix reference configures it: L=40, k=12,
no bottleneck, compression 1.0 (the reference's ``densenet(growth_rate=12, depth=40)``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from augmix.models.init import he_init


class _Layer(nn.Module):
    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(F.relu(self.bn(x)))], 1)


class _Transition(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    def __init__(self, num_classes: int = 10, depth: int = 40, growth: int = 12,
                 reduction: float = 1.0) -> None:
        super().__init__()
        n = (depth - 4) // 3
        ch = 2 * growth
        self.conv = nn.Conv2d(3, ch, 3, padding=1, bias=False)
        stages: list[nn.Module] = []
        for stage in range(3):
            for _ in range(n):
                stages.append(_Layer(ch, growth))
                ch += growth
            if stage < 2:
                out = int(ch * reduction)
                stages.append(_Transition(ch, out))
                ch = out
        self.features = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(ch)
        self.fc = nn.Linear(ch, num_classes)
        he_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.features(self.conv(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))
