"""Nothing of a user's is changed by any verb: an output folder is one augmix made for that verb
(its marker, written once the run has passed its checks), every file read is an input, every
verb's outputs are written as a unit, and one lock per folder keeps a second run out."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from augmix.cli import main
from augmix.io import LOCK, MARKER, output_lock, owner
from tests.helpers import write_checkpoint, write_cifar10


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("own")
    cifar = write_cifar10(base / "data", 10, 12)
    ckpt = write_checkpoint(base / "m.pt")
    common = ["--data-dir", str(cifar), "--workers", "0"]
    assert main(["evaluate", str(ckpt), *common, "--limit", "4", "--out", str(base / "e1")]) == 0
    assert main(["evaluate", str(ckpt), *common, "--limit", "4", "--out", str(base / "e2")]) == 0
    return {"base": base, "cifar": cifar, "ckpt": ckpt, "common": common}


def _users_folder(path: Path, files: dict[str, str]) -> dict[str, str]:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return files


def _unchanged(path: Path, files: dict[str, str]) -> bool:
    return {p.name: p.read_text() for p in path.iterdir()} == files


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("verb, files", [
    ("evaluate", {"results.json": "{}", "report.md": "my notes"}),
    ("train", {"log.csv": "my log", "summary.json": "{}"}),
    ("compare", {"compare.md": "my comparison"}),
    ("corrupt", {"meta.json": "{}"}),
])
def test_a_folder_holding_files_of_ours_by_name_is_still_the_users(world, verb, files, capsys):
    """The names of our outputs do not make a folder ours: only our marker does."""
    mine = world["base"] / f"mine_{verb}"
    files = _users_folder(mine, files)
    argv = {"evaluate": ["evaluate", str(world["ckpt"]), *world["common"], "--limit", "4"],
            "train": ["train", "--data-dir", str(world["cifar"]), "--model", "tiny", "--epochs", "1", "--workers",
                      "0", "--train-subset", "8", "--batch-size", "4"],
            "compare": ["compare", str(world["base"] / "e1"), str(world["base"] / "e2")],
            "corrupt": ["corrupt", "--data-dir", str(world["cifar"]), "--corruptions", "contrast", "--severities",
                        "1", "--workers", "1"]}[verb]
    assert main([*argv, "--out", str(mine)]) == 2
    assert "augmix did not make" in _error(capsys)
    assert _unchanged(mine, files)


def test_a_folder_of_one_verb_is_refused_by_another(world, capsys):
    e1 = world["base"] / "e1"
    assert owner(e1) == "evaluate"
    before = {p.name: p.read_bytes() for p in e1.iterdir()}
    assert main(["corrupt", "--data-dir", str(world["cifar"]), "--corruptions", "contrast", "--severities", "1",
                 "--workers", "1", "--out", str(e1)]) == 2
    assert "holds the outputs of `augmix evaluate`" in _error(capsys)
    import shutil

    if not (world["base"] / "e3").exists():
        shutil.copytree(world["base"] / "e2", world["base"] / "e3")
    assert main(["compare", str(world["base"] / "e2"), str(world["base"] / "e3"), "--out", str(e1)]) == 2
    assert "holds the outputs of `augmix evaluate`" in _error(capsys)
    demo = world["base"] / "a_demo"
    demo.mkdir()
    (demo / MARKER).write_text(json.dumps({"verb": "demo"}))
    assert main(["evaluate", str(world["ckpt"]), *world["common"], "--out", str(demo)]) == 2
    assert "holds the outputs of `augmix demo`" in _error(capsys)
    assert {p.name: p.read_bytes() for p in e1.iterdir()} == before


def test_every_file_read_is_an_input_the_output_may_not_hold(world, capsys):
    """A results.json given as --p-baseline, a checkpoint or a weights file in --out: refused."""
    e1 = world["base"] / "e1"
    before = {p.name: p.read_bytes() for p in e1.iterdir()}
    cases = [["evaluate", str(e1 / "ckpt.pt"), *world["common"]],
             ["evaluate", "--arch", "tiny", "--weights", str(e1 / "results.json"), *world["common"]],
             ["evaluate", str(world["ckpt"]), *world["common"], "--dataset", "imagenet", "--perturbed",
              str(world["base"] / "e2"), "--p-baseline", str(e1 / "results.json")],
             ["evaluate", str(world["ckpt"]), "--data-dir", str(e1), "--workers", "0"]]
    for argv in cases:
        assert main([*argv, "--out", str(e1)]) == 2
        assert "--out" in _error(capsys)
    assert main(["evaluate", str(world["ckpt"]), *world["common"], "--out", str(world["cifar"] / "inside")]) == 2
    assert "inside the input" in _error(capsys)
    assert {p.name: p.read_bytes() for p in e1.iterdir()} == before


def test_a_refused_run_leaves_no_marker(world, capsys):
    """The marker is written once the run has passed its checks: a refused train, evaluate or demo
    leaves the new folder empty, so it stays anybody's."""
    out = world["base"] / "refused"
    assert main(["train", "--data-dir", str(world["cifar"]), "--model", "tiny", "--batch-size", "1000",
                 "--workers", "0", "--out", str(out)]) == 2
    assert "larger than the training set" in _error(capsys)
    assert owner(out) is None and not [p for p in out.iterdir() if p.name != LOCK]
    assert main(["evaluate", str(world["ckpt"]), *world["common"], "--limit", "99", "--out", str(out)]) == 2
    _error(capsys)
    assert owner(out) is None
    assert main(["corrupt", "--data-dir", str(world["cifar"]), "--corruptions", "contrast", "--severities", "1",
                 "--workers", "1", "--limit", "4", "--out", str(out)]) == 0  # still anybody's: corrupt takes it
    assert owner(out) == "corrupt"


