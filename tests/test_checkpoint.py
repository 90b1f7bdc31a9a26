"""The checkpoint contract: what a checkpoint records, how it is rebuilt, and safe loading."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from augmix.checkpoint import (
    CheckpointError,
    ModelSpec,
    build_model,
    load_checkpoint,
    load_external,
    load_model,
    read_weights,
    save_checkpoint,
)
from augmix.cli import main
from augmix.train import TrainConfig, train
from tests.helpers import write_cifar10


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"), n_train=160, n_test=60)


def _cfg(cifar, out, **kw) -> TrainConfig:
    base = dict(dataset="cifar10", data_dir=str(cifar), model="tiny", method="augmix_jsd", epochs=1,
                batch_size=32, lr=0.05, workers=0, out=str(out), eval_batch_size=60)
    return TrainConfig(**{**base, **kw})


class Payload:
    """Unpickling this runs a shell command (what a crafted file would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_split_bn_checkpoint_records_its_spec_and_evaluates(cifar, tmp_path, capsys):
    run = train(_cfg(cifar, tmp_path / "run", split_bn=True), progress=False)
    state = load_checkpoint(run / "checkpoint.pt")
    spec = ModelSpec.from_dict(state["spec"])
    assert spec == ModelSpec("tiny", 10, (0.5,) * 3, (0.5,) * 3, "cifar10", split_bn_views=3,
                             classes=tuple(f"class{k}" for k in range(10)))  # the batches.meta label names
    assert any(".aux_bn." in k for k in state["model"])
    lm = load_model(run / "checkpoint.pt")
    assert not any(".aux_bn." in k for k in lm.model.state_dict())
    # the evaluation model is the main-BN half of the trained one
    main_bn = {k: v for k, v in state["model"].items() if ".aux_bn." not in k}
    for k, v in lm.model.state_dict().items():
        assert torch.equal(v, main_bn[k]), k
    rc = main(["evaluate", str(run / "checkpoint.pt"), "--data-dir", str(cifar), "--out", str(tmp_path / "e"),
               "--workers", "0"])
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "e" / "results.json").exists()


def test_other_dataset_is_refused_unless_allowed(tmp_path, cifar, capsys):
    run = train(TrainConfig(dataset="digits", model="tiny", method="standard", epochs=1, batch_size=64,
                            workers=0, train_subset=128, out=str(tmp_path / "digits"), eval_every=-1),
                progress=False)
    args = ["evaluate", str(run / "checkpoint.pt"), "--data-dir", str(cifar), "--workers", "0"]
    assert main([*args, "--out", str(tmp_path / "e1")]) == 2
    assert "trained on digits, not cifar10" in capsys.readouterr().err
    assert not (tmp_path / "e1" / "results.json").exists()
    assert main([*args, "--out", str(tmp_path / "e2"), "--allow-other-dataset"]) == 0
    assert (tmp_path / "e2" / "results.json").exists()
    # and the digits test split is an evaluation dataset of its own
    assert main(["evaluate", str(run / "checkpoint.pt"), "--dataset", "digits", "--out", str(tmp_path / "e3")]) == 0


def test_crafted_files_never_run_code(tmp_path, cifar):
    marker = tmp_path / "pwned"
    weights = tmp_path / "weights.pth"
    torch.save({"state_dict": Payload(marker)}, weights)
    with pytest.raises(CheckpointError, match="refused for safety"):
        read_weights(weights)
    with pytest.raises(CheckpointError):
        load_checkpoint(weights)
    assert main(["evaluate", "--arch", "tiny", "--weights", str(weights), "--data-dir", str(cifar),
                 "--out", str(tmp_path / "e")]) == 2
    # a CIFAR batch file with a payload
    bad = write_cifar10(tmp_path / "bad", n_train=20, n_test=10)
    with open(bad / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({"data": Payload(marker), "labels": [0]}, f)
    assert main(["evaluate", "--arch", "tiny", "--weights", str(weights), "--data-dir", str(bad),
                 "--out", str(tmp_path / "e2")]) == 2
    from augmix.data import DataError, load_cifar

    with pytest.raises(DataError, match="never holds"):
        load_cifar("cifar10", bad, train=False)
    assert not marker.exists()


def test_reference_style_weights_load_and_mismatches_are_one_line(tmp_path):
    model = build_model(ModelSpec("tiny", 10, (0.5,) * 3, (0.5,) * 3))
    wrapped = {f"module.{k}": v for k, v in model.state_dict().items()}  # DataParallel, as cifar.py saves
    torch.save({"epoch": 3, "state_dict": wrapped, "best_acc": 0.5}, tmp_path / "ref.pth.tar")
    lm = load_external("tiny", tmp_path / "ref.pth.tar", 10, ((0.5,) * 3, (0.5,) * 3), "cifar10")
    for k, v in lm.model.state_dict().items():
        assert torch.equal(v, model.state_dict()[k])
    with pytest.raises(CheckpointError, match="another shape"):
        load_external("tiny", tmp_path / "ref.pth.tar", 100, ((0.5,) * 3, (0.5,) * 3))
    with pytest.raises(CheckpointError, match="missing"):
        load_external("allconv", tmp_path / "ref.pth.tar", 10, ((0.5,) * 3, (0.5,) * 3))


def test_checkpoint_without_format_is_not_ours(tmp_path):
    torch.save({"model": {}}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="not an augmix checkpoint"):
        load_checkpoint(tmp_path / "x.pt")
    spec = ModelSpec("tiny", 10, (0.5,) * 3, (0.5,) * 3, "cifar10")
    save_checkpoint(tmp_path / "y.pt", spec, build_model(spec).state_dict(), epoch=0)
    assert load_model(tmp_path / "y.pt").spec == spec
    with pytest.raises(CheckpointError, match="10 output classes but cifar100 has 100"):
        load_model(tmp_path / "y.pt", dataset="cifar100", num_classes=100)


@pytest.mark.parametrize("arch", ["wrn40_2", "densenet", "resnext29", "allconv"])
def test_reference_cifar_checkpoints_load_as_saved(arch, tmp_path):
    """The reference definitions' key/shape lists (data, see models/reference_keys.json) against ours."""
    from augmix.models import create_model
    from augmix.models.reference import reference_keys

    ref = reference_keys()[arch]
    ours = [(k, tuple(v.shape)) for k, v in create_model(arch, 10).state_dict().items()]
    assert [s for _, s in ref] == [s for _, s in ours]  # same tensors, in the same order
    # a checkpoint as cifar.py saves it: DataParallel names, plus epoch, best_acc and the optimizer state
    gen = torch.Generator().manual_seed(0)
    values = [torch.randn(s, generator=gen) if len(s) else torch.tensor(7) for _, s in ref]
    saved = {"epoch": 100, "best_acc": 0.95, "optimizer": {"state": {}, "param_groups": []},
             "state_dict": {f"module.{name}": v for (name, _), v in zip(ref, values, strict=True)}}
    torch.save(saved, tmp_path / "checkpoint.pth.tar")
    lm = load_external(arch, tmp_path / "checkpoint.pth.tar", 10, ((0.5,) * 3, (0.5,) * 3), "cifar10")
    for (name, _), v, (mine, t) in zip(ref, values, lm.model.state_dict().items(), strict=True):
        assert torch.equal(t, v.to(t.dtype)), (name, mine)
