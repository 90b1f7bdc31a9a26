"""The shared parameter sampler: distribution, determinism, per-image independence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from augmix.augment import AugMixConfig, sample_params


def test_statistics_match_the_reference_distribution():
    n = 20000
    cfg = AugMixConfig(severity=3, width=3, depth=-1, alpha=1.0)
    p = sample_params(n, cfg, seed=0)
    # op choice uniform over the 9 reference ops (chi-square at a loose level)
    counts = np.bincount(p.ops.flatten().numpy(), minlength=9)
    expected = p.ops.numel() / 9
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 30  # 8 dof: p ~ 2e-4
    # depth uniform in {1, 2, 3}
    depth_freq = np.bincount(p.depths.flatten().numpy(), minlength=4)[1:] / p.depths.numel()
    np.testing.assert_allclose(depth_freq, 1 / 3, atol=0.01)
    # Dirichlet(1,1,1): mean 1/3, var (1*2)/(9*4) = 1/18; rows sum to 1
    w = p.chain_weights.numpy()
    np.testing.assert_allclose(w.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(w.mean(0), 1 / 3, atol=0.01)
    np.testing.assert_allclose(w.var(0), 1 / 18, atol=0.005)
    # Beta(1, 1): mean 1/2, var 1/12
    m = p.mix_weights.numpy()
    assert abs(m.mean() - 0.5) < 0.01 and abs(m.var() - 1 / 12) < 0.005
    # level ~ U(0.1, severity), sign a fair coin
    lv = p.levels.numpy()
    assert lv.min() >= 0.1 and lv.max() < 3
    assert abs(lv.mean() - 1.55) < 0.01
    assert abs((p.signs.numpy() < 0).mean() - 0.5) < 0.01


def test_alpha_shapes_the_weights():
    p = sample_params(20000, AugMixConfig(alpha=0.5), seed=1)
    # Beta(a, a) variance 1 / (4 (2a + 1)) = 1/8 at a = 0.5
    assert abs(p.mix_weights.numpy().var() - 1 / 8) < 0.006


def test_fixed_depth_and_all_ops():
    p = sample_params(500, AugMixConfig(depth=2, all_ops=True), seed=0)
    assert (p.depths == 2).all() and p.ops.shape == (500, 3, 2)
    assert len(p.op_names) == 13 and set(p.ops.unique().tolist()) == set(range(13))
    assert p.active().all()


def test_same_seed_same_params_and_generators():
    cfg = AugMixConfig()
    a, b = sample_params(16, cfg, seed=7), sample_params(16, cfg, seed=7)
    assert torch.equal(a.ops, b.ops) and torch.equal(a.levels, b.levels)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(sample_params(4, cfg, g1).ops, sample_params(4, cfg, g2).ops)
    torch.manual_seed(5)
    c = sample_params(4, cfg)
    torch.manual_seed(5)
    assert torch.equal(c.levels, sample_params(4, cfg).levels)


def test_images_in_a_batch_get_different_ops():
    p = sample_params(64, AugMixConfig(), seed=0)
    distinct = {tuple(row.flatten().tolist()) for row in p.ops}
    assert len(distinct) == 64


@pytest.mark.parametrize("kwargs, match", [
    ({"severity": 0}, "severity"), ({"severity": 11}, "severity"),
    ({"width": 0}, "width"), ({"depth": 0}, "depth"), ({"alpha": 0}, "alpha"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AugMixConfig(**kwargs)


def test_config_string_round_trips():
    cfg = AugMixConfig(severity=1, width=2, depth=3, alpha=0.5, all_ops=True)
    assert AugMixConfig.parse(str(cfg)) == cfg
    assert AugMixConfig.parse("severity=5") == AugMixConfig(severity=5)
    with pytest.raises(ValueError, match="key=value"):
        AugMixConfig.parse("blend")
