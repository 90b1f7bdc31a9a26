"""The -P sequences: parity with the published make_*_p.py, generation in the released layouts, loading.

The fixture (tests/fixtures/published_p.json, see its README) holds hashes of the published
scripts' frames on deterministic inputs and statistics of their random process.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augmix import seeding
from augmix.cli import main
from augmix.data.download import DataError
from augmix.data.images import walk_image_tree
from augmix.data.perturbed import open_cifar_p, open_folder_p, read_video
from augmix.generation import generate_cifar_p, generate_folder_p
from augmix.perturbations import ALL, Streams, frames, perturb, sequence
from augmix.perturbations.tables import TABLES
from tests.conftest import smooth_images

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "published_p.json").read_text())
SEED = FIXTURE["seed"]
STOCHASTIC = [n for n in ALL if "noise" in n] + ["snow", "spatter"]


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, np.uint8).tobytes()).hexdigest()


def _inputs(size: int, name: str) -> list[Image.Image]:
    """The fixture's inputs, made as its README says."""
    if size == 32:
        return list(smooth_images(4, 32, seed=21))
    raw = smooth_images(2, 300 if size == 224 else 80, seed=13)
    uncut = size == 64 and name == "motion_blur"
    return [Image.fromarray(r if uncut else r[:, : r.shape[1] - 20]) for r in raw]


CASES = [(int(size), name) for size, table in FIXTURE["sha256"].items() for name in table]


@pytest.mark.parametrize("size, name", CASES, ids=[f"{s}px-{n}" for s, n in CASES])
def test_reference_stream_is_byte_identical_to_the_published_scripts(size, name):
    streams = Streams.reference(SEED)  # np.random.seed and torch.manual_seed once per release file
    if size == 32:
        out = perturb(np.stack(_inputs(32, name)), name, seed=streams)
    else:
        out = np.stack([sequence(img, name, size, streams) for img in _inputs(size, name)])
    assert _sha(out) == FIXTURE["sha256"][str(size)][name]


def test_every_release_file_is_covered_at_every_size():
    for size in ("32", "64", "224"):
        assert set(FIXTURE["sha256"][size]) == set(ALL)


def _psnr_to_first(f: np.ndarray) -> float:
    f = f.astype(np.float64)
    mse = ((f[:, 1:] - f[:, :1]) ** 2).reshape(f.shape[0], f.shape[1] - 1, -1).mean(-1)
    return float((10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))).mean())


@pytest.mark.parametrize("name", STOCHASTIC)
def test_default_mode_draws_from_the_published_distribution(name):
    """Mean PSNR of every frame against the first, 300 images: ours (seed 0) against the
    published scripts' over their seeds 0-2; the tolerance is 1.5x the published seed-to-seed
    range (at least 0.01 dB)."""
    theirs = FIXTURE["mean_psnr_db"]["32"][name]
    ours = _psnr_to_first(perturb(smooth_images(300, 32, seed=22), name, seed=0))
    tol = max(0.01, 1.5 * (max(theirs) - min(theirs)))
    assert abs(ours - np.mean(theirs)) <= tol, (ours, theirs)


def test_deterministic_sequences_are_the_same_in_both_modes():
    x = smooth_images(3, 32, seed=3)
    for name in ("brightness", "rotate", "tilt", "zoom_blur", "translate", "gaussian_blur"):
        assert np.array_equal(perturb(x, name, seed=5), perturb(x, name, seed=Streams.reference(0))), name


def test_shapes_first_frames_and_seeding():
    x = smooth_images(5, 32, seed=1)
    for name in ALL:
        out = perturb(x, name, seed=0)
        assert out.shape == (5, frames(name, 32), 32, 32, 3) and out.dtype == np.uint8, name
        if "noise" in name:  # the noise sequences start from the clean image
            assert np.array_equal(out[:, 0], x), name
    assert np.array_equal(perturb(x, "snow", seed=7), perturb(x, "snow", seed=7))
    assert not np.array_equal(perturb(x, "snow", seed=7), perturb(x, "snow", seed=8))
    assert TABLES[32]["translate"]["frames"] == 16 and TABLES[224]["translate"]["frames"] == 41


def test_bad_requests_are_refused():
    x = smooth_images(2, 32)
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(x, "wobble")
    with pytest.raises(ValueError, match="square"):
        perturb(x[:, :, :20], "rotate")
    with pytest.raises(ValueError, match="no published perturbation table"):
        perturb(smooth_images(1, 48), "rotate")
    with pytest.raises(ValueError, match="before its resize"):
        perturb(smooth_images(1, 64), "motion_blur")


def test_cifar_layout_is_deterministic_resumable_and_independent_of_workers(tmp_path):
    x = smooth_images(12, 32, seed=2)
    names = ["gaussian_noise", "rotate", "spatter"]
    a = generate_cifar_p(x, tmp_path / "a", names, seed=3, workers=1, progress=False)
    b = generate_cifar_p(x, tmp_path / "b", names, seed=3, workers=2, progress=False)
    for n in names:
        arr = np.load(a / f"{n}.npy")
        assert arr.shape == (12, frames(n, 32), 32, 32, 3)
        assert np.array_equal(arr, np.load(b / f"{n}.npy")), n
    meta = json.loads((a / "meta.json").read_text())
    assert meta["layout"] == "cifar-p" and meta["frames"]["rotate"] == 31 and meta["mode"] == "batched"
    before = (a / "rotate.npy").stat().st_mtime_ns
    generate_cifar_p(x, a, ["rotate", "shear"], seed=3, workers=1, progress=False)  # rotate is kept
    assert (a / "rotate.npy").stat().st_mtime_ns == before and (a / "shear.npy").exists()
    assert not (a / ".parts").exists() and not list(a.glob(".*augmix-tmp"))
    with pytest.raises(ValueError, match="other settings"):
        generate_cifar_p(x, a, ["rotate"], seed=4, workers=1, progress=False)


