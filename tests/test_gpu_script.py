"""``benchmarks/gpu.py --smoke``: the GPU script's every part, on the CPU at tiny sizes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.heavy
def test_gpu_script_smoke(tmp_path):
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, "benchmarks/gpu.py", "--smoke", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["device"] == "cpu (smoke)"
    for size in ("32px", "64px"):
        row = report["augmix"][size]
        for arm in ("ours_auto", "ours_torch_grouped", "ours_graph", "torchvision_v2_batched"):
            assert row[arm]["triplets_per_s"] > 0
    from augmix.corruptions import ALL

    corruptions = report["corruptions_smoke"]
    assert all(corruptions[name]["img_per_s"] > 0 and corruptions[name]["numpy_cpu_img_per_s"] > 0 for name in ALL)
    assert report["train_epoch"]["images_per_s"] > 0
    recipe = report["recipe"]
    assert recipe["epochs"] == 1 and recipe["test_images"] == 16
    assert 0 <= recipe["clean_error_pct"] <= 100 and 0 <= recipe["cifar10c_mean_corruption_error_pct"] <= 100
    assert not (ROOT / "benchmarks" / "results" / "gpu_smoke.json").exists()


def test_gpu_script_refuses_without_a_gpu_or_smoke():
    import torch

    if torch.cuda.is_available():
        return
    proc = subprocess.run([sys.executable, "benchmarks/gpu.py"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "no CUDA device visible" in proc.stderr and "--smoke" in proc.stderr
