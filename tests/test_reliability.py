"""Bad input of every kind: one clear line, a non-zero exit, no traceback, nothing half-written.

Table-driven over the CLI verbs, plus property-based fuzzing of every file reader.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from augmix.checkpoint import CheckpointError, load_checkpoint, read_weights
from augmix.cli import main
from augmix.data import DataError
from augmix.train import TrainConfig, TrainingDiverged, train
from tests.conftest import smooth_images
from tests.helpers import write_cifar10

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small CIFAR-10, a trained checkpoint, its evaluation, a -C set and an image folder."""
    base = tmp_path_factory.mktemp("world")
    cifar = write_cifar10(base / "data", n_train=96, n_test=40)
    run = train(TrainConfig(dataset="cifar10", data_dir=str(cifar), model="tiny", method="standard", epochs=1,
                            batch_size=32, workers=0, out=str(base / "run"), eval_batch_size=40), progress=False)
    assert main(["corrupt", "--data-dir", str(cifar), "--out", str(base / "c"), "--corruptions", "fog",
                 "--severities", "1,2", "--workers", "1"]) == 0
    assert main(["evaluate", str(run / "checkpoint.pt"), "--data-dir", str(cifar), "--corrupted", str(base / "c"),
                 "--out", str(base / "eval"), "--workers", "0"]) == 0
    photos = base / "photos" / "cls"
    photos.mkdir(parents=True)
    for i, arr in enumerate(smooth_images(2, 40)):
        Image.fromarray(arr).save(photos / f"p{i}.png")
    mixed = base / "mixed" / "cls"
    mixed.mkdir(parents=True)
    Image.fromarray(smooth_images(1, 40)[0]).save(mixed / "good.png")
    (mixed / "notes.JPEG").write_text("not a picture")
    return {"base": base, "cifar": cifar, "mixed": base / "mixed", "ckpt": run / "checkpoint.pt", "eval": base / "eval",
            "c": base / "c", "photos": base / "photos"}