def test_cifar_layout_in_reference_stream_mode_matches_the_fixture(tmp_path):
    out = generate_cifar_p(smooth_images(4, 32, seed=21), tmp_path / "p", ["snow", "gaussian_noise_2"], seed=SEED,
                           workers=2, progress=False, reference_stream=True)
    for n in ("snow", "gaussian_noise_2"):
        assert _sha(np.load(out / f"{n}.npy")) == FIXTURE["sha256"]["32"][n]


def test_released_cifar_p_layout_loads_and_damage_is_one_line(tmp_path):
    root = tmp_path / "CIFAR-10-P"  # as released: one array per perturbation, no meta.json
    root.mkdir()
    np.save(root / "rotate.npy", perturb(smooth_images(3, 32), "rotate"))
    cp = open_cifar_p(root, expected_n=3)
    assert cp.perturbations == ["rotate"] and cp.videos("rotate").shape == (3, 31, 32, 32, 3)
    assert "released" in cp.provenance
    with pytest.raises(DataError, match="holds 3 videos but the clean test split has 4"):
        open_cifar_p(root, expected_n=4)
    (root / "tilt.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DataError, match="tilt.npy is truncated"):
        cp.videos("tilt")
    np.save(root / "scale.npy", np.zeros((3, 32, 32, 3), np.uint8))
    with pytest.raises(DataError, match="expected uint8 \\[videos, frames"):
        cp.videos("scale")
    with pytest.raises(DataError, match="none of the -P arrays"):
        open_cifar_p(tmp_path)


def _image_folder(root: Path, n: int = 2, size: int = 300) -> Path:
    for k, wnid in enumerate(("n01440764", "n01443537")):
        (root / wnid).mkdir(parents=True)
        for j, img in enumerate(smooth_images(n, size, seed=40 + k)):
            Image.fromarray(img[:, :280]).save(root / wnid / f"im{j}.JPEG")
    return root


def test_imagenet_p_videos_are_written_as_published_and_read_back(tmp_path):
    src = _image_folder(tmp_path / "val", n=1)
    out = generate_folder_p(walk_image_tree(src).images, tmp_path / "IN-P", ["rotate", "shot_noise"], size=224,
                            seed=0, workers=2, progress=False)
    videos = open_folder_p(out).videos("rotate")
    assert [p.relative_to(out).as_posix() for p, _ in videos] == ["rotate/n01440764/im0.mp4",
                                                                  "rotate/n01443537/im0.mp4"]
    for name in ("rotate", "shot_noise"):
        expected = sequence(Image.open(src / "n01440764" / "im0.JPEG"), name, 224,
                            Streams(seeding.stream(0, "p", name, "n01440764/im0.mp4")))
        got = read_video(out / name / "n01440764" / "im0.mp4")
        assert got.shape == expected.shape == (31, 224, 224, 3)
        mse = np.mean((got.astype(float) - expected) ** 2)
        assert 10 * np.log10(255 ** 2 / mse) > 30, name  # H.264 at crf 20 / tune grain: close, not lossless
    meta = json.loads((out / "meta.json").read_text())
    assert meta["layout"] == "imagenet-p" and meta["frames"] == {"rotate": 31, "shot_noise": 31}


def test_perturb_cli_writes_the_cifar_layout_and_refuses_bad_input(tmp_path, capsys):
    from tests.helpers import write_cifar10

    write_cifar10(tmp_path / "data", 10, 6)
    assert main(["perturb", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "p"), "--perturbations",
                 "translate", "--workers", "1"]) == 0
    assert np.load(tmp_path / "p" / "translate.npy").shape == (6, 16, 32, 32, 3)
    capsys.readouterr()
    assert main(["perturb", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "q"), "--perturbations",
                 "wobble"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown perturbation(s) wobble" in err[0] and not (tmp_path / "q").exists()


def test_workers_do_not_hang_after_the_parent_used_torch_threads(tmp_path):
    """A forked worker inherits the parent's OpenMP team; one torch thread per worker avoids the
    deadlock that a multi-threaded torch op in the parent would otherwise cause."""
    import subprocess
    import sys

    code = ("import torch; torch.set_num_threads(2); "  # a team of two, whatever the suite's environment says
            "from augmix.perturbations import perturb; from tests.conftest import smooth_images; "
            "from augmix.generation import generate_cifar_p; "
            "perturb(smooth_images(300, 32, seed=22), 'gaussian_noise_3', seed=0); "  # torch's threads, in the parent
            "x = smooth_images(12, 32, seed=2); names = ['gaussian_noise', 'rotate', 'spatter']; "
            f"generate_cifar_p(x, r'{tmp_path / 'a'}', names, workers=1, progress=False); "
            f"generate_cifar_p(x, r'{tmp_path / 'b'}', names, workers=2, progress=False); print('done')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0 and "done" in proc.stdout, proc.stderr[-800:]
