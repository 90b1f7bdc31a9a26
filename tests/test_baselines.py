"""Each baseline's defining property on small tensors, seeded determinism, and a one-epoch run."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from augmix import baselines as B
from augmix.checkpoint import load_checkpoint
from augmix.models.blurpool import BlurPool2d, resnet50_maxblur
from augmix.train import TrainConfig, train
from tests.helpers import write_cifar10


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_cutout_zeroes_a_square_of_the_stated_size():
    x = torch.ones(64, 3, 32, 32)
    out = B.Cutout(16)(x, gen())
    zeros = (out[:, 0] == 0).sum(dim=(1, 2))
    assert zeros.max() == 256 and zeros.min() > 0  # 16x16 inside, clipped at borders
    full = out[(zeros == 256)][0, 0] == 0
    rows, cols = full.nonzero().T
    assert rows.max() - rows.min() == 15 and cols.max() - cols.min() == 15
    assert torch.equal(B.Cutout(16)(x, gen(1)), B.Cutout(16)(x, gen(1)))


def test_mixup_weights_sum_to_one_and_mix_pixels():
    x, y = torch.rand(8, 3, 32, 32), torch.arange(8)
    m = B.Mixup(1.0)(x, y, gen())
    assert 0 <= m.lam <= 1
    perm = m.y_b  # labels are indices, so y_b is the permutation
    assert torch.allclose(m.x, m.lam * x + (1 - m.lam) * x[perm])
    logits = torch.randn(8, 10)
    expected = m.lam * F.cross_entropy(logits, y) + (1 - m.lam) * F.cross_entropy(logits, perm)
    assert torch.allclose(m.loss(logits), expected)


def test_cutmix_label_weight_matches_pasted_area():
    x, y = torch.zeros(16, 1, 32, 32), torch.arange(16)
    x += y.view(-1, 1, 1, 1).float()  # image i is constant i
    for seed in range(5):
        m = B.CutMix(1.0)(x, y, gen(seed))
        kept = (m.x == x).float().mean(dim=(1, 2, 3))
        moved = m.y_b != y
        assert torch.allclose(kept[moved], torch.full_like(kept[moved], m.lam), atol=1e-6)


def test_pgd_stays_within_eps_and_increases_loss():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 10))
    x, y = torch.rand(16, 3, 8, 8), torch.randint(0, 10, (16,))
    adv = B.pgd(model, x, y, lambda v: v, eps=8 / 255, step=2 / 255, iters=7, generator=gen())
    assert (adv - x).abs().max() <= 8 / 255 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert F.cross_entropy(model(adv), y) > F.cross_entropy(model(x), y)


def test_patch_uniform_changes_only_a_patch():
    x = torch.full((4, 3, 32, 32), 0.5)
    out = B.PatchUniform(8, 0.5)(x, gen())
    changed = (out != x).any(1).sum(dim=(1, 2))
    assert changed.max() <= 64


@pytest.mark.parametrize("name", B.UINT8_TRANSFORMS)
def test_policy_transforms_are_seeded_and_per_image(name):
    x = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    t = B.make_uint8_transform(name)
    a, b = t(x, gen(3)), t(x, gen(3))
    assert a.dtype == torch.uint8 and a.shape == x.shape and torch.equal(a, b)


def test_maxblur_resnet50_and_blurpool():
    pool = BlurPool2d(2)
    x = torch.zeros(1, 2, 8, 8)
    x[..., 3, 3] = 16
    y = pool(x)
    assert y.shape == (1, 2, 4, 4) and torch.isclose(y.sum(), torch.tensor(2 * 16.0 * 4 / 16))
    assert resnet50_maxblur(5)(torch.randn(1, 3, 64, 64)).shape == (1, 5)


def test_bad_combinations():
    with pytest.raises(ValueError, match="JSD"):
        TrainConfig(method="augmix_jsd", baselines=("mixup",))
    with pytest.raises(ValueError, match="unknown baseline"):
        TrainConfig(baselines=("dropblock",))


@pytest.mark.parametrize("method, baseline", [
    ("standard", "cutout"), ("standard", "mixup"), ("standard", "cutmix"), ("standard", "autoaugment"),
    ("standard", "randaugment"), ("standard", "trivialaugment"), ("standard", "random_autoaugment"),
    ("standard", "adversarial"), ("standard", "patch_uniform"), ("augmix_jsd", "cutout"),
])
def test_one_epoch_per_method(tmp_path_factory, method, baseline):
    data = write_cifar10(tmp_path_factory.mktemp("d"), n_train=160, n_test=40)
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(dataset="cifar10", data_dir=str(data), model="tiny", method=method, baselines=(baseline,),
                      epochs=1, batch_size=32, lr=0.05, workers=0, out=str(out), pgd_iters=2)
    train(cfg, progress=False)
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["epoch"] == 1 and state["config"]["baselines"] == [baseline]