def _bad_files(base: Path) -> dict[str, Path]:
    files = base / "bad"
    files.mkdir(exist_ok=True)
    (files / "random.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    (files / "text.pt").write_text("not a checkpoint\n")
    (files / "empty.pt").write_bytes(b"")
    (files / "broken.json").write_text('{"clean": {"error": ')
    (files / "partial.json").write_text(json.dumps({"clean": {"error": 0.1}}))
    (files / "regular").write_text("a file, not a folder\n")
    return {p.stem: p for p in files.iterdir()}


# (argv builder, text the one line must contain)
CASES = [
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--batch-size", "1000",
                   "--out", str(w["base"] / "t1")], "larger than the training set"),
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--lr", "0",
                   "--out", str(w["base"] / "t2")], "lr must be > 0"),
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--epochs", "0",
                   "--out", str(w["base"] / "t3")], "epochs must be >= 1"),
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--method", "augmix",
                   "--split-bn", "--out", str(w["base"] / "t4")], "split_bn"),
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--augmix", "severity=x",
                   "--out", str(w["base"] / "t5")], "severity must be an integer"),
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--baselines", "dropout",
                   "--out", str(w["base"] / "t6")], "unknown baseline"),
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--momentum", "nan",
                   "--out", str(w["base"] / "t7")], "momentum must be a finite number"),
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--epochs", "1",
                   "--out", str(b["regular"] / "run")], "cannot write to"),
    (lambda w, b: ["evaluate", str(b["random"]), "--data-dir", str(w["cifar"]), "--out", str(w["base"] / "e1")],
     "is not a readable checkpoint"),
    (lambda w, b: ["evaluate", str(b["empty"]), "--data-dir", str(w["cifar"]), "--out", str(w["base"] / "e2")],
     "is not a readable checkpoint"),
    (lambda w, b: ["evaluate", "--arch", "tiny", "--data-dir", str(w["cifar"]), "--out", str(w["base"] / "e3")],
     "needs --weights"),
    (lambda w, b: ["evaluate", "--arch", "allconv", "--weights", str(w["ckpt"]), "--data-dir", str(w["cifar"]),
                   "--out", str(w["base"] / "e4")], "does not fit the AllConvNet model"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--device", "cuda",
                   "--out", str(w["base"] / "e5")], "not available"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--batch-size", "0",
                   "--out", str(w["base"] / "e6")], "must be >= 1"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--out", str(b["regular"] / "x")],
     "cannot write to"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--corrupted", str(w["photos"]),
                   "--out", str(w["base"] / "e7")], "not a CIFAR-C folder"),
    (lambda w, b: ["compare", str(b["broken"]), "--out", str(w["base"] / "k1")], "not valid JSON"),
    (lambda w, b: ["compare", str(b["partial"]), "--out", str(w["base"] / "k2")], "not a complete"),
    (lambda w, b: ["compare", str(w["eval"]), str(w["eval"]), "--labels", "a", "--out", str(w["base"] / "k3")],
     "one per run"),
    (lambda w, b: ["corrupt", "--data-dir", str(w["cifar"]), "--severities", "0,9", "--out", str(w["base"] / "c1")],
     "severities must be among 1..5"),
    (lambda w, b: ["corrupt", "--data-dir", str(w["cifar"]), "--severities", "one", "--out", str(w["base"] / "c2")],
     "comma-separated integers"),
    (lambda w, b: ["corrupt", "--data-dir", str(w["cifar"]), "--corruptions", "rain", "--out", str(w["base"] / "c3")],
     "unknown corruption"),
    (lambda w, b: ["corrupt", "--images", str(w["base"] / "bad"), "--out", str(w["base"] / "c4")],
     "found no images"),
    (lambda w, b: ["corrupt", "--data-dir", str(w["cifar"]), "--workers", "0", "--out", str(w["base"] / "c5")],
     "must be >= 1"),
    (lambda w, b: ["corrupt", "--images", str(w["mixed"]), "--workers", "2", "--corruptions", "fog",
                   "--out", str(w["base"] / "c6")], "notes.JPEG as an image"),
    (lambda w, b: ["corrupt", "--images", str(w["mixed"]), "--layout", "cifar", "--out", str(w["base"] / "c7")],
     "notes.JPEG as an image"),
    (lambda w, b: ["train", "--data-dir", str(b["regular"]), "--model", "tiny", "--out", str(w["base"] / "t8")],
     "is a file, not a folder"),
    (lambda w, b: ["preview", str(b["text"]), "--out", str(w["base"] / "p.png")], "cannot read"),
    (lambda w, b: ["preview", str(w["photos"] / "cls" / "p0.png"), "--severity", "11", "--out",
                   str(w["base"] / "p.png")], "severity must be in 1..10"),
    (lambda w, b: ["preview", str(w["photos"] / "cls" / "p0.png"), "--samples", "0", "--out",
                   str(w["base"] / "p.png")], "must be >= 1"),
    (lambda w, b: ["demo", "--epochs", "-1", "--out", str(w["base"] / "d")], "must be >= 1"),
    (lambda w, b: ["demo", "--seeds", "-3", "--out", str(w["base"] / "d2")], "seeds >= 0"),
    (lambda w, b: ["corrupt", "--data-dir", str(w["cifar"]), "--seed", "-1", "--out", str(w["base"] / "c8")],
     "seed must be >= 0"),
    (lambda w, b: ["train", "--data-dir", str(w["cifar"]), "--model", "tiny", "--seed", "-2",
                   "--out", str(w["base"] / "t9")], "seed must be >= 0"),
    # -C-bar, -P and the suite
    (lambda w, b: ["corrupt", "--benchmark", "c-bar", "--data-dir", str(w["cifar"]), "--corruptions",
                   "caustic_refraction", "--out", str(w["base"] / "cb1")], "not a 32 px -C-bar corruption"),
    (lambda w, b: ["corrupt", "--benchmark", "c-bar", "--data-dir", str(w["cifar"]), "--extra",
                   "--out", str(w["base"] / "cb2")], "does not apply to -C-bar"),
    (lambda w, b: ["perturb", "--data-dir", str(w["cifar"]), "--perturbations", "wobble",
                   "--out", str(w["base"] / "p1")], "unknown perturbation"),
    (lambda w, b: ["perturb", "--images", str(w["mixed"]), "--perturbations", "rotate",
                   "--out", str(w["base"] / "p2")], "notes.JPEG as an image"),
    (lambda w, b: ["perturb", "--data-dir", str(w["cifar"]), "--seed", "-1", "--out", str(w["base"] / "p3")],
     "seed must be >= 0"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--perturbed", str(w["photos"]),
                   "--out", str(w["base"] / "e8")], "none of the -P arrays"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--c-bar", str(w["photos"]),
                   "--out", str(w["base"] / "e9")], "not a CIFAR-C folder"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--natural",
                   f"cifar10.1={w['photos']}", "--out", str(w["base"] / "e10")], "cifar10.1_v6_data.npy is missing"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--suite-dir", str(b["regular"]),
                   "--out", str(w["base"] / "e11")], "is not a folder"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--suite", "c-bar",
                   "--out", str(w["base"] / "e12")], "not found"),
    (lambda w, b: ["evaluate", str(w["ckpt"]), "--data-dir", str(w["cifar"]), "--perturbed", str(w["base"]),
                   "--difficulty", "0", "--out", str(w["base"] / "e13")], "must be >= 1"),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_bad_input_is_one_line_and_writes_nothing(world, case, capsys):
    build, expected = CASES[case]
    argv = build(world, _bad_files(world["base"]))
    before = {p for p in world["base"].rglob("*")}
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3, err
    assert expected in err, err
    created = {p for p in world["base"].rglob("*")} - before
    assert not [p for p in created if p.is_file() and p.stat().st_size > 0 and "bad" not in p.parts], created


