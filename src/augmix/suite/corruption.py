"""-C: the common corruptions (Hendrycks & Dietterich, ICLR 2019) - CIFAR-10-C / CIFAR-100-C
arrays and ImageNet-C trees; mean corruption error, and ImageNet-C's AlexNet-normalised mCE.

The opening and evaluating of corrupted sets here serve every benchmark of that shape
(-C-bar and ImageNet-3DCC too): arrays are matched to the clean test split row by row
(``data.subsets.rows_for``), trees by class name and file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from augmix import metrics
from augmix.corruptions.tables import BENCHMARK
from augmix.data.corrupted import CifarC, FolderC, load_released_cifar_c, open_cifar_c, open_folder_c
from augmix.data.download import DataError
from augmix.data.images import Resize
from augmix.data.subsets import rows_for
from augmix.evaluate import check_labels, corruption_result
from augmix.results import CorruptionResult, Results
from augmix.suite.benchmark import Benchmark, Context, Headline
from augmix.suite.config import GENERATE, RELEASED
from augmix.suite.generated import Generated, evaluate_generated
from augmix.suite.text import corruption_plots, corruption_tables, pct, signed

# ---------------------------------------------------------------- shared by corruption benchmarks

def open_corrupted(source: Path | str, ctx: Context, title: str, benchmark: str = "c") -> CifarC | FolderC | Generated:
    """A corrupted set in the layout of the clean data (arrays for CIFAR-style data, a tree for
    ImageFolder data), checked against the clean test split before any evaluation; or, for
    ``GENERATE``, the recipe to make it in memory."""
    if source == GENERATE:
        if ctx.clean.is_tree and ctx.config.dataset != "imagenet":
            raise DataError("corrupting in memory needs 224 px ImageNet images or CIFAR-style arrays")
        return Generated(benchmark, ctx.config.generate_seed, ctx.config.generate_device if benchmark == "c" else None)
    if source == RELEASED:
        found = load_released_cifar_c(ctx.config.dataset, ctx.config.data_dir)
    elif ctx.clean.is_tree:
        found = open_folder_c(source)
    else:
        found = open_cifar_c(source, expected_n=ctx.clean.n_full)
    if isinstance(found, CifarC):
        _check_image_size(found, ctx, title)
        rows = rows_for(found.subset, found.n, ctx.clean.subset, ctx.clean.n_full, found.root)
        labels = found.labels(found.severities[0])[rows]
        if not np.array_equal(labels, ctx.clean.labels):
            raise DataError(f"the labels of {title} at {found.root} differ from the clean test split's; it was made "
                            "from other images (another dataset?) - generate it from this test split")
        check_labels(ctx.model, labels, f"{title} at {found.root}")
    return found


def evaluate_corrupted(handle: CifarC | FolderC, ctx: Context, names: tuple[str, ...], data: str,
                       aliases=None, resize: Resize = Resize.AS_STORED) -> CorruptionResult | None:
    """Error and calibration of each of ``names`` present in ``handle``, per severity, in the
    order of ``names``. Trees: ``aliases`` {(corruption, severity): other folder names}, images
    sized as ``resize`` says (default: as stored)."""
    if isinstance(handle, Generated):
        return evaluate_generated(handle, ctx, names)
    clean = ctx.clean
    present = _asked_and_present(handle, names, ctx.config.corruptions)
    if isinstance(handle, CifarC):
        rows = rows_for(handle.subset, handle.n, clean.subset, clean.n_full, handle.root)
        whole = np.array_equal(rows, np.arange(handle.n))

        def predict(c: str, s: int):
            images = handle.images(c, s)
            x = images if whole else images[rows]
            return ctx.predict.arrays(x), clean.labels

        return corruption_result(present, list(handle.severities), predict, data, ctx.config.progress)

    def predict_tree(c: str, s: int):
        samples = handle.samples(c, s, clean.classes, *((aliases or {}).get((c, s), ())))
        samples = _select_tree(samples, clean.samples, handle.root / c / str(s))
        if resize is Resize.AS_STORED:
            _check_stored_size(samples[0][0])
        return ctx.predict.samples(samples, resize)

    return corruption_result(present, handle.severities, predict_tree, data, ctx.config.progress)


def _key(path: str, label: int) -> tuple[int, str]:
    return label, Path(path).stem


def _select_tree(samples: list[tuple[str, int]], clean: list[tuple[str, int]], root) -> list:
    """The corrupted copy of every clean image evaluated, matched by class and file stem: a copy
    missing from the tree is an error, not a smaller result."""
    index = {_key(p, y): (p, y) for p, y in samples}
    picked = [index.get(_key(p, y)) for p, y in clean]
    if any(s is None for s in picked):
        missing = next(p for (p, y), s in zip(clean, picked, strict=True) if s is None)
        raise DataError(f"{root} has no corrupted copy of {missing}; the set is incomplete or was made from other "
                        "images")
    return picked


def _asked_and_present(handle: CifarC | FolderC, names: tuple[str, ...], asked: tuple[str, ...] | None) -> list[str]:
    """The corruptions of ``names`` the set holds; every one asked for by name (--corruptions) must be
    there, and a set holding none of them is an error, not an empty result."""
    held = set(handle.corruptions)
    missing = [c for c in asked or () if c in names and c not in held]
    if missing:
        raise DataError(f"{handle.root} holds no {missing[0]}, which --corruptions asks for")
    present = [c for c in names if c in held]
    if not present:
        raise DataError(f"{handle.root} holds none of the corruptions evaluated here ({', '.join(names[:3])}, ...); "
                        "is it a set of another benchmark (-C, -C-bar, 3DCC)?")
    return present


def _check_image_size(found: CifarC, ctx: Context, title: str) -> None:
    """A set's images are the size of the clean images the model is evaluated on."""
    first = found.images(found.corruptions[0], found.severities[0]) if found.corruptions else None
    if first is not None and ctx.clean.images is not None and first.shape[1:3] != ctx.clean.images.shape[1:3]:
        raise DataError(f"{title} at {found.root} holds {first.shape[1]}x{first.shape[2]} images but the clean test "
                        f"data is {ctx.clean.images.shape[1]}x{ctx.clean.images.shape[2]}; it is a set of other data")


