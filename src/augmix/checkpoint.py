"""The checkpoint contract: what a saved model says about itself, and the one place that
writes and reads it.

A checkpoint carries a ``ModelSpec`` (architecture, classes, input normalisation, the
dataset it was trained on, and whether it was trained with split batch-norm) next to its
weights, so ``load_model`` rebuilds the evaluation model without being told anything.
Split-BN models keep their auxiliary BNs under ``aux_bn`` (as timm does); evaluation uses
the main BNs and drops those keys.

Everything is read with ``torch.load(weights_only=True)``: a file from elsewhere can hold
tensors and plain containers, never code. Our own training extras (RNG states, config,
history) are stored as tensors, numbers, strings, lists and dicts for that reason.
"""

from __future__ import annotations

import errno
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from augmix.io import atomic_path

FORMAT = "augmix-checkpoint-1"


class CheckpointError(ValueError):
    """A checkpoint or weights file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a trained model for evaluation."""

    arch: str
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    dataset: str | None = None  # what it was trained on: cifar10, cifar100, digits, imagenet; None: unknown
    split_bn_views: int = 0  # > 0: trained with split BN over this many views (aux BNs dropped for evaluation)
    classes: tuple[str, ...] | None = None  # class names in output order (ImageNet: wnids); None: unknown

    @property
    def mean_std(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.mean, self.std

    def __post_init__(self) -> None:
        _check_normalisation(self.mean, self.std)

    @classmethod
    def from_dict(cls, d: dict, where: str = "the checkpoint") -> ModelSpec:
        """The spec a checkpoint records, each field checked (a one-line ``CheckpointError`` names
        the first that is missing or of the wrong type)."""
        if not isinstance(d, dict):
            raise CheckpointError(f"{where} records no model spec (found {type(d).__name__})")
        arch, n, mean, std = (_field(d, k, where) for k in ("arch", "num_classes", "mean", "std"))
        classes, dataset, views = d.get("classes"), d.get("dataset"), d.get("split_bn_views", 0)
        ok = {"arch": isinstance(arch, str) and arch != "",
              "num_classes": _is_int(n) and n >= 1,
              "mean": _numbers(mean), "std": _numbers(std),
              "dataset": dataset is None or isinstance(dataset, str),
              "split_bn_views": _is_int(views) and views >= 0,
              "classes": classes is None or (isinstance(classes, (list, tuple)) and
                                             all(isinstance(c, str) for c in classes))}
        bad = next((k for k, good in ok.items() if not good), None)
        if bad is not None:
            raise CheckpointError(f"{where}'s spec has an invalid {bad} ({str(d.get(bad))[:60]!r}); it is damaged - "
                                  "use an intact copy")
        try:
            return cls(arch, int(n), tuple(float(v) for v in mean), tuple(float(v) for v in std), dataset,
                       int(views), tuple(classes) if classes is not None else None)
        except ValueError as err:
            raise CheckpointError(f"{where}: {err}") from None


def _field(d: dict, key: str, where: str):
    if key not in d:
        raise CheckpointError(f"{where}'s spec lacks {key!r}; it is damaged - use an intact copy")
    return d[key]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _numbers(v) -> bool:
    return isinstance(v, (list, tuple)) and len(v) in (1, 3) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)


def _check_normalisation(mean, std) -> None:
    """A model's input normalisation: finite means, finite positive standard deviations, one or
    three channels (a std of 0 or a NaN mean gives every image the same input)."""
    import math

    values = [*mean, *std]
    if len(mean) != len(std) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise ValueError(f"the input normalisation must be finite numbers, one per channel (mean {list(mean)}, "
                         f"std {list(std)})")
    if min(std) <= 0:
        raise ValueError(f"the input normalisation's std must be > 0, got {list(std)}")


@dataclass
class LoadedModel:
    """A model ready for evaluation, its spec, and where it came from (for reports)."""

    model: nn.Module
    spec: ModelSpec
    source: str


