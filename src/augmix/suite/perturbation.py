"""-P: perturbation stability (Hendrycks & Dietterich, ICLR 2019) - CIFAR-10-P / CIFAR-100-P
arrays and ImageNet-P videos; mean flip probability (CIFAR), mFR and mT5D against a baseline's
results (ImageNet-P)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from augmix.data.download import DataError
from augmix.data.perturbed import CifarP, FolderP, open_cifar_p, open_folder_p
from augmix.data.subsets import rows_for
from augmix.results import Results, StabilityResult
from augmix.stability import evaluate_cifar_p, evaluate_folder_p, normalise_by
from augmix.suite.benchmark import Benchmark, Context, Headline
from augmix.suite.config import RELEASED
from augmix.suite.text import figure, save_figure


def _open(source: Path | str, ctx: Context) -> CifarP | FolderP:
    if source == RELEASED:
        raise DataError("the -P sets are not downloaded (Google Drive folders, archives without checksums): put a "
                        "copy under --suite-dir, or generate one with `augmix perturb`")
    if ctx.clean.is_tree:
        return open_folder_p(source)
    found = open_cifar_p(source, expected_n=ctx.clean.n_full)
    rows_for(found.subset, found.n, ctx.clean.subset, ctx.clean.n_full, found.root)  # refuses other images
    return found


def _evaluate(handle: CifarP | FolderP, ctx: Context) -> StabilityResult:
    cfg, clean = ctx.config, ctx.clean
    if isinstance(handle, CifarP):
        rows = rows_for(handle.subset, handle.n, clean.subset, clean.n_full, handle.root)
        whole = np.array_equal(rows, np.arange(handle.n))
        res = evaluate_cifar_p(ctx.predict, handle, difficulty=cfg.difficulty, rows=None if whole else rows)
    else:
        res = evaluate_folder_p(ctx.predict, handle, difficulty=cfg.difficulty,
                                rows=None if clean.subset is None else clean.rows)
    if ctx.baseline is not None:
        res = normalise_by(res, ctx.baseline, str(cfg.p_baseline))
    return res


def _section(p: StabilityResult, results: Results) -> list[str]:
    lines = ["", "## Perturbation stability (-P)", "", f"Data: {p.data}.", "",
             "| perturbation | flip probability (%) | top-5 distance | compared with | videos x frames |",
             "|---|---:|---:|---|---:|"]
    for name, v in p.per.items():
        test = " (test)" if name in p.test_set else ""
        t5 = "n/a" if v.top5_distance is None else f"{v.top5_distance:.3f}"
        lines.append(f"| {name}{test} | {100 * v.flip_probability:.2f} | {t5} | {v.compared_with} | "
                     f"{v.videos} x {v.frames} |")
    if p.mean_flip_probability is not None:
        t5 = (f", top-5 distance **{p.mean_top5_distance:.3f}**" if p.mean_top5_distance is not None else
              " (no top-5 distance: the model has fewer than 5 classes)")
        lines += ["", f"Mean over the {len(p.test_set)} test perturbations ({', '.join(p.test_set)}): "
                  f"flip probability **{100 * p.mean_flip_probability:.2f} %**{t5} (unnormalised)."]
    else:
        lines += ["", f"No means: the test set lacks {', '.join(p.missing_for_means)}."]
    if p.mfr is not None:
        t5 = f", mT5D **{100 * p.mt5d:.1f} %**" if p.mt5d is not None else ""
        lines += [f"Normalised by the baseline {p.baseline or ''}: mFR **{100 * p.mfr:.1f} %**{t5}."]
    return lines


def _summary(p: StabilityResult) -> list[str]:
    if p.mfr is not None:
        return [f"mFR {100 * p.mfr:.1f}%"]
    if p.mean_flip_probability is not None:
        return [f"mean flip probability {100 * p.mean_flip_probability:.2f}%"]
    return []


def _plot(p: StabilityResult, results: Results, out: Path) -> list[str]:
    names = list(p.per)
    fig = figure(figsize=(8, 3.8))
    ax = fig.subplots()
    ax.bar(range(len(names)), [100 * p.per[n].flip_probability for n in names], color="#55a868")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set(ylabel="flip probability (%)", title="-P: flip probability per perturbation")
    save_figure(fig, out / "perturbations.png")
    return ["perturbations.png"]


P = Benchmark(
    name="p", title="-P (perturbation stability)",
    folders={"cifar10": ("CIFAR-10-P",), "cifar100": ("CIFAR-100-P",), "imagenet": ("ImageNet-P", "imagenet-p")},
    open=_open, evaluate=_evaluate,
    headlines=(Headline("-P mean flip prob.", lambda r: r.mean_flip_probability), Headline("-P mFR", lambda r: r.mfr),
               Headline("-P mT5D", lambda r: r.mt5d)),
    section=_section, summary=_summary, plot=_plot,
    flag="--perturbed", flag_help="-P folder (CIFAR-10-P arrays or ImageNet-P videos)")
