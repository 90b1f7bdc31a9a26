"""Evaluation building blocks: predictions of a model on arrays and image folders, and their
error and calibration as typed records (``augmix.results``).

Works on our checkpoints and on external models (ours, torchvision's or timm's
architectures by name with a weights file), both loaded by ``augmix.checkpoint``. Each
benchmark's evaluation (``augmix.suite``) is written with these; -P stability is
``augmix.stability``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from augmix import metrics
from augmix.checkpoint import LoadedModel, load_external, load_model
from augmix.results import CleanResult, CorruptionResult, Reliability, Scores, SeverityScores


def available_memory(device: torch.device) -> int:
    """Bytes free for tensors on ``device`` (the CPU: Linux's MemAvailable, else all of it)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_batch(batch_size: int, image_shape: tuple[int, ...], device: torch.device) -> None:
    """Refuse, before any work, a batch whose float inputs alone would not fit in free memory."""
    need = batch_size * int(np.prod(image_shape)) * 4 * 2  # the float input and its normalised copy
    free = available_memory(device)
    if need > free:
        raise ValueError(f"--batch-size {batch_size} needs {need / 2 ** 30:.1f} GiB for its inputs alone, more than "
                         f"the {free / 2 ** 30:.1f} GiB free on {device}; use a smaller --batch-size")


@contextlib.contextmanager
def one_line_oom(batch_size: int, device: torch.device):
    """An allocator failure inside a batch as one line that says what to change."""
    try:
        yield
    except (torch.OutOfMemoryError, RuntimeError) as err:
        text = str(err)
        if not isinstance(err, torch.OutOfMemoryError) and "memory" not in text.lower():
            raise
        raise ValueError(f"out of memory on {device} with --batch-size {batch_size}; use a smaller --batch-size"
                         ) from None


def model_input(x: torch.Tensor, mean_std: tuple, device: torch.device) -> torch.Tensor:
    """uint8 images [N, 3, H, W] as the model's normalised float input on ``device``."""
    mean = torch.tensor(mean_std[0], device=device).view(1, -1, 1, 1)
    std = torch.tensor(mean_std[1], device=device).view(1, -1, 1, 1)
    return (x.to(device).float() / 255 - mean) / std


@torch.no_grad()
def predict_arrays(model: torch.nn.Module, images: np.ndarray, mean_std: tuple, device: torch.device,
                   batch_size: int = 500, *, progress: bool = True, desc: str = "predict") -> np.ndarray:
    """Logits [N, K] (float32) for uint8 images [N, H, W, 3]."""
    model.eval().to(device)
    out = []
    for i in tqdm(range(0, len(images), batch_size), desc=desc, disable=not progress, leave=False):
        x = torch.from_numpy(np.array(images[i:i + batch_size])).permute(0, 3, 1, 2)
        with one_line_oom(batch_size, device):
            out.append(model(model_input(x, mean_std, device)).float().cpu())
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(out).numpy()


@torch.no_grad()
def predict_samples(model: torch.nn.Module, samples: list[tuple[str | Path, int]], mean_std: tuple,
                    device: torch.device, batch_size: int = 100, workers: int = 2, *, resize: bool | str = True,
                    progress: bool = True, desc: str = "predict") -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) of (file, label) samples read in DataLoader workers (Resize(256) +
    CenterCrop(224) when ``resize``; else as stored)."""
    from augmix.data.images import EvalImages

    loader = torch.utils.data.DataLoader(EvalImages(samples, resize), batch_size=batch_size, num_workers=workers)
    model.eval().to(device)
    logits, labels = [], []
    for x, y in tqdm(loader, desc=desc, disable=not progress, leave=False):
        with one_line_oom(batch_size, device):
            logits.append(model(model_input(x, mean_std, device)).float().cpu())
        labels.append(y)
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


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
