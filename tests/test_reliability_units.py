"""Reliability, second round: outputs written as units, inputs never overwritten, settings
checked on every rerun, sizes bounded before memory is spent, every error one line.

One test per class of failure, each with the listed examples and further members of the
class; a full disk is injected (a write that silently comes up short, or ENOSPC).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augmix.checkpoint import ModelSpec, build_model, save_checkpoint
from augmix.cli import main
from tests.conftest import smooth_images
from tests.helpers import write_cifar10

ROOT = Path(__file__).resolve().parents[1]


def _one_error_line(capsys) -> str:
    text = capsys.readouterr().err
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if "error" in line]
    assert len(lines) == 1, text
    return lines[0]


def _ckpt(path: Path, classes: int = 10) -> Path:
    torch.manual_seed(0)
    spec = ModelSpec("tiny", classes, (0.5,) * 3, (0.5,) * 3, "cifar10")
    save_checkpoint(path, spec, build_model(spec).state_dict(), epoch=1)
    return path


def _tree(root: Path, files: dict[str, int]) -> Path:
    for rel, seed in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth_images(1, 72, seed=seed)[0]).save(root / rel)
    return root


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("cifar"), 10, 12)


# ----------------------------------------------------------------- 1. work lost or silently wrong

def test_a_short_write_never_lands_under_its_final_name_and_a_rerun_finishes(tmp_path, capsys, monkeypatch):
    src = _tree(tmp_path / "val", {"n1/a.JPEG": 1, "n1/b.JPEG": 2})
    out = tmp_path / "IN-C"
    from augmix import io as augmix_io

    real_write = augmix_io._write_all

    def short_write(fd, data):  # a full disk: the encoded image's last bytes never arrive, silently
        real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(augmix_io, "_write_all", short_write)
    argv = ["corrupt", "--images", str(src), "--size", "64", "--corruptions", "contrast", "--severities", "1",
            "--workers", "1", "--out", str(out)]
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert "does not read back whole" in line and "a.JPEG" in line
    assert not list(out.rglob("*.JPEG"))  # nothing truncated under a final name
    monkeypatch.undo()
    (out / "contrast" / "1" / "n1").mkdir(parents=True, exist_ok=True)
    Image.fromarray(smooth_images(1, 64)[0]).save(out / "contrast" / "1" / "n1" / "b.JPEG")
    with open(out / "contrast" / "1" / "n1" / "b.JPEG", "r+b") as f:  # an older version's truncated file
        f.truncate(300)
    assert main(argv) == 0  # after space is freed: finished, and the truncated file re-made
    for p in (out / "contrast" / "1" / "n1").glob("*.JPEG"):
        with Image.open(p) as im:
            im.load()
    assert (out / "contrast" / "1" / ".augmix-complete").exists()


def test_output_names_that_would_collide_are_refused_and_nested_trees_keep_their_paths(tmp_path, capsys):
    src = _tree(tmp_path / "val", {"n1/a.JPEG": 1, "n1/a.png": 2})
    assert main(["corrupt", "--images", str(src), "--size", "64", "--corruptions", "contrast", "--severities", "1",
                 "--out", str(tmp_path / "o1")]) == 2
    assert "would both be written as n1/a.JPEG" in _one_error_line(capsys)
    nested = _tree(tmp_path / "nested", {"n1/sub1/x.jpg": 1, "n1/sub2/x.jpg": 2, "n2/x.jpg": 3, "n2/y.jpg": 4})
    out = tmp_path / "o2"
    assert main(["corrupt", "--images", str(nested), "--size", "64", "--corruptions", "contrast", "--severities", "1",
                 "--workers", "1", "--out", str(out)]) == 0
    assert len(list((out / "contrast" / "1").rglob("*.jpg"))) == 4  # four images in, four out


def test_a_tree_from_a_source_with_an_empty_class_is_labelled_by_class_name(tmp_path):
    from augmix.data.corrupted import open_folder_c
    from augmix.data.images import walk_image_tree
    from augmix.generation import generate

    val = _tree(tmp_path / "val", {"n2/a.JPEG": 1, "n3/b.JPEG": 2})
    (val / "n1").mkdir()  # an empty class: index 0, with no corrupted copy
    out = generate(tmp_path / "IN-C", images=val, size=64, names=("contrast",), severities=(1,), workers=1,
                   progress=False)
    clean = walk_image_tree(val)
    assert clean.classes == ["n1", "n2", "n3"]
    samples = open_folder_c(out).samples("contrast", 1, clean.classes)
    assert [(Path(p).stem, y) for p, y in samples] == [("a", 1), ("b", 2)]  # not shifted to 0 and 1


def test_corrupted_sets_of_other_images_or_another_dataset_are_refused(cifar, tmp_path, capsys):
    from augmix.data import load_cifar
    from augmix.generation import generate_cifar_c

    test = load_cifar("cifar10", cifar, train=False)
    other = generate_cifar_c(test.images, (test.labels + 1) % 100, tmp_path / "other", ["contrast"], [1],
                             workers=1, progress=False)
    assert main(["evaluate", str(_ckpt(tmp_path / "m.pt")), "--data-dir", str(cifar), "--corrupted", str(other),
                 "--out", str(tmp_path / "e"), "--workers", "0"]) == 2
    assert "differ from the clean test split" in _one_error_line(capsys)
    assert not (tmp_path / "e" / "results.json").exists()


@pytest.mark.parametrize("flag,value,message", [("--severities", "1,1", "each once"),
                                                ("--corruptions", "fog,fog", "fog twice")])
def test_repeated_severities_or_corruptions_are_refused(cifar, tmp_path, capsys, flag, value, message):
    assert main(["corrupt", "--data-dir", str(cifar), flag, value, "--out", str(tmp_path / "c")]) == 2
    assert message in _one_error_line(capsys)
    assert not (tmp_path / "c").exists()


# ----------------------------------------------------------------- 2. inputs and unrelated files

def test_outputs_never_land_in_inputs_or_in_folders_of_the_users(tmp_path, capsys):
    src = _tree(tmp_path / "val", {"n1/a.JPEG": 1})
    base = ["corrupt", "--images", str(src), "--size", "64", "--corruptions", "contrast", "--severities", "1"]
    for out in (src, src / "n1" / "deeper", tmp_path):
        assert main([*base, "--out", str(out)]) == 2
        assert "--out" in _one_error_line(capsys)
    mine = tmp_path / "holiday"
    mine.mkdir()
    (mine / "photo.txt").write_text("keep me")
    assert main([*base, "--out", str(mine)]) == 2
    assert "augmix did not make" in _one_error_line(capsys)
    assert sorted(p.name for p in mine.iterdir()) == ["photo.txt"]
    picture = src / "n1" / "a.JPEG"
    before = picture.read_bytes()
    assert main(["preview", str(picture), "--out", str(picture)]) == 2
    assert "one of the input images" in _one_error_line(capsys)
    assert picture.read_bytes() == before


# ----------------------------------------------------------------- 3. settings on every rerun

def test_a_tree_rerun_with_other_settings_is_refused_and_meta_accumulates(tmp_path, capsys):
    src = _tree(tmp_path / "val", {"n1/a.JPEG": 1})
    out = tmp_path / "IN-C"
    base = ["corrupt", "--images", str(src), "--severities", "1", "--workers", "1", "--out", str(out)]
    assert main([*base, "--corruptions", "contrast"]) == 0
    assert main([*base, "--corruptions", "brightness"]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["corruptions"] == ["brightness", "contrast"] and meta["size"] == 224
    assert main([*base, "--corruptions", "contrast", "--size", "64", "--seed", "7"]) == 2
    line = _one_error_line(capsys)
    assert "other settings" in line and "size" in line
    assert json.loads((out / "meta.json").read_text()) == meta


# ----------------------------------------------------------------- 4. evaluation output as one unit

def test_evaluation_output_is_one_unit(cifar, tmp_path, capsys, monkeypatch):
    import augmix.report as report
    from augmix.results import ResultsError, load_results

    ck = str(_ckpt(tmp_path / "m.pt"))
    assert main(["corrupt", "--data-dir", str(cifar), "--corruptions", "contrast", "--severities", "1",
                 "--workers", "1", "--out", str(tmp_path / "c")]) == 0
    out = tmp_path / "e"
    ev = ["evaluate", ck, "--data-dir", str(cifar), "--workers", "0", "--out", str(out)]
    assert main([*ev, "--corrupted", str(tmp_path / "c")]) == 0
    assert (out / "error_per_corruption.png").exists()
    assert main(ev) == 0  # a re-evaluation without -C leaves no stale -C plot behind
    assert not (out / "error_per_corruption.png").exists() and (out / "reliability.png").exists()

    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".augmix-lock"}

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out / "results.json"))

    monkeypatch.setattr(report, "write_json", full)  # the disk fills as results.json is written
    assert main([*ev, "--corrupted", str(tmp_path / "c")]) == 2
    assert "No space left on device" in _one_error_line(capsys)
    # the failed rerun changed nothing: the previous complete evaluation is there as it was, nothing of the new
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != ".augmix-lock"} == before
    assert load_results(out).benchmarks == {}
    assert not (out / ".augmix-staging").exists()
    monkeypatch.undo()

    import augmix.io as io

    moved, replace = [], os.replace

    def killed(src, dst):  # a kill in the middle of the swap, after the first staged file went in
        if Path(src).parent.name == ".augmix-staging" != Path(dst).parent.name:
            if moved:
                raise KeyboardInterrupt
            moved.append(dst)
        replace(src, dst)

    monkeypatch.setattr(io.os, "replace", killed)
    assert main([*ev, "--corrupted", str(tmp_path / "c")]) == 130
    monkeypatch.undo()
    with pytest.raises((ResultsError, FileNotFoundError)):  # no mark of completeness: nothing trusts the folder
        load_results(out)
    assert main([*ev, "--corrupted", str(tmp_path / "c")]) == 0  # the next run completes and clears it
    assert load_results(out).benchmarks["c"].per and not (out / ".augmix-staging").exists()


# ----------------------------------------------------------------- 5. sizes bounded, no tracebacks

def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path, capsys):
    bomb = tmp_path / "src" / "n1" / "bomb.png"
    bomb.parent.mkdir(parents=True)
    Image.new("1", (20000, 20000)).save(bomb)  # 400 M pixels, a few kB on disk
    assert bomb.stat().st_size < 2 ** 20
    assert main(["corrupt", "--images", str(tmp_path / "src"), "--corruptions", "contrast", "--out",
                 str(tmp_path / "o")]) == 2
    assert "decompression bombs" in _one_error_line(capsys)
    assert main(["preview", str(bomb), "--out", str(tmp_path / "p.png")]) == 2
    assert "decompression bombs" in _one_error_line(capsys)


def test_a_huge_batch_and_an_inflating_checkpoint_are_refused_before_memory_is_spent(cifar, tmp_path, capsys):
    ck = str(_ckpt(tmp_path / "m.pt"))
    assert main(["evaluate", ck, "--data-dir", str(cifar), "--batch-size", str(10 ** 9), "--out",
                 str(tmp_path / "e")]) == 2
    assert "--batch-size 1000000000 needs" in _one_error_line(capsys)
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("archive/data/0", "w", force_zip64=True) as f:
            block = bytes(2 ** 22)
            for _ in range(64):  # 256 MB of zeros, a few hundred kB compressed
                f.write(block)
    assert bomb.stat().st_size < 2 ** 20
    assert main(["evaluate", "--arch", "tiny", "--weights", str(bomb), "--data-dir", str(cifar), "--out",
                 str(tmp_path / "e2")]) == 2
    assert "would inflate" in _one_error_line(capsys)


def test_a_full_disk_while_saving_a_checkpoint_keeps_the_last_good_one(cifar, tmp_path, capsys, monkeypatch):
    import augmix.checkpoint as checkpoint

    argv = ["train", "--data-dir", str(cifar), "--model", "tiny", "--epochs", "1", "--batch-size", "5",
            "--workers", "0", "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    good = (tmp_path / "run" / "checkpoint.pt").read_bytes()

    def full(obj, path, *a, **k):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed")

    monkeypatch.setattr(checkpoint.torch, "save", full)
    assert main([*argv[:6], "2", *argv[7:], "--resume"]) == 2
    line = _one_error_line(capsys)
    assert "could not write the checkpoint" in line and "checkpoint.pt" in line
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == good


# ----------------------------------------------------------------- 6. messages that help

def test_seeds_out_of_range_and_a_second_run_into_one_folder_are_one_line(cifar, tmp_path, capsys):
    import fcntl

    assert main(["corrupt", "--data-dir", str(cifar), "--seed", str(2 ** 70), "--out", str(tmp_path / "c")]) == 2
    assert "--seed must be < 2**32" in _one_error_line(capsys) and not (tmp_path / "c").exists()
    assert main(["train", "--data-dir", str(cifar), "--model", "tiny", "--seed", str(2 ** 70),
                 "--out", str(tmp_path / "t")]) == 2
    assert "seed must be" in _one_error_line(capsys)
    out = tmp_path / "busy"
    out.mkdir()
    (out / ".augmix-output").touch()
    fd = os.open(out / ".augmix-lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run holds the folder
    try:
        assert main(["corrupt", "--data-dir", str(cifar), "--corruptions", "contrast", "--severities", "1",
                     "--workers", "1", "--out", str(out)]) == 2
        assert "another augmix run is writing" in _one_error_line(capsys)
    finally:
        os.close(fd)


def test_a_severity_folder_linking_outside_the_set_is_refused_in_one_short_line(tmp_path, capsys):
    val = _tree(tmp_path / "inet" / "val", {"n1/a.JPEG": 1})
    tree = tmp_path / "IN-C"
    for s in range(1, 6):
        (tree / "contrast" / str(s) / "n1").mkdir(parents=True)
        Image.fromarray(smooth_images(1, 224)[0]).save(tree / "contrast" / str(s) / "n1" / "a.JPEG")
    import shutil

    shutil.rmtree(tree / "contrast" / "3")
    (tree / "contrast" / "3").symlink_to("/usr")
    spec = ModelSpec("tiny", 1, (0.5,) * 3, (0.5,) * 3, "imagenet", classes=("n1",))
    save_checkpoint(tmp_path / "m.pt", spec, build_model(spec).state_dict(), epoch=1)
    assert main(["evaluate", str(tmp_path / "m.pt"), "--dataset", "imagenet", "--data-dir", str(val.parent),
                 "--corrupted", str(tree), "--workers", "0", "--out", str(tmp_path / "e")]) == 2
    line = _one_error_line(capsys)
    assert "links outside" in line and len(line) < 300


# ----------------------------------------------------------------- 7. start-up under a memory limit

def test_version_and_help_load_no_library_and_start_under_a_memory_limit():
    code = ("import sys; from augmix.cli import main; rc = main(['--version']); "
            "assert 'torch' not in sys.modules and 'scipy' not in sys.modules and 'numpy' not in sys.modules, "
            "sorted(m for m in ('torch', 'scipy', 'numpy') if m in sys.modules); sys.exit(rc)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60, cwd=ROOT).returncode == 0

    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (4_000_000 * 1024, 4_000_000 * 1024))

    for argv in (["--version"], ["--help"], ["corrupt", "--help"]):
        proc = subprocess.run([sys.executable, "-m", "augmix", *argv], preexec_fn=limit, capture_output=True,
                              text=True, timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        assert proc.returncode == 0, (argv, proc.stderr[-500:])


def test_a_full_disk_in_the_cifar_layout_names_the_file_and_the_cause(cifar, tmp_path, capsys, monkeypatch):
    real_save = np.save

    def short(f, arr, *a, **k):  # what numpy raises when the disk fills under np.save
        if arr.size > 1000:
            raise OSError(f"{arr.nbytes} requested and {arr.nbytes // 2} written")
        return real_save(f, arr, *a, **k)

    monkeypatch.setattr(np, "save", short)
    assert main(["corrupt", "--data-dir", str(cifar), "--corruptions", "contrast", "--severities", "1",
                 "--workers", "1", "--out", str(tmp_path / "c")]) == 2
    line = _one_error_line(capsys)
    assert "No space left on device" in line and "requested and" in line and ".npy" in line
    assert not list((tmp_path / "c").glob("*.npy")) or all(
        np.load(p).size < 1000 for p in (tmp_path / "c").glob("*.npy"))  # no array half-written under its name


def test_generator_workers_do_not_deadlock_after_the_parent_used_opencv_and_torch(tmp_path):
    """Forked workers limit the thread pools they inherit; resizing OpenCV's pool there would hang."""
    code = ("import cv2, numpy as np, torch\n"
            "torch.set_num_threads(2)\n"  # a pool of two, whatever the suite's environment says
            "cv2.resize(np.zeros((2000, 2000, 3), np.uint8), (1500, 1500))\n"  # the parent starts OpenCV's pool
            "torch.ones(512, 512) @ torch.ones(512, 512)\n"  # and torch's
            "from augmix.generation import generate_cifar_c\n"
            "from tests.conftest import smooth_images\n"
            f"generate_cifar_c(smooth_images(4, 32), np.arange(4), r'{tmp_path / 'c'}', ['contrast', 'fog'], [1],\n"
            "                 workers=2, progress=False)\n"
            "print('done')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"})
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr[-1500:]


def test_compare_never_writes_into_a_run_it_reads(cifar, tmp_path, capsys):
    ck = str(_ckpt(tmp_path / "m.pt"))
    assert main(["evaluate", ck, "--data-dir", str(cifar), "--workers", "0", "--out", str(tmp_path / "e")]) == 0
    before = sorted(p.name for p in (tmp_path / "e").iterdir())
    for out in (tmp_path / "e", tmp_path / "e" / "cmp", tmp_path):
        assert main(["compare", str(tmp_path / "e"), "--out", str(out)]) == 2
        assert "--out" in _one_error_line(capsys)
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == before


def test_cpu_evaluation_keeps_freed_memory_unless_told_not_to(cifar, tmp_path, monkeypatch):
    import augmix.allocator as allocator

    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    ck = str(_ckpt(tmp_path / "m.pt"))
    base = ["evaluate", ck, "--data-dir", str(cifar), "--workers", "0", "--device", "cpu"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0 and calls == [1]
    assert main([*base, "--no-tune-malloc", "--out", str(tmp_path / "b")]) == 0 and calls == [1]
