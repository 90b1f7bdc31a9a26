"""Python callers get one clear error, or the right result, for the inputs people get wrong:
float64 and 0-255 float tensors, channels-last batches, empty batches, float severities, and
loss weights that are not numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import augmix
from augmix.corruptions.tensor import corrupt_tensor
from tests.conftest import smooth_images


def _batch(n: int = 4) -> torch.Tensor:
    return torch.from_numpy(smooth_images(n, 32)).permute(0, 3, 1, 2).contiguous()


def test_float64_images_are_augmented_as_float32():
    x = _batch()
    params = augmix.sample_params(4, augmix.AugMixConfig(), seed=0)
    ours = augmix.apply_tensor(x.double() / 255, params)
    assert ours.dtype == torch.float32
    assert torch.allclose(ours, augmix.apply_tensor(x.float() / 255, params))
    assert augmix.AugMix(generator=0)(x[0].double() / 255).shape == (3, 32, 32)


def test_float_images_holding_0_255_are_refused_not_clipped():
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*divide 0-255 values by 255, or pass uint8"):
        augmix.AugMixBatch(generator=0)(_batch().float())
    with pytest.raises(ValueError, match="divide 0-255 values by 255"):
        augmix.AugMix(generator=0)(_batch()[0].float())


def test_a_channels_last_batch_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"channels last\? use x.permute\(0, 3, 1, 2\)"):
        augmix.AugMixBatch(generator=0)(_batch().permute(0, 2, 3, 1).contiguous())
    assert augmix.AugMixBatch(generator=0)(torch.zeros(2, 4, 8, 8, dtype=torch.uint8)).shape == (2, 4, 8, 8)


def test_an_empty_batch_gives_empty_views():
    empty = torch.zeros(0, 3, 32, 32, dtype=torch.uint8)
    assert augmix.AugMixBatch(generator=0)(empty).shape == (0, 3, 32, 32)
    assert [v.shape for v in augmix.AugMixBatch(jsd=True, generator=0)(empty)] == [(0, 3, 32, 32)] * 3
    assert corrupt_tensor(empty, "fog", 3, seed=0).shape == (0, 3, 32, 32)


@pytest.mark.parametrize("severity", [3.0, True, "3", 0, 6])
def test_a_severity_is_an_integer_from_1_to_5(severity):
    x = smooth_images(2, 32)
    with pytest.raises(ValueError, match=r"severity must be 1..5 \(an integer\)"):
        augmix.corrupt(x, "fog", severity, seed=0)
    with pytest.raises(ValueError, match=r"severity must be 1..5 \(an integer\)"):
        corrupt_tensor(torch.from_numpy(x).permute(0, 3, 1, 2), "fog", severity, seed=0)
    assert augmix.corrupt(x, "fog", np.int64(3), seed=0).shape == x.shape  # numpy integers are integers


@pytest.mark.parametrize("lam", [float("nan"), float("inf"), -1.0, "12"])
def test_the_loss_weight_is_a_finite_number_and_an_empty_batch_has_no_loss(lam):
    with pytest.raises(ValueError, match="lam"):
        augmix.AugMixLoss(lam=lam)
    with pytest.raises(ValueError, match="empty batch"):
        augmix.AugMixLoss()(torch.zeros(0, 10), torch.zeros(0, dtype=torch.long))
