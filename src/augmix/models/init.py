"""The reference's weight initialisation, shared by its CIFAR models."""

from __future__ import annotations

import math

from torch import nn


def he_init(model: nn.Module, linear: str = "zero_bias") -> None:
    """Conv weights ~ N(0, sqrt(2 / (k*k*out))); BN weight 1, bias 0; Linear bias 0.

    ``linear="kaiming"`` also draws Linear weights with Kaiming-normal (ResNeXt does).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            m.weight.data.normal_(0, math.sqrt(2.0 / n))
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.data.fill_(1)
            m.bias.data.zero_()
        elif isinstance(m, nn.Linear):
            if linear == "kaiming":
                nn.init.kaiming_normal_(m.weight)
            m.bias.data.zero_()
