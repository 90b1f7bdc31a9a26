"""Work is bounded before it starts, and messages name the file and the option: open-file and
file-size limits, a strip-shaped image, long and odd file names, indices files."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augmix.cli import main
from tests.conftest import smooth_images
from tests.helpers import write_cifar10

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("bounds"), 10, 12)


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def _augmix(args: list[str], limit: tuple[int, int]) -> subprocess.CompletedProcess:
    def limited() -> None:
        resource.setrlimit(*limit)

    return subprocess.run([sys.executable, "-m", "augmix", *args], capture_output=True, text=True, timeout=300,
                          preexec_fn=limited, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})


def test_more_workers_than_open_files_allow_is_refused_before_any_work(cifar, tmp_path):
    out = tmp_path / "c"
    done = _augmix(["corrupt", "--data-dir", str(cifar), "--workers", "30", "--no-progress", "--out", str(out)],
                   (resource.RLIMIT_NOFILE, (64, 64)))
    assert done.returncode == 2, done.stderr
    assert "ulimit -n 64); use --workers 20 or fewer" in done.stderr and not out.exists()


def test_a_file_size_limit_is_named_as_such_not_as_a_full_disk(cifar, tmp_path):
    done = _augmix(["corrupt", "--data-dir", str(cifar), "--corruptions", "fog", "--workers", "1", "--no-progress",
                    "--out", str(tmp_path / "c")], (resource.RLIMIT_FSIZE, (100_000, 100_000)))
    assert done.returncode == 2, done.stderr
    assert "file-size limit (ulimit -f)" in done.stderr and "No space left" not in done.stderr
    assert not (tmp_path / "c" / "fog.npy").exists()


def test_a_kernel_cache_that_cannot_be_written_costs_a_recompile_not_the_run(cifar, tmp_path):
    """numba raises on Linux when its cache file cannot be written (here: over a file-size limit,
    in an empty cache folder, so the kernels must compile and be saved); the run goes on."""
    out = tmp_path / "c"
    limit = (resource.RLIMIT_FSIZE, (100_000, 100_000))  # above the outputs (30 kB), below the cache files
    done = subprocess.run([sys.executable, "-m", "augmix", "corrupt", "--data-dir", str(cifar), "--corruptions", "fog",
                           "--limit", "2", "--workers", "1", "--no-progress", "--out", str(out)], capture_output=True,
                          text=True, timeout=300, preexec_fn=lambda: resource.setrlimit(*limit),
                          env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin",
                               "NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert done.returncode == 0, done.stderr
    assert "kernel cache was not written (File too large)" in done.stderr
    assert np.load(out / "fog.npy").shape == (10, 32, 32, 3)


def test_a_strip_shaped_image_is_refused_before_its_resize_asks_for_gigabytes(tmp_path, capsys):
    (tmp_path / "src" / "n1").mkdir(parents=True)
    Image.new("RGB", (100000, 1)).save(tmp_path / "src" / "n1" / "strip.png")
    assert (tmp_path / "src" / "n1" / "strip.png").stat().st_size < 2 ** 16
    assert main(["corrupt", "--images", str(tmp_path / "src"), "--corruptions", "fog", "--severities", "1",
                 "--workers", "1", "--out", str(tmp_path / "o")]) == 2
    assert "crop it to a usable aspect ratio" in _error(capsys)
    assert main(["preview", str(tmp_path / "src" / "n1" / "strip.png"), "--samples", "100000",
                 "--out", str(tmp_path / "p.png")]) == 2
    assert "must be <= 64" in _error(capsys)


def test_a_250_character_file_name_is_written(tmp_path):
    (tmp_path / "src" / "n1").mkdir(parents=True)
    name = "p" * 246 + ".png"  # its output, p...p.JPEG, is 251 characters: within the 255 a name may have
    Image.fromarray(smooth_images(1, 80)[0]).save(tmp_path / "src" / "n1" / name)
    assert main(["corrupt", "--images", str(tmp_path / "src"), "--corruptions", "fog", "--severities", "1",
                 "--size", "64", "--workers", "1", "--no-progress", "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "fog" / "1" / "n1" / ("p" * 246 + ".JPEG")).is_file()


def test_indices_files_with_a_bom_or_beyond_any_split(cifar, tmp_path, capsys):
    base = ["corrupt", "--data-dir", str(cifar), "--corruptions", "fog", "--severities", "1", "--workers", "1",
            "--no-progress"]
    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeff0\n3\n".encode())
    assert main([*base, "--indices", str(bom), "--out", str(tmp_path / "ok")]) == 0
    capsys.readouterr()
    huge = tmp_path / "huge.txt"
    huge.write_text("99999999999999999999999\n")
    unsigned = tmp_path / "unsigned.npy"
    np.save(unsigned, np.array([2 ** 64 - 1], np.uint64))
    for path in (huge, unsigned):
        assert main([*base, "--indices", str(path), "--out", str(tmp_path / path.stem)]) == 2
        assert "beyond any test split" in _error(capsys)


def test_the_output_may_not_be_inside_the_data(cifar, capsys):
    assert main(["corrupt", "--data-dir", str(cifar), "--corruptions", "fog", "--out", str(cifar / "c")]) == 2
    assert "inside the input" in _error(capsys)


def test_out_of_memory_advice_names_only_options_the_verb_has(cifar, tmp_path, capsys, monkeypatch):
    import augmix.generation as generation

    def oom(*args, **kw):
        raise MemoryError

    monkeypatch.setattr(generation, "generate", oom)
    assert main(["corrupt", "--data-dir", str(cifar), "--out", str(tmp_path / "c")]) == 2
    err = _error(capsys)
    assert "fewer --workers" in err and "--batch-size" not in err


def test_file_names_in_another_encoding_are_written_and_evaluated(tmp_path):
    """A Latin-1 name (not valid UTF-8, as Linux allows) is a name like any other."""
    import os

    import torch

    from augmix.checkpoint import ModelSpec, build_model, save_checkpoint

    val = tmp_path / "inet" / "val" / "n1"
    val.mkdir(parents=True)
    name = os.fsdecode(b"caf\xe9.png")
    Image.fromarray(smooth_images(1, 80)[0]).save(val / name)
    spec = ModelSpec("tiny", 1, (0.5,) * 3, (0.5,) * 3, "imagenet")
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "m.pt", spec, build_model(spec).state_dict(), epoch=1)
    assert main(["corrupt", "--images", str(val.parent), "--corruptions", "fog", "--severities", "1", "--workers",
                 "1", "--no-progress", "--out", str(tmp_path / "IN-C")]) == 0
    assert (tmp_path / "IN-C" / "fog" / "1" / "n1" / os.fsdecode(b"caf\xe9.JPEG")).is_file()
    assert main(["evaluate", str(tmp_path / "m.pt"), "--dataset", "imagenet", "--data-dir", str(tmp_path / "inet"),
                 "--corrupted", str(tmp_path / "IN-C"), "--workers", "0", "--no-progress",
                 "--out", str(tmp_path / "e")]) == 0


def test_cifar_labels_beyond_any_integer_type_are_one_line(tmp_path, capsys):
    import pickle

    data = write_cifar10(tmp_path / "d", 10, 12)
    batch = data / "cifar-10-batches-py" / "test_batch"
    content = pickle.loads(batch.read_bytes())
    content["labels"][0] = 2 ** 70
    batch.write_bytes(pickle.dumps(content))
    assert main(["corrupt", "--data-dir", str(data), "--corruptions", "fog", "--severities", "1", "--workers", "1",
                 "--out", str(tmp_path / "c")]) == 2
    assert "holds labels that are not class numbers" in _error(capsys)


def test_an_address_space_too_small_for_torch_is_one_line_not_an_abort(cifar, tmp_path):
    """torch's C++ code aborts (std::bad_alloc, rc 134) when it cannot map its libraries; the
    libraries are tried in a child first, so the user gets one line and exit 2."""
    limit = 3_000_000 * 1024
    done = _augmix(["corrupt", "--data-dir", str(cifar), "--corruptions", "fog", "--workers", "2", "--no-progress",
                    "--out", str(tmp_path / "c")], (resource.RLIMIT_AS, (limit, limit)))
    assert done.returncode == 2, done.stderr[-500:]
    assert "cannot load under the address-space limit (ulimit -v 3000000)" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "c").exists()
