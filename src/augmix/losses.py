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
    (clean first, as produced by one forward pass of ``torch.cat(views)``) and the targets
    of the clean images (N), or of every row (``views`` x N, as timm's collate repeats them
    for its split batches: the rows of each view must then carry the same targets).
    ``label_smoothing`` is applied to the clean view's cross-entropy (0 in the paper; timm's
    ``JsdCrossEntropy`` defaults to 0.1). With ``jsd=False`` (the paper's "AugMix without
    JSD") it is plain cross-entropy over whatever rows it is given.
    """

    def __init__(self, lam: float = 12.0, *, jsd: bool = True, views: int = 3, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if views < 2 and jsd:
            raise ValueError("the JSD loss needs at least 2 views")
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not 0.0 <= lam < float("inf"):
            raise ValueError(f"lam (the JSD weight) must be a finite number >= 0, got {lam!r}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.lam, self.jsd, self.views, self.label_smoothing = lam, jsd, views, label_smoothing

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] == 0:  # its mean would be NaN, and NaN poisons every weight it reaches
            raise ValueError("an empty batch has no loss; skip it")
        if not self.jsd:
            return F.cross_entropy(logits, targets, label_smoothing=self.label_smoothing)
        rows = logits.shape[0]
        if rows == self.views * targets.shape[0]:
            clean_targets = targets
        elif rows == targets.shape[0] and rows % self.views == 0:
            clean_targets, *others = targets.chunk(self.views)
            if any(not torch.equal(clean_targets, t) for t in others):
                raise ValueError(f"the {self.views} x N targets differ between views; stack the views of the same "
                                 "images (clean first) or pass the N clean targets")
        else:
            raise ValueError(f"expected {self.views} x N logits rows (all views stacked) and N or "
                             f"{self.views} x N targets, got {rows} rows and {targets.shape[0]} targets")
        split = logits.chunk(self.views)
        return (F.cross_entropy(split[0], clean_targets, label_smoothing=self.label_smoothing)
                + self.lam * jsd_loss(*split))