def build_model(spec: ModelSpec, *, for_training: bool = False) -> nn.Module:
    """A fresh model for ``spec``; with ``for_training``, its BNs split as the spec says."""
    from augmix.models import LEGACY_NAMES, create_model

    model = create_model(LEGACY_NAMES.get(spec.arch, spec.arch), spec.num_classes)
    if for_training and spec.split_bn_views:
        from augmix.models.splitbn import convert_splitbn

        model = convert_splitbn(model, spec.split_bn_views)
    return model


def evaluation_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A training state dict without split BN's auxiliary BNs and DataParallel's ``module.``."""
    return {k.removeprefix("module."): v for k, v in state.items() if ".aux_bn." not in k}


def load_state_checked(model: nn.Module, state: dict, source: str | os.PathLike) -> None:
    """``load_state_dict`` with a one-line error naming what does not fit."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(
        own[k].shape)]
    bad = next((k for k, t in state.items() if isinstance(t, torch.Tensor) and t.is_floating_point()
                and not bool(torch.isfinite(t).all())), None)
    if bad is not None:  # a model that diverged scores at chance: refuse it rather than report that
        raise CheckpointError(f"{source} holds NaN or infinite values (in {bad}); it is not a trained model - "
                              "use an earlier checkpoint")
    if missing or unexpected or shapes:
        detail = []
        if shapes:
            k = shapes[0]
            detail.append(f"{len(shapes)} tensor(s) of another shape (e.g. {k}: {tuple(state[k].shape)} in the file, "
                          f"{tuple(own[k].shape)} in the model)")
        if missing:
            detail.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            detail.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise CheckpointError(f"{source} does not fit the {type(model).__name__} model: {'; '.join(detail)}; "
                              "check --arch and the number of classes")
    model.load_state_dict(state)


def save_checkpoint(path: str | os.PathLike, spec: ModelSpec, model_state: dict, **training) -> None:
    """Write atomically: a kill at any moment leaves the previous checkpoint intact.

    ``training`` holds the rest (optimizer, scheduler, RNG states, config, history), in
    types the safe loader accepts.
    """
    payload = {"format": FORMAT, "spec": asdict(spec), "model": model_state, **training}
    with atomic_path(path) as tmp:
        try:
            torch.save(payload, tmp)
        except RuntimeError as err:  # torch's zip writer reports a short write (a full disk) as RuntimeError
            raise OSError(errno.EIO, f"could not write the checkpoint ({str(err).splitlines()[0][:120]}); is the "
                          "disk full? The previous checkpoint is kept", str(path)) from None


def safe_load(path: str | os.PathLike, what: str = "checkpoint") -> object:
    """``torch.load`` with ``weights_only=True`` and one-line errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no {what} file at {path}")
    check_inflated_size(path, what)
    try:
        with warnings.catch_warnings():  # torch warns about unusual pickle protocols in damaged files
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to unpickle means the file is not usable
        reason = (str(err).splitlines() or ["damaged or empty"])[0][:160] if "weights_only" not in str(err) \
            else "it holds Python objects beyond tensors and containers, which are refused for safety"
        raise CheckpointError(f"{path} is not a readable {what} ({type(err).__name__}: {reason}); "
                              "use an intact copy saved with torch.save") from None


def check_inflated_size(path: Path, what: str = "checkpoint") -> None:
    """Refuse a zip checkpoint whose entries inflate far beyond the file's size, before reading
    it: ``torch.save`` stores tensors uncompressed, so a legitimate file inflates to about its
    own size, and a crafted one could ask for gigabytes."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as z:
            inflated = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable {what} ({type(err).__name__}); use an intact copy") from None
    size = path.stat().st_size
    if inflated > 2 * size + 2 ** 20:
        raise CheckpointError(f"{path} would inflate from {size:,} to {inflated:,} bytes, which torch.save never "
                              f"writes; refusing to read this {what}")


def load_checkpoint(path: str | os.PathLike) -> dict:
    """An augmix checkpoint's payload (``spec``, ``model``, and the training state)."""
    state = safe_load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT or "spec" not in state or "model" not in state:
        raise CheckpointError(f"{path} is not an augmix checkpoint; for other weights use --arch NAME --weights FILE")
    if not isinstance(state["model"], dict) or not all(isinstance(v, torch.Tensor) for v in state["model"].values()):
        raise CheckpointError(f"{path}'s model is not a state dict of tensors; it is damaged - use an intact copy")
    return state


