"""The JSD consistency loss against its formula."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from augmix import AugMixLoss, jsd_loss


def test_zero_for_identical_views():
    logits = torch.randn(5, 10)
    assert jsd_loss(logits, logits.clone(), logits.clone()).abs() < 1e-6


def test_symmetric_in_the_views():
    a, b, c = torch.randn(3, 4, 7).unbind(0)
    base = jsd_loss(a, b, c)
    for perm in [(b, a, c), (c, b, a), (b, c, a)]:
        assert torch.allclose(jsd_loss(*perm), base, atol=1e-6)
    assert torch.allclose(jsd_loss(a, b), jsd_loss(b, a), atol=1e-7)


def test_matches_hand_computation():
    # two views, two classes: JS(p, q) = 1/2 KL(p||m) + 1/2 KL(q||m)
    p, q = [0.9, 0.1], [0.2, 0.8]
    m = [(p[i] + q[i]) / 2 for i in range(2)]
    kl = lambda u, v: sum(u[i] * math.log(u[i] / v[i]) for i in range(2))  # noqa: E731
    expected = (kl(p, m) + kl(q, m)) / 2
    logits = lambda v: torch.tensor([[math.log(v[0]), math.log(v[1])]])  # noqa: E731
    assert abs(jsd_loss(logits(p), logits(q)).item() - expected) < 1e-6
    assert expected <= math.log(2)


def test_loss_module_is_ce_plus_lambda_jsd():
    torch.manual_seed(0)
    logits, y = torch.randn(12, 5), torch.randint(0, 5, (4,))
    loss = AugMixLoss(lam=12)(logits, y)
    c, a1, a2 = logits.chunk(3)
    assert torch.allclose(loss, F.cross_entropy(c, y) + 12 * jsd_loss(c, a1, a2))
    assert torch.allclose(AugMixLoss(jsd=False)(c, y), F.cross_entropy(c, y))
    with pytest.raises(ValueError, match="stacked"):
        AugMixLoss()(logits[:8], y)


def test_batchmean_reduction_matches_reference_formula():
    torch.manual_seed(1)
    c, a1, a2 = torch.randn(3, 6, 4).unbind(0)
    pc, p1, p2 = (F.softmax(v, 1) for v in (c, a1, a2))
    mix = torch.clamp((pc + p1 + p2) / 3.0, 1e-7, 1).log()
    ref = (F.kl_div(mix, pc, reduction="batchmean") + F.kl_div(mix, p1, reduction="batchmean")
           + F.kl_div(mix, p2, reduction="batchmean")) / 3.0
    assert torch.allclose(jsd_loss(c, a1, a2), ref, atol=1e-7)
