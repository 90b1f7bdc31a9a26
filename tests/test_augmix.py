"""Both back-ends apply the same parameters the same way; the transforms behave in pipelines."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image

import augmix
from augmix.augment import AugMixConfig, apply_chains, apply_pil, apply_tensor, sample_params
from tests.conftest import smooth_images


def reference_aug(image, params, preprocess):
    """The reference's aug() written out with its own PIL calls and our fixed parameters."""
    from PIL import ImageOps

    def op(img, name, arg):
        if name == "autocontrast":
            return ImageOps.autocontrast(img)
        if name == "equalize":
            return ImageOps.equalize(img)
        if name == "posterize":
            return ImageOps.posterize(img, int(arg))
        if name == "rotate":
            return img.rotate(int(arg), resample=Image.BILINEAR)
        if name == "solarize":
            return ImageOps.solarize(img, int(arg))
        coeffs = {"shear_x": (1, arg, 0, 0, 1, 0), "shear_y": (1, 0, 0, arg, 1, 0),
                  "translate_x": (1, 0, int(arg), 0, 1, 0),
                  "translate_y": (1, 0, 0, 0, 1, int(arg))}[name]
        return img.transform((32, 32), Image.AFFINE, coeffs, resample=Image.BILINEAR)

    args = params.args(32, 32)[0]
    ws = params.chain_weights[0].numpy()
    m = np.float32(params.mix_weights[0].item())  # the reference's np.float32 scalars
    mix = torch.zeros_like(preprocess(image))
    for i in range(params.width):
        image_aug = image.copy()
        for d in range(int(params.depths[0, i])):
            name = params.op_names[int(params.ops[0, i, d])]
            image_aug = op(image_aug, name, float(args[i, d]))
        mix += ws[i] * preprocess(image_aug)
    return (1 - m) * preprocess(image) + m * mix


PREPROCESS = T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])


def test_pil_backend_is_the_reference_pixel_for_pixel():
    imgs = smooth_images(16)
    params = sample_params(16, AugMixConfig(), seed=3)
    for i in range(16):
        p = params.select(i)
        ours = apply_pil(Image.fromarray(imgs[i]), p, PREPROCESS, kernel=False)  # Pillow's ops themselves
        ref = reference_aug(Image.fromarray(imgs[i]), p, PREPROCESS)
        assert torch.equal(ours, ref)
        assert torch.equal(apply_pil(Image.fromarray(imgs[i]), p, PREPROCESS), ref)  # chains from the kernel


@pytest.mark.parametrize("all_ops", [False, True])
def test_batched_matches_per_image(all_ops):
    imgs = smooth_images(48, seed=1)
    params = sample_params(48, AugMixConfig(all_ops=all_ops, severity=5), seed=11)
    batch = torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()
    # chain by chain, uint8: the same 8-bit images as Pillow, up to float32 bilinear rounding
    chains = apply_chains(batch, params)
    pil_chains = []
    for i in range(48):
        p = params.select(i)
        args = p.args(32, 32)[0]
        row = []
        for w in range(p.width):
            img = Image.fromarray(imgs[i])
            for d in range(int(p.depths[0, w])):
                name = p.op_names[int(p.ops[0, w, d])]
                img = augmix.augment.functional.NAME_TO_OP[name](img, float(args[w, d]))
            row.append(np.asarray(img))
        pil_chains.append(row)
    pil_chains = torch.from_numpy(np.array(pil_chains)).permute(0, 1, 4, 2, 3)
    diff = (chains.int() - pil_chains.int()).abs().float()
    assert diff.mean() <= 1.0, diff.mean()  # the stated goal: <= 1 grey level on average
    assert (diff > 0).float().mean() < 0.05
    mixed = apply_tensor(batch, params, backend="torch")
    ref = torch.stack([apply_pil(Image.fromarray(imgs[i]), params.select(i), kernel=False) for i in range(48)])
    assert (mixed - ref).abs().mean() * 255 <= 1.0


def test_augmixbatch_jsd_triplet_and_reproducible():
    x = torch.from_numpy(smooth_images(6)).permute(0, 3, 1, 2).contiguous()
    mod = augmix.AugMixBatch(jsd=True)
    clean, a1, a2 = mod(x, generator=torch.Generator().manual_seed(0))
    assert clean.dtype == a1.dtype == torch.float32 and a1.shape == x.shape
    assert torch.allclose(clean, x.float() / 255)
    assert not torch.allclose(a1, a2)
    _, b1, b2 = mod(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a1, b1) and torch.equal(a2, b2)
    # float input in [0, 1] works the same way and stays in range
    out = augmix.AugMixBatch()(x.float() / 255, generator=1)
    assert out.min() >= 0 and out.max() <= 1


