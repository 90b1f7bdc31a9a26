"""ImageNet-3DCC: the 3D common corruptions of Kar et al. (CVPR 2022), 12 corruptions x 5
severities rendered with depth, in the released layout ``<corruption>/<severity>/<class>/<image>``.

Loading and evaluation only: generating it needs depth maps of every image. Scored as
RobustBench scores it: error per corruption and severity, each corruption's mean over the
severities, and their plain mean (RobustBench prints accuracy, 1 - this). Images of
224 x 224 are read as stored (as ImageNet-C); any other size gets Resize(256) +
CenterCrop(224) first.
"""

from __future__ import annotations

from pathlib import Path

from augmix.data.corrupted import FolderC, open_folder_c
from augmix.data.download import DataError
from augmix.data.images import Resize
from augmix.results import CorruptionResult, Results
from augmix.suite.benchmark import Benchmark, Context, Headline
from augmix.suite.corruption import evaluate_corrupted
from augmix.suite.text import corruption_plots, corruption_tables, pct

# The 12 corruptions, as RobustBench's ``CORRUPTIONS_3DCC`` (robustbench/data.py) and the
# release name them.
CORRUPTIONS_3DCC = ("near_focus", "far_focus", "bit_error", "color_quant", "flash", "fog_3d", "h265_abr",
                    "h265_crf", "iso_noise", "low_light", "xy_motion_blur", "z_motion_blur")


def _open(source: Path | str, ctx: Context) -> FolderC:
    if not ctx.clean.is_tree:
        raise DataError("ImageNet-3DCC is a set of ImageNet validation images; evaluate it with --dataset imagenet")
    found = open_folder_c(source)
    if not any(c in found.corruptions for c in CORRUPTIONS_3DCC):
        raise DataError(f"{found.root} holds none of the 3DCC corruption folders (e.g. {found.root / 'near_focus'})")
    return found


def _evaluate(handle: FolderC, ctx: Context) -> CorruptionResult | None:
    return evaluate_corrupted(handle, ctx, CORRUPTIONS_3DCC, f"ImageNet-3DCC tree {handle.root}", resize=Resize.AUTO)


def _section(r: CorruptionResult, results: Results) -> list[str]:
    missing = [c for c in CORRUPTIONS_3DCC if c not in r.per]
    note = f" Absent from the copy evaluated: {', '.join(missing)}." if missing else ""
    return ["", "## ImageNet-3DCC", "", f"Data: {r.data}. Mean error over {len(r.per)} corruptions x "
            f"{len(r.severities)} severities: **{pct(r.mean_error)} %** (RobustBench's 3DCC accuracy: "
            f"{pct(1 - r.mean_error)} %).{note}",
            *corruption_tables(r, "ImageNet-3DCC error (%) per corruption and severity", level="###")]


THREEDCC = Benchmark(
    name="3dcc", title="ImageNet-3DCC", folders={"imagenet": ("ImageNet-3DCC", "imagenet-3dcc", "ImageNet_3DCC")},
    open=_open, evaluate=_evaluate, headlines=(Headline("3DCC error", lambda r: r.mean_error),),
    section=_section, summary=lambda r: [f"3DCC error {100 * r.mean_error:.2f}%"],
    flag="--3dcc", flag_help="ImageNet-3DCC folder (<corruption>/<severity>/<class>/<image>), with --dataset imagenet",
    plot=lambda r, results, out: corruption_plots(r, results.clean.scores, out, "3dcc_", "3DCC corruption"))
