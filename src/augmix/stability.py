"""Perturbation stability on the -P benchmarks: flip probability and top-5 distance per
perturbation, and their means (Hendrycks & Dietterich, ICLR 2019).

Frames are classified as stored (CIFAR-P arrays, or ImageNet-P videos decoded as the
published ``VideoFolder`` does); the metrics are ``metrics.flip_rates`` and
``metrics.top5_distances``. The summary follows the published scripts: CIFAR's mean flip
probability averages ``CIFAR_TEST`` (cifar-p-eval.py); ImageNet-P's mFR and mT5D average
``IMAGENET_TEST``, each perturbation divided by AlexNet's - whose per-perturbation values
the papers do not print, so they come from a baseline results.json (e.g. torchvision's
AlexNet evaluated by ``augmix evaluate`` on the same set).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from tqdm import tqdm

from augmix import metrics
from augmix.evaluate import Predictor
from augmix.perturbations.tables import ALL, CIFAR_TEST, IMAGENET_TEST, is_noise
from augmix.results import PerturbationScores, StabilityResult


def _stability(scores_iter, noise: bool, difficulty: int) -> tuple[float, float | None, int, int]:
    """(flip probability, top-5 distance, videos, frames) over batches of video scores; the top-5
    distance is None for a model of fewer than 5 classes."""
    fp, t5, n, frames = [], [], 0, 0
    for scores in scores_iter:
        fp.append(metrics.flip_rates(scores.argmax(-1), noise, difficulty))
        if scores.shape[-1] >= 5:
            t5.append(metrics.top5_distances(scores, noise, difficulty))
        n += len(scores)
        frames = scores.shape[1]
    return float(np.concatenate(fp).mean()), float(np.concatenate(t5).mean()) if t5 else None, n, frames


def evaluate_cifar_p(predict: Predictor, cifar_p, names=None, difficulty: int = 1, rows: np.ndarray | None = None,
                     data: str = "") -> StabilityResult:
    """Flip probability and top-5 distance of every perturbation in a CIFAR-P folder (of the
    videos ``rows`` only, when given: a subset of the test split)."""
    present = cifar_p.perturbations
    names = [p for p in (names or ALL) if p in present]
    per = {}
    for p in tqdm(names, desc="perturbations", disable=not predict.progress):
        videos = cifar_p.videos(p)
        count = len(videos) if rows is None else len(rows)
        step = max(1, predict.batch_size // videos.shape[1])

        def chunk(i: int, videos=videos, step=step) -> np.ndarray:
            return videos[i:i + step] if rows is None else videos[np.sort(rows[i:i + step])]

        chunks = (predict.videos(chunk(i)) for i in range(0, count, step))
        per[p] = _entry(*_stability(chunks, is_noise(p), difficulty), is_noise(p), difficulty)
    return summarise_stability(per, "cifar", data=data or cifar_p.provenance)


class _Videos(torch.utils.data.Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        from augmix.data.perturbed import read_video

        return torch.from_numpy(read_video(self.items[i][0]))


def evaluate_folder_p(predict: Predictor, folder_p, names=None, difficulty: int = 1, rows: np.ndarray | None = None,
                      data: str = "") -> StabilityResult:
    """Flip probability and top-5 distance of every perturbation in an ImageNet-P tree (of the
    videos ``rows`` of each perturbation's listing only, when given)."""
    present = folder_p.perturbations
    names = [p for p in (names or ALL) if p in present]
    per = {}
    for p in tqdm(names, desc="perturbations", disable=not predict.progress):
        items = folder_p.videos(p)
        if rows is not None:
            items = [items[i] for i in rows]
        first = _Videos(items)[0]
        per_batch = max(1, predict.batch_size // len(first))
        loader = torch.utils.data.DataLoader(_Videos(items), batch_size=per_batch, num_workers=predict.workers,
                                             collate_fn=_stack_same_length)
        chunks = (predict.videos(batch.numpy()) for batch in loader)
        per[p] = _entry(*_stability(chunks, is_noise(p), difficulty), is_noise(p), difficulty)
    return summarise_stability(per, "imagenet", data=data or f"ImageNet-P videos {folder_p.root}")


def _stack_same_length(batch: list[torch.Tensor]) -> torch.Tensor:
    lengths = {len(v) for v in batch}
    if len(lengths) != 1:
        raise ValueError(f"videos of one perturbation have different lengths ({sorted(lengths)} frames); the set is "
                         "damaged - replace the odd files")
    return torch.stack(batch)


def _entry(fp: float, t5d: float | None, videos: int, frames: int, noise: bool, difficulty: int) -> PerturbationScores:
    return PerturbationScores(flip_probability=fp, top5_distance=t5d, videos=videos, frames=frames,
                              compared_with="first frame" if noise else "previous frame", difficulty=difficulty)


def summarise_stability(per: dict[str, PerturbationScores], kind: str, baseline: StabilityResult | None = None,
                        data: str = "") -> StabilityResult:
    """Per-perturbation results and the published means.

    ``kind`` cifar: mean flip probability and top-5 distance over ``CIFAR_TEST``; imagenet:
    over ``IMAGENET_TEST``, plus mFR and mT5D when ``baseline`` (another model's -P record, e.g.
    AlexNet's) is given. A mean is left out unless all its perturbations are present.
    """
    test = CIFAR_TEST if kind == "cifar" else IMAGENET_TEST
    out = StabilityResult(data=data, per=per, test_set=list(test))
    if all(p in per for p in test):
        t5 = [per[p].top5_distance for p in test]
        out = replace(out, mean_flip_probability=float(np.mean([per[p].flip_probability for p in test])),
                      mean_top5_distance=float(np.mean(t5)) if all(v is not None for v in t5) else None)
    else:
        out = replace(out, missing_for_means=[p for p in test if p not in per])
    return normalise_by(out, baseline) if baseline is not None else out


def normalise_by(results: StabilityResult, baseline: StabilityResult, source: str | None = None) -> StabilityResult:
    """``results`` with mFR (and mT5D, where both have top-5 distances: models of 5 classes or
    more) against ``baseline``'s -P record."""
    fr = metrics.normalised_by_baseline({p: v.flip_probability for p, v in results.per.items()},
                                        {p: v.flip_probability for p, v in baseline.per.items()}, IMAGENET_TEST)
    out = replace(results, mfr=fr["mean"], flip_rate=fr["per"], baseline=source)
    ours = {p: v.top5_distance for p, v in results.per.items() if v.top5_distance is not None}
    theirs = {p: v.top5_distance for p, v in baseline.per.items() if v.top5_distance is not None}
    if all(p in ours and p in theirs for p in IMAGENET_TEST):
        t5 = metrics.normalised_by_baseline(ours, theirs, IMAGENET_TEST)
        out = replace(out, mt5d=t5["mean"], top5_distance_rate=t5["per"])
    return out