# what a checkpoint written by ``augmix train`` holds besides the model, and of what type: a
# resume reads each (``check_training_state``)
TRAINING_STATE = {"config": dict, "epoch": int, "step": int, "history": list, "optimizer": dict, "scheduler": dict,
                  "scaler": dict, "rng": dict}


def check_training_state(state: dict, path: str | os.PathLike) -> None:
    """Refuse to resume from a checkpoint whose training state is missing or malformed."""
    for key, kind in TRAINING_STATE.items():
        if key not in state:
            raise CheckpointError(f"{path} holds no {key!r}: it was not written by `augmix train` (or is damaged); "
                                  "start a new --out")
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise CheckpointError(f"{path}'s {key!r} is a {type(state[key]).__name__}, not a {kind.__name__}; it is "
                                  "damaged - start a new --out or use an intact copy")
    if state["epoch"] < 1 or len(state["history"]) != state["epoch"] or not all(
            isinstance(r, dict) for r in state["history"]):
        raise CheckpointError(f"{path} is at epoch {state['epoch']} with {len(state['history'])} log rows; it is "
                              "damaged - start a new --out")
    rng = state["rng"]
    if not ({"torch", "numpy", "python"} <= set(rng) and isinstance(rng["torch"], torch.Tensor)
            and isinstance(rng["numpy"], dict)):
        raise CheckpointError(f"{path}'s random-number state is damaged; start a new --out")


def load_model(path: str | os.PathLike, *, dataset: str | None = None, num_classes: int | None = None,
               allow_other_dataset: bool = False) -> LoadedModel:
    """Rebuild the evaluation model of an augmix checkpoint.

    ``dataset`` and ``num_classes``: what it will be evaluated on. Another class count is
    refused; a checkpoint trained on another dataset too, unless ``allow_other_dataset``.
    """
    state = load_checkpoint(path)
    spec = ModelSpec.from_dict(state["spec"], str(path))
    if num_classes is not None and spec.num_classes != num_classes:
        raise CheckpointError(f"the model has {spec.num_classes} output classes but {dataset or 'the data'} has "
                              f"{num_classes}")
    if dataset is not None and spec.dataset not in (None, dataset) and not allow_other_dataset:
        raise CheckpointError(f"{path} was trained on {spec.dataset}, not {dataset}; evaluate it on "
                              f"{spec.dataset}, or pass --allow-other-dataset if that is what you mean")
    model = build_model(spec)
    load_state_checked(model, evaluation_state(state["model"]), path)
    return LoadedModel(model, spec, f"augmix checkpoint {path} (epoch {state.get('epoch', '?')})")


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from a weights file: a bare state dict, or a dict holding one under
    ``state_dict`` / ``model`` (google-research/augmix, torchvision, timm), ``module.`` stripped."""
    obj = safe_load(path, "weights file")
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds no state dict (a mapping of names to tensors)")
    return evaluation_state(obj)


def load_external(arch: str, weights: str | os.PathLike, num_classes: int, mean_std: tuple,
                  dataset: str | None = None) -> LoadedModel:
    """An architecture by name (ours, torchvision's or timm's) with weights from a file.

    Checkpoints saved by the reference ``cifar.py`` load as they are (``models.reference``).
    """
    from augmix.models import build_arch, resolve_arch
    from augmix.models.reference import from_reference

    try:
        lib, bare = resolve_arch(arch)
        model = build_arch(arch, num_classes)
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    load_state_checked(model, from_reference(bare if lib == "augmix" else arch, read_weights(weights), model),
                       weights)
    try:
        spec = ModelSpec(arch, num_classes, tuple(mean_std[0]), tuple(mean_std[1]), dataset)
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    return LoadedModel(model, spec, f"{arch} weights {weights}")


__all__ = ["FORMAT", "CheckpointError", "LoadedModel", "ModelSpec", "build_model", "evaluation_state",
           "load_checkpoint", "load_external", "load_model", "load_state_checked", "read_weights",
           "safe_load", "save_checkpoint"]
