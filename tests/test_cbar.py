"""-C-bar: parity with the published transforms, sampling apart from applying, the released layouts.

The fixture (tests/fixtures/published_cbar.json, see its README) holds hashes of the published
``imagenet_c_bar/corrupt.py`` transforms' outputs on deterministic inputs and statistics of
their random process.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augmix.cli import main
from augmix.corruptions import corrupt
from augmix.corruptions.cbar import apply_cbar_params, corrupt_cbar, sample_cbar_params
from augmix.corruptions.tables import CBAR_TABLES
from augmix.data.corrupted import open_cifar_c, open_folder_c
from tests.conftest import smooth_images

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "published_cbar.json").read_text())
SEED = FIXTURE["seed"]
INPUTS = {32: (8, 31), 224: (2, 32)}
CASES = [(int(size), name) for size, table in FIXTURE["sha256"].items() for name in table]


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, np.uint8).tobytes()).hexdigest()


@pytest.mark.parametrize("size, name", CASES, ids=[f"{s}px-{n}" for s, n in CASES])
def test_reference_stream_is_byte_identical_to_the_published_transforms(size, name):
    x = smooth_images(INPUTS[size][0], size, seed=INPUTS[size][1])
    stream = np.random.RandomState(SEED)  # np.random.seed once per corruption; severities, then images
    out = np.concatenate([corrupt_cbar(x, name, s, seed=stream) for s in range(1, 6)])
    assert _sha(out) == FIXTURE["sha256"][str(size)][name]


def test_both_published_sets_are_covered():
    for size in (32, 224):
        assert set(FIXTURE["sha256"][str(size)]) == set(CBAR_TABLES[size])


@pytest.mark.parametrize("name", list(CBAR_TABLES[32]))
def test_default_mode_draws_from_the_published_distribution(name):
    """Mean squared change per severity, 200 images: ours (seed 0) against the published code's
    mean over its seeds 0-2 (600 draws), within 4 standard errors of the difference (estimated
    from our per-image spread; at least 0.5 % of the mean). Three seeds' range alone understates
    the spread of the high-variance corruptions (checkerboard cutout)."""
    x = smooth_images(200, 32, seed=33)
    for k, theirs in enumerate(FIXTURE["mean_mse"]["32"][name], 1):
        per_image = ((corrupt_cbar(x, name, k, seed=0).astype(np.float64) - x) ** 2).reshape(len(x), -1).mean(1)
        se = per_image.std(ddof=1) * np.sqrt(1 / len(x) + 1 / (3 * len(x)))
        tol = max(4 * se, 0.005 * np.mean(theirs))
        assert abs(per_image.mean() - np.mean(theirs)) <= tol, (name, k, per_image.mean(), theirs, tol)


def test_parameters_are_sampled_apart_from_being_applied():
    img = smooth_images(1, 32, seed=4)[0]
    params = sample_cbar_params("ripple", CBAR_TABLES[32]["ripple"][2], 32, np.random.default_rng(0))
    assert set(params) == {"amplitudes", "wavelengths", "phases"}
    a = apply_cbar_params(img, "ripple", 32, params)
    assert np.array_equal(a, apply_cbar_params(img, "ripple", 32, params))  # fixed parameters: one output
    assert not np.array_equal(a, img)
    still = dict(params, amplitudes=np.zeros(2))  # no amplitude: the image comes back
    assert np.array_equal(apply_cbar_params(img, "ripple", 32, still), img)
    # the same draws through corrupt(): the first image of a batch seeded alike
    assert np.array_equal(corrupt_cbar(img[None], "ripple", 3, seed=np.random.default_rng(0))[0], a)


def test_corrupt_serves_the_cbar_names_and_refuses_wrong_sizes():
    x = smooth_images(2, 32)
    assert np.array_equal(corrupt(x, "lines", 2, seed=1), corrupt_cbar(x, "lines", 2, seed=1))
    with pytest.raises(ValueError, match="not a 32 px -C-bar corruption"):
        corrupt(x, "caustic_refraction", 1)
    with pytest.raises(ValueError, match="published for 32 px"):
        corrupt(smooth_images(1, 64), "lines", 1)
    with pytest.raises(ValueError, match="severity must be 1..5"):
        corrupt(x, "lines", 6)


def test_cifar_10_c_bar_layout_is_written_and_read(tmp_path):
    from tests.helpers import write_cifar10

    write_cifar10(tmp_path / "data", 10, 12)
    out = tmp_path / "CIFAR-10-C-Bar"
    assert main(["corrupt", "--benchmark", "c-bar", "--data-dir", str(tmp_path / "data"), "--out", str(out),
                 "--workers", "2"]) == 0
    cb = open_cifar_c(out, expected_n=12)
    assert sorted(cb.corruptions) == sorted(CBAR_TABLES[32])  # the 10 of cifar10_c_bar.csv
    assert np.load(out / "sparkles.npy").shape == (5 * 12, 32, 32, 3) and cb.labels(3).shape == (12,)
    again = tmp_path / "again"
    assert main(["corrupt", "--benchmark", "c-bar", "--data-dir", str(tmp_path / "data"), "--out", str(again),
                 "--corruptions", "sparkles", "--workers", "1"]) == 0
    assert np.array_equal(np.load(again / "sparkles.npy"), np.load(out / "sparkles.npy"))  # workers change nothing


def test_imagenet_c_bar_tree_in_both_severity_namings(tmp_path):
    src = tmp_path / "val" / "n01440764"
    src.mkdir(parents=True)
    Image.fromarray(smooth_images(1, 300, seed=2)[0]).save(src / "a.JPEG")
    assert main(["corrupt", "--benchmark", "c-bar", "--images", str(tmp_path / "val"), "--out",
                 str(tmp_path / "INC-bar"), "--corruptions", "blue_noise_sample,brownish_noise", "--workers",
                 "1"]) == 0
    fc = open_folder_c(tmp_path / "INC-bar")
    assert fc.corruptions == ["blue_noise_sample", "brownish_noise"]
    assert (fc.folder("brownish_noise", 3) / "n01440764" / "a.JPEG").is_file()  # the released copy: 1..5
    (tmp_path / "INC-bar" / "brownish_noise" / "3").rename(tmp_path / "INC-bar" / "brownish_noise" / "3.00")
    assert fc.folder("brownish_noise", 3, "3.00").name == "3.00"  # make_imagenet_c_bar.py: "{:.2f}" of the parameter
    with pytest.raises(ValueError, match="published for 224 px"):
        from augmix.generation import generate

        generate(tmp_path / "x", images=tmp_path / "val", size=64, benchmark="c-bar")
