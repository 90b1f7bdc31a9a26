"""The offline demo end to end (shortened): real bundled data, both arms, -C set, report."""

from __future__ import annotations

import json

import pytest

from augmix.demo import run_demo
from augmix.results import load_results


@pytest.mark.heavy
def test_demo_runs_offline_and_writes_the_report(tmp_path):
    out = run_demo(tmp_path / "demo", seeds=(0, 1), epochs=1, test_images=60, workers=1, progress=False)
    report = (out / "report.md").read_text()
    assert "| mean corruption error (%) |" in report and "scikit-learn handwritten digits" in report
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"standard", "augmix_jsd", "timings"}
    for name in ("augmix_samples.png", "corruption_samples.png", "compare/compare.png",
                 "standard_seed0/eval/severity.png", "augmix_jsd_seed1/eval/error_per_corruption.png"):
        assert (out / name).stat().st_size > 1000, name
    res = load_results(out / "augmix_jsd_seed0" / "eval")
    assert len(res.benchmarks["c"].per) == 15 and res.clean.scores.n == 60
    # every figure is a mean and spread over the two seeds
    errors = [load_results(out / f"standard_seed{s}" / "eval").clean.scores.error
              for s in (0, 1)]
    assert summary["standard"]["runs"] == 2
    assert abs(summary["standard"]["clean error"]["mean"] - sum(errors) / 2) < 1e-12
    assert "±" in report and "calibration gap" in report
