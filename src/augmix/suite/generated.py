"""On-the-fly -C and -C-bar: a model evaluated on corrupted copies of its clean test data made in
memory, with no set written or downloaded.

The images are exactly those ``augmix corrupt --seed S`` (with ``--device``: its torch back-end
and units) would write for the same test images (the same chunks and name-keyed streams, the
generator's own functions), including the released sets' last steps: truncation to uint8, and
at 224 px the JPEG save at quality 85 (read back as stored, with no second resize). So the
figures equal those of a folder written with the same seed and the same ``--limit`` /
``--indices`` (a test holds them equal). Models are fed the 224 px corrupted image itself, as
ImageNet-C is read.
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
    device: str | None = None  # -C by the torch back-end on this device (as `augmix corrupt --device`)

    def describe(self) -> str:
        on, flag = (f", torch on {self.device}", f" --device {self.device}") if self.device else ("", "")
        return (f"generated in memory (seed {self.seed}{on}), as `augmix corrupt --seed {self.seed}{flag}` writes it "
                "from the same test images")


class _CorruptedPhotos(torch.utils.data.Dataset):
    """Tree images, each decoded and resized once, corrupted under every (corruption, severity)
    of ``keys`` as the generator writes them and read back through its JPEG (in workers):
    item ``i`` is ``[len(keys), 3, 224, 224]`` uint8 and its label."""

    def __init__(self, items: list, labels: np.ndarray, keys: list[tuple[str, int]], seed: int) -> None:
        self.items, self.labels, self.keys, self.seed = items, labels, keys, seed

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        from augmix.corruptions.released import corrupt_prepared, jpeg_roundtrip, output_name, preprocess

        item = self.items[i]
        img, name = np.asarray(preprocess(item.load(), 224)), output_name(item)
        out = np.stack([jpeg_roundtrip(corrupt_prepared(img, name, c, s, self.seed)) for c, s in self.keys])
        return torch.from_numpy(out).permute(0, 3, 1, 2), int(self.labels[i])


def evaluate_generated(handle: Generated, ctx: Context, names: tuple[str, ...]) -> CorruptionResult | None:
    """Error and calibration on each of ``names`` at severities 1-5, made in memory."""
    from augmix.corruptions.released import corrupt_arrays
    from augmix.evaluate import Scored, corruption_result, outcomes

    clean, cfg = ctx.clean, ctx.config
    severities = [1, 2, 3, 4, 5]
    if not clean.is_tree:
        def predict(c: str, s: int):
            x = corrupt_arrays(clean.images, c, s, handle.seed, handle.device)
            return ctx.predict.arrays(x), clean.labels

        return corruption_result(list(names), severities, predict, handle.describe(), cfg.progress)

    keys = [(c, s) for c in names for s in severities]
    n, k, bs = len(clean.items), len(keys), ctx.predict.batch_size
    conf, correct = np.empty((k, n), np.float32), np.empty((k, n), bool)

    def score(x: torch.Tensor, labels: torch.Tensor, rows: slice, which: slice) -> None:
        """Confidence and correctness of uint8 images ``x`` [M, 3, H, W], keys ``which`` x images ``rows``
        (image-major when ``which`` spans several keys)."""
        got = outcomes(ctx.predict.tensors(x), labels.numpy())
        count = rows.stop - rows.start
        conf[which, rows], correct[which, rows] = (a.reshape(count, -1).T for a in got)

    with tqdm(total=n * k, unit="img", desc="corrupting in memory and predicting", disable=not cfg.progress) as bar:
        if handle.device is None:
            # image-major: each photograph decoded once for all its outputs (75 for a full -C), in workers
            loader = torch.utils.data.DataLoader(_CorruptedPhotos(clean.items, clean.labels, keys, handle.seed),
                                                 batch_size=max(1, bs // k), num_workers=cfg.workers)
            done = 0
            for x, y in loader:
                score(x.reshape(-1, *x.shape[2:]), y.repeat_interleave(k), slice(done, done + len(y)), slice(None))
                done += len(y)
                bar.update(len(y) * k)
        else:
            _device_batches(handle, clean, keys, cfg.workers, score, bar)
    scored = {key: Scored.of(conf[j], correct[j]) for j, key in enumerate(keys)}
    return corruption_result(list(names), severities, lambda c, s: scored[c, s], handle.describe(), cfg.progress)


class _Prepared(torch.utils.data.Dataset):
    """The tree's photographs in the torch back-end's units: item ``b`` is source images
    ``b * DEVICE_BATCH ...``, decoded and preprocessed (uint8 [N, 224, 224, 3]), and their labels."""

    def __init__(self, items: list, labels: np.ndarray) -> None:
        self.items, self.labels = items, labels

    def __len__(self) -> int:
        from augmix.corruptions.released import DEVICE_BATCH

        return -(-len(self.items) // DEVICE_BATCH)

    def __getitem__(self, b: int):
        from augmix.corruptions.released import DEVICE_BATCH, preprocess

        rows = range(b * DEVICE_BATCH, min((b + 1) * DEVICE_BATCH, len(self.items)))
        x = np.stack([np.asarray(preprocess(self.items[i].load(), 224)) for i in rows])
        return torch.from_numpy(x), torch.as_tensor(self.labels[rows.start:rows.stop], dtype=torch.long)


def _device_batches(handle: Generated, clean, keys: list[tuple[str, int]], workers: int, score, bar) -> None:
    """-C made by the torch back-end on ``handle.device`` as ``augmix corrupt --device`` writes it:
    per unit of DEVICE_BATCH photographs (decoded in workers), each (corruption, severity) made on
    the device, read back through the released JPEG (a thread pool), then scored."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from augmix.corruptions.released import DEVICE_BATCH, corrupt_device_batch, images_to_device, jpeg_roundtrip

    loader = torch.utils.data.DataLoader(_Prepared(clean.items, clean.labels), batch_size=None, num_workers=workers)
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for b, (x, y) in enumerate(loader):
            rows = slice(b * DEVICE_BATCH, b * DEVICE_BATCH + len(y))
            images = images_to_device(x.numpy(), handle.device)  # once for all its outputs
            for j, (c, s) in enumerate(keys):
                made = corrupt_device_batch(images, b, c, s, handle.seed)
                stored = np.stack(list(pool.map(jpeg_roundtrip, made)))
                # contiguous NCHW, as a written folder is read: a channels-last view picks other conv kernels
                score(torch.from_numpy(stored).permute(0, 3, 1, 2).contiguous(), y, rows, slice(j, j + 1))
                bar.update(len(y))