def test_minus_c_folder_whose_rows_do_not_add_up_is_refused(world, tmp_path, capsys):
    import shutil

    bad = tmp_path / "c"
    shutil.copytree(world["c"], bad)
    (bad / "meta.json").unlink()  # 2 severities x 40 images read as a released set: 80 rows, not 5 x 40
    assert main(["evaluate", str(world["ckpt"]), "--data-dir", str(world["cifar"]), "--corrupted", str(bad),
                 "--out", str(tmp_path / "e")]) == 2
    assert "not 5 x 40 = 200 as a released set has" in capsys.readouterr().err
    assert not (tmp_path / "e" / "results.json").exists()


def test_sixteen_bit_images_are_scaled_not_clipped(tmp_path):
    from augmix.io import open_image

    grey = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as im:
        assert im.mode.startswith("I")
    rgb = np.asarray(open_image(tmp_path / "deep.png"))
    expected = np.rint(grey / 257).astype(np.uint8)
    assert np.array_equal(rgb[..., 0], expected) and (rgb == 255).mean() < 0.01


def test_exploding_training_keeps_no_bad_checkpoint(world, tmp_path):
    cfg = TrainConfig(dataset="cifar10", data_dir=str(world["cifar"]), model="tiny", method="standard", epochs=2,
                      batch_size=32, workers=0, lr=1e6, out=str(tmp_path / "r"), eval_every=-1)
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        train(cfg, progress=False)
    ckpt = tmp_path / "r" / "checkpoint.pt"
    if ckpt.exists():  # whatever was kept is finite, weights and BN statistics alike
        state = load_checkpoint(ckpt)["model"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_stale_temporaries_are_not_data_and_are_cleared(tmp_path):
    from augmix.data.images import walk_image_tree
    from augmix.generation import generate_folder_c

    src = tmp_path / "src" / "n0"
    src.mkdir(parents=True)
    for i, arr in enumerate(smooth_images(2, 64)):
        Image.fromarray(arr).save(src / f"a{i}.JPEG")
    out = tmp_path / "out"
    stale = out / "fog" / "1" / "n0" / ".a0.JPEG.k2j3.augmix-tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    (out / ".augmix-output").touch()  # the killed run had claimed the folder
    (src / ".a9.JPEG.x.tmp.JPEG").write_bytes(b"")  # a hidden file, as an older temporary would be
    items = walk_image_tree(tmp_path / "src").images
    assert [i.path.name for i in items] == ["a0.JPEG", "a1.JPEG"]
    generate_folder_c(items, out, ["fog"], [1], size=64, workers=1, progress=False)
    assert not stale.exists()
    assert sorted(p.name for p in (out / "fog" / "1" / "n0").iterdir()) == ["a0.JPEG", "a1.JPEG"]


def test_disk_full_is_one_line(world, tmp_path, capsys, monkeypatch):
    import errno

    import augmix.report as report

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "cmp" / "compare.md"))

    monkeypatch.setattr(report, "atomic_path", full)
    assert main(["compare", str(world["eval"]), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err and len(err.splitlines()) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_corrupt_workers_die_with_their_parent(world, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "augmix", "corrupt", "--images", str(world["photos"]), "--size",
                             "224", "--out", str(tmp_path / "c"), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def children() -> list[int]:
        kids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields_ = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields_[1]) == proc.pid:
                kids.append(int(stat.parent.name))
        return kids

    deadline = time.time() + 60
    while len(children()) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    kids = children()
    assert kids, "the workers did not start"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(Path(f"/proc/{k}").exists() and _alive(k) for k in kids):
        time.sleep(0.2)
    assert not [k for k in kids if Path(f"/proc/{k}").exists() and _alive(k)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --------------------------------------------------------------------------- fuzzing

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PICKLE_PREFIXES = [b"", b"\x80\x02", b"\x80\x04\x95", b"PK\x03\x04", b"\x80\x02}q\x00(X", b"\x93NUMPY\x01\x00"]


@FUZZ
@given(prefix=st.sampled_from(PICKLE_PREFIXES), body=st.binary(max_size=2048))
def test_fuzz_checkpoint_and_weights_readers(tmp_path, prefix, body):
    path = tmp_path / "f.pt"
    path.write_bytes(prefix + body)
    for reader in (load_checkpoint, read_weights):
        with pytest.raises(CheckpointError):
            reader(path)


@FUZZ
@given(prefix=st.sampled_from(PICKLE_PREFIXES), body=st.binary(max_size=2048))
def test_fuzz_cifar_batch_reader(tmp_path_factory, prefix, body):
    from augmix.data import load_cifar

    root = tmp_path_factory.mktemp("cifar")
    write_cifar10(root, n_train=10, n_test=5)
    (root / "cifar-10-batches-py" / "test_batch").write_bytes(prefix + body)
    with pytest.raises(DataError):
        load_cifar("cifar10", root, train=False, download=False)


@FUZZ
@given(prefix=st.sampled_from(PICKLE_PREFIXES), body=st.binary(max_size=512))
def test_fuzz_npy_and_results_and_image_readers(tmp_path_factory, prefix, body):
    from augmix.data.corrupted import open_cifar_c
    from augmix.io import open_image
    from augmix.results import load_results

    root = tmp_path_factory.mktemp("f")
    (root / "labels.npy").write_bytes(prefix + body)
    with pytest.raises(DataError):
        open_cifar_c(root)
    (root / "results.json").write_bytes(prefix + body)
    with pytest.raises(ValueError):
        load_results(root)
    (root / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    with pytest.raises(ValueError):
        open_image(root / "img.png")


def test_bad_image_inside_an_evaluation_folder_is_one_line(tmp_path, capsys):
    from augmix.checkpoint import ModelSpec, build_model, save_checkpoint

    for split in ("train", "val"):
        folder = tmp_path / "inet" / split / "n01440764"
        folder.mkdir(parents=True)
        Image.fromarray(smooth_images(1, 64)[0]).save(folder / "good.JPEG")
    (tmp_path / "inet" / "val" / "n01440764" / "broken.JPEG").write_text("not a picture")
    spec = ModelSpec("tiny", 1, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "imagenet")
    save_checkpoint(tmp_path / "m.pt", spec, build_model(spec).state_dict(), epoch=1)
    assert main(["evaluate", str(tmp_path / "m.pt"), "--dataset", "imagenet", "--data-dir", str(tmp_path / "inet"),
                 "--workers", "1", "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "broken.JPEG as an image" in err and "Traceback" not in err and err.strip().count("\n") == 0, err
