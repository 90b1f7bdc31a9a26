"""Evaluation building blocks: predictions of a model on arrays and image folders, and their
error and calibration as typed records (``augmix.results``).

Works on our checkpoints and on external models (ours, torchvision's or timm's
architectures by name with a weights file), both loaded by ``augmix.checkpoint``. Each
benchmark's evaluation (``augmix.suite``) is written with these; -P stability is
``augmix.stability``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from augmix import metrics
from augmix.checkpoint import LoadedModel, load_external, load_model
from augmix.data.images import Resize
from augmix.memory import one_line_oom
from augmix.results import CleanResult, CorruptionResult, Reliability, Scores, SeverityScores


def model_input(x: torch.Tensor, mean_std: tuple, device: torch.device) -> torch.Tensor:
    """uint8 images [N, 3, H, W] as the model's normalised float input on ``device``."""
    mean = torch.tensor(mean_std[0], device=device).view(1, -1, 1, 1)
    std = torch.tensor(mean_std[1], device=device).view(1, -1, 1, 1)
    return (x.to(device).float() / 255 - mean) / std


def logits_of(model: torch.nn.Module, x: torch.Tensor, mean_std: tuple, device: torch.device,
              batch_size: int) -> torch.Tensor:
    """Float32 logits on the CPU of one batch of uint8 images [N, 3, H, W], an allocator failure
    as one line naming ``batch_size`` (the one forward pass every prediction helper makes)."""
    with one_line_oom(batch_size, device):
        return model(model_input(x, mean_std, device)).float().cpu()


@torch.no_grad()
def predict_arrays(model: torch.nn.Module, images: np.ndarray, mean_std: tuple, device: torch.device,
                   batch_size: int = 500, *, progress: bool = True, desc: str = "predict") -> np.ndarray:
    """Logits [N, K] (float32) for uint8 images [N, H, W, 3]."""
    model.eval().to(device)
    out = []
    for i in tqdm(range(0, len(images), batch_size), desc=desc, disable=not progress, leave=False):
        x = torch.from_numpy(np.array(images[i:i + batch_size])).permute(0, 3, 1, 2)
        out.append(logits_of(model, x, mean_std, device, batch_size))
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(out).numpy()


@torch.no_grad()
def predict_samples(model: torch.nn.Module, samples: list[tuple[str | Path, int]], mean_std: tuple,
                    device: torch.device, batch_size: int = 100, workers: int = 2, *, resize: Resize = Resize.ALWAYS,
                    progress: bool = True, desc: str = "predict") -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) of (file, label) samples read in DataLoader workers, sized as ``resize`` says
    (default: Resize(256) + CenterCrop(224))."""
    from augmix.data.images import EvalImages

    loader = torch.utils.data.DataLoader(EvalImages(samples, resize), batch_size=batch_size, num_workers=workers)
    model.eval().to(device)
    logits, labels = [], []
    for x, y in tqdm(loader, desc=desc, disable=not progress, leave=False):
        logits.append(logits_of(model, x, mean_std, device, batch_size))
        labels.append(y)
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


@dataclass(frozen=True)
class Predictor:
    """A loaded model bound to how every benchmark feeds it: its input normalisation, the device,
    the batch size (with the out-of-memory guard), DataLoader workers for image files, and whether
    to show progress. Each benchmark calls it instead of threading these through by hand."""

    loaded: LoadedModel
    device: torch.device
    batch_size: int = 500
    workers: int = 2
    progress: bool = True

    def arrays(self, images: np.ndarray, desc: str | None = None) -> np.ndarray:
        """Logits [N, K] of uint8 images [N, H, W, 3] (a progress bar named ``desc``, when given)."""
        lm = self.loaded
        return predict_arrays(lm.model, images, lm.spec.mean_std, self.device, self.batch_size,
                              progress=self.progress and desc is not None, desc=desc or "predict")

    def samples(self, samples: list[tuple[str | Path, int]], resize: Resize = Resize.ALWAYS,
                desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(logits, labels) of (file, label) samples, read in the DataLoader workers."""
        lm = self.loaded
        return predict_samples(lm.model, samples, lm.spec.mean_std, self.device, self.batch_size, self.workers,
                               resize=resize, progress=self.progress and desc is not None, desc=desc or "predict")

    @torch.no_grad()
    def tensors(self, x: torch.Tensor) -> np.ndarray:
        """Logits [N, K] of uint8 images [N, 3, H, W] already in memory, in batches."""
        lm = self.loaded
        model = lm.model.eval().to(self.device)
        bs = self.batch_size
        out = [logits_of(model, x[i:i + bs], lm.spec.mean_std, self.device, bs) for i in range(0, len(x), bs)]
        return torch.cat(out).numpy() if out else np.zeros((0, lm.spec.num_classes), np.float32)

    def videos(self, videos: np.ndarray) -> np.ndarray:
        """Logits [V, T, K] of uint8 videos [V, T, H, W, 3]."""
        v, t = videos.shape[:2]
        x = torch.from_numpy(np.array(videos)).reshape(v * t, *videos.shape[2:]).permute(0, 3, 1, 2)
        return self.tensors(x).reshape(v, t, -1)


