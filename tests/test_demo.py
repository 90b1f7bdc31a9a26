"""The offline demo end to end (shortened): real bundled data, both arms, -C set, report."""

from __future__ import annotations

import json

from augmix.demo import run_demo


def test_demo_runs_offline_and_writes_the_report(tmp_path):
    out = run_demo(tmp_path / "demo", epochs=1, test_images=60, workers=1, progress=False)
    report = (out / "report.md").read_text()
    assert "| mean corruption error (%) |" in report and "scikit-learn handwritten digits" in report
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"standard", "augmix_jsd", "timings"}
    for name in ("augmix_samples.png", "corruption_samples.png", "compare/compare.png",
                 "standard/eval/severity.png", "augmix_jsd/eval/error_per_corruption.png"):
        assert (out / name).stat().st_size > 1000, name
    res = json.loads((out / "augmix_jsd" / "eval" / "results.json").read_text())
    assert res["corruptions_evaluated"] == 15 and res["clean"]["n"] == 60
