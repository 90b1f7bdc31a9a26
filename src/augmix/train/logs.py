"""Per-epoch logs of a run: log.csv, log.jsonl and, optionally, TensorBoard."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from augmix.io import atomic_path


def write_logs(out: Path, history: list[dict], tensorboard: bool = False) -> None:
    """Rewrite the logs from the whole history (atomically, like the checkpoint)."""
    keys = list(dict.fromkeys(k for row in history for k in row))
    with atomic_path(out / "log.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    with atomic_path(out / "log.jsonl") as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
    if tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        with SummaryWriter(str(out / "tb")) as tb:
            row = history[-1]
            for k, v in row.items():
                if k != "epoch":
                    tb.add_scalar(k, v, row["epoch"])
