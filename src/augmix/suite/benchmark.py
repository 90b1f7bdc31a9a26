"""What a benchmark is to the suite: one ``Benchmark`` entry per benchmark (its name, the
folders its release unpacks to, how to open and evaluate it, its headline figures and its
report section), and the ``Context`` every benchmark is evaluated in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augmix.checkpoint import LoadedModel
from augmix.evaluate import Predictor
from augmix.results import Record, Results, Subset
from augmix.suite.config import EvalConfig


@dataclass(frozen=True)
class Headline:
    """One figure of a benchmark as ``compare`` and the demo show it (a fraction; ``signed``: a
    direction such as the calibration gap)."""

    label: str
    read: Callable[[Record], float | None]
    signed: bool = False


@dataclass
class CleanSet:
    """The clean test data the derived benchmarks (-C, -C-bar, -P, 3DCC) are made from."""

    source: str
    n_full: int  # images in the whole split
    rows: np.ndarray  # the rows of the split evaluated (all of them, or the subset's)
    labels: np.ndarray  # their labels
    subset: Subset | None = None
    images: np.ndarray | None = None  # uint8 NHWC (CIFAR-style data)
    classes: list[str] | None = None  # class folders (ImageFolder data)
    samples: list[tuple[str, int]] | None = None  # (file, label) of the rows (ImageFolder data)
    items: list | None = None  # the rows' ``data.images.TreeImage`` (ImageFolder data)

    @property
    def is_tree(self) -> bool:
        return self.images is None


@dataclass
class Context:
    """What a benchmark's ``open`` and ``evaluate`` see: the settings, the model, the clean data,
    and ``predict``, the model bound to its normalisation, device, batch size and workers."""

    config: EvalConfig
    predict: Predictor
    clean: CleanSet
    baseline: Record | None = None  # -P: the results that normalise mFR / mT5D
    clean_error: float | None = None  # set once the clean data is evaluated (ImageNet-C's relative mCE)

    @property
    def model(self) -> LoadedModel:
        return self.predict.loaded


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: everything the suite, the report and ``compare`` need to know of it.

    ``open(source, ctx)`` reads (or downloads, for ``RELEASED``) the set and checks it against
    the clean data, before any evaluation; ``evaluate(handle, ctx)`` returns its record;
    ``section(record, results)`` is its part of report.md; ``summary(record)`` its words in the
    one-line summary; ``plot(record, out)`` writes its figures and returns their names.
    """

    name: str  # the registry key and results.json key (also --suite's name)
    title: str
    folders: dict[str, tuple[str, ...]]  # dataset -> folder names of its release (the first is the release's)
    open: Callable[[Path | str, Context], object]
    evaluate: Callable[[object, Context], Record | None]
    headlines: tuple[Headline, ...]
    section: Callable[[Record, Results], list[str]]
    summary: Callable[[Record], list[str]]
    plot: Callable[[Record, Results, Path], list[str]] | None = None
    downloadable: tuple[str, ...] = field(default=())  # datasets whose release can be fetched (RELEASED)
    generates: bool = False  # can be made in memory from the clean data (GENERATE)
    derived: bool = True  # made from the clean test split (subsets select its rows)
    # its option of ``augmix evaluate`` (a benchmark's source: a folder, 'released' or 'generate'); a flag that
    # several benchmarks share takes NAME=FOLDER and may be repeated (the natural shifts' --natural)
    flag: str | None = None
    flag_help: str = ""

    def folders_for(self, dataset: str) -> tuple[str, ...]:
        return self.folders.get(dataset, ())
