"""Evaluation of classification error and calibration: clean, per corruption and severity
(-C and -C-bar), mCE, and the natural distribution shifts.

Works on our checkpoints and on external models (ours, torchvision's or timm's
architectures by name with a weights file), both loaded by ``augmix.checkpoint``.
Perturbation stability (-P) is ``augmix.stability``; the one-command run over every
benchmark is ``augmix.suite``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from augmix import metrics
from augmix.checkpoint import LoadedModel, load_external, load_model
from augmix.corruptions.tables import BENCHMARK


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
        out.append(model(model_input(x, mean_std, device)).float().cpu())
    return torch.cat(out).numpy()


@torch.no_grad()
def predict_folder(model: torch.nn.Module, folder, mean_std: tuple, device: torch.device, batch_size: int = 250,
                   workers: int = 2, *, resize: bool = True, progress: bool = True, desc: str = "predict"):
    """(logits, labels) for an ImageFolder root, or a list of (file, label) samples
    (Resize(256)+CenterCrop(224) when ``resize``)."""
    from torchvision.datasets import ImageFolder

    from augmix.data.folders import EvalImages, folder_samples

    if isinstance(folder, list):
        samples = folder
    else:
        samples = folder_samples(folder.root if isinstance(folder, ImageFolder) else folder)  # (a Path's .root is "/")
    ds = EvalImages(samples, resize)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=workers)
    model.eval().to(device)
    logits, labels = [], []
    for x, y in tqdm(loader, desc=desc, disable=not progress, leave=False):
        logits.append(model(model_input(x, mean_std, device)).float().cpu())
        labels.append(y)
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


def summarise(logits: np.ndarray, labels: np.ndarray) -> dict:
    """Error, RMS calibration error (Hendrycks), its direction (mean confidence minus
    accuracy), ECE and the raw confidences of one prediction set."""
    probs = F.softmax(torch.from_numpy(logits), 1).numpy()
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    return {"error": float(1 - correct.mean()), "rms_calib": metrics.calib_err(conf, correct),
            "calib_gap": metrics.calibration_gap(conf, correct), "ece": metrics.ece(conf, correct),
            "n": int(len(labels)), "_conf": conf, "_correct": correct}


def _public(d: dict) -> dict:
    return {k: v for k, v in d.items() if not k.startswith("_")}


def evaluate_cifar(lm: LoadedModel, test_x: np.ndarray, test_y: np.ndarray, cifar_c,
                   device: torch.device, corruptions=BENCHMARK, batch_size: int = 500,
                   progress: bool = True) -> dict:
    """Clean and CIFAR-C results: per corruption x severity error and calibration, and means."""
    clean = evaluate_clean_arrays(lm, test_x, test_y, device, batch_size, progress)
    result = {"clean": _public(clean), "clean_reliability": metrics.reliability(clean["_conf"], clean["_correct"])}
    if cifar_c is not None:
        result.update(corrupted_arrays(lm, cifar_c, device, corruptions, batch_size, progress))
    return result


def evaluate_clean_arrays(lm: LoadedModel, x: np.ndarray, y: np.ndarray, device: torch.device,
                          batch_size: int = 500, progress: bool = True, desc: str = "clean") -> dict:
    """``summarise`` of a labelled array set (with the raw confidences, for reliability)."""
    if len(y) and int(y.max()) >= lm.spec.num_classes:
        raise ValueError(f"the model has {lm.spec.num_classes} classes but the labels go up to {int(y.max())}")
    return summarise(predict_arrays(lm.model, x, lm.spec.mean_std, device, batch_size, progress=progress,
                                    desc=desc), y)


def corrupted_arrays(lm: LoadedModel, cifar_c, device: torch.device, corruptions=BENCHMARK, batch_size: int = 500,
                     progress: bool = True) -> dict:
    """Error and calibration per corruption and severity of a CIFAR-C style folder (-C or -C-bar)."""
    def predict(c: str, s: int):
        logits = predict_arrays(lm.model, cifar_c.images(c, s), lm.spec.mean_std, device, batch_size, progress=False)
        return logits, cifar_c.labels(s)

    names = [c for c in corruptions if c in cifar_c.corruptions]
    return corruption_results(names, list(cifar_c.severities), predict, progress)


def evaluate_imagenet(lm: LoadedModel, val_dir, folder_c, device: torch.device, corruptions=BENCHMARK,
                      batch_size: int = 100, workers: int = 2, progress: bool = True) -> dict:
    """Clean (Resize 256, CenterCrop 224) and ImageNet-C (as stored) results, with mCE."""
    logits, labels = predict_folder(lm.model, val_dir, lm.spec.mean_std, device, batch_size, workers, resize=True,
                                    progress=progress, desc="clean")
    clean = summarise(logits, labels)
    result = {"clean": _public(clean), "clean_reliability": metrics.reliability(clean["_conf"], clean["_correct"])}
    if folder_c is not None:
        result.update(corrupted_folders(lm, folder_c, device, corruptions, batch_size, workers, progress))
        if all(c in result.get("corruptions", {}) for c in BENCHMARK):
            result.update(metrics.imagenet_ce({c: result["corruptions"][c]["error"] for c in BENCHMARK},
                                              clean["error"]))
    return result


def corrupted_folders(lm: LoadedModel, folder_c, device: torch.device, corruptions=BENCHMARK,
                      batch_size: int = 100, workers: int = 2, progress: bool = True) -> dict:
    """Error and calibration per corruption and severity of an ImageNet-C style tree (-C or -C-bar)."""
    def predict(c: str, s: int):
        return predict_folder(lm.model, folder_c.folder(c, s), lm.spec.mean_std, device, batch_size, workers,
                              resize=False, progress=False)

    names = [c for c in corruptions if c in folder_c.corruptions]
    return corruption_results(names, [1, 2, 3, 4, 5], predict, progress)


def corruption_results(names: list[str], severities: list[int], predict, progress: bool = True) -> dict:
    """For each corruption and severity, ``summarise(*predict(c, s))``; then the means."""
    if not names:
        return {}
    per: dict[str, dict] = {}
    pooled_conf, pooled_correct = [], []
    for c in tqdm(names, desc="corruptions", disable=not progress):
        rows: dict[str, list] = {"error": [], "rms_calib": [], "calib_gap": [], "ece": []}
        for s in severities:
            r = summarise(*predict(c, s))
            for k in rows:
                rows[k].append(r[k])
            pooled_conf.append(r["_conf"])
            pooled_correct.append(r["_correct"])
        per[c] = rows
    conf, correct = np.concatenate(pooled_conf), np.concatenate(pooled_correct)
    return {"corruptions": per, "severities": severities,
            "mean_corruption_error": metrics.mean_corruption_error({c: v["error"] for c, v in per.items()}),
            "corruptions_evaluated": len(per),
            "per_severity": {key: [float(np.mean([per[c][key][k] for c in per])) for k in range(len(severities))]
                             for key in ("error", "rms_calib", "calib_gap", "ece")},
            "corrupted_rms_calib_mean": float(np.mean([np.mean(v["rms_calib"]) for v in per.values()])),
            "corrupted_calib_gap_mean": float(np.mean([np.mean(v["calib_gap"]) for v in per.values()])),
            "corrupted_rms_calib_pooled": metrics.calib_err(conf, correct),
            "corrupted_reliability": metrics.reliability(conf, correct)}


def evaluate_imagenet_shift(lm: LoadedModel, shift, device: torch.device, batch_size: int = 100, workers: int = 2,
                            progress: bool = True) -> dict:
    """Error and calibration on a natural ImageNet shift (``data.natural.ShiftFolder``), on the
    classes the model and the set share, with the logits of those classes only (for a
    1000-class model on ImageNet-R/-A: the published 200-logit evaluation)."""
    from augmix.data.natural import class_subset, model_classes

    samples, keep, shared = class_subset(model_classes(lm.spec.num_classes, lm.spec.classes), shift)
    logits, labels = predict_folder(lm.model, samples, lm.spec.mean_std, device, batch_size, workers, resize=True,
                                    progress=progress, desc=shift.name)
    r = _public(summarise(logits[:, keep], labels))
    return {**r, "classes": len(shared), "classes_of_set": len(shift.wnids), "images_of_set": len(shift.samples)}


def resolve_device(device: str | None) -> torch.device:
    """``device`` as a torch device (default: CUDA when present), refusing one this machine lacks."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"device {device} is not available on this machine ({torch.cuda.device_count()} CUDA "
                         "devices); use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {device!r}; use cpu, cuda or cuda:N")
    return dev


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
