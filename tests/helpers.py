"""Small datasets written in the official on-disk layouts, for end-to-end tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from tests.conftest import smooth_images


def write_cifar10(root: Path, n_train: int = 200, n_test: int = 100, seed: int = 0) -> Path:
    """A small CIFAR-10 in the official python layout (5 data batches, test batch, meta).

    Labels are learnable: each class has its own dominant colour.
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def make(n: int) -> tuple[np.ndarray, list[int]]:
        y = rng.integers(0, 10, n)
        x = smooth_images(n, 32, seed=int(rng.integers(1 << 30))).astype(np.int32) // 2
        x[..., 0] += (y[:, None, None] * 12)
        x[..., 2] += ((9 - y)[:, None, None] * 12)
        x = np.clip(x, 0, 255).astype(np.uint8)
        return x.transpose(0, 3, 1, 2).reshape(n, -1), y.tolist()

    per = n_train // 5
    for i in range(1, 6):
        data, labels = make(per)
        with open(folder / f"data_batch_{i}", "wb") as f:
            pickle.dump({"batch_label": f"training batch {i} of 5", "labels": labels, "data": data,
                         "filenames": [f"{k}.png" for k in range(per)]}, f)
    data, labels = make(n_test)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"batch_label": "testing batch 1 of 1", "labels": labels, "data": data}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{k}" for k in range(10)], "num_cases_per_batch": per}, f)
    return root


def write_checkpoint(path: Path, classes: int = 10, dataset: str = "cifar10") -> Path:
    """An augmix checkpoint of the tiny CNN with seeded random weights (for tests of the pipeline,
    not of accuracy)."""
    import torch

    from augmix.checkpoint import ModelSpec, build_model, save_checkpoint

    torch.manual_seed(0)
    spec = ModelSpec("tiny", classes, (0.5,) * 3, (0.5,) * 3, dataset)
    save_checkpoint(path, spec, build_model(spec).state_dict(), epoch=1)
    return path
