"""One command, every benchmark present: -C, -C-bar, -P and the natural shifts in one report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from augmix.checkpoint import ModelSpec, build_model, save_checkpoint
from augmix.cli import main
from augmix.perturbations.tables import CIFAR_TEST, IMAGENET_TEST
from augmix.results import load_results
from augmix.suite import find_sets
from tests.conftest import smooth_images
from tests.helpers import write_cifar10


def _checkpoint(path, classes=10, seed=0, dataset="cifar10", names=None):
    import torch

    torch.manual_seed(seed)
    spec = ModelSpec("tiny", classes, (0.5,) * 3, (0.5,) * 3, dataset, classes=names)
    save_checkpoint(path, spec, build_model(spec).state_dict(), epoch=1)
    return path


@pytest.fixture(scope="module")
def cifar_suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    write_cifar10(root / "data", 10, 16)
    s = root / "datasets"
    common = ["--data-dir", str(root / "data"), "--workers", "2"]
    assert main(["corrupt", *common, "--out", str(s / "CIFAR-10-C"), "--corruptions", "fog"]) == 0
    assert main(["corrupt", *common, "--benchmark", "c-bar", "--out", str(s / "CIFAR-10-C-Bar"), "--corruptions",
                 "lines,ripple"]) == 0
    assert main(["perturb", *common, "--out", str(s / "CIFAR-10-P"), "--perturbations", ",".join(CIFAR_TEST)]) == 0
    folder = s / "CIFAR-10.1"
    folder.mkdir()
    np.save(folder / "cifar10.1_v6_data.npy", smooth_images(12, 32, seed=3))
    np.save(folder / "cifar10.1_v6_labels.npy", np.arange(12) % 10)
    return root


def test_one_command_evaluates_every_set_found_into_one_report(cifar_suite, tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "a.pt")
    out = tmp_path / "eval"
    assert main(["evaluate", str(ckpt), "--data-dir", str(cifar_suite / "data"), "--suite-dir",
                 str(cifar_suite / "datasets"), "--out", str(out), "--workers", "0"]) == 0
    line = capsys.readouterr().out
    assert "-C-bar error" in line and "mean flip probability" in line and "cifar10.1 error" in line
    res = load_results(out)
    assert json.loads((out / "results.json").read_text())["format"] == 2
    assert sorted(res.benchmarks) == ["c", "c-bar", "cifar10.1", "p"]
    assert list(res.benchmarks["c"].per) == ["fog"]
    assert list(res.benchmarks["c-bar"].per) == ["ripple", "lines"]  # the csv order
    p = res.benchmarks["p"]
    assert set(p.per) == set(CIFAR_TEST) and p.per["translate"].frames == 16
    assert p.mean_flip_probability == pytest.approx(np.mean([p.per[n].flip_probability for n in CIFAR_TEST]))
    assert res.benchmarks["cifar10.1"].scores.n == 12
    report = (out / "report.md").read_text()
    for heading in ("## -C-bar", "## Perturbation stability (-P)", "## Natural shift: cifar10.1",
                    "| -P mean flip prob."):
        assert heading in report
    assert (out / "suite.png").exists()

    other = tmp_path / "eval_b"  # a second model, then both side by side
    assert main(["evaluate", str(_checkpoint(tmp_path / "b.pt", seed=1)), "--data-dir", str(cifar_suite / "data"),
                 "--suite-dir", str(cifar_suite / "datasets"), "--suite", "p,cifar10.1", "--out", str(other),
                 "--workers", "0"]) == 0
    assert sorted(load_results(other).benchmarks) == ["cifar10.1", "p"]
    assert main(["compare", str(out), str(other), "--out", str(tmp_path / "cmp")]) == 0
    cmp = (tmp_path / "cmp" / "compare.md").read_text()
    assert "-P mean flip prob." in cmp and "cifar10.1 error" in cmp and "-C-bar error" in cmp
    row = next(line for line in cmp.splitlines() if line.startswith("| eval_b |"))
    assert "n/a" in row  # the second run has no -C or -C-bar results


def test_suite_names_must_exist_and_belong_to_the_dataset(cifar_suite, tmp_path, capsys):
    base = ["evaluate", str(_checkpoint(tmp_path / "a.pt")), "--data-dir", str(cifar_suite / "data"),
            "--out", str(tmp_path / "e")]
    for extra, message in ((["--suite", "wobble"], "unknown suite set(s) wobble"),
                           (["--suite", "imagenet-r"], "not a benchmark of cifar10"),
                           (["--suite-dir", str(tmp_path), "--suite", "p"], "not found in"),
                           (["--natural", "imagenet-a=" + str(tmp_path)], "natural shift of another dataset"),
                           (["--natural", "nothing"], "expected NAME=FOLDER"),
                           (["--p-baseline", str(tmp_path / "x.json"), "--perturbed", str(tmp_path)],
                            "normalises ImageNet-P")):
        assert main(base + extra) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (extra, err)
        assert not (tmp_path / "e").exists()


def test_find_sets_prefers_given_paths_and_skips_what_is_absent(tmp_path):
    (tmp_path / "CIFAR-10-P").mkdir()
    (tmp_path / "CIFAR-10-C").mkdir()
    found = find_sets("cifar10", tmp_path, None, {"c": "released"})
    assert found == {"c": "released", "p": tmp_path / "CIFAR-10-P"}
    assert find_sets("cifar10", None, None, {}) == {}


@pytest.mark.heavy
def test_imagenet_suite_with_p_videos_c_bar_tree_shift_and_mfr(tmp_path):
    data = tmp_path / "inet"
    wnids = ("n01440764", "n01443537")  # tench is not in ImageNet-R, goldfish is
    for k, w in enumerate(wnids):
        (data / "val" / w).mkdir(parents=True)
        Image.fromarray(smooth_images(1, 256, seed=k)[0][:, :240]).save(data / "val" / w / "a.JPEG")
    sets = tmp_path / "datasets"
    assert main(["perturb", "--images", str(data / "val"), "--out", str(sets / "ImageNet-P"), "--perturbations",
                 ",".join(IMAGENET_TEST), "--workers", "2"]) == 0
    assert main(["corrupt", "--benchmark", "c-bar", "--images", str(data / "val"), "--out",
                 str(sets / "ImageNet-C-Bar"), "--corruptions", "blue_noise_sample", "--workers", "1"]) == 0
    (sets / "imagenet-r" / "n01443537").mkdir(parents=True)
    Image.fromarray(smooth_images(1, 90, seed=7)[0]).save(sets / "imagenet-r" / "n01443537" / "r.jpg")
    ckpt = _checkpoint(tmp_path / "m.pt", classes=2, dataset="imagenet", names=wnids)
    common = [str(ckpt), "--dataset", "imagenet", "--data-dir", str(data), "--suite-dir", str(sets),
              "--workers", "0"]
    assert main(["evaluate", *common, "--out", str(tmp_path / "e1")]) == 0
    res = load_results(tmp_path / "e1")
    assert sorted(res.benchmarks) == ["c-bar", "imagenet-r", "p"]
    assert set(res.benchmarks["p"].per) == set(IMAGENET_TEST) and res.benchmarks["p"].mfr is None
    assert res.benchmarks["imagenet-r"].classes == 1 and res.benchmarks["imagenet-r"].classes_of_set == 1
    assert list(res.benchmarks["c-bar"].per) == ["blue_noise_sample"]
    # normalised by a baseline's -P results (a results.json of another model on the same set)
    base = json.loads((tmp_path / "e1" / "results.json").read_text())
    for v in base["benchmarks"]["p"]["per"].values():
        v.update(flip_probability=0.5, top5_distance=2.0)
    (tmp_path / "alexnet").mkdir()
    (tmp_path / "alexnet" / "results.json").write_text(json.dumps(base))
    assert main(["evaluate", *common, "--suite", "p", "--p-baseline", str(tmp_path / "alexnet"), "--out",
                 str(tmp_path / "e2")]) == 0
    p = load_results(tmp_path / "e2").benchmarks["p"]
    per = res.benchmarks["p"].per
    assert p.mfr == pytest.approx(np.mean([per[n].flip_probability / 0.5 for n in IMAGENET_TEST]))
    assert p.mt5d is None and per["rotate"].top5_distance is None  # 2 classes: no top-5 distance
    assert "mFR" in (tmp_path / "e2" / "report.md").read_text()
