"""Robustness and calibration metrics, and the published constants they need.

* Corruption error on CIFAR-10-C/100-C: the plain mean of the 15 x 5 errors (Hendrycks et al.,
  AugMix, ICLR 2020).
* ImageNet-C: CE_c = sum_s E_{s,c} / sum_s E^AlexNet_{s,c}; mCE the mean over the 15
  corruptions; relative mCE uses (E_{s,c} - E_clean) against AlexNet's (Hendrycks &
  Dietterich, ICLR 2019).
* RMS calibration error with adaptive bins, exactly as ``calib_err`` in hendrycks/imagenet-r
  ``utils.py`` (from hendrycks/outlier-exposure ``calibration_tools.py``): sort by
  confidence, bins of ``beta`` = 100 examples, the remainder folded into the last bin, and
  **the last bin left out of the sum** (its loop runs over ``len(bins) - 1``), while each
  bin is still weighted by its share of *all* examples. ``include_last=True`` gives the
  variant that counts every example.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from augmix.corruptions.tables import ALEXNET_CLEAN_ERR, ALEXNET_ERR, BENCHMARK


def error(logits_or_pred: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 error (a fraction) from logits [N, K] or predictions [N]."""
    pred = logits_or_pred.argmax(1) if logits_or_pred.ndim == 2 else logits_or_pred
    return float(np.mean(pred != labels))


