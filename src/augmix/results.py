"""Typed result records and the one versioned ``results.json`` schema.

``augmix evaluate`` builds a ``Results``: the clean scores, and one record per benchmark
evaluated (``CorruptionResult`` for -C, -C-bar and ImageNet-3DCC, ``StabilityResult`` for -P,
``ShiftResult`` for each natural shift), keyed by the benchmark's registry name
(``augmix.suite.registry``). ``write_json`` / ``load_results`` are the only code that writes
or parses ``results.json``: reports, plots, ``compare``, the summary line and the demo all
read records through ``load_results``.

The file carries ``"format": FORMAT``. Files of the first format (no ``format`` key, written
before this module existed) are read and converted; files of a newer format are refused
with one line. Every number is checked for type as it is read, so a damaged or hand-edited
file is refused with the path of the bad entry, never half-rendered. Non-finite floats (a
reliability bin without predictions) are written as ``null``, so the file is valid JSON.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = 2
MAX_BYTES = 64 * 2 ** 20  # a results.json is a few kB to a few MB; larger is not one of ours


@dataclass(frozen=True)
class Scores:
    """Error and calibration of one set of predictions."""

    error: float
    rms_calib: float  # RMS calibration error (hendrycks/imagenet-r ``calib_err``)
    calib_gap: float  # mean confidence - accuracy: > 0 overconfident
    ece: float  # 15 equal-width bins
    n: int


@dataclass(frozen=True)
class Reliability:
    """A reliability diagram's bins; bins without predictions hold ``None``."""

    edges: list[float]
    confidence: list[float | None]
    accuracy: list[float | None]
    count: list[int]


@dataclass(frozen=True)
class SeverityScores:
    """One value per severity (in ``CorruptionResult.severities`` order) of each figure."""

    error: list[float]
    rms_calib: list[float]
    calib_gap: list[float]
    ece: list[float]


@dataclass(frozen=True)
class CorruptionResult:
    """A corruption benchmark: error and calibration per corruption and severity, and the means."""

    data: str
    severities: list[int]
    per: dict[str, SeverityScores]
    mean_error: float  # the plain mean over corruptions and severities (CIFAR's "mean corruption error")
    per_severity: SeverityScores  # mean over corruptions
    rms_calib_mean: float  # mean over corruption x severity
    calib_gap_mean: float
    rms_calib_pooled: float  # all corrupted predictions pooled
    reliability: Reliability
    mce: float | None = None  # ImageNet-C: AlexNet-normalised, when all 15 corruptions are present
    relative_mce: float | None = None
    ce: dict[str, float] | None = None
    # which definition of the corruptions made the images (``corruptions.apply.definition_for``):
    # the classification sets are the published generators' (32 and 224 px)
    definition: str = "published"

    @property
    def corruptions(self) -> list[str]:
        return list(self.per)

    def mean_of(self, corruption: str) -> float:
        """Error of one corruption, averaged over severities."""
        errs = self.per[corruption].error
        return sum(errs) / len(errs)


@dataclass(frozen=True)
class PerturbationScores:
    flip_probability: float
    top5_distance: float | None  # None for a model of fewer than 5 classes
    videos: int
    frames: int
    compared_with: str  # "first frame" (noise) or "previous frame"
    difficulty: int


@dataclass(frozen=True)
class StabilityResult:
    """A -P benchmark: flip probability and top-5 distance per perturbation, and the published means."""

    data: str
    per: dict[str, PerturbationScores]
    test_set: list[str]
    mean_flip_probability: float | None = None
    mean_top5_distance: float | None = None
    missing_for_means: list[str] = field(default_factory=list)
    baseline: str | None = None  # the results.json that normalised mFR / mT5D
    mfr: float | None = None
    mt5d: float | None = None
    flip_rate: dict[str, float] | None = None
    top5_distance_rate: dict[str, float] | None = None


