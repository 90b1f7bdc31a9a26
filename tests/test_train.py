"""Tiny end-to-end runs on files in the official layouts: train, resume, evaluate, report, DDP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from augmix.checkpoint import load_checkpoint
from augmix.cli import main
from augmix.data import load_cifar
from augmix.generation import generate_cifar_c
from augmix.results import load_results
from augmix.train import TrainConfig, TrainingDiverged, train
from tests.helpers import write_cifar10

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    return write_cifar10(tmp_path_factory.mktemp("data"), n_train=320, n_test=100)


def cfg(cifar, out, **kw):
    base = dict(dataset="cifar10", data_dir=str(cifar), model="tiny", method="augmix_jsd", epochs=2,
                batch_size=32, lr=0.05, workers=0, out=str(out), eval_batch_size=100)
    base.update(kw)
    return TrainConfig(**base)


def test_train_resume_evaluate_report(cifar, tmp_path):
    run = train(cfg(cifar, tmp_path / "run", epochs=1), progress=False)
    state = load_checkpoint(run / "checkpoint.pt")
    assert state["epoch"] == 1 and state["spec"]["num_classes"] == 10 and "rng" in state
    assert state["provenance"]["train"].startswith("cifar10 train")
    # resume to 2 epochs
    train(cfg(cifar, tmp_path / "run", epochs=2), resume=True, progress=False)
    state = load_checkpoint(run / "checkpoint.pt")
    assert state["epoch"] == 2 and len(state["history"]) == 2
    assert (run / "log.csv").read_text().count("\n") == 3
    # evaluate on a generated -C set and check the report's numbers agree
    test = load_cifar("cifar10", cifar, train=False)
    cc = generate_cifar_c(test.images, test.labels, tmp_path / "c", ["fog", "contrast"], [1, 3, 5], workers=1,
                          progress=False)
    rc = main(["evaluate", str(run / "checkpoint.pt"), "--data-dir", str(cifar), "--corrupted", str(cc),
               "--out", str(tmp_path / "eval"), "--batch-size", "50"])
    assert rc == 0
    results = load_results(tmp_path / "eval")
    res = results.benchmarks["c"]
    assert res.severities == [1, 3, 5] and set(res.per) == {"fog", "contrast"}
    errors = [e for v in res.per.values() for e in v.error]
    assert res.mean_error == pytest.approx(np.mean(errors))
    first = [v.error[0] for v in res.per.values()]
    assert res.per_severity.error[0] == pytest.approx(np.mean(first))
    assert results.clean.scores.error == pytest.approx(state["history"][-1]["test_error"])
    md = (tmp_path / "eval" / "report.md").read_text()
    assert f"{100 * res.mean_error:.1f}" in md
    for png in ("error_per_corruption.png", "severity.png", "reliability.png"):
        assert (tmp_path / "eval" / png).stat().st_size > 1000
    import shutil

    shutil.copytree(tmp_path / "eval", tmp_path / "eval_copy")  # one folder given twice is refused as a replicate
    rc = main(["compare", str(tmp_path / "eval"), str(tmp_path / "eval_copy"), "--labels", "a,b",
               "--out", str(tmp_path / "cmp")])
    assert rc == 0 and (tmp_path / "cmp" / "compare.png").exists()


def test_kill_and_resume_equals_uninterrupted(cifar, tmp_path, monkeypatch):
    import augmix.train.logs as tr

    full = train(cfg(cifar, tmp_path / "full", epochs=2), progress=False)
    real = tr.write_logs

    def killed(*args, **kw):  # the process dies right after epoch 1's checkpoint
        real(*args, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(tr, "write_logs", killed)
    with pytest.raises(KeyboardInterrupt):
        train(cfg(cifar, tmp_path / "part", epochs=2), progress=False)
    monkeypatch.setattr(tr, "write_logs", real)
    part = train(cfg(cifar, tmp_path / "part", epochs=2), resume=True, progress=False)
    a = load_checkpoint(full / "checkpoint.pt")["model"]
    b = load_checkpoint(part / "checkpoint.pt")["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_loader_path_and_methods_run(cifar, tmp_path):
    for method in ("standard", "augmix"):
        train(cfg(cifar, tmp_path / method, epochs=1, method=method), progress=False)
    out = train(cfg(cifar, tmp_path / "loader", epochs=1, augment="per_image"), progress=False)
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 1
    out = train(cfg(cifar, tmp_path / "splitbn", epochs=1, split_bn=True), progress=False)
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_keep_freed_memory_applies_on_glibc_and_resume_ignores_it(cifar, tmp_path):
    import platform

    from augmix.allocator import keep_freed_memory

    if platform.libc_ver()[0] == "glibc":
        assert keep_freed_memory() is True
    out = train(cfg(cifar, tmp_path / "run", epochs=1, tune_malloc=False), progress=False)
    # an allocator setting does not change what is trained: resuming with it flipped is allowed
    train(cfg(cifar, tmp_path / "run", epochs=2, tune_malloc=True), resume=True, progress=False)
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 2


def test_non_finite_loss_stops_and_keeps_last_checkpoint(cifar, tmp_path, monkeypatch):
    import augmix.train.pipeline as tr

    out = train(cfg(cifar, tmp_path / "r", epochs=1), progress=False)
    before = (out / "checkpoint.pt").read_bytes()

    class Exploding(tr.AugMixLoss):
        def forward(self, logits, targets):
            return super().forward(logits, targets) * float("inf")

    monkeypatch.setattr(tr, "AugMixLoss", Exploding)
    with pytest.raises(TrainingDiverged, match="last good checkpoint is .*checkpoint.pt"):
        train(cfg(cifar, tmp_path / "r", epochs=2), resume=True, progress=False)
    assert (out / "checkpoint.pt").read_bytes() == before
    with pytest.raises(ValueError, match="lr"):  # resuming with other settings is refused
        train(cfg(cifar, tmp_path / "r", epochs=2, lr=0.5), resume=True, progress=False)


def test_bad_inputs(cifar, tmp_path, capsys):
    assert main(["train", "--dataset", "cifar10", "--data-dir", str(tmp_path / "nothing"), "--model", "tiny",
                 "--out", str(tmp_path / "x")]) == 2
    assert "CIFAR-10" in capsys.readouterr().err
    assert main(["train", "--data-dir", str(cifar), "--model", "resnet9000", "--out", str(tmp_path / "y")]) == 2
    assert "invalid choice: 'resnet9000'" in capsys.readouterr().err
    # a checkpoint with the wrong class count
    run = train(cfg(cifar, tmp_path / "z", epochs=1), progress=False)
    c100 = tmp_path / "c100"
    (c100 / "cifar-100-python").mkdir(parents=True)
    assert main(["evaluate", str(run / "checkpoint.pt"), "--dataset", "cifar100", "--data-dir", str(c100),
                 "--out", str(tmp_path / "e")]) == 2
    assert "10 output classes but cifar100 has 100" in capsys.readouterr().err
    # truncated checkpoint
    (tmp_path / "bad.pt").write_bytes((run / "checkpoint.pt").read_bytes()[:100])
    assert main(["evaluate", str(tmp_path / "bad.pt"), "--data-dir", str(cifar), "--out", str(tmp_path / "f")]) == 2
    assert "not a readable checkpoint" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_gloo(cifar, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "augmix", "train", "--dataset", "cifar10", "--data-dir",
           str(cifar), "--model", "tiny", "--epochs", "1", "--batch-size", "32", "--workers", "0",
           "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    state = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")
    assert state["epoch"] == 1 and len(state["history"]) == 1
