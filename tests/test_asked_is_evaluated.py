"""Anything asked for and not evaluated in full is an error, never a smaller exit-0 result: a
corruption listed but absent, a set with none of the benchmark's corruptions, a set another run
is still writing, a tree missing an image, a set of other-sized images."""

from __future__ import annotations

import fcntl
import json
import os

import pytest
from PIL import Image

from augmix.cli import main
from augmix.io import LOCK
from tests.conftest import smooth_images
from tests.helpers import write_checkpoint, write_cifar10


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("asked")
    cifar = write_cifar10(base / "data", 10, 12)
    write_checkpoint(base / "m.pt")
    gen = ["corrupt", "--data-dir", str(cifar), "--severities", "1", "--workers", "1", "--no-progress"]
    assert main([*gen, "--corruptions", "fog,snow", "--out", str(base / "c")]) == 0
    ev = ["evaluate", str(base / "m.pt"), "--data-dir", str(cifar), "--workers", "0", "--no-progress"]
    return {"base": base, "cifar": cifar, "gen": gen, "ev": ev}


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_a_listed_corruption_missing_from_the_folder_is_an_error(world, capsys):
    c = _copy(world["base"] / "c", world["base"] / "c_nosnow")
    (c / "snow.npy").unlink()
    assert main([*world["ev"], "--corrupted", str(c), "--out", str(world["base"] / "e1")]) == 2
    assert "snow.npy is missing though meta.json lists snow" in _error(capsys)


def test_a_set_with_none_of_the_corruptions_or_without_one_asked_for_is_an_error(world, capsys):
    c = world["base"] / "c"
    assert main([*world["ev"], "--c-bar", str(c), "--out", str(world["base"] / "e2")]) == 2
    assert "holds none of the corruptions evaluated here" in _error(capsys)
    assert main([*world["ev"], "--corrupted", str(c), "--corruptions", "fog,frost",
                 "--out", str(world["base"] / "e3")]) == 2
    assert "holds no frost, which --corruptions asks for" in _error(capsys)
    assert main([*world["ev"], "--corrupted", str(c), "--corruptions", "fog", "--out", str(world["base"] / "e4")]) == 0
    assert list(json.loads((world["base"] / "e4" / "results.json").read_text())["benchmarks"]["c"]["per"]) == ["fog"]


def test_a_set_being_written_is_not_evaluated(world, capsys):
    c = world["base"] / "c"
    fd = os.open(c / LOCK, os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # `augmix corrupt` is still writing it
    try:
        assert main([*world["ev"], "--corrupted", str(c), "--out", str(world["base"] / "e5")]) == 2
        assert "is being written by another augmix run" in _error(capsys)
    finally:
        os.close(fd)
        (c / LOCK).unlink()


def test_other_sized_arrays_are_not_scored_against_the_clean_images(world, tmp_path, capsys):
    tree = tmp_path / "same64" / "n1"
    tree.mkdir(parents=True)
    for i, arr in enumerate(smooth_images(12, 64)):
        Image.fromarray(arr).save(tree / f"{i:02d}.png")
    out = tmp_path / "c64"
    assert main(["corrupt", "--images", str(tmp_path / "same64"), "--layout", "cifar", "--corruptions", "fog",
                 "--severities", "1", "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    assert main([*world["ev"], "--corrupted", str(out), "--allow-other-dataset", "--out", str(tmp_path / "e")]) == 2
    assert "holds 64x64 images but the clean test data is 32x32" in _error(capsys)


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    root = tmp_path_factory.mktemp("inet")
    for k, wnid in enumerate(("n01440764", "n01443537")):
        (root / "val" / wnid).mkdir(parents=True)
        for j in range(2):
            Image.fromarray(smooth_images(1, 256, seed=10 * k + j)[0]).save(root / "val" / wnid / f"v{j}.JPEG")
    write_checkpoint(root / "m.pt", classes=2, dataset="imagenet")
    return root


def test_a_tree_missing_an_image_or_of_another_size_is_an_error(imagenet, tmp_path, capsys):
    gen = ["corrupt", "--images", str(imagenet / "val"), "--corruptions", "fog", "--severities", "1", "--workers",
           "1", "--no-progress"]
    ev = ["evaluate", str(imagenet / "m.pt"), "--dataset", "imagenet", "--data-dir", str(imagenet), "--workers", "0",
          "--no-progress"]
    assert main([*gen, "--out", str(tmp_path / "IN-C")]) == 0
    assert main([*ev, "--corrupted", str(tmp_path / "IN-C"), "--out", str(tmp_path / "ok")]) == 0
    (tmp_path / "IN-C" / "fog" / "1" / "n01443537" / "v1.JPEG").unlink()
    assert main([*ev, "--corrupted", str(tmp_path / "IN-C"), "--out", str(tmp_path / "e1")]) == 2
    assert "has no corrupted copy of" in _error(capsys)
    assert main([*gen, "--size", "64", "--out", str(tmp_path / "Tiny-C")]) == 0
    assert main([*ev, "--corrupted", str(tmp_path / "Tiny-C"), "--out", str(tmp_path / "e2")]) == 2
    assert "is 64x64, not 224x224" in _error(capsys)