@dataclass(frozen=True)
class ShiftResult:
    """A natural distribution shift: error and calibration on its images."""

    data: str
    scores: Scores
    classes: int | None = None  # classes the model and the set share (ImageNet shifts)
    classes_of_set: int | None = None
    images_of_set: int | None = None


@dataclass(frozen=True)
class CleanResult:
    data: str
    scores: Scores
    reliability: Reliability


@dataclass(frozen=True)
class ModelInfo:
    name: str
    source: str
    num_classes: int


@dataclass(frozen=True)
class Subset:
    """The images of the test split evaluated (or generated): the first ``limit``, or ``indices``."""

    limit: int | None = None
    indices: list[int] | None = None

    def as_meta(self) -> dict:
        """How meta.json records it."""
        return {"limit": self.limit} if self.limit is not None else {"indices": list(self.indices or [])}

    @classmethod
    def from_meta(cls, meta: dict | None) -> Subset | None:
        """The subset a meta.json records (None: the whole split)."""
        return None if meta is None else cls(limit=meta.get("limit"), indices=meta.get("indices"))

    def describe(self) -> str:
        if self.limit is not None:
            return f"the first {self.limit} images"
        return f"{len(self.indices or [])} images chosen by index"


# The kinds of record a benchmark produces, by the name stored in results.json. A new benchmark
# reuses one of these (ImageNet-3DCC is a CorruptionResult); a new kind of figure adds one here.
RECORDS: dict[str, type] = {"corruption": CorruptionResult, "stability": StabilityResult, "shift": ShiftResult}
_KIND = {cls: kind for kind, cls in RECORDS.items()}
Record = CorruptionResult | StabilityResult | ShiftResult


@dataclass
class Results:
    """Everything one evaluation measured."""

    name: str
    model: ModelInfo
    dataset: str
    clean: CleanResult
    benchmarks: dict[str, Record] = field(default_factory=dict)
    subset: Subset | None = None

    def to_dict(self) -> dict:
        out = {"format": FORMAT, "name": self.name, "model": _plain(self.model), "dataset": self.dataset,
               "subset": _plain(self.subset), "clean": _plain(self.clean), "benchmarks": {}}
        for key, rec in self.benchmarks.items():
            out["benchmarks"][key] = {"record": _KIND[type(rec)], **_plain(rec)}
        return out

    @classmethod
    def from_dict(cls, data: object, where: str = "results") -> Results:
        if not isinstance(data, dict):
            raise ResultsError(f"{where} is not a JSON object")
        fmt = data.get("format")
        if fmt is None:
            data = _upgrade_v1(data, where)
        elif fmt != FORMAT:
            raise ResultsError(f"{where} has format {fmt!r}; this augmix reads format {FORMAT} (and the first, "
                               "unversioned one) - evaluate again or use the augmix that wrote it")
        benchmarks = data.get("benchmarks")
        if not isinstance(benchmarks, dict):
            raise ResultsError(f"{where}: 'benchmarks' is not an object")
        records: dict[str, Record] = {}
        for key, entry in benchmarks.items():
            if not isinstance(entry, dict) or entry.get("record") not in RECORDS:
                raise ResultsError(f"{where}: benchmarks.{key} names no known record kind "
                                   f"({', '.join(RECORDS)})")
            body = {k: v for k, v in entry.items() if k != "record"}
            records[key] = _read(RECORDS[entry["record"]], body, f"benchmarks.{key}")
        return cls(name=_read(str, data.get("name"), "name"), model=_read(ModelInfo, data.get("model"), "model"),
                   dataset=_read(str, data.get("dataset"), "dataset"),
                   clean=_read(CleanResult, data.get("clean"), "clean"), benchmarks=records,
                   subset=_read(Subset | None, data.get("subset"), "subset"))


class ResultsError(ValueError):
    """A results.json that is not one this version can read."""


