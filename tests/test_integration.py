"""AugMix in other people's pipelines: torchvision v2 samples, PIL pipelines, seeded transforms
in DataLoader workers, timm's models, loss, collate and AugMixDataset, and architecture names."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

import augmix
from augmix.augment import AugMixConfig, apply_pil, sample_params
from tests.conftest import smooth_images

timm = pytest.importorskip("timm", reason="timm is a test extra: pip install -e '.[dev]'")


def _img(seed: int = 0) -> Image.Image:
    return Image.fromarray(smooth_images(1, seed=seed)[0])


# ------------------------------------------------------------------ torchvision v2

def test_augmix_in_a_v2_compose_with_labels_dicts_and_tv_tensors():
    img = _img()
    pipe = v2.Compose([augmix.AugMix(generator=0), v2.ToDtype(torch.float32, scale=True)])
    out, label = pipe(img, 7)
    assert label == 7 and out.shape == (3, 32, 32) and out.dtype == torch.float32
    t = tv_tensors.Image(torch.from_numpy(np.array(img)).permute(2, 0, 1))
    sample = {"image": t, "label": torch.tensor(3), "name": "a.png"}
    got = augmix.AugMix(generator=0)(sample)
    assert isinstance(got["image"], tv_tensors.Image) and got["image"].dtype == torch.float32
    assert torch.equal(got["label"], torch.tensor(3)) and got["name"] == "a.png"
    # a plain-tensor image with a plain-tensor label: the first tensor is the image (v2's rule)
    x, y = augmix.AugMix(generator=0)(torch.from_numpy(np.array(img)).permute(2, 0, 1), torch.tensor([1, 2]))
    assert x.shape == (3, 32, 32) and torch.equal(y, torch.tensor([1, 2]))
    # the same draw for every image of one sample, replayable
    t1 = augmix.AugMix(generator=1)
    a, b = t1((img, img))
    assert torch.equal(a, b) and torch.equal(t1(img, params=t1.last_params), a)


def test_boxes_masks_and_videos_are_refused_in_one_clear_type_error():
    img = _img()
    boxes = tv_tensors.BoundingBoxes([[0, 0, 5, 5]], format="XYXY", canvas_size=(32, 32))
    mask = tv_tensors.Mask(torch.zeros(32, 32, dtype=torch.uint8))
    for extra in (boxes, mask, tv_tensors.Video(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))):
        with pytest.raises(TypeError, match="differently-warped copies"):
            augmix.AugMix()(img, extra, 1)
    with pytest.raises(TypeError, match="differently-warped"):
        torchvision_style = v2.Compose([augmix.AugMix()])
        torchvision_style({"image": img, "boxes": boxes})


def test_output_formats_fit_pil_pipelines_and_round_to_8_bits():
    img = _img()
    params = sample_params(1, AugMixConfig(), seed=4)
    exact = apply_pil(img, params)
    as_pil = augmix.AugMix(output="pil")(img, params=params)
    assert isinstance(as_pil, Image.Image) and as_pil.size == img.size
    as_u8 = augmix.AugMix(output="uint8")(img, params=params)
    assert as_u8.dtype == torch.uint8
    assert (as_u8.float() / 255 - exact).abs().max() <= 0.5 / 255 + 1e-6  # rounding: half a grey level at most
    assert torch.equal(torch.from_numpy(np.array(as_pil)).permute(2, 0, 1), as_u8)
    from torchvision import transforms as T

    assert T.Compose([augmix.AugMix(output="pil"), T.ToTensor()])(img).shape == (3, 32, 32)
    batch = augmix.AugMixBatch(output="uint8", generator=0)(torch.from_numpy(smooth_images(2)).permute(0, 3, 1, 2))
    assert batch.dtype == torch.uint8
    with pytest.raises(ValueError, match="output"):
        augmix.AugMixBatch(output="pil")


# ------------------------------------------------------------------ DataLoader workers

class ConstantImages(torch.utils.data.Dataset):
    """The same image n times, through a transform: every difference comes from the transform."""

    def __init__(self, transform, n: int = 4) -> None:
        self.transform, self.n = transform, n
        self.img = Image.fromarray(smooth_images(1, seed=3)[0])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return self.transform(self.img), torch.utils.data.get_worker_info().id


def _epochs(context: str, persistent: bool, seed: int, transform) -> list[list[tuple[int, torch.Tensor]]]:
    torch.manual_seed(seed)
    loader = torch.utils.data.DataLoader(ConstantImages(transform), batch_size=1, num_workers=2,
                                         multiprocessing_context=context, persistent_workers=persistent)
    return [[(int(w), x[0]) for x, w in loader] for _ in range(2)]


# spawn with persistent workers: pickled into fresh interpreters (what spawn adds), started once per loader
# rather than once per epoch (each start imports torch); fork covers the per-epoch restarts
@pytest.mark.heavy
@pytest.mark.parametrize("context,persistent", [("fork", False), ("fork", True), ("spawn", True)])
def test_a_seeded_transform_differs_per_worker_and_epoch_and_replays_from_manual_seed(context, persistent):
    transform = augmix.AugMix(generator=0)
    first = _epochs(context, persistent, 11, transform)
    epoch1, epoch2 = first
    by_worker = {w: x for w, x in reversed(epoch1)}  # each worker's first image
    assert set(by_worker) == {0, 1} and not torch.equal(by_worker[0], by_worker[1])
    assert not any(torch.equal(a, b) for (_, a), (_, b) in zip(epoch1, epoch2, strict=True))
    again = _epochs(context, persistent, 11, transform)
    pairs = [(a, b) for e, f in zip(first, again, strict=True) for (_, a), (_, b) in zip(e, f, strict=True)]
    assert all(torch.equal(a, b) for a, b in pairs)
    other = _epochs(context, persistent, 12, transform)
    assert not torch.equal(other[0][0][1], first[0][0][1])


def test_a_seeded_augmix_dataset_differs_per_worker():
    data = [(_img(), 0)] * 4
    ds = augmix.AugMixDataset(data, jsd=False, generator=5)
    torch.manual_seed(0)
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=2, multiprocessing_context="fork")
    xs = [x for x, _ in loader]
    assert not torch.equal(xs[0], xs[1])  # items 0 and 1 come from workers 0 and 1


# ------------------------------------------------------------------ timm

def test_a_timm_model_trains_a_step_with_augmixbatch_and_augmixloss():
    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False, num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.from_numpy(smooth_images(4)).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([0, 1, 2, 3])
    views = augmix.AugMixBatch(jsd=True, generator=0)(x)
    before = [p.detach().clone() for p in model.parameters()]
    loss = augmix.AugMixLoss(label_smoothing=0.1)(model(torch.cat(views)), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_augmixloss_equals_timms_jsd_cross_entropy_on_n_and_3n_targets():
    from timm.loss import JsdCrossEntropy

    torch.manual_seed(0)
    logits = torch.randn(12, 10)
    y = torch.randint(0, 10, (4,))
    for smoothing in (0.0, 0.1):
        theirs = JsdCrossEntropy(num_splits=3, alpha=12, smoothing=smoothing)(logits, y.repeat(3))
        ours_n = augmix.AugMixLoss(12, label_smoothing=smoothing)(logits, y)
        ours_3n = augmix.AugMixLoss(12, label_smoothing=smoothing)(logits, y.repeat(3))
        assert torch.allclose(ours_n, theirs, atol=1e-6) and torch.equal(ours_n, ours_3n)
    with pytest.raises(ValueError, match="differ between views"):
        augmix.AugMixLoss()(logits, torch.arange(12) % 10)


def test_timms_augmix_dataset_and_fast_collate_with_our_transform():
    from timm.data.dataset import AugMixDataset
    from timm.data.loader import fast_collate

    class Folder(torch.utils.data.Dataset):  # what timm's ImageDataset is to AugMixDataset
        def __init__(self) -> None:
            self.transform = None
            self.images = [Image.fromarray(a) for a in smooth_images(4)]

        def __len__(self) -> int:
            return len(self.images)

        def __getitem__(self, i: int):
            img = self.images[i]
            return (self.transform(img) if self.transform else img), i % 10

    ds = AugMixDataset(Folder(), num_splits=3)
    ds.transform = (None, augmix.AugMix(output="pil", generator=0), lambda im: np.array(im).transpose(2, 0, 1))
    (clean, a1, a2), label = ds[1]
    assert clean.shape == a1.shape == (3, 32, 32) and label == 1 and not np.array_equal(a1, a2)
    x, targets = fast_collate([ds[i] for i in range(4)])
    assert x.shape == (12, 3, 32, 32) and targets.shape == (12,)
    model = timm.create_model("resnet18", pretrained=False, num_classes=10)
    loss = augmix.AugMixLoss()(model(x.float() / 255), targets)  # 3N targets, as timm's collate makes them
    assert torch.isfinite(loss)


# ------------------------------------------------------------------ architecture names

def test_library_names_are_not_shadowed_and_prefixes_work(tmp_path, capsys):
    import torchvision

    from augmix.cli import main
    from augmix.models import MODELS, resolve_arch

    libraries = set(torchvision.models.list_models()) | set(timm.list_models())
    assert [n for n in MODELS if n in libraries] == ["resnet50"]  # ours *is* torchvision's resnet50
    assert resolve_arch("resnet18") == ("torchvision", "resnet18")
    assert resolve_arch("cifar_resnet18") == ("augmix", "cifar_resnet18")
    assert resolve_arch("timm:resnet18") == ("timm", "resnet18")
    assert resolve_arch("wrn40_2") == ("augmix", "wrn40_2")
    with pytest.raises(ValueError, match="looked in augmix .*torchvision.*timm"):
        resolve_arch("no_such_net")
    with pytest.raises(ValueError, match="unknown architecture prefix"):
        resolve_arch("keras:resnet18")
    # torchvision's ImageNet resnet18 and its weights, by its own name
    torch.save(torchvision.models.resnet18(num_classes=2).state_dict(), tmp_path / "r18.pth")
    data = tmp_path / "inet"
    for k, w in enumerate(("n01440764", "n01443537")):
        (data / "val" / w).mkdir(parents=True)
        Image.fromarray(smooth_images(1, 256, seed=k)[0]).save(data / "val" / w / "a.JPEG")
    assert main(["evaluate", "--arch", "resnet18", "--weights", str(tmp_path / "r18.pth"), "--dataset", "imagenet",
                 "--data-dir", str(data), "--workers", "0", "--out", str(tmp_path / "e")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--arch", "nonet", "--weights", str(tmp_path / "r18.pth"), "--dataset", "imagenet",
                 "--data-dir", str(data), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "looked in" in err[0]
