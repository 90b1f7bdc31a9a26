"""The Jensen-Shannon consistency loss of AugMix (Hendrycks et al., ICLR 2020, eq. 3-4).

Follows google-research/augmix ``cifar.py``: softmax of each view, mixture M clamped to
[1e-7, 1] before its log, mean over views of KL(p_i || M) with ``batchmean`` reduction;
the training loss is cross-entropy on the clean view plus lambda (12 in the paper) times
that term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def jsd_loss(logits_clean: torch.Tensor, *logits_aug: torch.Tensor) -> torch.Tensor:
    """Generalised Jensen-Shannon divergence between the softmax of every view."""
    probs = [F.softmax(lg, dim=1) for lg in (logits_clean, *logits_aug)]
    log_mixture = torch.clamp(torch.stack(probs).mean(0), 1e-7, 1).log()
    return sum(F.kl_div(log_mixture, p, reduction="batchmean") for p in probs) / len(probs)


class AugMixLoss(torch.nn.Module):
    """Cross-entropy on the clean view + ``lam`` x JSD over ``views`` views.

    ``forward(logits, targets)`` takes the logits of all views stacked along the batch
    (clean first, as produced by one forward pass of ``torch.cat(views)``). With
    ``jsd=False`` (the paper's "AugMix without JSD") it is plain cross-entropy.
    """

    def __init__(self, lam: float = 12.0, *, jsd: bool = True, views: int = 3) -> None:
        super().__init__()
        if views < 2 and jsd:
            raise ValueError("the JSD loss needs at least 2 views")
        self.lam, self.jsd, self.views = lam, jsd, views

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if not self.jsd:
            return F.cross_entropy(logits, targets)
        if logits.shape[0] != self.views * targets.shape[0]:
            raise ValueError(f"expected {self.views} x {targets.shape[0]} logits rows "
                             f"(all views stacked), got {logits.shape[0]}")
        split = logits.chunk(self.views)
        return F.cross_entropy(split[0], targets) + self.lam * jsd_loss(*split)