def test_mixture_is_convex_combination():
    x = torch.from_numpy(smooth_images(4)).permute(0, 3, 1, 2).contiguous()
    params = sample_params(4, AugMixConfig(), seed=0)
    params.mix_weights.zero_()  # m = 0: the original image
    assert torch.allclose(apply_tensor(x, params), x.float() / 255)


def test_augmix_transform_in_compose_pil_and_tensor():
    img = Image.fromarray(smooth_images(1)[0])
    pipe = T.Compose([T.RandomHorizontalFlip(), augmix.AugMix(severity=3),
                      T.Normalize([0.5] * 3, [0.5] * 3)])
    out = pipe(img)
    assert out.shape == (3, 32, 32) and out.dtype == torch.float32
    t = torch.from_numpy(np.array(img)).permute(2, 0, 1)
    assert augmix.AugMix(generator=0)(t).shape == (3, 32, 32)
    with pytest.raises(ValueError, match="AugMixBatch"):
        augmix.AugMix()(t.unsqueeze(0))


def test_augmix_transform_matches_reference_call_with_preprocess():
    img = Image.fromarray(smooth_images(1)[0])
    g = torch.Generator().manual_seed(9)
    out = augmix.AugMix(preprocess=PREPROCESS, generator=g)(img)
    params = sample_params(1, AugMixConfig(), torch.Generator().manual_seed(9))
    assert torch.equal(out, reference_aug(img, params, PREPROCESS))


def test_augmix_dataset_returns_triplets():
    data = [(Image.fromarray(a), k) for k, a in enumerate(smooth_images(3))]
    ds = augmix.AugMixDataset(data, PREPROCESS, jsd=True)
    (clean, a1, a2), label = ds[1]
    assert label == 1 and clean.shape == a1.shape == a2.shape == (3, 32, 32)
    assert torch.allclose(clean, PREPROCESS(data[1][0]))
    aug, _ = augmix.AugMixDataset(data, PREPROCESS, jsd=False)[0]
    assert aug.shape == (3, 32, 32)
    with pytest.raises(TypeError, match="PIL"):
        augmix.AugMixDataset([(torch.zeros(3, 4, 4), 0)])[0]


def test_bad_batch_rank():
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        augmix.AugMixBatch()(torch.zeros(3, 32, 32))


def test_v2_protocol_make_params_transform_and_replay():
    x = torch.from_numpy(smooth_images(4)).permute(0, 3, 1, 2).contiguous()
    config = AugMixConfig(severity=4, width=2)
    batch = augmix.AugMixBatch(config, jsd=True)
    assert isinstance(batch, torch.nn.Module) and batch.config == config
    params = batch.make_params(x, generator=3)
    assert params.batch_size == 8  # two augmented views per image
    first = batch(x, params=params)
    assert batch.last_params is params
    replay = batch(x, params=batch.last_params)
    for a, b in zip(first, replay, strict=True):
        assert torch.equal(a, b)
    assert all(torch.equal(a, b) for a, b in zip(batch.transform(x, params), first, strict=True))
    # the per-image transform: an nn.Module with the same protocol, sharing the sampler
    img = Image.fromarray(smooth_images(1)[0])
    single = augmix.AugMix(config)
    assert isinstance(single, torch.nn.Module)
    p = single.make_params(img, generator=5)
    assert torch.equal(single(img, params=p), apply_pil(img, p))
    assert torch.equal(single(img, params=single.last_params), single(img, params=p))
    with pytest.raises(ValueError, match="not both"):
        augmix.AugMix(config, severity=2)
    with pytest.raises(ValueError, match="unknown AugMix setting"):
        augmix.AugMixBatch(sevrity=2)


def test_augmix_config_strings_name_the_bad_value():
    with pytest.raises(ValueError, match="severity must be an integer, got 'three'"):
        AugMixConfig.parse("severity=three")
    with pytest.raises(ValueError, match="alpha must be > 0"):
        AugMixConfig(alpha=float("nan"))
