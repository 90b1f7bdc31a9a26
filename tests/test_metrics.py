"""Metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from augmix import metrics
from augmix.corruptions.tables import BENCHMARK


def hendrycks_calib_err(confidence, correct, beta=100):
    """The published calib_err (p='2'), written out as in hendrycks/imagenet-r utils.py."""
    idxs = np.argsort(confidence)
    confidence, correct = confidence[idxs], correct[idxs]
    bins = [[i * beta, (i + 1) * beta] for i in range(len(confidence) // beta)]
    bins[-1] = [bins[-1][0], len(confidence)]
    cerr, total = 0, len(confidence)
    for i in range(len(bins) - 1):
        bc, br = confidence[bins[i][0]:bins[i][1]], correct[bins[i][0]:bins[i][1]]
        if len(bc) > 0:
            cerr += len(bc) / total * np.square(np.abs(np.nanmean(bc) - np.nanmean(br)))
    return np.sqrt(cerr)


def test_calib_err_constructed_case():
    # 300 predictions: confidences 0.9 in bins 1-2 with accuracy 0.6 and 0.9; the last bin is skipped
    conf = np.array([0.5] * 100 + [0.9] * 100 + [0.95] * 100)
    correct = np.array([1] * 50 + [0] * 50 + [1] * 60 + [0] * 40 + [0] * 100, dtype=float)
    # bin 1: |0.5 - 0.5| = 0; bin 2: |0.9 - 0.6| = 0.3 -> sqrt(100/300 * 0.09)
    assert metrics.calib_err(conf, correct) == pytest.approx(np.sqrt(0.03))
    # counting the last bin too adds 100/300 * 0.95^2
    assert metrics.calib_err(conf, correct, include_last=True) == pytest.approx(np.sqrt(0.03 + 0.95**2 / 3))


def test_calib_err_matches_the_published_function():
    rng = np.random.default_rng(0)
    conf = rng.random(1234)
    correct = (rng.random(1234) < conf).astype(float)
    assert metrics.calib_err(conf, correct) == pytest.approx(hendrycks_calib_err(conf, correct))
    perfect = np.repeat(np.linspace(0.05, 0.95, 10), 100)
    hits = np.concatenate([(np.arange(100) < 100 * p).astype(float) for p in np.linspace(0.05, 0.95, 10)])
    assert metrics.calib_err(perfect, hits) < 0.01


def test_ece_and_error():
    conf = np.array([0.8, 0.8, 0.8, 0.8, 0.3])
    correct = np.array([1, 1, 1, 0, 0], dtype=float)
    assert metrics.ece(conf, correct, bins=10) == pytest.approx(0.8 * abs(0.8 - 0.75) + 0.2 * 0.3)
    assert metrics.error(np.array([[0, 1], [1, 0], [0, 1]]), np.array([1, 1, 1])) == pytest.approx(1 / 3)


def test_mce_with_given_constants():
    errors = {c: [0.2, 0.4, 0.6, 0.8, 1.0] for c in BENCHMARK}  # mean 0.6 each
    alex = {c: 0.8 for c in BENCHMARK}
    out = metrics.imagenet_ce(errors, clean_error=0.2, alexnet=alex, alexnet_clean=0.4)
    assert out["mce"] == pytest.approx(0.75)
    assert out["relative_mce"] == pytest.approx((0.6 - 0.2) / (0.8 - 0.4))
    with pytest.raises(ValueError, match="missing"):
        metrics.imagenet_ce({"fog": [0.1]})
    assert metrics.mean_corruption_error({"a": [0.1, 0.3], "b": [0.5, 0.7]}) == pytest.approx(0.4)


def test_alexnet_constants_are_the_published_ones():
    assert metrics.ALEXNET_ERR["gaussian_noise"] == 0.886428
    assert metrics.ALEXNET_ERR["jpeg_compression"] == 0.606500
    assert len(metrics.ALEXNET_ERR) == 15


def test_calibration_gap_sign_and_temperature():
    from augmix.metrics import calibration_gap, fit_temperature

    conf = np.array([0.9, 0.9, 0.9, 0.9])
    assert calibration_gap(conf, np.array([1, 0, 0, 1])) == pytest.approx(0.4)   # overconfident
    assert calibration_gap(np.full(4, 0.3), np.array([1, 1, 0, 1])) == pytest.approx(-0.45)  # underconfident
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 4000)
    true_logits = rng.normal(size=(4000, 5)) + 3.0 * np.eye(5)[labels]
    # softmax(true_logits) is calibrated for labels drawn from it; draw them so
    p = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(5, p=row) for row in p])
    assert fit_temperature(true_logits, labels) == pytest.approx(1.0, abs=0.1)
    assert fit_temperature(true_logits * 3, labels) == pytest.approx(3.0, rel=0.1)   # overconfident: T > 1
    assert fit_temperature(true_logits / 2, labels) == pytest.approx(0.5, rel=0.1)   # underconfident: T < 1


def test_compare_groups_seeds_and_marks_differences_within_the_spread(tmp_path):
    import json

    from augmix.report import compare

    def write(name, clean_err, gap):
        d = tmp_path / name
        d.mkdir()
        (d / "results.json").write_text(json.dumps(
            {"name": name, "clean": {"error": clean_err, "rms_calib": 0.1, "ece": 0.05, "calib_gap": gap}}))
        return d

    runs = [write("a0", 0.10, 0.02), write("a1", 0.14, 0.04), write("b0", 0.11, -0.05), write("b1", 0.13, -0.07)]
    out = compare(runs, tmp_path / "cmp", ["A", "A", "B", "B"])
    summary = json.loads((out / "compare.json").read_text())
    assert summary["methods"]["A"]["runs"] == 2
    assert summary["methods"]["A"]["clean error"]["mean"] == pytest.approx(0.12)
    assert summary["methods"]["A"]["clean error"]["std"] == pytest.approx(np.std([0.10, 0.14], ddof=1))
    md = (out / "compare.md").read_text()
    rows = {line.split("|")[2].strip(): line for line in md.splitlines() if line.startswith("| B |")}
    assert "smaller than the spread" in rows["clean error"]          # +0.0 with a spread of 3.2 points
    assert "smaller than the spread" not in rows["clean calib gap"]  # -9.0 with a spread of 2.0 points
    assert "12.0 ± 2.8" in md and "+3.0 ± 1.4" in md
