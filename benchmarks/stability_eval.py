"""A full CIFAR-10-P evaluation of the tiny model: wall time, frames/s, and the metrics against
the published cifar-p-eval.py functions on the same predictions.

    python benchmarks/stability_eval.py --cifar-p DIR --published-eval PATH/robustness/ImageNet-P/cifar-p-eval.py \
        [--rounds 3] [--out runs/stability]

DIR holds the 10 CIFAR-10-P test perturbations of the 10,000 CIFAR-10 test images (written by
``perturb_throughput.py --full-out`` or ``augmix perturb``). The tiny model is trained once into
``--out`` (Standard and AugMix+JSD, the replication's budget: 4 epochs on the first 20,000 training
images, seed 1). Each round runs ``augmix evaluate CHECKPOINT --perturbed DIR`` for the Standard
model as a user would (clean test split, 10 perturbations, report) and times it. Then, for each
perturbation, the flip probability and top-5 distance are computed from the same logits by
``metrics.flip_rates`` / ``metrics.top5_distances`` and by the published ``flip_prob`` /
``ranking_dist`` (ranks from ``scipy.stats.rankdata`` per frame, as published): both timed, and
checked equal. The published functions are read from the script by their definitions only.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import cifar_root, machine, save

from augmix.checkpoint import load_checkpoint, load_model
from augmix.data.perturbed import open_cifar_p
from augmix.evaluate import Predictor
from augmix.metrics import flip_rates, top5_distances
from augmix.perturbations import CIFAR_TEST, is_noise
from augmix.recipes import RECIPES
from augmix.results import load_results
from augmix.train import TrainConfig, train


def published_metrics(script: Path, num_classes: int) -> dict:
    """``flip_prob``, ``ranking_dist`` and their tables, from cifar-p-eval.py's definitions."""
    tree = ast.parse(script.read_text())
    keep = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name in ("dist", "ranking_dist",
                                                                                 "flip_prob")) or
            (isinstance(n, ast.Assign) and any(getattr(t, "id", None) in ("identity", "cum_sum_top5", "recip")
                                               for t in n.targets))]
    env = {"np": np, "num_classes": num_classes, "args": argparse.Namespace(difficulty=1)}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(script), "exec"), env)  # noqa: S102 - user's checkout
    return env


def _train(out: Path, root: Path, method: str) -> Path:
    """The replication's tiny model (its recipe: the paper's CIFAR schedule), trained once."""
    run = out / method
    recipe = {k: v for k, v in RECIPES["cifar-wrn"].items() if k not in ("model", "epochs", "method")}
    cfg = TrainConfig(**{**recipe, "dataset": "cifar10", "data_dir": str(root), "model": "tiny", "method": method,
                         "epochs": 4, "seed": 1, "workers": 0, "train_subset": 20000, "out": str(run),
                         "eval_every": 0})
    ckpt = run / "checkpoint.pt"
    if not ckpt.exists() or load_checkpoint(ckpt)["epoch"] < cfg.epochs:
        train(cfg, resume=ckpt.exists())
    return ckpt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cifar-p", type=Path, required=True)
    ap.add_argument("--published-eval", type=Path, required=True,
                    help="hendrycks/robustness ImageNet-P/cifar-p-eval.py")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("runs/stability"))
    args = ap.parse_args()
    root, note = cifar_root()
    if root is None:
        raise SystemExit("needs CIFAR-10: set AUGMIX_DATA to a folder with cifar-10-batches-py/")
    cp = open_cifar_p(args.cifar_p, expected_n=10000)
    missing = [p for p in CIFAR_TEST if p not in cp.perturbations]
    if missing:
        raise SystemExit(f"{args.cifar_p} lacks {missing}")
    ckpts = {m: _train(args.out, root, m) for m in ("standard", "augmix_jsd")}
    frames = sum(cp.videos(p).shape[0] * cp.videos(p).shape[1] for p in CIFAR_TEST) + 10000

    walls, evals = [], {}
    for r in range(args.rounds):
        for method in (("standard", "augmix_jsd") if r == 0 else ("standard",)):
            dest = args.out / f"eval_{method}"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "augmix", "evaluate", str(ckpts[method]), "--data-dir", str(root),
                            "--perturbed", str(args.cifar_p), "--out", str(dest), "--workers", "0"], check=True)
            wall = time.perf_counter() - t0
            if method == "standard":
                walls.append(wall)
                print(f"round {r + 1}: full CIFAR-10-P evaluation (Standard tiny) {wall:.1f} s", flush=True)
            evals[method] = load_results(dest).benchmarks["p"]

    pub = published_metrics(args.published_eval, 10)
    from scipy.stats import rankdata

    lm = load_model(ckpts["standard"])
    predict = Predictor(lm, torch.device("cpu"), batch_size=64 * 31)
    metric_rows = {}
    for p in CIFAR_TEST:
        videos = cp.videos(p)
        logits = np.concatenate([predict.videos(videos[i:i + 64]) for i in range(0, len(videos), 64)])
        noise = is_noise(p)
        t0 = time.perf_counter()
        ours = (float(flip_rates(logits.argmax(-1), noise).mean()), float(top5_distances(logits, noise).mean()))
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        predictions = [v.argmax(1) for v in logits]
        ranks = np.asarray([[np.uint16(rankdata(-f, method="ordinal")) for f in v] for v in logits])
        theirs = (float(pub["flip_prob"](predictions, noise)), float(pub["ranking_dist"](ranks, noise, mode="top5")))
        t_pub = time.perf_counter() - t0
        metric_rows[p] = {"ours_s": round(t_ours, 3), "published_s": round(t_pub, 2),
                          "speedup": round(t_pub / t_ours, 1),
                          "flip_probability": {"ours": ours[0], "published": theirs[0]},
                          "top5_distance": {"ours": ours[1], "published": theirs[1]},
                          "equal": bool(abs(ours[0] - theirs[0]) < 1e-9 and abs(ours[1] - theirs[1]) < 1e-9)}
        print(f"{p:15s} metrics: ours {t_ours:.3f} s, published {t_pub:.1f} s, equal={metric_rows[p]['equal']}",
              flush=True)
    save("stability_eval", {
        "command": "python benchmarks/stability_eval.py " + " ".join(sys.argv[1:]), "machine": machine(),
        "data": f"{note}; CIFAR-10-P test set at {args.cifar_p}: 10 perturbations x 10,000 videos "
                f"({cp.provenance})",
        "model": "tiny CNN, Standard and AugMix+JSD, 4 epochs on the first 20,000 CIFAR-10 training images, seed 1",
        "rounds": args.rounds, "frames_classified_per_evaluation": frames,
        "full_evaluation_wall_s": {"median": float(np.median(walls)), "range": [min(walls), max(walls)],
                                   "rounds": walls},
        "frames_per_s_median": round(frames / float(np.median(walls)), 1),
        "mean_flip_probability": {m: e.mean_flip_probability for m, e in evals.items()},
        "mean_top5_distance": {m: e.mean_top5_distance for m, e in evals.items()},
        "per_perturbation_flip_probability": {m: {p: e.per[p].flip_probability for p in CIFAR_TEST}
                                              for m, e in evals.items()},
        "metrics_vs_published": metric_rows})


if __name__ == "__main__":
    main()