def outcomes(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the softmax confidence of the top class, and whether that class is the label."""
    probs = F.softmax(torch.from_numpy(np.asarray(logits, dtype=np.float32)), 1).numpy()
    return probs.max(1), probs.argmax(1) == np.asarray(labels)


class Scored:
    """``Scores`` of one prediction set, with the per-image confidences kept for pooling."""

    def __init__(self, logits: np.ndarray, labels: np.ndarray) -> None:
        self._score(*outcomes(logits, labels))

    @classmethod
    def of(cls, conf: np.ndarray, correct: np.ndarray) -> Scored:
        """The scores of per-image confidences and correctness already taken from logits (``outcomes``)."""
        scored = cls.__new__(cls)
        scored._score(conf, correct)
        return scored

    def _score(self, conf: np.ndarray, correct: np.ndarray) -> None:
        self.conf, self.correct = conf, correct
        self.scores = Scores(error=float(1 - self.correct.mean()), rms_calib=metrics.calib_err(self.conf, self.correct),
                             calib_gap=metrics.calibration_gap(self.conf, self.correct),
                             ece=metrics.ece(self.conf, self.correct), n=int(len(self.correct)))

    def reliability(self) -> Reliability:
        return reliability(self.conf, self.correct)


def reliability(conf: np.ndarray, correct: np.ndarray) -> Reliability:
    r = metrics.reliability(conf, correct)
    return Reliability(edges=r["edges"], confidence=r["confidence"], accuracy=r["accuracy"], count=r["count"])


def score(logits: np.ndarray, labels: np.ndarray) -> Scores:
    """Error, RMS calibration error (Hendrycks), calibration gap (mean confidence - accuracy) and ECE."""
    return Scored(logits, labels).scores


def clean_result(logits: np.ndarray, labels: np.ndarray, data: str) -> CleanResult:
    s = Scored(logits, labels)
    return CleanResult(data=data, scores=s.scores, reliability=s.reliability())


def check_labels(lm: LoadedModel, labels: np.ndarray, what: str) -> None:
    """Refuse labels the model has no output for (a set of another dataset)."""
    if len(labels) and int(np.max(labels)) >= lm.spec.num_classes:
        raise ValueError(f"the model has {lm.spec.num_classes} classes but the labels of {what} go up to "
                         f"{int(np.max(labels))}; it is a set of another dataset")


def corruption_result(names: list[str], severities: list[int],
                      predict: Callable[[str, int], tuple[np.ndarray, np.ndarray] | Scored], data: str,
                      progress: bool = True) -> CorruptionResult | None:
    """For each corruption and severity, the scores of ``predict(c, s)`` = (logits, labels), or
    its ``Scored`` where the predictions were made ahead; then the means."""
    if not names:
        return None
    per: dict[str, SeverityScores] = {}
    pooled_conf, pooled_correct = [], []
    for c in tqdm(names, desc="corruptions", disable=not progress):
        rows: dict[str, list[float]] = {"error": [], "rms_calib": [], "calib_gap": [], "ece": []}
        for s in severities:
            made = predict(c, s)
            r = made if isinstance(made, Scored) else Scored(*made)
            for k in rows:
                rows[k].append(getattr(r.scores, k))
            pooled_conf.append(r.conf)
            pooled_correct.append(r.correct)
        per[c] = SeverityScores(**rows)
    conf, correct = np.concatenate(pooled_conf), np.concatenate(pooled_correct)

    def mean_over_corruptions(key: str) -> list[float]:
        return [float(np.mean([getattr(per[c], key)[k] for c in per])) for k in range(len(severities))]

    return CorruptionResult(
        data=data, severities=list(severities), per=per,
        mean_error=metrics.mean_corruption_error({c: v.error for c, v in per.items()}),
        per_severity=SeverityScores(*(mean_over_corruptions(k) for k in ("error", "rms_calib", "calib_gap", "ece"))),
        rms_calib_mean=float(np.mean([np.mean(v.rms_calib) for v in per.values()])),
        calib_gap_mean=float(np.mean([np.mean(v.calib_gap) for v in per.values()])),
        rms_calib_pooled=metrics.calib_err(conf, correct), reliability=reliability(conf, correct))


def open_model(checkpoint: str | Path | None, arch: str | None, weights: str | Path | None, num_classes: int,
               dataset: str, *, allow_other_dataset: bool = False) -> LoadedModel:
    """Our checkpoint, or ``arch`` with ``weights``, checked against the evaluation data."""
    from augmix.data.normalization import mean_std_for

    if checkpoint is not None:
        if arch is not None or weights is not None:
            raise ValueError("give a checkpoint or --arch with --weights, not both")
        lm = load_model(checkpoint, dataset=dataset, num_classes=num_classes,
                        allow_other_dataset=allow_other_dataset)
    elif arch is None:
        raise ValueError("give an augmix checkpoint, or --arch NAME with --weights FILE")
    elif weights is None:
        raise ValueError(f"--arch {arch} needs --weights FILE (a model with random weights is not worth evaluating)")
    else:
        lm = load_external(arch, weights, num_classes, mean_std_for(dataset), dataset)
    if lm.spec.num_classes != num_classes:
        raise ValueError(f"the model has {lm.spec.num_classes} output classes but {dataset} has {num_classes}")
    return lm
