"""Corruptions for any image: the imagecorruptions package's definition at any size and shape,
its drop-in, the v2 ``Corrupt`` transform, AugMix without geometric ops, mPC / rPC.

The package's bytes and statistics are in ``fixtures/imagecorruptions.json`` (how they were
made: ``fixtures/README.md``); one test also runs the installed package itself.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

import augmix
from augmix import imagecorruptions as ours
from augmix.corruptions.apply import corrupt, definition_for
from augmix.corruptions.tables import ALL
from augmix.metrics import mean_performance_under_corruption, relative_performance_under_corruption
from tests.conftest import smooth_images

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "imagecorruptions.json").read_text())
SEEDABLE = [n for n in ALL if n not in ("glass_blur", "impulse_noise")]


def _inputs() -> dict[str, np.ndarray]:  # as fixtures/README.md says
    return {"48x80": smooth_images(3, 80, seed=31)[:, :48, :80],
            "97x61 grey [H, W]": smooth_images(2, 97, seed=32)[:, :, :61, 0],
            "40x52x1 grey [H, W, 1]": smooth_images(2, 52, seed=33)[:, :40, :52, :1]}


def _psnr(out: np.ndarray, x: np.ndarray) -> float:
    x = x if x.ndim == 4 else np.repeat(x[..., None], 3, -1)
    mse = ((out.astype(np.float64) - x.astype(np.float64)) ** 2).reshape(len(x), -1).mean(1)
    return float((10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))).mean())


# ------------------------------------------------------------------ the drop-in's bytes

@pytest.mark.parametrize("key", list(FIXTURE["sha256"]))
def test_drop_in_returns_the_packages_bytes_at_non_square_and_grey_sizes(key):
    x = _inputs()[key]
    wrong = []
    for name in SEEDABLE:
        np.random.seed(FIXTURE["seed"])
        out = np.stack([ours.corrupt(img, s, name) for s in range(1, 6) for img in x])
        if hashlib.sha256(out.tobytes()).hexdigest() != FIXTURE["sha256"][key][name]:
            wrong.append(name)
    assert not wrong, f"not the package's bytes at {key}: {wrong}"


def test_drop_in_against_the_installed_package_draws_what_it_draws():
    pkg = pytest.importorskip("imagecorruptions")
    img = smooth_images(1, 53, seed=40)[0][:, :35]  # 53 x 35, taller than wide
    for name in SEEDABLE:
        np.random.seed(7)
        theirs = [pkg.corrupt(img, 2, name), pkg.corrupt(img[..., 0], 4, name)]
        state = np.random.get_state()[1].copy()
        np.random.seed(7)
        mine = [ours.corrupt(img, 2, name), ours.corrupt(img[..., 0], 4, name)]
        assert all(np.array_equal(a, b) for a, b in zip(theirs, mine, strict=True)), name
        assert np.array_equal(np.random.get_state()[1], state), f"{name} left numpy's global state elsewhere"


@pytest.mark.parametrize("name", ["glass_blur", "impulse_noise"])
def test_the_two_unseeded_corruptions_match_the_package_in_distribution(name):
    before = np.random.get_state()[1].copy()
    for key in ("40x64", "72x48"):
        x = (smooth_images(400, 64, seed=34)[:, :40] if key == "40x64" else smooth_images(200, 72, seed=35)[:, :, :48])
        got = [_psnr(np.stack([ours.corrupt(img, s, name, seed=i) for i, img in enumerate(x)]), x) for s in range(1, 6)]
        assert np.allclose(got, FIXTURE["mean_psnr_db"][key][name], atol=0.2), (key, got)
    assert np.array_equal(np.random.get_state()[1], before), "the package draws these from fresh generators"


def test_drop_in_checks_and_names_are_the_packages():
    img = smooth_images(1, 40)[0]
    for bad, what in [(img.tolist(), "numpy.ndarray"), (img.astype(np.float32), "uint8"), (img[None], "either"),
                      (img[:31], "at least 32"), (np.zeros((40, 40, 2), np.uint8), "1 or 3 channels")]:
        with pytest.raises(AttributeError, match=what):
            ours.corrupt(bad, 1, "fog")
    with pytest.raises(AttributeError, match="Severity"):
        ours.corrupt(img, 6, "fog")
    with pytest.raises(ValueError, match="Either corruption_name"):
        ours.corrupt(img)
    assert ours.corrupt(img[..., 0], 1, corruption_number=9).shape == (40, 40, 3)  # grey in, RGB out, as the package
    assert ours.get_corruption_names() == list(ALL[:15]) and ours.get_corruption_names("validation") == list(ALL[15:])
    assert ours.get_corruption_names("weather") == ["snow", "frost", "fog", "brightness"]


# --------------------------------------------------------------- the default mode at any size

@pytest.mark.parametrize("key", ["40x64", "72x48"])
def test_default_mode_at_any_size_matches_the_package_in_distribution(key):
    x = smooth_images(400, 64, seed=34)[:, :40] if key == "40x64" else smooth_images(200, 72, seed=35)[:, :, :48]
    off = {}
    for name, theirs in FIXTURE["mean_psnr_db"][key].items():
        if name in FIXTURE["many"]["mean_psnr_db"]:
            continue  # one random photograph or liquid layer per image: too few images here (next test)
        got = [_psnr(corrupt(x, name, s, seed=0), x) for s in range(1, 6)]
        if not np.allclose(got, theirs, atol=0.2):
            off[name] = np.round(np.subtract(got, theirs), 3).tolist()
    assert not off, off


@pytest.mark.heavy
def test_frost_and_spatter_match_the_package_in_distribution_over_many_images():
    x = smooth_images(8000, 48, seed=36)[:, :32]  # as fixtures/README.md says
    for name, theirs in FIXTURE["many"]["mean_psnr_db"].items():
        got = [_psnr(corrupt(x, name, s, seed=0), x) for s in range(1, 6)]
        assert np.allclose(got, theirs, atol=0.2), (name, np.subtract(got, theirs))


def test_the_definition_follows_the_size_and_is_explicit_when_asked():
    assert definition_for(32, 32) == definition_for(224, 224) == "published"
    assert definition_for(427, 640) == definition_for(100, 100) == "imagecorruptions"
    assert definition_for(224, 224, "imagecorruptions") == "imagecorruptions"
    with pytest.raises(ValueError, match="definition='imagecorruptions'"):
        definition_for(48, 80, "published")
    with pytest.raises(ValueError, match="at least 32x32"):
        corrupt(np.zeros((31, 64, 3), np.uint8), "fog", 1)
    x = smooth_images(2, 224, seed=3)
    a = corrupt(x, "elastic_transform", 3)  # published: random affine + elastic; the package: a rewrite
    b = corrupt(x, "elastic_transform", 3, definition="imagecorruptions")
    assert not np.array_equal(a, b)
    exact = corrupt(x[:1], "elastic_transform", 3, seed=np.random.RandomState(0), definition="imagecorruptions")
    np.random.seed(0)
    assert np.array_equal(exact[0], ours.corrupt(x[0], 3, "elastic_transform"))


def test_any_shape_comes_back_in_the_shape_given():
    rgb = smooth_images(3, 70, seed=5)[:, :50]
    batch = corrupt(rgb, "fog", 2)
    assert batch.shape == rgb.shape and batch.dtype == np.uint8
    assert corrupt(rgb[0, ..., 0], "gaussian_noise", 3).shape == (50, 70)
    assert corrupt(rgb[0, ..., :1], "frost", 3).shape == (50, 70, 1)
    assert corrupt(rgb[..., :1], "zoom_blur", 1).shape == (3, 50, 70, 1)
    grey = np.repeat(rgb[0, ..., :1], 3, -1)
    assert np.array_equal(corrupt(rgb[0, ..., 0], "zoom_blur", 2, seed=1),
                          corrupt(grey, "zoom_blur", 2, seed=1)[..., 0])
    alpha = np.concatenate([rgb[0], np.arange(50 * 70, dtype=np.uint32).reshape(50, 70, 1).astype(np.uint8)], -1)
    out = corrupt(alpha, "snow", 2, seed=4)
    assert out.shape == (50, 70, 4) and np.array_equal(out[..., 3], alpha[..., 3])
    assert np.array_equal(out[..., :3], corrupt(rgb[0], "snow", 2, seed=4))
    sizes = [(50, 70), (33, 90), (224, 224)]
    outs = corrupt([smooth_images(1, max(s), seed=6)[0][:s[0], :s[1]] for s in sizes], "elastic_transform", 3)
    assert [o.shape[:2] for o in outs] == sizes


def test_a_batch_equals_its_images_in_reference_stream_mode():
    x = smooth_images(3, 60, seed=8)[:, :45]
    for name in ("motion_blur", "fog", "frost"):
        batch = corrupt(x, name, 3, seed=np.random.RandomState(2))
        stream = np.random.RandomState(2)
        assert np.array_equal(batch, np.stack([corrupt(img, name, 3, seed=stream) for img in x])), name


def test_real_photographs_at_their_own_non_square_sizes(shared_data, tmp_path):
    import tarfile

    with tarfile.open(shared_data / "imagewoof2-320-val500.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.name.endswith(".JPEG")][:3]
        photos = [Image.open(tar.extractfile(m)) for m in members]
        photos = [p.convert("RGB") for p in photos]
    for photo in photos:
        x = np.asarray(photo)
        assert x.shape[0] != x.shape[1]
        for name in ALL:
            out = corrupt(x, name, 3, seed=0)
            assert out.shape == x.shape, name
            assert name == "brightness" or not np.array_equal(out, x), name
    grey = np.asarray(photos[0].convert("L"))
    assert corrupt(grey, "motion_blur", 2).shape == grey.shape


# ---------------------------------------------------------------------- the torch back-end

def test_torch_back_end_takes_any_size_grey_and_alpha():
    from augmix.corruptions.tensor import corrupt_tensor

    x = torch.from_numpy(smooth_images(2, 70, seed=12)[:, :41]).permute(0, 3, 1, 2).contiguous()
    for name in ALL:
        assert corrupt_tensor(x, name, 2, seed=0).shape == x.shape, name
    assert corrupt_tensor(x[:, :1], "fog", 3).shape == (2, 1, 41, 70)
    rgba = torch.cat([x, torch.full_like(x[:, :1], 9)], 1)
    assert torch.equal(corrupt_tensor(rgba, "snow", 1)[:, 3], rgba[:, 3])
    with pytest.raises(ValueError, match="at least 32x32"):
        corrupt_tensor(x[..., :20, :], "fog", 1)


@pytest.mark.heavy
def test_torch_back_end_at_any_size_matches_the_package_in_distribution():
    from augmix.corruptions.tensor import corrupt_tensor

    x = smooth_images(200, 72, seed=35)[:, :, :48]
    t = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    off = {}
    for name in ("motion_blur", "zoom_blur", "snow", "fog", "elastic_transform", "pixelate"):  # the adapted ones
        outs = [corrupt_tensor(t, name, s, seed=0).permute(0, 2, 3, 1).numpy() for s in range(1, 6)]
        got = [_psnr(o, x) for o in outs]
        if not np.allclose(got, FIXTURE["mean_psnr_db"]["72x48"][name], atol=0.2):
            off[name] = np.round(np.subtract(got, FIXTURE["mean_psnr_db"]["72x48"][name]), 3).tolist()
        if name == "pixelate":  # deterministic: Pillow's box down, nearest up, exactly
            assert all(np.array_equal(o, corrupt(x, name, s + 1)) for s, o in enumerate(outs))
    assert not off, off


# ------------------------------------------------------------------------------- Corrupt

def _sample(h: int = 60, w: int = 80) -> dict:
    return {"image": tv_tensors.Image(torch.from_numpy(smooth_images(1, w, seed=9)[0][:h]).permute(2, 0, 1)),
            "boxes": tv_tensors.BoundingBoxes([[1, 2, 30, 40], [5, 5, 70, 50]], format="XYXY", canvas_size=(h, w)),
            "masks": tv_tensors.Mask(torch.arange(h * w).reshape(1, h, w) % 3),
            "labels": torch.tensor([3, 7]), "name": "img.jpg"}


def test_corrupt_in_a_v2_compose_changes_the_image_only():
    sample = _sample()
    pipe = v2.Compose([augmix.Corrupt(["fog", "elastic_transform", "frost"], range(1, 6), seed=0), v2.ToDtype(
        {tv_tensors.Image: torch.float32, "others": None}, scale=True)])
    out = pipe(sample)
    for key in ("boxes", "masks", "labels"):
        assert torch.equal(out[key], sample[key]) and type(out[key]) is type(sample[key]), key
    assert out["name"] == "img.jpg" and isinstance(out["image"], tv_tensors.Image)
    params = pipe.transforms[0].last_params
    want = corrupt(sample["image"].permute(1, 2, 0).numpy(), params["corruption"], params["severity"],
                   seed=np.random.default_rng(params["seed"]))
    assert torch.equal((out["image"] * 255).round().to(torch.uint8), torch.from_numpy(want).permute(2, 0, 1))


def test_corrupt_takes_pil_and_tensors_of_any_size_and_keeps_grey_grey():
    photo = Image.fromarray(smooth_images(1, 90, seed=2)[0][:57])
    t = augmix.Corrupt("snow", 3, seed=1)
    assert t(photo).size == photo.size and t(photo).mode == "RGB"
    assert t(photo.convert("L")).mode == "L" and t(photo.convert("RGBA")).mode == "RGBA"
    assert t(torch.rand(1, 40, 33)).shape == (1, 40, 33)
    assert t(torch.randint(0, 256, (2, 3, 40, 33), dtype=torch.uint8)).dtype == torch.uint8
    replay = t.last_params
    a = t(torch.zeros(3, 40, 40, dtype=torch.uint8) + 90, params=replay)
    assert torch.equal(a, t(torch.zeros(3, 40, 40, dtype=torch.uint8) + 90, params=replay))
    with pytest.raises(ValueError, match="unknown corruption"):
        augmix.Corrupt("fgo")
    with pytest.raises(ValueError, match="severity"):
        augmix.Corrupt("fog", 6)


class _Photos(torch.utils.data.Dataset):
    def __init__(self, transform):
        self.transform = transform

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return self.transform(torch.full((3, 36, 40), 120, dtype=torch.uint8)), i


def test_a_seeded_corrupt_differs_across_dataloader_workers_and_reproduces():
    def run():
        torch.manual_seed(0)
        loader = torch.utils.data.DataLoader(_Photos(augmix.Corrupt("gaussian_noise", 3, seed=5)), batch_size=2,
                                             num_workers=2)
        return torch.cat([x for x, _ in loader])

    a, b = run(), run()
    assert torch.equal(a, b)
    assert len({hashlib.sha256(img.numpy().tobytes()).hexdigest() for img in a}) == len(a)


# ------------------------------------------------------------------ AugMix without geometry

def test_augmix_without_geometric_ops_passes_boxes_and_masks_and_otherwise_names_the_option():
    sample = _sample()
    out = augmix.AugMix(geometric=False, generator=0, output="uint8")(sample)
    assert all(torch.equal(out[k], sample[k]) for k in ("boxes", "masks", "labels"))
    assert not {"rotate", "shear_x", "shear_y", "translate_x", "translate_y"} & set(augmix.AugMixConfig(
        geometric=False).ops)
    batch = augmix.AugMixBatch(geometric=False, generator=0)({"image": sample["image"][None], "boxes": sample["boxes"]})
    assert batch["image"].shape == (1, 3, 60, 80) and batch["boxes"] is sample["boxes"]
    with pytest.raises(TypeError, match="geometric=False"):
        augmix.AugMix()(sample)
    assert augmix.AugMixConfig.parse(str(augmix.AugMixConfig(geometric=False))).geometric is False


# --------------------------------------------------------------------------- mPC and rPC

def test_mpc_and_rpc_average_severities_then_corruptions():
    per = {"fog": [0.5, 0.3], "snow": [0.2, 0.2, 0.2]}  # a metric such as mAP, per severity
    assert mean_performance_under_corruption(per) == pytest.approx((0.4 + 0.2) / 2)
    assert relative_performance_under_corruption(per, clean=0.6) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="clean performance"):
        relative_performance_under_corruption(per, clean=0.0)
    with pytest.raises(ValueError, match="at least one"):
        mean_performance_under_corruption({"fog": []})


# ------------------------------------------------------------------- corrupt --keep-size

def _coco_like(root: Path) -> dict[str, Image.Image]:
    """A detection-style tree without class folders: JPEGs of COCO's sizes, a grey one, and a
    Cityscapes-style nested PNG."""
    files = {"val2017/000000000139.jpg": Image.fromarray(smooth_images(1, 64, seed=1)[0][:43]),
             "val2017/000000000285.jpg": Image.fromarray(smooth_images(1, 57, seed=2)[0][:, :38]).convert("L"),
             "leftImg8bit/val/lindau/lindau_000000_leftImg8bit.png": Image.fromarray(
                 smooth_images(1, 96, seed=3)[0][:48])}
    for rel, img in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        img.save(root / rel, quality=90) if rel.endswith(".jpg") else img.save(root / rel)
    return files


def test_keep_size_writes_a_coco_like_tree_at_each_images_own_size(tmp_path):
    from augmix.cli import main

    files = _coco_like(tmp_path / "coco")
    out = tmp_path / "coco-c"
    args = ["corrupt", "--images", str(tmp_path / "coco"), "--keep-size", "--out", str(out),
            "--corruptions", "fog,motion_blur", "--severities", "1,3", "--no-progress"]
    assert main(args) == 0
    for name in ("fog", "motion_blur"):
        for sev in ("1", "3"):
            for rel, src in files.items():
                written = Image.open(out / name / sev / rel)
                assert written.size == src.size and written.mode == src.mode, (name, rel)
                assert written.format == ("PNG" if rel.endswith(".png") else "JPEG")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["definition"] == "imagecorruptions" and meta["jpeg"]["quality"] == 95
    png = out / "fog" / "3" / "leftImg8bit/val/lindau/lindau_000000_leftImg8bit.png"
    before = png.stat().st_mtime_ns
    assert main(args) == 0 and png.stat().st_mtime_ns == before  # a rerun resumes: nothing redone
    from augmix.corruptions.released import unit_stream

    src = np.asarray(files["leftImg8bit/val/lindau/lindau_000000_leftImg8bit.png"])
    want = corrupt(src, "fog", 3, seed=unit_stream("fog", 3, "leftImg8bit/val/lindau/lindau_000000_leftImg8bit.png",
                                                    0), definition="imagecorruptions")
    assert np.array_equal(np.asarray(Image.open(png)), want)


def test_keep_size_in_reference_stream_mode_is_the_packages_loop(tmp_path):
    from augmix.generation.config import GenerateConfig
    from augmix.generation.run import generate

    files = _coco_like(tmp_path / "coco")
    out = generate(GenerateConfig(out=tmp_path / "ref", images=tmp_path / "coco", keep_size=True, names=("fog",),
                                  severities=(1, 2), reference_stream=True, progress=False, workers=1))
    np.random.seed(0)  # the package's loop: severity-major, the images in sorted order
    for sev in (1, 2):
        for rel in sorted(files):
            src = np.asarray(files[rel])
            theirs = ours.corrupt(src, sev, "fog")
            got = np.asarray(Image.open(out / "fog" / str(sev) / rel))
            if rel.endswith(".png"):
                assert np.array_equal(got, theirs), rel


def test_keep_size_on_a_device_uses_the_torch_back_end_at_each_size(tmp_path):
    from augmix.cli import main

    files = _coco_like(tmp_path / "coco")
    out = tmp_path / "on-device"
    assert main(["corrupt", "--images", str(tmp_path / "coco"), "--keep-size", "--device", "cpu", "--out", str(out),
                 "--corruptions", "snow", "--severities", "2", "--no-progress"]) == 0
    for rel, src in files.items():
        written = Image.open(out / "snow" / "2" / rel)
        assert written.size == src.size and written.mode == src.mode, rel
    assert json.loads((out / "meta.json").read_text())["mode"] == "torch-cpu"


def test_keep_size_refusals_name_the_fix(tmp_path):
    from augmix.generation.config import GenerateConfig

    with pytest.raises(ValueError, match="--images TREE"):
        GenerateConfig(out=tmp_path / "o", keep_size=True)
    with pytest.raises(ValueError, match="c-bar"):
        GenerateConfig(out=tmp_path / "o", images=tmp_path, keep_size=True, benchmark="c-bar")


def test_a_keep_size_tree_is_not_read_as_imagenet_c(tmp_path):
    from augmix.cli import main
    from augmix.data.corrupted import open_folder_c
    from augmix.data.download import DataError

    _coco_like(tmp_path / "coco")
    assert main(["corrupt", "--images", str(tmp_path / "coco"), "--keep-size", "--out", str(tmp_path / "c"),
                 "--corruptions", "fog", "--severities", "1", "--no-progress"]) == 0
    with pytest.raises(DataError, match="--keep-size"):
        open_folder_c(tmp_path / "c")