def write_json(results: Results, path: str | Path) -> None:
    """``results`` as valid JSON (non-finite numbers as null), written atomically."""
    from augmix.io import atomic_path

    text = json.dumps(results.to_dict(), indent=2, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def load_results(path: str | Path) -> Results:
    """The ``Results`` in a results.json (or a folder holding one), validated; one-line errors."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results.json at {path}; run `augmix evaluate` first")
    if path.stat().st_size > MAX_BYTES:
        raise ResultsError(f"{path} is {path.stat().st_size} bytes, larger than any results.json augmix writes; "
                           "run `augmix evaluate` again")
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ResultsError(f"{path} is not valid JSON ({type(err).__name__}); run `augmix evaluate` again") from None
    try:
        return Results.from_dict(data)
    except ResultsError as err:
        raise ResultsError(f"{path} is not a complete augmix results.json ({err}); run `augmix evaluate` "
                           "again") from None


# ------------------------------------------------------------------ typed (de)serialising

def _plain(obj):
    """A record as JSON-ready values: dataclasses as dicts, non-finite floats as None."""
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        return _plain(obj.item())
    return obj


def _read(tp, value, where: str):
    """``value`` checked against the type ``tp`` (records, lists, dicts, numbers, optionals)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _read_optional(tp, value, where)
    if tp in _SCALARS:
        return _read_scalar(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ResultsError(f"{where} should be a list, found {_short(value)}")
        (item,) = typing.get_args(tp)
        return [_read(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ResultsError(f"{where} should be an object, found {_short(value)}")
        _, item = typing.get_args(tp)
        return {k: _read(item, v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _read_record(tp, value, where)
    raise TypeError(f"no reader for {tp}")  # a programming error, not a user's


def _read_optional(tp, value, where: str):
    args = typing.get_args(tp)
    if type(None) in args and (value is None or (isinstance(value, float) and not math.isfinite(value))):
        return None  # (NaN in a file of the first format: an empty reliability bin)
    inner = [a for a in args if a is not type(None)]
    return _read(inner[0], value, where)


_SCALARS = {float: "a number", int: "an integer", str: "a string"}


def _read_scalar(tp: type, value, where: str):
    """A number (finite), an integer or a string; a bool is none of them."""
    ok = isinstance(value, tp) and not isinstance(value, bool)
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise ResultsError(f"{where} should be {_SCALARS[tp]}, found {_short(value)}")
    return float(value) if tp is float else value


def _read_record(tp, value, where: str):
    """A typed record (dataclass) from an object, each field read by its type."""
    if not isinstance(value, dict):
        raise ResultsError(f"{where} should be an object, found {_short(value)}")
    hints = typing.get_type_hints(tp)
    kwargs = {}
    for f in dataclasses.fields(tp):
        if f.name in value:
            kwargs[f.name] = _read(hints[f.name], value[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ResultsError(f"{where} lacks {f.name!r}")
    record = tp(**kwargs)
    _check_shape(record, where)
    return record


# The range of each kind of figure a record holds (fractions; the calibration gap is signed; the
# normalised figures and distances have no upper bound): a value outside is no measurement.
RANGES = {"error": (0, 1), "rms_calib": (0, 1), "ece": (0, 1), "calib_gap": (-1, 1), "mean_error": (0, 1),
          "rms_calib_mean": (0, 1), "rms_calib_pooled": (0, 1), "calib_gap_mean": (-1, 1),
          "flip_probability": (0, 1), "mean_flip_probability": (0, 1), "top5_distance": (0, math.inf),
          "mean_top5_distance": (0, math.inf), "mce": (0, math.inf), "relative_mce": (-math.inf, math.inf),
          "mfr": (0, math.inf), "mt5d": (0, math.inf)}


def _check_ranges(record, where: str) -> None:
    for f in dataclasses.fields(record):
        if f.name not in RANGES:
            continue
        lo, hi = RANGES[f.name]
        value = getattr(record, f.name)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not lo <= v <= hi:
                raise ResultsError(f"{where}.{f.name} is {v!r}, outside [{lo}, {hi}]; the file is damaged")


def _check_shape(record, where: str) -> None:
    """Cross-field checks the types alone do not make."""
    _check_ranges(record, where)
    if isinstance(record, CorruptionResult):
        n = len(record.severities)
        for name, sev in [*record.per.items(), ("per_severity", record.per_severity)]:
            for key in ("error", "rms_calib", "calib_gap", "ece"):
                if len(getattr(sev, key)) != n:
                    raise ResultsError(f"{where}: {name} has {len(getattr(sev, key))} {key} values for "
                                       f"{n} severities")


def _short(value) -> str:
    text = json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


# ------------------------------------------------------------------- the first format

def _upgrade_v1(d: dict, where: str) -> dict:
    """A results.json of the first, unversioned format in the shape of this one."""
    clean = d.get("clean")
    if not isinstance(clean, dict):
        raise ResultsError(f"{where} has no clean results")
    data = d.get("data") if isinstance(d.get("data"), dict) else {}
    empty_rel = {"edges": [], "confidence": [], "accuracy": [], "count": []}

    def corruption(section: dict, source) -> dict:
        if not isinstance(section, dict):
            raise ResultsError(f"{where}: a corruption section is not an object")
        return {"record": "corruption", "data": source or "?", "severities": section.get("severities"),
                "per": section.get("corruptions"), "mean_error": section.get("mean_corruption_error"),
                "per_severity": section.get("per_severity"), "rms_calib_mean": section.get("corrupted_rms_calib_mean"),
                "calib_gap_mean": section.get("corrupted_calib_gap_mean"),
                "rms_calib_pooled": section.get("corrupted_rms_calib_pooled"),
                "reliability": section.get("corrupted_reliability") or empty_rel,
                "mce": section.get("mce"), "relative_mce": section.get("relative_mce"), "ce": section.get("ce")}

    benchmarks: dict = {}
    if "corruptions" in d:
        benchmarks["c"] = corruption(d, data.get("corrupted"))
    if "c_bar" in d:
        benchmarks["c-bar"] = corruption(d["c_bar"], d["c_bar"].get("data") if isinstance(d["c_bar"], dict) else None)
    p = d.get("perturbations")
    if isinstance(p, dict):
        benchmarks["p"] = {"record": "stability", "data": p.get("data", "?"),
                           **{k: p.get(k) for k in ("per", "test_set", "mean_flip_probability", "mean_top5_distance",
                                                    "baseline", "mfr", "mt5d", "flip_rate", "top5_distance_rate")},
                           "missing_for_means": p.get("missing_for_means", [])}
    for name, v in (d.get("natural") or {}).items():
        if not isinstance(v, dict):
            raise ResultsError(f"{where}: natural.{name} is not an object")
        benchmarks[name] = {"record": "shift", "data": v.get("data", "?"), "scores": _v1_scores(v),
                            **{k: v.get(k) for k in ("classes", "classes_of_set", "images_of_set")}}
    model = d.get("model") if isinstance(d.get("model"), dict) else {}
    return {"format": FORMAT, "name": d.get("name", "model"),
            "model": {"name": model.get("name", "?"), "source": model.get("source", "?"),
                      "num_classes": model.get("num_classes", 0)},
            "dataset": d.get("dataset", "unknown"), "subset": None,
            "clean": {"data": data.get("clean") or "?", "scores": _v1_scores(clean),
                      "reliability": d.get("clean_reliability") or empty_rel},
            "benchmarks": benchmarks}


def _v1_scores(v: dict) -> dict:
    return {"error": v.get("error"), "rms_calib": v.get("rms_calib"), "calib_gap": v.get("calib_gap"),
            "ece": v.get("ece"), "n": v.get("n", 0)}


__all__ = ["FORMAT", "CleanResult", "CorruptionResult", "ModelInfo", "PerturbationScores", "RECORDS", "Reliability",
           "Results", "ResultsError", "Scores", "SeverityScores", "ShiftResult", "StabilityResult", "Subset",
           "load_results", "write_json"]
