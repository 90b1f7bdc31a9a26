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
from tqdm import tqdm

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


class _CorruptedPhotos(torch.utils.data.Dataset):
    """Tree images, each decoded and resized once, corrupted under every (corruption, severity)
    of ``keys`` as the generator writes them and read back through its JPEG (in workers):
    item ``i`` is ``[len(keys), 3, 224, 224]`` uint8 and its label."""

    def __init__(self, items: list, labels: np.ndarray, keys: list[tuple[str, int]], seed: int) -> None:
        self.items, self.labels, self.keys, self.seed = items, labels, keys, seed

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        from augmix.corruptions.generate import corrupt_prepared, jpeg_roundtrip, output_name, preprocess

        item = self.items[i]
        img, name = np.asarray(preprocess(item.load(), 224)), output_name(item)
        out = np.stack([jpeg_roundtrip(corrupt_prepared(img, name, c, s, self.seed)) for c, s in self.keys])
        return torch.from_numpy(out).permute(0, 3, 1, 2), int(self.labels[i])


def evaluate_generated(handle: Generated, ctx: Context, names: tuple[str, ...]) -> CorruptionResult | None:
    """Error and calibration on each of ``names`` at severities 1-5, made in memory."""
    from augmix.corruptions.generate import corrupt_arrays
    from augmix.evaluate import Scored, corruption_result, model_input, one_line_oom, outcomes, predict_arrays

    lm, clean, cfg = ctx.model, ctx.clean, ctx.config
    severities = [1, 2, 3, 4, 5]
    if not clean.is_tree:
        def predict(c: str, s: int):
            x = corrupt_arrays(clean.images, c, s, handle.seed)
            return predict_arrays(lm.model, x, lm.spec.mean_std, ctx.device, ctx.batch_size, progress=False), \
                clean.labels

        return corruption_result(list(names), severities, predict, handle.describe(), cfg.progress)

    # image-major: each photograph is decoded once for all its outputs (75 for a full -C), and each
    # prediction is kept as its confidence and correctness until every image is done
    keys = [(c, s) for c in names for s in severities]
    n, k, bs = len(clean.items), len(keys), ctx.batch_size
    loader = torch.utils.data.DataLoader(_CorruptedPhotos(clean.items, clean.labels, keys, handle.seed),
                                         batch_size=max(1, bs // k), num_workers=cfg.workers)
    conf, correct = np.empty((k, n), np.float32), np.empty((k, n), bool)
    lm.model.eval().to(ctx.device)
    done = 0
    with torch.no_grad(), tqdm(total=n * k, unit="img", desc="corrupting in memory and predicting",
                               disable=not cfg.progress) as bar:
        for x, y in loader:
            flat = x.reshape(-1, *x.shape[2:])  # image-major: [image, key] rows
            logits = []
            for i in range(0, len(flat), bs):
                with one_line_oom(bs, ctx.device):
                    logits.append(lm.model(model_input(flat[i:i + bs], lm.spec.mean_std, ctx.device)).float().cpu())
            got = outcomes(torch.cat(logits).numpy(), y.repeat_interleave(k).numpy())
            rows = slice(done, done + len(y))
            conf[:, rows], correct[:, rows] = (a.reshape(len(y), k).T for a in got)
            done += len(y)
            bar.update(len(flat))
    scored = {key: Scored.of(conf[j], correct[j]) for j, key in enumerate(keys)}
    return corruption_result(list(names), severities, lambda c, s: scored[c, s], handle.describe(), cfg.progress)
