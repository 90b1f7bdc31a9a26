"""The compiled CPU back-end: Pillow's results exactly, op by op and for whole AugMix draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import augmix
from augmix.augment import AugMixConfig, apply_pil, apply_tensor, compiled, sample_params
from augmix.augment import functional as F
from augmix.augment.ops import AUGMIX_OPS_ALL
from tests.conftest import smooth_images


def _batch(imgs: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()


def _pil(img: np.ndarray) -> Image.Image:
    return Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)


@pytest.mark.parametrize("name", AUGMIX_OPS_ALL)
def test_each_op_is_pillow_exactly(name):
    # one chain of one op, m = 1 and w = 1: the output is that op's 8-bit image / 255
    n = 24
    imgs = smooth_images(n, seed=4)
    params = sample_params(n, AugMixConfig(severity=10, width=1, depth=1, all_ops=True), seed=5)
    params.ops.fill_(params.op_names.index(name))
    params.mix_weights.fill_(1.0)
    params.chain_weights.fill_(1.0)
    out = apply_tensor(_batch(imgs), params, backend="kernel")
    args = params.args(32, 32)[:, 0, 0]
    for i in range(n):
        ref = np.asarray(F.NAME_TO_OP[name](_pil(imgs[i]), float(args[i])))
        got = (out[i] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        assert np.array_equal(got, ref), f"{name} arg={float(args[i])} differs from Pillow"


@pytest.mark.parametrize("all_ops", [False, True])
@pytest.mark.parametrize("size", [(32, 32), (24, 40)])
def test_whole_augmix_matches_pil_backend(all_ops, size):
    h, w = size
    imgs = np.stack([np.asarray(Image.fromarray(im).resize((w, h))) for im in smooth_images(32, seed=2)])
    params = sample_params(32, AugMixConfig(all_ops=all_ops, severity=6), seed=8)
    out = apply_tensor(_batch(imgs), params, backend="kernel")
    ref = torch.stack([apply_pil(_pil(imgs[i]), params.select(i), kernel=False) for i in range(32)])
    assert out.dtype == torch.float32 and out.shape == ref.shape
    assert (out - ref).abs().max() < 1e-6  # float32 rounding of the mix only


def test_grey_images_and_auto_backend_choice():
    imgs = smooth_images(8, seed=3)[..., :1]
    params = sample_params(8, AugMixConfig(all_ops=True), seed=1)
    out = apply_tensor(_batch(imgs), params)  # auto: uint8 on the CPU -> kernel
    ref = torch.stack([apply_pil(_pil(imgs[i]), params.select(i), kernel=False) for i in range(8)])
    assert out.shape == (8, 1, 32, 32) and (out - ref).abs().max() < 1e-6


def test_threads_do_not_change_the_result():
    x = _batch(smooth_images(16, seed=6))
    params = sample_params(16, AugMixConfig(), seed=2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = apply_tensor(x, params, backend="kernel")
        torch.set_num_threads(2)
        two = apply_tensor(x, params, backend="kernel")
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


def test_torch_backend_agrees_within_its_tolerance():
    x = _batch(smooth_images(32, seed=7))
    params = sample_params(32, AugMixConfig(), seed=3)
    kernel = apply_tensor(x, params, backend="kernel")
    plain = apply_tensor(x, params, backend="torch")
    assert (kernel - plain).abs().mean() * 255 <= 1.0  # torch's float32 bilinear may round differently


def test_backend_errors_are_clear():
    params = sample_params(2, AugMixConfig(), seed=0)
    x = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match="backend='torch'"):
        apply_tensor(x, params, backend="kernel")
    with pytest.raises(ValueError, match="unknown backend"):
        apply_tensor(x.to(torch.uint8), params, backend="numpy")
    with pytest.raises(ValueError, match="unknown backend"):
        augmix.AugMixBatch(backend="gpu")
    # float batches and other channel counts still work through torch under "auto"
    assert apply_tensor(x, params).shape == x.shape
    assert apply_tensor(torch.zeros(2, 4, 8, 8, dtype=torch.uint8), params).shape == (2, 4, 8, 8)


@pytest.mark.parametrize("all_ops", [False, True])
def test_pil_inputs_through_the_kernel_are_the_pil_path_to_the_bit(all_ops):
    """``apply_pil`` takes its chains from the kernel: the same float32 result as Pillow's ops
    (odd and non-square sizes, grey, a preprocess with Normalize)."""
    import torchvision.transforms as T

    normalize = T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.25] * 3)])
    cases = [(np.asarray(Image.fromarray(im).resize((w, h))), pre) for im, (h, w), pre in zip(
        smooth_images(6, 64, seed=4), [(224, 224), (37, 61), (64, 64), (57, 23), (224, 224), (31, 31)],
        [None, None, normalize, None, normalize, None], strict=True)]
    cases.append((smooth_images(1, 48, seed=5)[0][..., 0], None))  # grey
    for k, (arr, pre) in enumerate(cases):
        img = Image.fromarray(arr)
        p = sample_params(1, AugMixConfig(all_ops=all_ops, severity=6), seed=k)
        args = (img, p) if pre is None else (img, p, pre)
        assert torch.equal(apply_pil(*args), apply_pil(*args, kernel=False)), (k, arr.shape)


def test_pil_inputs_through_the_kernel_on_real_photographs(shared_data, tmp_path):
    import tarfile

    with tarfile.open(shared_data / "imagewoof2-320-val500.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.name.endswith(".JPEG")][:6]
        photos = [Image.open(tar.extractfile(m)).convert("RGB") for m in members]
    photos[1] = photos[1].resize((224, 224))
    photos[2] = photos[2].convert("L")
    for k, img in enumerate(photos):
        p = sample_params(1, AugMixConfig(all_ops=True), seed=k)
        assert torch.equal(apply_pil(img, p), apply_pil(img, p, kernel=False)), (k, img.size, img.mode)


def test_augmix_dataset_loads_the_kernel_before_workers_fork():
    # Forked DataLoader workers inherit what the parent loaded; each would otherwise load it on its first image.
    from augmix.augment import AugMixDataset

    AugMixDataset([])
    assert compiled._chains.signatures  # compiled (or read from the cache) in this process
    assert compiled._mix_to_float.signatures  # and the PIL path's float32 mix
