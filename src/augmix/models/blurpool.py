"""Anti-aliased downsampling ("MaxBlur pool", Zhang, ICML 2019) for torchvision's ResNet-50.

Max-pooling becomes max (stride 1) then a binomial [1, 2, 1] blur with stride 2; every
strided convolution becomes the convolution at stride 1 followed by the same blur-pool.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BlurPool2d(nn.Module):
    """Depthwise [1, 2, 1] x [1, 2, 1] / 16 blur with reflection padding, then subsampling."""

    def __init__(self, channels: int, stride: int = 2) -> None:
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :]) / 16
        self.register_buffer("kernel", k.expand(channels, 1, 3, 3).clone())
        self.stride, self.channels = stride, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.kernel, stride=self.stride,
                        groups=self.channels)


def resnet50_maxblur(num_classes: int = 1000) -> nn.Module:
    import torchvision

    model = torchvision.models.resnet50(weights=None, num_classes=num_classes)
    model.maxpool = nn.Sequential(nn.MaxPool2d(3, 1, 1), BlurPool2d(64))
    for layer in (model.layer2, model.layer3, model.layer4):
        block = layer[0]
        conv = block.conv2  # torchvision's ResNet-50 v1.5 strides in the 3x3 conv
        block.conv2 = nn.Sequential(nn.Conv2d(conv.in_channels, conv.out_channels, 3, 1, 1, bias=False),
                                    BlurPool2d(conv.out_channels))
        down = block.downsample[0]
        block.downsample[0] = nn.Sequential(BlurPool2d(down.in_channels),
                                            nn.Conv2d(down.in_channels, down.out_channels, 1, 1, bias=False))
    return model
