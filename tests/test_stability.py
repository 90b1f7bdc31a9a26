"""Flip probability, top-5 distance and their normalised means, against hand-computed sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from augmix.checkpoint import LoadedModel, ModelSpec
from augmix.data.perturbed import open_cifar_p
from augmix.evaluate import Predictor
from augmix.metrics import flip_rates, normalised_by_baseline, top5_distances
from augmix.perturbations.tables import CIFAR_TEST, IMAGENET_TEST
from augmix.results import PerturbationScores
from augmix.stability import evaluate_cifar_p, normalise_by, summarise_stability


def test_flip_probability_by_hand():
    pred = np.array([[0, 0, 1, 1, 0]])
    # consecutive frames: (0,0) (0,1) (1,1) (1,0) -> 2 flips of 4
    assert flip_rates(pred, noise=False)[0] == pytest.approx(0.5)
    # noise: every frame against the first: 0 1 1 0 -> 2 of 4
    assert flip_rates(pred, noise=True)[0] == pytest.approx(0.5)
    # difficulty 2: frames 0,2,4 (0->1, 1->0) and 1,3 (0->1): 3 of 3
    assert flip_rates(pred, noise=False, difficulty=2)[0] == pytest.approx(1.0)
    pred = np.array([[3, 3, 3, 4], [1, 2, 1, 2]])
    assert flip_rates(pred, noise=False).tolist() == pytest.approx([1 / 3, 1.0])
    assert flip_rates(pred, noise=True).tolist() == pytest.approx([1 / 3, 2 / 3])


def _frame(order: list[int]) -> np.ndarray:
    """Scores whose ranking is ``order`` (best first)."""
    s = np.zeros(len(order))
    s[order] = np.arange(len(order), 0, -1)
    return s


def test_top5_distance_by_hand():
    a = _frame([0, 1, 2, 3, 4, 5])
    swap_top = _frame([1, 0, 2, 3, 4, 5])   # sigma = (2, 1, 3, 4, 5): |0-1| + |1-0| = 2
    drop_fifth = _frame([0, 1, 2, 3, 5, 4])  # sigma = (1, 2, 3, 4, 6): |4 - min(5, 5)| = 1
    v = np.stack([a, swap_top, drop_fifth])[None]
    # previous frame: (a, swap_top) = 2; (swap_top, drop_fifth): swap_top's top five 1,0,2,3,4 have ranks
    # 2,1,3,4,6 in drop_fifth -> |0-1| + |1-0| + |4-5| = 3; mean 2.5
    assert top5_distances(v, noise=False)[0] == pytest.approx(2.5)
    assert top5_distances(v, noise=True)[0] == pytest.approx((2 + 1) / 2)
    assert top5_distances(np.stack([a, a])[None], noise=False)[0] == 0
    with pytest.raises(ValueError, match="classes >= 5"):
        top5_distances(np.zeros((1, 3, 4)), noise=False)


def test_normalising_by_a_baseline_with_given_constants():
    ours = {p: 0.1 for p in IMAGENET_TEST}
    base = {p: 0.2 for p in IMAGENET_TEST} | {"gaussian_noise": 0.4}
    out = normalised_by_baseline(ours, base, IMAGENET_TEST)
    assert out["per"]["gaussian_noise"] == pytest.approx(0.25) and out["per"]["rotate"] == pytest.approx(0.5)
    assert out["mean"] == pytest.approx((0.25 + 9 * 0.5) / 10)
    with pytest.raises(ValueError, match="missing tilt"):
        normalised_by_baseline({p: 0.1 for p in IMAGENET_TEST if p != "tilt"}, base, IMAGENET_TEST)
    with pytest.raises(ValueError, match="is 0"):
        normalised_by_baseline(ours, base | {"scale": 0.0}, IMAGENET_TEST)
    def entry(fp, t5):
        return PerturbationScores(flip_probability=fp, top5_distance=t5, videos=1, frames=2,
                                  compared_with="previous frame", difficulty=1)

    res = summarise_stability({p: entry(0.1, 0.3) for p in IMAGENET_TEST}, "imagenet")
    assert res.mean_flip_probability == pytest.approx(0.1)
    norm = normalise_by(res, summarise_stability({p: entry(0.2, 0.6) for p in IMAGENET_TEST}, "imagenet"))
    assert norm.mfr == pytest.approx(0.5) and norm.mt5d == pytest.approx(0.5)


class _Brightness(torch.nn.Module):
    """Class = how bright the frame is (10 bins): flips exactly where a sequence crosses a bin edge."""

    def forward(self, x):
        level = ((x.mean(dim=(1, 2, 3)) + 1) / 2 * 10).clamp(0, 9.999).floor().long()
        out = torch.zeros(len(x), 10)
        out[torch.arange(len(x)), level] = 10.0
        return out - torch.arange(10.0) * 0.01  # ties broken towards low classes


def test_cifar_p_evaluation_counts_the_flips_it_should(tmp_path):
    # 2 videos of 5 uniform frames: values chosen so the brightness class goes 5 5 6 6 5 and 2 2 2 2 2
    vals = np.array([[130, 140, 160, 170, 140], [60, 55, 58, 62, 60]], dtype=np.uint8)
    videos = np.broadcast_to(vals[:, :, None, None, None], (2, 5, 32, 32, 3)).copy()
    for p in CIFAR_TEST:
        np.save(tmp_path / f"{p}.npy", videos)
    lm = LoadedModel(_Brightness(), ModelSpec("x", 10, (0.5,) * 3, (0.5,) * 3), "test")
    res = evaluate_cifar_p(Predictor(lm, torch.device("cpu"), progress=False), open_cifar_p(tmp_path, expected_n=2))
    # previous frame: video 1 flips twice in 4 pairs, video 2 never: (0.5 + 0) / 2
    assert res.per["rotate"].flip_probability == pytest.approx(0.25)
    # noise: against the first frame (5): 5 6 6 5 -> 2 of 4 flips; video 2 none
    assert res.per["gaussian_noise"].flip_probability == pytest.approx(0.25)
    assert res.per["rotate"].compared_with == "previous frame"
    assert res.mean_flip_probability == pytest.approx(0.25) and res.test_set == list(CIFAR_TEST)
    # scores rank the predicted class first, then classes 0, 1, 2, ...: at a change from 5 to 6 the old
    # top class falls to rank 7 and the other four keep theirs, |c(0) - c(6)| = 5 per flip
    assert res.per["rotate"].top5_distance == pytest.approx((5 * 2 / 4 + 0) / 2)