def calib_err(confidence: np.ndarray, correct: np.ndarray, p: str = "2", beta: int = 100,
              include_last: bool = False) -> float:
    """Adaptive-binning calibration error (RMS for ``p="2"``), as Hendrycks' ``calib_err``."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if len(confidence) == 0 or len(confidence) != len(correct):
        raise ValueError("confidence and correct must be non-empty and of equal length")
    order = np.argsort(confidence, kind="quicksort")
    confidence, correct = confidence[order], correct[order]
    n = len(confidence)
    bins = [[i * beta, (i + 1) * beta] for i in range(n // beta)] or [[0, n]]
    bins[-1] = [bins[-1][0], n]
    used = bins if include_last else bins[:-1]
    total = 0.0
    for lo, hi in used:
        diff = abs(np.nanmean(confidence[lo:hi]) - np.nanmean(correct[lo:hi]))
        if p == "2":
            total += (hi - lo) / n * diff**2
        elif p == "1":
            total += (hi - lo) / n * diff
        elif p in ("infty", "infinity", "max"):
            total = max(total, diff)
        else:
            raise ValueError(f"p must be '1', '2' or 'infty', got {p!r}")
    return float(np.sqrt(total)) if p == "2" else float(total)


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error with ``bins`` equal-width confidence bins (Guo et al., 2017)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(confidence[sel].mean() - correct[sel].mean())
    return float(total)


def calibration_gap(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Mean confidence minus accuracy: > 0 overconfident, < 0 underconfident.

    The RMS calibration error says how far confidence is from accuracy, not in which
    direction; this signed gap says which.
    """
    return float(np.mean(np.asarray(confidence, np.float64)) - np.mean(np.asarray(correct, np.float64)))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising the NLL of softmax(logits / T) (Guo et al., ICML 2017).

    A diagnostic: T > 1 means the model was overconfident on these data, T < 1
    underconfident. Fit it on held-out *training* data, never on the test set.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels)

    def nll(log_t: float) -> float:
        return float(-np.mean(log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels]))

    return float(np.exp(minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded").x))


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> dict[str, list[float]]:
    """Per-bin mean confidence, accuracy and count (for reliability diagrams)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    conf, acc, count = [], [], []
    for b in range(bins):
        sel = which == b
        count.append(int(sel.sum()))
        conf.append(float(confidence[sel].mean()) if sel.any() else float("nan"))
        acc.append(float(np.asarray(correct)[sel].mean()) if sel.any() else float("nan"))
    return {"edges": edges.tolist(), "confidence": conf, "accuracy": acc, "count": count}


def mean_corruption_error(errors: dict[str, list[float]]) -> float:
    """CIFAR-style mean corruption error: the plain mean over corruptions and severities."""
    return float(np.mean([np.mean(v) for v in errors.values()]))


def mean_performance_under_corruption(performance: dict[str, Sequence[float]]) -> float:
    """mPC (Michaelis et al. 2019, "Benchmarking Robustness in Object Detection"): any metric
    where higher is better (accuracy, mAP, mIoU) given per corruption and severity, averaged
    over severities, then over corruptions."""
    if not performance or any(len(v) == 0 for v in performance.values()):
        raise ValueError("mPC needs at least one corruption, each with at least one severity")
    return float(np.mean([np.mean(v) for v in performance.values()]))


def relative_performance_under_corruption(performance: dict[str, Sequence[float]], clean: float) -> float:
    """rPC (Michaelis et al. 2019): mPC over the clean performance, the share of it kept under corruption."""
    if not clean > 0:
        raise ValueError(f"rPC divides by the clean performance, which must be > 0, got {clean}")
    return mean_performance_under_corruption(performance) / float(clean)


def imagenet_ce(errors: dict[str, list[float]], clean_error: float | None = None,
                alexnet: dict[str, float] = ALEXNET_ERR,
                alexnet_clean: float = ALEXNET_CLEAN_ERR) -> dict:
    """Per-corruption CE normalised by AlexNet, mCE, and (given ``clean_error``) relative mCE.

    ``alexnet`` holds AlexNet's *mean* error over severities per corruption, so
    sum_s E_s / sum_s E^AlexNet_s = mean_s E_s / mean-AlexNet.
    """
    missing = [c for c in BENCHMARK if c not in errors]
    if missing:
        raise ValueError(f"mCE needs all 15 benchmark corruptions; missing {', '.join(missing)}")
    ce = {c: float(np.mean(errors[c]) / alexnet[c]) for c in BENCHMARK}
    out: dict = {"ce": ce, "mce": float(np.mean(list(ce.values())))}
    if clean_error is not None:
        rel = {c: float((np.mean(errors[c]) - clean_error) / (alexnet[c] - alexnet_clean)) for c in BENCHMARK}
        out["relative_ce"] = rel
        out["relative_mce"] = float(np.mean(list(rel.values())))
    return out


# ----------------------------------------------------------------- perturbation stability (-P)
#
# As ``flip_prob`` and ``ranking_dist(mode='top5')`` of hendrycks/robustness ``ImageNet-P/test.py``
# (and ``cifar-p-eval.py``): for the noise perturbations every frame is compared with the
# first; for the others each frame with the previous one, at a step of ``difficulty`` frames
# (the published default, 1, compares neighbours). Each video's comparisons are averaged,
# then the videos.

def _frame_pairs(frames: int, noise: bool, difficulty: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(reference, compared) frame indices of the published loops."""
    if difficulty < 1:
        raise ValueError(f"difficulty must be >= 1, got {difficulty}")
    if noise:
        return np.zeros(frames - 1, dtype=np.int64), np.arange(1, frames)
    ref, cur = [], []
    for start in range(difficulty):
        idx = list(range(start, frames, difficulty))
        ref += idx[:-1]
        cur += idx[1:]
    return np.asarray(ref, dtype=np.int64), np.asarray(cur, dtype=np.int64)


def flip_rates(predictions: np.ndarray, noise: bool, difficulty: int = 1) -> np.ndarray:
    """Per-video flip probability from top-1 predictions [V, T]: the share of compared frame
    pairs whose predictions differ."""
    pred = np.asarray(predictions)
    if pred.ndim != 2 or pred.shape[1] < 2:
        raise ValueError(f"predictions must be [videos, frames >= 2], got shape {pred.shape}")
    ref, cur = _frame_pairs(pred.shape[1], noise, difficulty)
    return (pred[:, ref] != pred[:, cur]).mean(axis=1)


def top5_distances(logits: np.ndarray, noise: bool, difficulty: int = 1) -> np.ndarray:
    """Per-video top-5 distance from scores [V, T, K] (K >= 5).

    For a compared pair, the published ``dist(sigma, 'top5')``: with sigma the ranks in the
    later frame of the earlier frame's five best classes (ordinal ranks, ties broken by
    class index as ``rankdata(method='ordinal')`` does), the sum over i < 5 of
    ``|c(i) - c(sigma_i - 1)|`` where ``c(j) = min(j, 5)``.
    """
    scores = np.asarray(logits)
    if scores.ndim != 3 or scores.shape[1] < 2 or scores.shape[2] < 5:
        raise ValueError(f"scores must be [videos, frames >= 2, classes >= 5], got shape {scores.shape}")
    v, t, k = scores.shape
    order = np.argsort(-scores, axis=-1, kind="stable")  # classes, best first
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, k + 1)[None, None, :], axis=-1)
    ref, cur = _frame_pairs(t, noise, difficulty)
    top = order[:, ref, :5]                                        # [V, P, 5]
    sigma = np.take_along_axis(ranks[:, cur], top, axis=-1)        # their ranks in the compared frame
    cum = np.cumsum(np.asarray([0] + [1] * 5 + [0] * max(k - 1 - 5, 0)))
    dist = np.abs(cum[:5][None, None, :] - cum[sigma - 1]).sum(axis=-1)
    return dist.mean(axis=1)


def normalised_by_baseline(values: dict[str, float], baseline: dict[str, float],
                           names: tuple[str, ...]) -> dict:
    """``value_p / baseline_p`` for each of ``names`` and their mean (ImageNet-P's mFR and mT5D,
    which divide by AlexNet's flip rates and top-5 distances)."""
    missing = [p for p in names if p not in values or p not in baseline]
    if missing:
        raise ValueError(f"normalising needs {', '.join(names)}; missing {', '.join(missing)} in the model's or the "
                         "baseline's results")
    zero = [p for p in names if baseline[p] == 0]
    if zero:
        raise ValueError(f"the baseline's value for {', '.join(zero)} is 0; it cannot normalise")
    per = {p: float(values[p] / baseline[p]) for p in names}
    return {"per": per, "mean": float(np.mean(list(per.values())))}
