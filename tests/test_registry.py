"""The evaluation pipeline's design: typed results with one loader, a registry of benchmarks
(proved by ImageNet-3DCC), seeds keyed by names, subsets, and generators fed by data/."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augmix.checkpoint import ModelSpec, build_model, save_checkpoint
from augmix.cli import main
from augmix.results import FORMAT, ResultsError, load_results
from augmix.suite import REGISTRY
from augmix.suite.threedcc import CORRUPTIONS_3DCC
from tests.conftest import smooth_images
from tests.helpers import write_cifar10


def _checkpoint(path, classes=10, dataset="cifar10", names=None):
    import torch

    torch.manual_seed(0)
    spec = ModelSpec("tiny", classes, (0.5,) * 3, (0.5,) * 3, dataset, classes=names)
    save_checkpoint(path, spec, build_model(spec).state_dict(), epoch=1)
    return path


def test_every_benchmark_has_what_the_suite_report_and_compare_need():
    labels = []
    for name, b in REGISTRY.items():
        assert b.name == name and b.folders and b.headlines and callable(b.open) and callable(b.evaluate)
        labels += [h.label for h in b.headlines]
    assert len(labels) == len(set(labels))  # compare's columns are unique


def test_imagenet_3dcc_is_read_in_its_release_layout_and_reported(tmp_path, capsys):
    wnids = ("n01440764", "n01443537")
    data = tmp_path / "inet"
    for k, w in enumerate(wnids):
        (data / "val" / w).mkdir(parents=True)
        Image.fromarray(smooth_images(1, 256, seed=k)[0]).save(data / "val" / w / f"v{k}.JPEG")
    root = tmp_path / "sets" / "ImageNet-3DCC"
    for c in ("near_focus", "fog_3d"):
        for s in range(1, 6):
            for k, w in enumerate(wnids):
                (root / c / str(s) / w).mkdir(parents=True)
                size = 224 if c == "near_focus" else 240  # another size is resized and cropped
                Image.fromarray(smooth_images(1, size, seed=10 * s + k)[0]).save(root / c / str(s) / w / f"v{k}.JPEG")
    ckpt = _checkpoint(tmp_path / "m.pt", classes=2, dataset="imagenet", names=wnids)
    out = tmp_path / "e"
    assert main(["evaluate", str(ckpt), "--dataset", "imagenet", "--data-dir", str(data), "--suite-dir",
                 str(tmp_path / "sets"), "--workers", "0", "--out", str(out)]) == 0
    assert "3DCC error" in capsys.readouterr().out
    res = load_results(out).benchmarks["3dcc"]
    assert list(res.per) == [c for c in CORRUPTIONS_3DCC if c in ("near_focus", "fog_3d")]
    assert res.severities == [1, 2, 3, 4, 5] and all(len(v.error) == 5 for v in res.per.values())
    assert res.mean_error == pytest.approx(np.mean([np.mean(v.error) for v in res.per.values()]))
    report = (out / "report.md").read_text()
    assert "## ImageNet-3DCC" in report and "RobustBench's 3DCC accuracy" in report
    assert "Absent from the copy evaluated: far_focus" in report
    # a 3DCC folder for a CIFAR model is refused in one line
    assert main(["evaluate", str(_checkpoint(tmp_path / "c.pt")), "--3dcc", str(root), "--out",
                 str(tmp_path / "x")]) == 2
    assert "3dcc is a benchmark of another dataset" in capsys.readouterr().err


def test_results_json_is_versioned_validated_and_valid_json(tmp_path):
    from augmix.results import Reliability, Results

    v1 = {"name": "old", "clean": {"error": 0.1, "rms_calib": 0.05, "ece": 0.02, "calib_gap": 0.01, "n": 10},
          "clean_reliability": {"edges": [0, 0.5, 1], "confidence": [0.2, float("nan")], "accuracy": [0.1, None],
                                "count": [10, 0]},
          "corruptions": {"fog": {"error": [0.2, 0.3], "rms_calib": [0.1, 0.1], "calib_gap": [0.0, 0.1],
                                  "ece": [0.1, 0.1]}},
          "severities": [1, 2], "mean_corruption_error": 0.25, "corrupted_rms_calib_mean": 0.1,
          "corrupted_calib_gap_mean": 0.05, "corrupted_rms_calib_pooled": 0.1,
          "per_severity": {"error": [0.2, 0.3], "rms_calib": [0.1, 0.1], "calib_gap": [0.0, 0.1], "ece": [0.1, 0.1]}}
    (tmp_path / "results.json").write_text(json.dumps(v1))  # the first format (with a NaN, as it wrote them)
    res = load_results(tmp_path)
    assert res.benchmarks["c"].mean_error == 0.25 and res.clean.reliability.confidence[1] is None
    from augmix.report import write_results

    write_results(res, tmp_path / "again")
    text = (tmp_path / "again" / "results.json").read_text()
    assert "NaN" not in text and json.loads(text)["format"] == FORMAT
    assert load_results(tmp_path / "again").to_dict() == res.to_dict()

    bad = json.loads(text)
    for mutate, message in ((lambda d: d.update(format=99), "format 99"),
                            (lambda d: d["clean"]["scores"].update(error="x"), "clean.scores.error"),
                            (lambda d: d["benchmarks"]["c"]["per"]["fog"]["error"].pop(), "fog has 1 error"),
                            (lambda d: d["benchmarks"]["c"].update(record="nope"), "no known record")):
        d = json.loads(text)
        mutate(d)
        (tmp_path / "bad.json").write_text(json.dumps(d))
        with pytest.raises(ResultsError, match=message) as info:
            load_results(tmp_path / "bad.json")
        assert "\n" not in str(info.value)
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ResultsError, match="not valid JSON"):
        load_results(tmp_path / "deep.json")
    assert bad["benchmarks"]["c"]["reliability"]["count"] == []
    assert isinstance(Results.from_dict(bad), Results) and Reliability([], [], [], []).count == []
    assert not math.isnan(res.clean.scores.error)


def test_seeds_are_keyed_by_names_not_table_positions(tmp_path, monkeypatch):
    from augmix.corruptions import released, tables
    from augmix.generation import generate_cifar_c

    x, y = smooth_images(6, 32, seed=3), np.arange(6)
    a = generate_cifar_c(x, y, tmp_path / "a", ["fog", "gaussian_noise"], seed=5, workers=1, progress=False)
    b = generate_cifar_c(x, y, tmp_path / "b", ["gaussian_noise"], seed=5, workers=1, progress=False)
    assert np.array_equal(np.load(a / "gaussian_noise.npy"), np.load(b / "gaussian_noise.npy"))
    # a corruption added at the front of a copy of the tables leaves the others' images unchanged
    monkeypatch.setattr(tables, "ALL", ("new_corruption", *tables.ALL))
    monkeypatch.setattr(released, "C_AND_CBAR", ("new_corruption", *released.C_AND_CBAR))
    monkeypatch.setattr(released, "ALL", ("new_corruption", *released.ALL))
    c = generate_cifar_c(x, y, tmp_path / "c", ["gaussian_noise"], seed=5, workers=1, progress=False)
    assert np.array_equal(np.load(a / "gaussian_noise.npy"), np.load(c / "gaussian_noise.npy"))
    meta = json.loads((c / "meta.json").read_text())
    assert meta["seeding"] == "names-sha256-v1"
    # a folder from before name-keyed seeds (no "seeding" in meta.json) is not resumed into
    del meta["seeding"]
    (c / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="list-positions"):
        generate_cifar_c(x, y, c, ["fog"], seed=5, workers=1, progress=False)


def test_limit_and_indices_on_corrupt_perturb_and_evaluate(tmp_path, capsys):
    write_cifar10(tmp_path / "data", 10, 12)
    common = ["--data-dir", str(tmp_path / "data"), "--workers", "1"]
    sets = tmp_path / "sets"
    assert main(["corrupt", *common, "--out", str(sets / "full"), "--corruptions", "contrast"]) == 0
    assert main(["corrupt", *common, "--out", str(sets / "first5"), "--corruptions", "contrast", "--limit", "5"]) == 0
    assert main(["perturb", *common, "--out", str(sets / "p5"), "--perturbations", "rotate", "--limit", "5"]) == 0
    assert json.loads((sets / "first5" / "meta.json").read_text())["subset"] == {"limit": 5}
    assert np.load(sets / "first5" / "contrast.npy").shape[0] == 25
    assert np.load(sets / "p5" / "rotate.npy").shape[0] == 5
    ckpt = str(_checkpoint(tmp_path / "m.pt"))
    ev = ["evaluate", ckpt, "--data-dir", str(tmp_path / "data"), "--workers", "0"]
    assert main([*ev, "--corrupted", str(sets / "first5"), "--perturbed", str(sets / "p5"), "--limit", "5",
                 "--out", str(tmp_path / "e5")]) == 0
    assert main([*ev, "--corrupted", str(sets / "full"), "--limit", "5", "--out", str(tmp_path / "f5")]) == 0
    a, b = load_results(tmp_path / "e5"), load_results(tmp_path / "f5")
    assert a.clean.scores.n == b.clean.scores.n == 5 and a.subset.limit == 5
    # contrast is deterministic: the subset folder and the first 5 rows of the full one give the same figures
    assert a.benchmarks["c"].per["contrast"].error == b.benchmarks["c"].per["contrast"].error
    assert a.benchmarks["p"].per["rotate"].videos == 5
    (tmp_path / "idx.txt").write_text("4\n0, 2  # three images\n")
    assert main([*ev, "--corrupted", str(sets / "full"), "--indices", str(tmp_path / "idx.txt"), "--out",
                 str(tmp_path / "i3")]) == 0
    assert load_results(tmp_path / "i3").benchmarks["c"].per["contrast"].error[0] >= 0
    capsys.readouterr()
    # a folder made from a subset is not evaluated against another subset or the whole split
    for extra in (["--limit", "4"], []):
        assert main([*ev, "--corrupted", str(sets / "first5"), *extra, "--out", str(tmp_path / "no")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "was made from the first 5 images" in err[0]
    assert main([*ev, "--limit", "99", "--out", str(tmp_path / "no")]) == 2
    assert "asks for more images" in capsys.readouterr().err


def test_generators_never_import_data_and_data_never_imports_them():
    from tests.test_layout import SRC, _imports, _module_name

    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    gens = [m for m in modules if m.startswith(("augmix.corruptions", "augmix.perturbations"))]
    for m in gens:
        assert not any(d.startswith("augmix.data") for d in _imports(modules[m], m)), m
    for m in (m for m in modules if m.startswith("augmix.data")):
        assert not any(d.startswith(("augmix.corruptions", "augmix.perturbations")) for d in _imports(modules[m], m)), m


def test_a_missing_ffmpeg_or_frost_photograph_is_one_line(tmp_path, monkeypatch, capsys):
    from augmix.corruptions import blocks

    write_cifar10(tmp_path / "data", 10, 4)
    blocks.frost_layers.cache_clear()

    def no_package(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(blocks.resources, "files", no_package)
    assert main(["corrupt", "--data-dir", str(tmp_path / "data"), "--corruptions", "frost", "--workers", "1",
                 "--out", str(tmp_path / "f")]) == 2
    text = capsys.readouterr().err
    err = [line for line in text.splitlines() if "error" in line]  # (after the progress bar)
    assert len(err) == 1 and "pip install imagecorruptions-imaug" in err[0] and "Traceback" not in text
    blocks.frost_layers.cache_clear()
    monkeypatch.undo()

    (tmp_path / "val" / "n01").mkdir(parents=True)
    Image.fromarray(smooth_images(1, 64, seed=1)[0]).save(tmp_path / "val" / "n01" / "a.png")
    monkeypatch.setenv("AUGMIX_FFMPEG", "/bin/false")  # an ffmpeg that fails
    assert main(["perturb", "--images", str(tmp_path / "val"), "--perturbations", "rotate", "--size", "64",
                 "--workers", "1", "--out", str(tmp_path / "p")]) == 2
    text = capsys.readouterr().err
    err = [line for line in text.splitlines() if "error" in line]
    assert len(err) == 1 and "ffmpeg could not encode" in err[0] and "Traceback" not in text


def _imagenet_photos(tmp_path, corruptions: tuple[str, ...], batch_size: int):
    """An ImageNet folder of 3 photographs in 2 classes (made image-major, scored per key), and the
    evaluation settings of a 2-class checkpoint for it."""
    wnids = ("n01440764", "n01443537")
    inet = tmp_path / "inet"
    for k, w in enumerate(wnids + wnids[:1]):
        (inet / "val" / w).mkdir(parents=True, exist_ok=True)
        Image.fromarray(smooth_images(1, 256, seed=k)[0][:, :240]).save(inet / "val" / w / f"v{k}.JPEG")
    ck = _checkpoint(tmp_path / "i.pt", classes=2, dataset="imagenet", names=wnids)
    return inet, {"checkpoint": ck, "dataset": "imagenet", "data_dir": inet, "workers": 0, "progress": False,
                  "corruptions": corruptions, "batch_size": batch_size}


def test_on_the_fly_corruption_equals_the_written_folder(tmp_path):
    """-C made in memory gives the figures of the folder `augmix corrupt` writes with the same seed
    (CIFAR arrays with a subset, and an ImageNet tree through its JPEG)."""
    from augmix.suite import GENERATE, EvalConfig, run_evaluation

    data = write_cifar10(tmp_path / "data", 10, 12)
    assert main(["corrupt", "--data-dir", str(data), "--corruptions", "gaussian_noise,glass_blur", "--seed", "3",
                 "--limit", "9", "--workers", "2", "--out", str(tmp_path / "c")]) == 0
    ckpt = _checkpoint(tmp_path / "m.pt")
    common = {"checkpoint": ckpt, "data_dir": data, "limit": 9, "workers": 0, "progress": False,
              "corruptions": ("gaussian_noise", "glass_blur")}
    written = run_evaluation(EvalConfig(out=tmp_path / "e1", sets={"c": tmp_path / "c"}, **common))
    made = run_evaluation(EvalConfig(out=tmp_path / "e2", sets={"c": GENERATE}, generate_seed=3, **common))
    assert made.benchmarks["c"].per == written.benchmarks["c"].per
    other = run_evaluation(EvalConfig(out=tmp_path / "e3", sets={"c": GENERATE}, generate_seed=4, **common))
    assert other.benchmarks["c"].per["gaussian_noise"] != written.benchmarks["c"].per["gaussian_noise"]

    inet, common = _imagenet_photos(tmp_path, ("shot_noise", "contrast"), batch_size=4)
    assert main(["corrupt", "--images", str(inet / "val"), "--corruptions", "shot_noise,contrast", "--seed", "3",
                 "--workers", "1", "--out", str(tmp_path / "inc")]) == 0
    written = run_evaluation(EvalConfig(out=tmp_path / "i1", sets={"c": tmp_path / "inc"}, **common))
    made = run_evaluation(EvalConfig(out=tmp_path / "i2", sets={"c": GENERATE}, generate_seed=3, **common))
    assert made.benchmarks["c"].per == written.benchmarks["c"].per
    assert "generated in memory (seed 3)" in made.benchmarks["c"].data


def test_on_the_fly_corruption_by_the_torch_back_end_equals_its_written_folder(tmp_path):
    """--generate-device gives the figures of the folder `augmix corrupt --device` writes (CIFAR arrays,
    and an ImageNet tree in the back-end's batches of photographs, through the released JPEG)."""
    from augmix.suite import GENERATE, EvalConfig, run_evaluation

    data = write_cifar10(tmp_path / "data", 10, 12)
    assert main(["corrupt", "--data-dir", str(data), "--corruptions", "glass_blur,fog", "--seed", "3", "--limit", "9",
                 "--device", "cpu", "--out", str(tmp_path / "c")]) == 0
    common = {"checkpoint": _checkpoint(tmp_path / "m.pt"), "data_dir": data, "limit": 9, "workers": 0,
              "progress": False, "corruptions": ("glass_blur", "fog")}
    written = run_evaluation(EvalConfig(out=tmp_path / "e1", sets={"c": tmp_path / "c"}, **common))
    made = run_evaluation(EvalConfig(out=tmp_path / "e2", sets={"c": GENERATE}, generate_seed=3,
                                     generate_device="cpu", **common))
    assert made.benchmarks["c"].per == written.benchmarks["c"].per
    numpy_made = run_evaluation(EvalConfig(out=tmp_path / "e3", sets={"c": GENERATE}, generate_seed=3, **common))
    assert numpy_made.benchmarks["c"].per != written.benchmarks["c"].per  # another back-end, other images

    inet, common = _imagenet_photos(tmp_path, ("spatter", "contrast"), batch_size=2)
    assert main(["corrupt", "--images", str(inet / "val"), "--corruptions", "spatter,contrast", "--seed", "3",
                 "--device", "cpu", "--out", str(tmp_path / "inc")]) == 0
    written = run_evaluation(EvalConfig(out=tmp_path / "i1", sets={"c": tmp_path / "inc"}, **common))
    made = run_evaluation(EvalConfig(out=tmp_path / "i2", sets={"c": GENERATE}, generate_seed=3,
                                     generate_device="cpu", **common))
    assert made.benchmarks["c"].per == written.benchmarks["c"].per
    assert "torch on cpu" in made.benchmarks["c"].data
    with pytest.raises(ValueError, match="--generate-device applies to --corrupted generate"):
        EvalConfig(out=tmp_path / "i3", sets={"c": tmp_path / "inc"}, generate_device="cpu", **common)
    with pytest.raises(ValueError, match="-C-bar is made on the CPU"):
        EvalConfig(out=tmp_path / "i3", sets={"c": GENERATE, "c-bar": GENERATE}, generate_device="cpu", **common)


@pytest.mark.heavy
def test_generation_sharded_over_two_torchrun_ranks_equals_one_process(tmp_path):
    """`torchrun --nproc_per_node 2 -m augmix corrupt ...`: each rank writes its share of the units,
    rank 0 assembles and checks; the set equals a single process's (CIFAR arrays and a tree)."""
    data = write_cifar10(tmp_path / "data", 10, 12)
    val = tmp_path / "val"
    for k, w in enumerate(("n1", "n2")):
        (val / w).mkdir(parents=True)
        for j in range(2):
            Image.fromarray(smooth_images(1, 80, seed=10 * k + j)[0]).save(val / w / f"i{j}.JPEG")
    jobs = {"arrays": ["--data-dir", str(data), "--corruptions", "contrast,gaussian_noise", "--severities", "1,2"],
            "tree": ["--images", str(val), "--size", "64", "--corruptions", "shot_noise", "--severities", "1,3"],
            "torch": ["--images", str(val), "--size", "64", "--corruptions", "glass_blur", "--severities", "2",
                      "--device", "cpu"]}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    ports = {"arrays": "29517", "tree": "29518", "torch": "29519"}
    for name, args in jobs.items():
        assert main(["corrupt", *args, "--workers", "1", "--out", str(tmp_path / f"{name}1")]) == 0
        proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                               "--master_port", ports[name], "-m", "augmix", "corrupt",
                               *args, "--workers", "1", "--out", str(tmp_path / f"{name}2")],
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        one = sorted(p.relative_to(tmp_path / f"{name}1") for p in (tmp_path / f"{name}1").rglob("*") if p.is_file()
                     and p.name not in ("meta.json",))
        two = sorted(p.relative_to(tmp_path / f"{name}2") for p in (tmp_path / f"{name}2").rglob("*") if p.is_file()
                     and p.name not in ("meta.json",))
        assert one == two and one
        for rel in one:
            assert (tmp_path / f"{name}1" / rel).read_bytes() == (tmp_path / f"{name}2" / rel).read_bytes(), rel
