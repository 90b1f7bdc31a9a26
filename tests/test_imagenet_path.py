"""The ImageNet code path on a tiny ImageFolder: train, generate ImageNet-C, evaluate with mCE."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from augmix.checkpoint import load_checkpoint
from augmix.cli import main
from augmix.corruptions.tables import BENCHMARK
from augmix.data.images import walk_image_tree
from augmix.generation import generate_folder_c
from augmix.results import load_results
from tests.conftest import smooth_images


@pytest.fixture(scope="module")
def imagefolder(tmp_path_factory):
    root = tmp_path_factory.mktemp("inet")
    for split, n in (("train", 4), ("val", 2)):
        for k, wnid in enumerate(("n01440764", "n01443537")):
            (root / split / wnid).mkdir(parents=True)
            for j in range(n):
                img = smooth_images(1, 256, seed=100 * k + 10 * j + len(split))[0]
                img[..., k] = 255  # a learnable colour cue per class
                Image.fromarray(img[:, :240]).save(root / split / wnid / f"{split}_{j}.JPEG")
    return root


@pytest.mark.heavy
def test_train_evaluate_imagenet_c_with_mce(imagefolder, tmp_path):
    rc = main(["train", "--dataset", "imagenet", "--data-dir", str(imagefolder), "--model", "tiny", "--epochs", "1",
               "--batch-size", "4", "--workers", "0", "--augmix", "severity=1", "--out", str(tmp_path / "run")])
    assert rc == 0
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["config"]["augment"] == "per_image"  # auto, on a CPU
    items = walk_image_tree(imagefolder / "val").images
    inc = generate_folder_c(items, tmp_path / "IN-C", BENCHMARK, seed=0, workers=2, progress=False)
    assert len(list(inc.rglob("*.JPEG"))) == 15 * 5 * 4
    rc = main(["evaluate", str(tmp_path / "run" / "checkpoint.pt"), "--dataset", "imagenet", "--data-dir",
               str(imagefolder), "--corrupted", str(inc), "--out", str(tmp_path / "eval"), "--workers", "0"])
    assert rc == 0
    res = load_results(tmp_path / "eval")
    c = res.benchmarks["c"]
    assert res.clean.scores.n == 4 and len(c.per) == 15
    from augmix.metrics import ALEXNET_ERR

    expected = np.mean([c.mean_of(name) / ALEXNET_ERR[name] for name in BENCHMARK])
    assert c.mce == pytest.approx(expected)
    assert "mCE (AlexNet-normalised)" in (tmp_path / "eval" / "report.md").read_text()


def test_stylized_folder_is_mixed_in_and_checked(imagefolder, tmp_path):
    from augmix.data.download import DataError
    from augmix.data.folders import image_folder_pair

    train, _ = image_folder_pair(imagefolder, stylized=imagefolder / "val")  # same classes
    assert len(train) == 8 + 4 and train.classes == ["n01440764", "n01443537"]
    x, y = train[len(train) - 1]
    assert x.dtype.is_floating_point is False and x.shape[-2:] == (224, 224) and y == 1
    (tmp_path / "other" / "n99").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "other" / "n99" / "a.png")
    with pytest.raises(DataError, match="classes different"):
        image_folder_pair(imagefolder, stylized=tmp_path / "other")


def test_an_imagefolder_trains_batched_when_asked_and_auto_picks_by_device(imagefolder, tmp_path):
    import torch

    from augmix.train import TrainConfig

    rc = main(["train", "--dataset", "imagenet", "--data-dir", str(imagefolder), "--model", "tiny", "--epochs", "1",
               "--batch-size", "4", "--workers", "0", "--augment", "batched", "--out", str(tmp_path / "b")])
    assert rc == 0 and load_checkpoint(tmp_path / "b" / "checkpoint.pt")["config"]["augment"] == "batched"
    cpu, gpu = torch.device("cpu"), torch.device("cuda")  # a device object needs no GPU
    assert TrainConfig(dataset="imagenet").augment_on(cpu) == "per_image"
    assert TrainConfig(dataset="imagenet").augment_on(gpu) == "batched"  # the GPU runs AugMix
    assert TrainConfig(dataset="cifar10").augment_on(cpu) == "batched"  # arrays in memory
    assert TrainConfig(dataset="imagenet", baselines=("cutout",)).augment_on(cpu) == "batched"
    assert TrainConfig(dataset="imagenet", augment="batched").augment_on(cpu) == "batched"
