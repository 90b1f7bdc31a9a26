"""The training data of a run: CIFAR-style arrays (CIFAR-10/100, digits) or ImageFolder trees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from augmix.data.normalization import mean_std_for
from augmix.train.config import TrainConfig


@dataclass
class TrainData:
    """Training images (uint8 NCHW tensor, or an ImageFolder) plus the test split."""

    num_classes: int
    mean_std: tuple
    provenance: dict
    train_x: torch.Tensor | None = None
    train_y: torch.Tensor | None = None
    test_x: np.ndarray | None = None  # uint8 NHWC
    test_y: np.ndarray | None = None
    train_folder: object | None = None
    val_folder: object | None = None
    classes: tuple[str, ...] | None = None  # class names in output order (the wnids of an ImageFolder)


def load_train_data(cfg: TrainConfig) -> TrainData:
    """Read the dataset ``cfg`` names (downloading CIFAR if needed and allowed)."""
    from augmix.data import load_cifar

    mean_std = mean_std_for(cfg.dataset)
    if cfg.dataset == "imagenet":
        from augmix.data.folders import image_folder_pair

        train_ds, val_ds = image_folder_pair(cfg.data_dir, cfg.stylized_dir)
        return TrainData(len(train_ds.classes), mean_std, {"train": str(train_ds.root), "test": str(val_ds.root)},
                         train_folder=train_ds, val_folder=val_ds, classes=tuple(train_ds.classes))
    if cfg.dataset == "digits":
        from augmix.data.digits import load_digits_rgb

        train, test = load_digits_rgb()
    else:
        train = load_cifar(cfg.dataset, cfg.data_dir, train=True)
        test = load_cifar(cfg.dataset, cfg.data_dir, train=False)
    x, y = train.images, train.labels
    if cfg.train_subset:
        x, y = x[:cfg.train_subset], y[:cfg.train_subset]
    return TrainData(
        len(train.classes), mean_std,
        {"train": train.source + (f" (first {len(y)})" if cfg.train_subset else ""), "test": test.source},
        train_x=torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))),
        train_y=torch.from_numpy(y), test_x=test.images, test_y=test.labels, classes=tuple(train.classes))


@torch.no_grad()
def test_error(model: torch.nn.Module, data: TrainData, cfg: TrainConfig, device: torch.device) -> float:
    """Clean top-1 error on the test split (CIFAR) or the validation folder."""
    from augmix.evaluate import predict_arrays, predict_samples

    if data.test_x is not None:
        logits = predict_arrays(model, data.test_x, data.mean_std, device, cfg.eval_batch_size, progress=False)
        return float(np.mean(logits.argmax(1) != data.test_y))
    logits, labels = predict_samples(model, data.val_folder.samples, data.mean_std, device, cfg.eval_batch_size,
                                     cfg.workers, progress=False)
    return float(np.mean(logits.argmax(1) != labels))
