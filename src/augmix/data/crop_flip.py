"""Batched standard CIFAR augmentation on uint8 tensors: random crop with zero padding + flip.

The same maps as torchvision's ``RandomHorizontalFlip()`` then ``RandomCrop(32, padding=4)``
(the reference's order), drawn per image from a generator, on the batch's device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(x: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """Flip each image with probability 1/2, then crop back to size from a zero-padded copy."""
    n, c, h, w = x.shape
    dev = x.device
    flip = torch.rand(n, generator=generator) < 0.5
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    x = torch.where(flip.to(dev).view(n, 1, 1, 1), x.flip(-1), x)
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = (dy.to(dev).view(n, 1) + torch.arange(h, device=dev)).view(n, 1, h, 1).expand(n, c, h, w + 2 * padding)
    out = padded.gather(2, rows)
    cols = (dx.to(dev).view(n, 1) + torch.arange(w, device=dev)).view(n, 1, 1, w).expand(n, c, h, w)
    return out.gather(3, cols)