@pytest.mark.parametrize("verb", ["train", "compare", "demo", "evaluate", "corrupt"])
def test_one_run_at_a_time_per_folder_for_every_verb(world, verb, capsys):
    out = world["base"] / f"busy_{verb}"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"verb": verb}))
    argv = {"train": ["train", "--data-dir", str(world["cifar"]), "--model", "tiny", "--epochs", "1"],
            "compare": ["compare", str(world["base"] / "e1"), str(world["base"] / "e2")],
            "demo": ["demo", "--epochs", "1", "--seeds", "0"],
            "evaluate": ["evaluate", str(world["ckpt"]), *world["common"], "--limit", "4"],
            "corrupt": ["corrupt", "--data-dir", str(world["cifar"]), "--corruptions", "contrast",
                        "--severities", "1", "--workers", "1"]}[verb]
    fd = os.open(out / LOCK, os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run holds the folder
    try:
        assert main([*argv, "--out", str(out)]) == 2
        assert "another augmix run is writing" in _error(capsys)
    finally:
        os.close(fd)
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, LOCK])


def test_the_lock_held_is_the_lock_at_the_path(tmp_path, monkeypatch):
    """A run that ends removes the lock file, then unlocks it; a run that had opened the old file
    meanwhile must not hold a lock that a third run, on the new file, holds too."""
    import augmix.io as io

    real, replaced = fcntl.flock, []

    def flock(fd, op):
        real(fd, op)
        if op & fcntl.LOCK_EX and not replaced:  # the file this run locked is replaced right after
            replaced.append(os.fstat(fd).st_ino)
            os.unlink(tmp_path / LOCK)
            os.close(os.open(tmp_path / LOCK, os.O_CREAT | os.O_RDWR))

    monkeypatch.setattr(fcntl, "flock", flock)
    with output_lock(tmp_path):
        held = io._HELD[str(tmp_path.resolve())]
        assert os.fstat(held).st_ino == os.stat(tmp_path / LOCK).st_ino != replaced[0]


def test_compare_output_is_one_unit(world, capsys, monkeypatch):
    import augmix.report as report

    out = world["base"] / "cmp"
    runs = [str(world["base"] / "e1"), str(world["base"] / "e2")]
    assert main(["compare", *runs, "--labels", "a,b", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.name != LOCK}
    assert "compare.json" in before and owner(out) == "compare"

    def broken(*args, **kw):
        raise OSError(28, "No space left on device", str(out / "compare.json"))

    monkeypatch.setattr(report, "_compare_json", broken)
    assert main(["compare", *runs, "--labels", "x,y", "--out", str(out)]) == 2
    assert "No space left on device" in _error(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != LOCK} == before  # the last good one


def _image_tree(root: Path, seed: int) -> Path:
    from PIL import Image

    from tests.conftest import smooth_images

    for k, wnid in enumerate(("n1", "n2")):
        (root / wnid).mkdir(parents=True)
        Image.fromarray(smooth_images(1, 32, seed=seed + k)[0]).save(root / wnid / "a.png")
    return root


def test_a_rerun_adds_only_to_a_set_made_from_the_same_images(world, tmp_path, capsys):
    """Only the image count was compared: a rerun from another dataset or folder of the same size
    mixed two sources in one set. The source's digest (images and labels, or the files) is."""
    import numpy as np

    other = write_cifar10(tmp_path / "other", 10, 12, seed=5)  # the same shapes, other images and labels
    out = tmp_path / "c1"
    base = ["corrupt", "--corruptions", "contrast", "--severities", "1", "--workers", "1", "--no-progress", "--out",
            str(out)]
    assert main([*base, "--data-dir", str(world["cifar"])]) == 0
    labels = np.load(out / "labels.npy")
    assert main([*base[:2], "contrast,fog", *base[3:], "--data-dir", str(other)]) == 2
    assert "made from other source images" in _error(capsys)
    assert np.array_equal(np.load(out / "labels.npy"), labels) and not (out / "fog.npy").exists()
    assert main([*base[:2], "contrast,fog", *base[3:], "--data-dir", str(world["cifar"])]) == 0  # the same: resumed
    for verb, names, layout in (("corrupt", ["--corruptions", "contrast", "--severities", "1"], "cifar"),
                                ("corrupt", ["--corruptions", "contrast", "--severities", "1", "--size", "64"],
                                 "imagenet"),
                                ("perturb", ["--perturbations", "gaussian_noise"], "cifar")):
        a, b = _image_tree(tmp_path / f"a_{verb}_{layout}", 0), _image_tree(tmp_path / f"b_{verb}_{layout}", 7)
        out = tmp_path / f"{verb}_{layout}"
        argv = [verb, *names, "--layout", layout, "--workers", "1", "--no-progress", "--out", str(out)]
        assert main([*argv, "--images", str(a)]) == 0
        assert main([*argv, "--images", str(b)]) == 2
        assert "made from other source images" in _error(capsys)
