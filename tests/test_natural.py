"""Natural distribution shifts: the released layouts, the class subsets their authors evaluate on,
and downloads verified by SHA-256 (plain files, tar and zip)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from augmix.checkpoint import LoadedModel, ModelSpec
from augmix.data import download as dl
from augmix.data.download import DataError
from augmix.data.natural import (
    class_subset,
    imagenet_classes,
    load_cifar10_1,
    model_classes,
    open_imagenet_shift,
    read_cifar10_1,
)
from augmix.data.sources import ARCHIVES, Archive
from augmix.evaluate import Predictor
from augmix.suite.natural import evaluate_imagenet_shift
from tests.conftest import smooth_images
from tests.test_download import RangeHandler, server  # noqa: F401 - the local HTTP server fixture


def test_class_lists_are_the_published_ones():
    c = imagenet_classes()
    assert len(c["imagenet_1k"]) == 1000 and c["imagenet_1k"] == sorted(c["imagenet_1k"])
    assert len(c["imagenet_r"]) == len(c["imagenet_a"]) == 200
    assert set(c["imagenet_r"]) <= set(c["imagenet_1k"]) and set(c["imagenet_a"]) <= set(c["imagenet_1k"])
    assert c["imagenet_1k"][:2] == ["n01440764", "n01443537"] and "n01443537" in c["imagenet_r"]
    assert c["imagenet_a"][0] == c["imagenet_1k"][6]  # thousand_k_to_200[6] == 0 in natural-adv-examples


def _cifar10_1(folder, n=20):
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "cifar10.1_v6_data.npy", smooth_images(n, 32, seed=9))
    np.save(folder / "cifar10.1_v6_labels.npy", np.arange(n) % 10)
    return folder


def test_cifar10_1_layout_reads_and_damage_is_one_line(tmp_path):
    ds = read_cifar10_1(_cifar10_1(tmp_path / "CIFAR-10.1"))
    assert ds.images.shape == (20, 32, 32, 3) and ds.labels.dtype == np.int64 and ds.classes[0] == "airplane"
    np.save(tmp_path / "CIFAR-10.1" / "cifar10.1_v6_labels.npy", np.arange(20) + 5)
    with pytest.raises(DataError, match="labels outside 0-9"):
        read_cifar10_1(tmp_path / "CIFAR-10.1")
    with pytest.raises(DataError, match="cifar10.1_v6_data.npy is missing"):
        read_cifar10_1(tmp_path / "nowhere")


def test_cifar10_1_offline_error_says_where_to_put_the_files(tmp_path):
    with pytest.raises(DataError) as err:
        load_cifar10_1(tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path / "CIFAR-10.1" / "cifar10.1_v6_data.npy") in msg and "sha256 2997188e" in msg
    assert "\n" not in msg


def _shift_tree(root, wnids, n=2, index_folders=False):
    one_k = imagenet_classes()["imagenet_1k"]
    for k, w in enumerate(wnids):
        d = root / (str(one_k.index(w)) if index_folders else w)
        d.mkdir(parents=True)
        for j in range(n):
            Image.fromarray(smooth_images(1, 80, seed=10 * k + j)[0]).save(d / f"{j}.jpg")
    return root


class _Fixed(torch.nn.Module):
    """1000 logits, whatever the image: ``decoy`` highest, then ``second``."""

    def __init__(self, decoy: int, second: int) -> None:
        super().__init__()
        self.decoy, self.second = decoy, second

    def forward(self, x):
        out = torch.zeros(len(x), 1000)
        out[:, self.decoy] = 100.0
        out[:, self.second] = 50.0
        return out


def test_imagenet_r_is_scored_on_the_200_matching_logits(tmp_path):
    one_k = imagenet_classes()["imagenet_1k"]
    r_wnids = imagenet_classes()["imagenet_r"][:2]
    shift = open_imagenet_shift("imagenet-r", _shift_tree(tmp_path / "imagenet-r", r_wnids, n=1))
    assert shift.wnids == r_wnids and len(shift.samples) == 2
    samples, keep, shared = class_subset(model_classes(1000, None), shift)
    assert shared == r_wnids and keep.tolist() == [one_k.index(w) for w in r_wnids]
    # top logit outside ImageNet-R, the first R class second: the published evaluation drops the outside
    # logit, so the image of the first class is right and the other wrong (all 1000 logits: both wrong)
    decoy = next(i for i, w in enumerate(one_k) if w not in set(imagenet_classes()["imagenet_r"]))
    lm = LoadedModel(_Fixed(decoy, one_k.index(r_wnids[0])), ModelSpec("x", 1000, (0.5,) * 3, (0.5,) * 3), "t")
    res = evaluate_imagenet_shift(Predictor(lm, torch.device("cpu"), workers=0, progress=False), shift)
    assert res.scores.error == 0.5 and res.classes == 2 and res.scores.n == 2


def test_a_subset_model_is_scored_on_the_classes_it_shares(tmp_path):
    r = imagenet_classes()["imagenet_r"]
    shift = open_imagenet_shift("imagenet-r", _shift_tree(tmp_path / "imagenet-r", r[:4], n=1))
    model = ("n01440764", r[1], r[3])  # tench is not in ImageNet-R
    samples, keep, shared = class_subset(model_classes(3, model), shift)
    assert shared == [r[1], r[3]] and keep.tolist() == [1, 2] and len(samples) == 2
    with pytest.raises(DataError, match="does not record which ImageNet classes"):
        model_classes(10, None)
    with pytest.raises(DataError, match="share no synset"):
        class_subset(["n01440764"], shift)


def test_imagenet_v2_folders_are_class_indices_not_sorted_names(tmp_path):
    one_k = imagenet_classes()["imagenet_1k"]
    picks = [one_k[2], one_k[10], one_k[100]]  # "10" sorts before "2" as a name
    root = _shift_tree(tmp_path / "imagenetv2-matched-frequency-format-val", picks, n=1, index_folders=True)
    shift = open_imagenet_shift("imagenet-v2", tmp_path)  # the data root holding the release folder
    assert shift.root == root and sorted({w for _, w in shift.samples}) == sorted(picks)
    samples, keep, _ = class_subset(model_classes(1000, None), shift)
    assert keep.tolist() == [2, 10, 100]


def test_a_folder_of_the_wrong_set_is_refused(tmp_path):
    _shift_tree(tmp_path / "imagenet-a", ["n01440764"], n=1)  # tench is not an ImageNet-A class
    with pytest.raises(DataError, match="not one of the 200 classes of imagenet-a"):
        open_imagenet_shift("imagenet-a", tmp_path / "imagenet-a")
    with pytest.raises(DataError, match="ImageNet-R not found under"):
        open_imagenet_shift("imagenet-r", tmp_path / "empty")


def test_sha256_verified_downloads_of_plain_files_and_zips(server, tmp_path):  # noqa: F811
    base = f"http://127.0.0.1:{server.server_address[1]}"
    RangeHandler.payload = b"\x93NUMPY fake array bytes"
    arc = Archive("F", f"{base}/f.npy", "f.npy", None, "F", "1 kB",
                  sha256=hashlib.sha256(RangeHandler.payload).hexdigest(), kind="file")
    path = dl.extract(dl.download(arc, tmp_path), arc, tmp_path)
    assert path == tmp_path / "F" / "f.npy" and path.read_bytes() == RangeHandler.payload
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("sketch/n01440764/a.JPEG", b"jpeg")
    RangeHandler.payload = buf.getvalue()
    arc = Archive("Z", f"{base}/z.zip", "z.zip", None, "sketch", "1 kB",
                  sha256=hashlib.sha256(RangeHandler.payload).hexdigest(), kind="zip")
    folder = dl.extract(dl.download(arc, tmp_path / "z"), arc, tmp_path / "z")
    assert (folder / "n01440764" / "a.JPEG").read_bytes() == b"jpeg"
    bad = Archive("Z", f"{base}/z.zip", "y.zip", None, "sketch", "1 kB", sha256="0" * 64, kind="zip")
    with pytest.raises(DataError, match="sha256 .* does not match the published"):
        dl.download(bad, tmp_path / "y")


def test_every_natural_shift_has_a_published_checksum():
    for key in ("cifar10.1-data", "cifar10.1-labels", "imagenet-r", "imagenet-a", "imagenet-sketch", "imagenet-v2"):
        algo, digest = ARCHIVES[key].checksum
        assert algo == "sha256" and len(digest) == 64, key
