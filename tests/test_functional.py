"""Each op at fixed magnitudes: the PIL path against its definition, the tensor path against PIL."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from augmix.augment import functional as F
from augmix.augment.ops import AUGMIX_OPS_ALL, level_to_arg

# Per-image magnitudes (one per image of the 8-image fixture), deliberately different.
MAGNITUDES = {
    "autocontrast": [0] * 8,
    "equalize": [0] * 8,
    "posterize": [1, 2, 3, 4, 1, 2, 3, 4],
    "solarize": [256, 128, 200, 30, 0, 100, 255, 1],
    "rotate": [0, 5, -5, 30, -30, 17, -12, 1],
    "shear_x": [0.1, -0.3, 0.05, 0.2, -0.13, 0.29, 0.0, -0.01],
    "shear_y": [0.1, -0.3, 0.05, 0.2, -0.13, 0.29, 0.0, -0.01],
    "translate_x": [0, 3, -3, 10, -10, 1, -1, 7],
    "translate_y": [0, 3, -3, 10, -10, 1, -1, 7],
    "color": [0.1, 0.5, 1.0, 1.9, 1.3, 0.7, 0.25, 1.6],
    "contrast": [0.1, 0.5, 1.0, 1.9, 1.3, 0.7, 0.25, 1.6],
    "brightness": [0.1, 0.5, 1.0, 1.9, 1.3, 0.7, 0.25, 1.6],
    "sharpness": [0.1, 0.5, 1.0, 1.9, 1.3, 0.7, 0.25, 1.6],
}
# The tolerance we hold the tensor path to: mean absolute difference to Pillow in grey
# levels (goal <= 1), and the share of pixels that may differ at all. Ops computed in
# integer/double arithmetic are exact; bilinear resampling runs in float32 and may
# truncate the other way on a few pixels.
EXACT = {"autocontrast", "equalize", "posterize", "solarize", "translate_x", "translate_y",
         "color", "contrast", "brightness", "sharpness"}


def test_posterize_known_values():
    img = Image.fromarray(np.array([[[0, 17, 255], [100, 127, 128]]], dtype=np.uint8))
    out = np.asarray(F.posterize(img, 3))
    # 3 bits keep the top 3 bits: multiples of 32
    assert out.tolist() == [[[0, 0, 224], [96, 96, 128]]]


def test_solarize_known_values():
    img = Image.fromarray(np.array([[[0, 99, 100], [200, 255, 101]]], dtype=np.uint8))
    assert np.asarray(F.solarize(img, 100)).tolist() == [[[0, 99, 155], [55, 0, 154]]]


def test_translate_moves_content_and_fills_black():
    a = np.zeros((8, 8, 3), np.uint8)
    a[2, 5] = 200
    out = np.asarray(F.translate_x(Image.fromarray(a), 3))
    assert out[2, 2].tolist() == [200] * 3 and out[:, 5:].max() == 0
    t = F.translate_x(torch.from_numpy(a).permute(2, 0, 1), 3).permute(1, 2, 0).numpy()
    assert np.array_equal(t, out)


def test_rotate_zero_is_identity_and_180_flips(images):
    img = Image.fromarray(images[0])
    assert np.array_equal(np.asarray(F.rotate(img, 0)), images[0])
    t = torch.from_numpy(images[0]).permute(2, 0, 1)
    assert torch.equal(F.rotate(t, 0), t)


def test_brightness_definition(images):
    out = np.asarray(F.brightness(Image.fromarray(images[0]), 0.5))
    assert np.array_equal(out, (images[0].astype(np.float32) * np.float32(0.5)).astype(np.uint8))


def test_autocontrast_stretches_to_full_range(images):
    low = (images[0] // 4 + 50).astype(np.uint8)
    out = F.autocontrast(torch.from_numpy(low).permute(2, 0, 1))
    assert out.amin(dim=(1, 2)).tolist() == [0, 0, 0]
    # Pillow's double arithmetic can land the top just below 255 and truncate to 254;
    # the tensor path reproduces that exactly.
    assert out.amax(dim=(1, 2)).min() >= 254
    ref = np.asarray(F.autocontrast(Image.fromarray(low)))
    assert np.array_equal(out.permute(1, 2, 0).numpy(), ref)


def test_level_to_arg_matches_reference_arithmetic():
    level = torch.tensor([0.1, 2.9999, 3.0, 9.99], dtype=torch.float64)
    plus = torch.ones(4)
    # the reference: int_parameter(level, maxval) = int(level * maxval / 10)
    assert level_to_arg("rotate", level, -plus, 32, 32).tolist() == [0, -8, -9, -29]
    assert level_to_arg("posterize", level, plus, 32, 32).tolist() == [4, 3, 3, 1]
    assert level_to_arg("solarize", level, plus, 32, 32).tolist() == [254, 180, 180, 1]
    assert level_to_arg("translate_x", level, plus, 32, 224).tolist() == [
        int(v * (224 / 3) / 10) for v in level.tolist()]
    np.testing.assert_allclose(level_to_arg("color", level, plus, 32, 32).numpy(),
                               level.numpy() * 1.8 / 10 + 0.1)


@pytest.mark.parametrize("name", AUGMIX_OPS_ALL)
def test_tensor_matches_pil_per_image_magnitudes(name, images):
    op = F.NAME_TO_OP[name]
    mags = MAGNITUDES[name]
    ref = np.stack([np.asarray(op(Image.fromarray(images[i]), mags[i])) for i in range(8)])
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    out = op(batch, torch.tensor(mags, dtype=torch.float64)).permute(0, 2, 3, 1).numpy()
    assert out.dtype == np.uint8
    diff = np.abs(out.astype(int) - ref.astype(int))
    if name in EXACT:
        assert diff.max() == 0, f"{name}: {np.count_nonzero(diff)} pixels differ"
    else:
        assert diff.mean() <= 0.05 and diff.max() <= 1
    # float input: same map without 8-bit rounding, within one grey level on average
    outf = op(batch.float() / 255, torch.tensor(mags, dtype=torch.float64))
    assert outf.dtype == torch.float32
    difff = np.abs(outf.permute(0, 2, 3, 1).numpy() * 255 - ref)
    assert difff.mean() <= 1.0


@pytest.mark.parametrize("name", ["rotate", "posterize", "color"])
def test_leading_dims_and_scalar_magnitude(name, images):
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).reshape(2, 4, 3, 32, 32)
    mag = MAGNITUDES[name][1]
    out = F.NAME_TO_OP[name](batch, mag)
    assert out.shape == batch.shape
    single = F.NAME_TO_OP[name](batch[1, 2], mag)
    assert torch.equal(out[1, 2], single)


def test_bad_tensor_rank_and_magnitude_count(images):
    with pytest.raises(ValueError, match=r"\[\.\.\., C, H, W\]"):
        F.rotate(torch.zeros(32, 32, dtype=torch.uint8), 3)
    batch = torch.from_numpy(images).permute(0, 3, 1, 2)
    with pytest.raises(ValueError, match="8 images"):
        F.rotate(batch, torch.ones(3))


@pytest.mark.parametrize("name", AUGMIX_OPS_ALL)
def test_scalar_and_tensor_level_maps_agree(name):
    from augmix.augment.ops import op_arg

    levels = torch.linspace(0.1, 9.99, 97, dtype=torch.float64)
    signs = torch.where(torch.arange(97) % 2 == 0, 1.0, -1.0)
    vec = level_to_arg(name, levels, signs, 32, 224).tolist()
    pairs = zip(levels.tolist(), signs.tolist(), strict=True)
    assert vec == [op_arg(name, lv, sg, 32, 224) for lv, sg in pairs]