def _check_stored_size(path: str) -> None:
    """A tree read as stored holds ImageNet-C's 224 x 224 images (a 64 px one is Tiny-ImageNet-C)."""
    from PIL import Image

    with Image.open(path) as img:
        size = img.size
    if size != (224, 224):
        raise DataError(f"{path} is {size[0]}x{size[1]}, not 224x224 as an ImageNet-C tree read as stored; it is a "
                        "set of other preprocessing (a 64 px Tiny-ImageNet-C?)")


# ------------------------------------------------------------------------------------ -C

def _open(source: Path | str, ctx: Context) -> CifarC | FolderC:
    return open_corrupted(source, ctx, "the -C set")


def _evaluate(handle: CifarC | FolderC, ctx: Context) -> CorruptionResult | None:
    """The 15 benchmark corruptions present (or ``EvalConfig.corruptions``); ImageNet-C's mCE
    when all 15 are there."""
    names = tuple(ctx.config.corruptions or BENCHMARK)
    data = (handle.provenance if isinstance(handle, CifarC) else handle.describe() if isinstance(handle, Generated)
            else f"ImageNet-C tree {handle.root} (read as stored, no resize)")
    r = evaluate_corrupted(handle, ctx, names, data)
    if r is not None and ctx.clean.is_tree and all(c in r.per for c in BENCHMARK):
        ce = metrics.imagenet_ce({c: r.per[c].error for c in BENCHMARK}, ctx.clean_error)
        r = replace(r, mce=ce["mce"], relative_mce=ce["relative_mce"], ce=ce["ce"])
    return r


def accuracy_under_corruption(r: CorruptionResult, clean_error: float) -> tuple[float, float]:
    """mPC and rPC (Michaelis et al. 2019) with accuracy as the performance: the classifier's
    figures in the form detection and segmentation benchmarks report theirs."""
    accuracy = {c: [1 - e for e in s.error] for c, s in r.per.items()}
    return (metrics.mean_performance_under_corruption(accuracy),
            metrics.relative_performance_under_corruption(accuracy, 1 - clean_error))


def _section(r: CorruptionResult, results: Results) -> list[str]:
    mce = (f" ImageNet-C mCE (AlexNet-normalised) **{pct(r.mce)} %**, relative mCE {pct(r.relative_mce or 0.0)} %."
           if r.mce is not None else "")
    if results.clean.scores.error < 1:
        mpc, rpc = accuracy_under_corruption(r, results.clean.scores.error)
        mce += (f" Accuracy under corruption (mPC, Michaelis et al. 2019) {pct(mpc)} %, "
                f"{pct(rpc)} % of the clean accuracy (rPC).")
    return ["", "## Common corruptions (-C)", "",
            f"Data: {r.data} ({r.definition} definition of the corruptions). Mean corruption error over "
            f"{len(r.per)} corruptions x {len(r.severities)} severities: "
            f"**{pct(r.mean_error)} %**; RMS calibration error {pct(r.rms_calib_mean)} % (mean over corruption x "
            f"severity), {pct(r.rms_calib_pooled)} % (all corrupted predictions pooled); calibration gap "
            f"{signed(r.calib_gap_mean)}.{mce}",
            *corruption_tables(r, "Error (%) per corruption and severity", level="###", clean=results.clean.scores)]


def _summary(r: CorruptionResult) -> list[str]:
    parts = [f"mean corruption error {100 * r.mean_error:.2f}%"]
    if r.mce is not None:
        parts.append(f"mCE {100 * r.mce:.1f}%")
    return parts


def _plot(r: CorruptionResult, results: Results, out: Path) -> list[str]:
    return corruption_plots(r, results.clean.scores, out)


C = Benchmark(
    name="c", title="-C (common corruptions)",
    folders={"cifar10": ("CIFAR-10-C",), "cifar100": ("CIFAR-100-C",), "imagenet": ("ImageNet-C", "imagenet-c"),
             "digits": ("digits-C",)},  # (no release: the demo generates its own)
    open=_open, evaluate=_evaluate,
    headlines=(Headline("mean corruption error", lambda r: r.mean_error),
               Headline("corrupted RMS calib", lambda r: r.rms_calib_mean),
               Headline("corrupted calib gap", lambda r: r.calib_gap_mean, signed=True),
               Headline("mCE", lambda r: r.mce)),
    section=_section, summary=_summary, plot=_plot, downloadable=("cifar10", "cifar100"), generates=True,
    flag="--corrupted", flag_help="-C folder, 'released' to download CIFAR-10-C/100-C, or 'generate' to corrupt the "
                                  "test data in memory exactly as `augmix corrupt --seed` writes it")
