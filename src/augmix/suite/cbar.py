"""-C-bar: the corruptions of Mintun et al. (NeurIPS 2021) that are far from AugMix's ops
(CIFAR-10-C-bar arrays, ImageNet-C-bar trees); the mean error over its corruptions."""

from __future__ import annotations

from pathlib import Path

from augmix.corruptions.tables import CBAR_TABLES
from augmix.data.corrupted import CifarC, FolderC
from augmix.results import CorruptionResult, Results
from augmix.suite.benchmark import Benchmark, Context, Headline
from augmix.suite.corruption import evaluate_corrupted, open_corrupted
from augmix.suite.generated import Generated
from augmix.suite.text import corruption_plots, corruption_tables, pct


def _open(source: Path | str, ctx: Context) -> CifarC | FolderC | Generated:
    return open_corrupted(source, ctx, "the -C-bar set", "c-bar")


def _evaluate(handle: CifarC | FolderC | Generated, ctx: Context) -> CorruptionResult | None:
    if isinstance(handle, Generated):
        return evaluate_corrupted(handle, ctx, tuple(CBAR_TABLES[224 if ctx.clean.is_tree else 32]), "")
    if isinstance(handle, CifarC):
        return evaluate_corrupted(handle, ctx, tuple(CBAR_TABLES[32]), handle.provenance)
    table = CBAR_TABLES[224]
    # make_imagenet_c_bar.py names severity folders by their parameter ("{:.2f}"); the released copy by 1-5
    aliases = {(c, s): (f"{table[c][s - 1]:.2f}",) for c in table for s in range(1, 6)}
    return evaluate_corrupted(handle, ctx, tuple(table), f"ImageNet-C-bar tree {handle.root} (read as stored)",
                              aliases)


def _section(r: CorruptionResult, results: Results) -> list[str]:
    return ["", "## -C-bar", "", f"Data: {r.data}. Mean error over {len(r.per)} corruptions x {len(r.severities)} "
            f"severities: **{pct(r.mean_error)} %**.",
            *corruption_tables(r, "-C-bar error (%) per corruption and severity", level="###")]


CBAR = Benchmark(
    name="c-bar", title="-C-bar",
    folders={"cifar10": ("CIFAR-10-C-Bar", "CIFAR-10-C-bar", "cifar10_c_bar"),
             "imagenet": ("ImageNet-C-Bar", "imagenet-c-bar", "imagenet_c_bar")},
    open=_open, evaluate=_evaluate, headlines=(Headline("-C-bar error", lambda r: r.mean_error),),
    section=_section, summary=lambda r: [f"-C-bar error {100 * r.mean_error:.2f}%"],
    plot=lambda r, results, out: corruption_plots(r, results.clean.scores, out, "c_bar_", "-C-bar corruption"),
    generates=True, flag="--c-bar",
    flag_help="-C-bar folder (CIFAR-10-C-bar arrays or an ImageNet-C-bar tree), or 'generate' (in memory)")
