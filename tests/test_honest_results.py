"""No result that looks real and is not: non-finite or malformed models are refused before they
are evaluated, replicates are distinct, compared runs share their data, a checkpoint's fields
are validated as results.json's are, and a damaged figure is refused, never rendered."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from augmix.checkpoint import FORMAT, ModelSpec, build_model, save_checkpoint
from augmix.cli import main
from tests.helpers import write_cifar10

SPEC = ModelSpec("tiny", 10, (0.5,) * 3, (0.5,) * 3, "cifar10")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("honest")
    cifar = write_cifar10(base / "data", 16, 12)
    torch.manual_seed(0)
    state = build_model(SPEC).state_dict()
    save_checkpoint(base / "good.pt", SPEC, state, epoch=1)
    common = ["--data-dir", str(cifar), "--workers", "0", "--no-progress"]
    for name, extra in (("e1", []), ("e2", []), ("e4", ["--limit", "4"])):
        assert main(["evaluate", str(base / "good.pt"), *common, *extra, "--out", str(base / name)]) == 0
    return {"base": base, "cifar": cifar, "state": state, "common": common}


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def _payload(world, path, spec=None, model=None, **training):
    torch.save({"format": FORMAT, "spec": spec if spec is not None else asdict(SPEC),
                "model": model if model is not None else world["state"], **training}, path)
    return path


@pytest.mark.parametrize("case, expected", [
    ("nan_weights", "NaN or infinite values"),
    ("zero_std", "std must be > 0"),
    ("nan_mean", "must be finite numbers"),
    ("no_arch", "lacks 'arch'"),
    ("bad_classes", "invalid num_classes"),
    ("bad_model", "not a state dict of tensors"),
])
def test_a_model_that_would_score_at_chance_or_crash_is_refused(world, case, expected, capsys):
    spec = asdict(SPEC)
    model = dict(world["state"])
    if case == "nan_weights":
        key = next(k for k, v in model.items() if v.is_floating_point())
        model[key] = torch.full_like(model[key], float("nan"))
    elif case == "zero_std":
        spec["std"] = [0.0, 0.0, 0.0]
    elif case == "nan_mean":
        spec["mean"] = [float("nan")] * 3
    elif case == "no_arch":
        del spec["arch"]
    elif case == "bad_classes":
        spec["num_classes"] = "ten"
    elif case == "bad_model":
        model = {"a": "not a tensor"}
    ckpt = _payload(world, world["base"] / f"{case}.pt", spec, model)
    out = world["base"] / f"out_{case}"
    assert main(["evaluate", str(ckpt), *world["common"], "--out", str(out)]) == 2
    assert expected in _error(capsys)
    assert not (out / "results.json").exists()


@pytest.mark.parametrize("case, expected", [
    ("no_config", "holds no 'config'"),
    ("bad_epoch", "'epoch' is a str"),
    ("short_history", "at epoch 2 with 1 log rows"),
    ("bad_rng", "random-number state is damaged"),
])
def test_a_malformed_training_state_is_refused_on_resume(world, case, expected, tmp_path, capsys):
    from augmix.train import TrainConfig

    cfg = TrainConfig(data_dir=str(world["cifar"]), model="tiny", epochs=3, out=str(tmp_path / "t"))
    training = {"config": cfg.to_dict(), "epoch": 2, "step": 2, "history": [{"epoch": 1}, {"epoch": 2}],
                "optimizer": {}, "scheduler": {}, "scaler": {}, "rng": {"torch": torch.get_rng_state(),
                                                                          "numpy": {}, "python": [3, [], None]}}
    if case == "no_config":
        del training["config"]
    elif case == "bad_epoch":
        training["epoch"] = "2"
    elif case == "short_history":
        training["history"] = [{"epoch": 1}]
    elif case == "bad_rng":
        training["rng"] = {"torch": "x"}
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / ".augmix-output").write_text(json.dumps({"verb": "train"}))
    _payload(world, tmp_path / "t" / "checkpoint.pt", **training)
    assert main(["train", "--data-dir", str(world["cifar"]), "--model", "tiny", "--epochs", "3", "--resume",
                 "--out", str(tmp_path / "t")]) == 2
    assert expected in _error(capsys)


def test_a_resume_with_fewer_epochs_than_trained_is_refused(world, tmp_path, capsys):
    argv = ["train", "--data-dir", str(world["cifar"]), "--model", "tiny", "--workers", "0", "--batch-size", "8",
            "--eval-every", "-1", "--out", str(tmp_path / "t")]
    assert main([*argv, "--epochs", "2"]) == 0
    capsys.readouterr()
    assert main([*argv, "--epochs", "1", "--resume"]) == 2
    assert "trained for 2 epochs, more than --epochs 1" in _error(capsys)


def test_replicates_are_distinct_and_compared_runs_share_their_data(world, capsys):
    base = world["base"]
    assert main(["compare", str(base / "e1"), str(base / "e1"), "--out", str(base / "c0")]) == 2
    assert "given twice" in _error(capsys)
    assert main(["compare", str(base / "e1"), str(base / "e4"), "--out", str(base / "c1")]) == 2
    assert "the same test images" in _error(capsys)
    assert main(["evaluate", str(base / "good.pt"), "--dataset", "digits", "--allow-other-dataset", "--workers", "0",
                 "--no-progress", "--out", str(base / "digits")]) == 0
    capsys.readouterr()
    assert main(["compare", str(base / "e1"), str(base / "digits"), "--out", str(base / "c2")]) == 2
    assert "on one dataset" in _error(capsys)
    assert main(["demo", "--seeds", "0,0", "--out", str(base / "d")]) == 2
    assert "a seed twice" in _error(capsys)
    assert main(["compare", str(base / "e1"), str(base / "e2"), "--out", str(base / "c3")]) == 0


@pytest.mark.parametrize("value", [1e308, -5.0, 2.0])
def test_a_figure_outside_its_range_is_refused_not_rendered(world, value, tmp_path, capsys):
    from augmix.results import ResultsError, load_results

    run = tmp_path / "run"
    run.mkdir()
    data = json.loads((world["base"] / "e1" / "results.json").read_text())
    data["clean"]["scores"]["error"] = value
    (run / "results.json").write_text(json.dumps(data))
    with pytest.raises(ResultsError, match="outside"):
        load_results(run)
    assert main(["compare", str(world["base"] / "e1"), str(run), "--out", str(tmp_path / "c")]) == 2
    assert "outside [0, 1]" in _error(capsys)
