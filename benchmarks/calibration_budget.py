"""Why do short runs end underconfident? Calibration of both arms as the training budget grows.

    python benchmarks/calibration_budget.py --epochs 5,20,60 --seeds 0,1,2

Data: scikit-learn's bundled handwritten digits (the demo's data): the first 80 % of the
training split trains, the last 20 % is held out (training data, never the test set) to
fit a temperature; the test split and its 15 x 5 corruptions (CIFAR-10-C's 32 px table,
generated once, seed 0) are evaluated. Model ``tiny``, batch 64, lr 0.05, cosine, the
demo's settings except the epoch budget. For every budget, arm and seed it records clean
and corrupted error, RMS calibration error and calibration gap (mean confidence minus
accuracy), and the fitted temperature with the same metrics after dividing the logits by
it - a diagnostic next to, never instead of, the paper's metric.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import machine, save

from augmix import metrics
from augmix.checkpoint import load_model
from augmix.corruptions.tables import BENCHMARK
from augmix.data.corrupted import open_cifar_c
from augmix.data.digits import load_digits_rgb
from augmix.evaluate import predict_arrays
from augmix.generation import generate_cifar_c
from augmix.train import TrainConfig, train

ARMS = ("standard", "augmix_jsd")


def _metrics(logits: np.ndarray, labels: np.ndarray) -> dict:
    p = torch.softmax(torch.from_numpy(logits), 1).numpy()
    conf, correct = p.max(1), p.argmax(1) == labels
    return {"error": float(1 - correct.mean()), "rms_calib": metrics.calib_err(conf, correct),
            "calib_gap": metrics.calibration_gap(conf, correct), "mean_confidence": float(conf.mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", default="5,20,60")
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    budgets = [int(v) for v in args.epochs.split(",")]
    seeds = [int(v) for v in args.seeds.split(",")]
    train_set, test = load_digits_rgb()
    n_fit = int(0.8 * len(train_set))
    held_x, held_y = train_set.images[n_fit:], train_set.labels[n_fit:]
    started = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cc = open_cifar_c(generate_cifar_c(test.images, test.labels, Path(tmp) / "c", BENCHMARK, seed=0,
                                           progress=False))
        corrupted = [(cc.images(c, s), cc.labels(s)) for c in cc.corruptions for s in cc.severities]
        for epochs in budgets:
            for seed in seeds:
                for method in ARMS:
                    out = Path(tmp) / f"{method}_{epochs}_{seed}"
                    cfg = TrainConfig(dataset="digits", model="tiny", method=method, epochs=epochs, batch_size=64,
                                      lr=0.05, seed=seed, workers=0, train_subset=n_fit, out=str(out),
                                      eval_every=-1)
                    train(cfg, progress=False)
                    lm = load_model(out / "checkpoint.pt")
                    dev = torch.device("cpu")

                    def logits_of(x, lm=lm, dev=dev):
                        return predict_arrays(lm.model, x, lm.spec.mean_std, dev, 500, progress=False)

                    held = logits_of(held_x)
                    temp = metrics.fit_temperature(held, held_y)
                    clean = logits_of(test.images)
                    cor = [(logits_of(x), y) for x, y in corrupted]
                    cor_logits = np.concatenate([lg for lg, _ in cor])
                    cor_labels = np.concatenate([y for _, y in cor])
                    row = {"epochs": epochs, "seed": seed, "method": method, "temperature": temp,
                           "clean": _metrics(clean, test.labels),
                           "corrupted": _metrics(cor_logits, cor_labels),
                           "clean_scaled": _metrics(clean / temp, test.labels),
                           "corrupted_scaled": _metrics(cor_logits / temp, cor_labels)}
                    rows.append(row)
                    print(json.dumps({k: row[k] for k in ("epochs", "seed", "method", "temperature")} |
                                     {"clean_gap": round(row["clean"]["calib_gap"], 4),
                                      "clean_rms": round(row["clean"]["rms_calib"], 4),
                                      "clean_error": round(row["clean"]["error"], 4)}), flush=True)
    summary = {}
    for epochs in budgets:
        for method in ARMS:
            sel = [r for r in rows if r["epochs"] == epochs and r["method"] == method]
            entry = {"temperature": _ms([r["temperature"] for r in sel])}
            for part in ("clean", "corrupted", "clean_scaled", "corrupted_scaled"):
                for key in ("error", "rms_calib", "calib_gap", "mean_confidence"):
                    entry[f"{part}_{key}"] = _ms([r[part][key] for r in sel])
            summary[f"{method}@{epochs}"] = entry
    save("calibration_budget", {"command": "python benchmarks/calibration_budget.py " + " ".join(sys.argv[1:]),
                                "data": f"{train_set.source}; held out for temperature: last {len(held_y)} "
                                        f"training images; test: {test.source}",
                                "model": "tiny", "budgets": budgets, "seeds": seeds, "machine": machine(),
                                "seconds": round(time.time() - started, 1), "summary": summary, "runs": rows})


def _ms(values: list[float]) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else None}


if __name__ == "__main__":
    main()
