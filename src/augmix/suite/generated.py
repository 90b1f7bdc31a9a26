"""On-the-fly -C and -C-bar: a model evaluated on corrupted copies of its clean test data made in
memory, with no set written or downloaded.

The images are exactly those ``augmix corrupt --seed S`` would write for the same test images
(the same chunks and name-keyed streams, the generator's own functions), including the
released sets' last steps: truncation to uint8, and at 224 px the JPEG save at quality 85
(read back as stored, with no second resize). So the figures equal those of a folder written
with the same seed and the same ``--limit`` / ``--indices`` (a test holds them equal). Models
are fed the 224 px corrupted image itself, as ImageNet-C is read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from augmix.results import CorruptionResult
from augmix.suite.benchmark import Context


@dataclass(frozen=True)
class Generated:
    """A corrupted set to make in memory: which benchmark, with which seed."""

    benchmark: str  # "c" or "c-bar"
    seed: int

    def describe(self) -> str:
        return (f"generated in memory (seed {self.seed}), as `augmix corrupt --seed {self.seed}` writes it from the "
                "same test images")


class _CorruptedItems(torch.utils.data.Dataset):
    """Tree images corrupted as the generator writes them, read back through its JPEG (in workers):
    item ``j`` is image ``j % n`` under the ``j // n``-th (corruption, severity)."""

    def __init__(self, items: list, labels: np.ndarray, keys: list[tuple[str, int]], seed: int) -> None:
        self.items, self.labels, self.keys, self.seed = items, labels, keys, seed

    def __len__(self) -> int:
        return len(self.items) * len(self.keys)

    def __getitem__(self, j: int):
        from augmix.corruptions.generate import corrupt_item, jpeg_roundtrip

        (corruption, severity), i = self.keys[j // len(self.items)], j % len(self.items)
        arr = jpeg_roundtrip(corrupt_item(self.items[i], corruption, severity, self.seed, 224))
        return torch.from_numpy(np.array(arr)).permute(2, 0, 1), int(self.labels[i])


def evaluate_generated(handle: Generated, ctx: Context, names: tuple[str, ...]) -> CorruptionResult | None:
    """Error and calibration on each of ``names`` at severities 1-5, made in memory."""
    from augmix.corruptions.generate import corrupt_arrays
    from augmix.evaluate import corruption_result, model_input, one_line_oom, predict_arrays

    lm, clean, cfg = ctx.model, ctx.clean, ctx.config
    severities = [1, 2, 3, 4, 5]
    if not clean.is_tree:
        def predict(c: str, s: int):
            x = corrupt_arrays(clean.images, c, s, handle.seed)
            return predict_arrays(lm.model, x, lm.spec.mean_std, ctx.device, ctx.batch_size, progress=False), \
                clean.labels

        return corruption_result(list(names), severities, predict, handle.describe(), cfg.progress)

    # one loader (its workers started once) over every (corruption, severity), in the order
    # corruption_result asks for them, each batch within one of them
    keys = [(c, s) for c in names for s in severities]
    n, bs = len(clean.items), ctx.batch_size
    batches = [list(range(k * n + i, k * n + min(i + bs, n))) for k in range(len(keys)) for i in range(0, n, bs)]
    loader = torch.utils.data.DataLoader(_CorruptedItems(clean.items, clean.labels, keys, handle.seed),
                                         batch_sampler=batches, num_workers=cfg.workers)
    stream, order = iter(loader), iter(keys)
    lm.model.eval().to(ctx.device)

    @torch.no_grad()
    def predict_next(c: str, s: int):
        if (c, s) != next(order):  # (the loader runs ahead in this order)
            raise RuntimeError(f"corruptions asked for out of order at {c} severity {s}")
        logits, labels = [], []
        for _ in range(-(-n // bs)):
            x, y = next(stream)
            with one_line_oom(bs, ctx.device):
                logits.append(lm.model(model_input(x, lm.spec.mean_std, ctx.device)).float().cpu())
            labels.append(y)
        return torch.cat(logits).numpy(), torch.cat(labels).numpy()

    return corruption_result(list(names), severities, predict_next, handle.describe(), cfg.progress)
