"""Natural distribution shifts: CIFAR-10.1 (Recht et al. 2018), ImageNet-R, ImageNet-A,
ImageNet-Sketch and ImageNetV2, each its own benchmark with the error and calibration on its
images. ImageNet shifts are scored on the classes the model and the set share, with those
classes' logits only (for a 1000-class model on ImageNet-R/-A: the published 200-logit
evaluation). ``--limit N`` evaluates their first N images too."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from augmix.data.download import DataError
from augmix.data.natural import (
    ShiftFolder,
    class_subset,
    load_cifar10_1,
    model_classes,
    open_imagenet_shift,
    read_cifar10_1,
)
from augmix.evaluate import Predictor, check_labels, score
from augmix.results import Results, ShiftResult
from augmix.suite.benchmark import Benchmark, Context, Headline
from augmix.suite.config import RELEASED
from augmix.suite.text import pct, signed

NOTE = ("ImageNet shifts are scored on the classes the model and the set share, with those classes' logits only "
        "(for a 1000-class model on ImageNet-R/-A: the published 200-logit evaluation).")


def _limit(ctx: Context, n: int) -> np.ndarray:
    """The rows ``--limit`` keeps of a natural shift: its first N images (all, when it has fewer)."""
    return np.arange(n if ctx.config.limit is None else min(ctx.config.limit, n))


def _open_cifar10_1(source: Path | str, ctx: Context):
    if ctx.config.dataset != "cifar10":
        raise DataError("cifar10.1 is a natural shift of cifar10; evaluate it with --dataset cifar10")
    shift = load_cifar10_1(ctx.config.data_dir) if source == RELEASED else read_cifar10_1(source)
    check_labels(ctx.model, shift.labels, "CIFAR-10.1")
    return shift


def _evaluate_cifar10_1(shift, ctx: Context) -> ShiftResult:
    rows = _limit(ctx, len(shift.labels))
    logits = ctx.predict.arrays(shift.images[rows], desc="cifar10.1")
    return ShiftResult(data=shift.source, scores=score(logits, shift.labels[rows]))


def _imagenet_shift(name: str):
    def open_(source: Path | str, ctx: Context) -> ShiftFolder:
        if ctx.config.dataset != "imagenet":
            raise DataError(f"{name} is a natural shift of imagenet; evaluate it with --dataset imagenet")
        where = ctx.config.data_dir if source == RELEASED else source
        return open_imagenet_shift(name, where, download=source == RELEASED)

    def evaluate(shift: ShiftFolder, ctx: Context) -> ShiftResult:
        return evaluate_imagenet_shift(ctx.predict, shift, ctx.config.limit)
    return open_, evaluate


def evaluate_imagenet_shift(predict: Predictor, shift: ShiftFolder, limit: int | None = None) -> ShiftResult:
    """Error and calibration on an ImageNet shift, on the classes the model and the set share, with
    those classes' logits only (of its first ``limit`` images, when given)."""
    spec = predict.loaded.spec
    samples, keep, shared = class_subset(model_classes(spec.num_classes, spec.classes), shift)
    if limit is not None:
        samples = samples[:limit]
    logits, labels = predict.samples(samples, desc=shift.name)
    return ShiftResult(data=f"{shift.name} at {shift.root}", scores=score(logits[:, keep], labels),
                       classes=len(shared), classes_of_set=len(shift.wnids), images_of_set=len(shift.samples))


def _section_for(name: str):
    def section(r: ShiftResult, results: Results) -> list[str]:
        s = r.scores
        classes = f"{r.classes} of {r.classes_of_set}" if r.classes_of_set is not None else "all"
        lines = ["", f"## Natural shift: {name}", "", f"Data: {r.data}.", "",
                 "| error (%) | RMS calib (%) | calib gap (%) | images | classes evaluated |",
                 "|---:|---:|---:|---:|---:|",
                 f"| {pct(s.error)} | {pct(s.rms_calib)} | {signed(s.calib_gap)} | {s.n} | {classes} |"]
        return lines + (["", NOTE] if r.classes_of_set is not None else [])
    return section


def _shift(name: str, dataset: str, folders: tuple[str, ...], open_, evaluate) -> Benchmark:
    return Benchmark(name=name, title=name, folders={dataset: folders}, open=open_, evaluate=evaluate,
                     headlines=(Headline(f"{name} error", lambda r: r.scores.error),), section=_section_for(name),
                     summary=lambda r: [f"{name} error {100 * r.scores.error:.2f}%"], downloadable=(dataset,),
                     derived=False, flag="--natural",
                     flag_help="a natural shift NAME=its folder, or NAME=released to download and verify it "
                               "(repeatable)")


SHIFTS = (
    _shift("cifar10.1", "cifar10", ("CIFAR-10.1",), _open_cifar10_1, _evaluate_cifar10_1),
    _shift("imagenet-r", "imagenet", ("imagenet-r",), *_imagenet_shift("imagenet-r")),
    _shift("imagenet-a", "imagenet", ("imagenet-a",), *_imagenet_shift("imagenet-a")),
    _shift("imagenet-sketch", "imagenet", ("sketch", "imagenet-sketch"), *_imagenet_shift("imagenet-sketch")),
    _shift("imagenet-v2", "imagenet", ("imagenetv2-matched-frequency-format-val",), *_imagenet_shift("imagenet-v2")),
)
