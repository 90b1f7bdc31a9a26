"""Split batch-norm (as timm's ``SplitBatchNorm2d``): the clean and each augmented view of a
JSD batch get their own BN statistics in training; evaluation uses the clean view's.

The auxiliary BNs live under ``aux_bn``, as in timm, so an evaluation model is the plain
architecture loaded with those keys dropped (``augmix.checkpoint.evaluation_state``)."""

from __future__ import annotations

import torch
from torch import nn


class SplitBatchNorm2d(nn.BatchNorm2d):
    def __init__(self, num_features: int, views: int = 3, **kw) -> None:
        super().__init__(num_features, **kw)
        self.views = views
        self.aux_bn = nn.ModuleList(nn.BatchNorm2d(num_features, **kw) for _ in range(views - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        if x.shape[0] % self.views:
            raise ValueError(f"batch of {x.shape[0]} does not split into {self.views} views")
        parts = x.chunk(self.views)
        out = [super().forward(parts[0])] + [bn(p) for bn, p in zip(self.aux_bn, parts[1:], strict=True)]
        return torch.cat(out)


def convert_splitbn(model: nn.Module, views: int = 3) -> nn.Module:
    """Replace every BatchNorm2d by a SplitBatchNorm2d that starts from its parameters."""
    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm2d) and not isinstance(child, SplitBatchNorm2d):
            new = SplitBatchNorm2d(child.num_features, views, eps=child.eps, momentum=child.momentum,
                                   affine=child.affine, track_running_stats=child.track_running_stats)
            new.load_state_dict(child.state_dict(), strict=False)
            for bn in new.aux_bn:
                bn.load_state_dict(child.state_dict())
            setattr(model, name, new)
        else:
            convert_splitbn(child, views)
    return model
