"""One evaluation over every benchmark asked for or present: the clean test data, then each
benchmark of the registry, written as one results.json / report.md / plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from augmix.results import ModelInfo, Results, StabilityResult
from augmix.suite.benchmark import CleanSet, Context
from augmix.suite.config import GENERATE, RELEASED, EvalConfig
from augmix.suite.registry import REGISTRY


def find_sets(dataset: str, suite_dir: str | Path | None, suite: tuple[str, ...] | list[str] | None,
              given: dict[str, Path | str]) -> dict[str, Path | str]:
    """{benchmark: folder or RELEASED} to evaluate: the ``given`` ones, then those found in
    ``suite_dir`` under the folder names their releases unpack to (registry order).

    ``suite``: only these benchmarks, and each must be found (a missing one is an error naming
    where it was looked for); without it, every benchmark found is evaluated.
    """
    if suite:
        _check_suite(dataset, suite)
    for name, source in given.items():
        _check_given(dataset, name, source)
    found = {k: v for k, v in given.items() if v is not None}
    if suite_dir is not None:
        found.update(_found_in(Path(suite_dir), dataset, [n for n in REGISTRY if n not in found and
                                                          (not suite or n in suite)]))
    if suite:
        found = _only_suite(found, suite, dataset, suite_dir)
    return {k: found[k] for k in REGISTRY if k in found}  # registry order


def _only_suite(found: dict, suite: tuple[str, ...] | list[str], dataset: str, suite_dir) -> dict:
    """The sets of ``suite``, each of which must have been found."""
    missing = [s for s in suite if s not in found]
    if missing:
        where = f"in {suite_dir}" if suite_dir is not None else "(no --suite-dir given)"
        raise ValueError("not found " + where + ": " + "; ".join(
            f"{s} (looked for {' or '.join(REGISTRY[s].folders_for(dataset))})" for s in missing))
    return {k: v for k, v in found.items() if k in suite}


def _check_suite(dataset: str, suite: tuple[str, ...] | list[str]) -> None:
    """``--suite`` names benchmarks of the registry that ``dataset`` has."""
    bad = [s for s in suite if s not in REGISTRY]
    if bad:
        raise ValueError(f"unknown suite set(s) {', '.join(bad)}; choose from {', '.join(REGISTRY)}")
    other = [s for s in suite if not REGISTRY[s].folders_for(dataset)]
    if other:
        known = [b.name for b in REGISTRY.values() if b.folders_for(dataset)]
        raise ValueError(f"{', '.join(other)} is not a benchmark of {dataset}; for {dataset} choose from "
                         f"{', '.join(known) or 'none'}")


def _check_given(dataset: str, name: str, source: Path | str) -> None:
    """A set given by its flag is a benchmark of ``dataset`` that its source can provide."""
    if name not in REGISTRY:
        raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(REGISTRY)}")
    b = REGISTRY[name]
    if not b.folders_for(dataset):
        kind = "benchmark" if b.derived else "natural shift"
        raise ValueError(f"{name} is a {kind} of another dataset than {dataset}")
    if source == RELEASED and dataset not in b.downloadable:
        raise ValueError(f"{name} has no download for {dataset}; give its folder")
    if source == GENERATE and not b.generates:
        raise ValueError(f"{name} cannot be made in memory; give its folder")


def _found_in(root: Path, dataset: str, names: list[str]) -> dict[str, Path]:
    """The benchmarks of ``names`` present in ``root`` under their releases' folder names."""
    if not root.is_dir():
        raise ValueError(f"--suite-dir {root} is not a folder")
    found = {}
    for name in names:
        hit = next((root / f for f in REGISTRY[name].folders_for(dataset) if (root / f).exists()), None)
        if hit is not None:
            found[name] = hit
    return found


def run_evaluation(config: EvalConfig | None = None, **fields) -> Results:
    """Evaluate a model on its clean test data and every benchmark asked for or found, and
    write results.json, report.md and plots to ``config.out``; return the results.

    ``config``: an ``EvalConfig``, or its fields as keywords. Every set is opened (or
    downloaded) and checked against the clean data before any evaluation, and the output
    folder is checked for writing first.
    """
    from augmix.devices import resolve_device
    from augmix.evaluate import Predictor, open_model
    from augmix.io import ensure_writable_dir, output_lock
    from augmix.memory import check_batch
    from augmix.results import load_results

    cfg = config if config is not None else EvalConfig(**fields)
    dev = resolve_device(cfg.device)
    if dev.type == "cpu" and cfg.tune_malloc:
        from augmix.allocator import keep_freed_memory

        keep_freed_memory()  # a forward pass at 224 px otherwise spends most of its time in page faults
    sets = find_sets(cfg.dataset, cfg.suite_dir, cfg.suite, cfg.sets)
    inputs = [p for p in sets.values() if p not in (RELEASED, GENERATE)]  # every file or folder read is an input
    inputs += [p for p in (cfg.checkpoint, cfg.weights, cfg.p_baseline, cfg.suite_dir, cfg.data_dir) if p is not None]
    if cfg.p_baseline is not None:
        _check_p_baseline(cfg, sets)
    ensure_writable_dir(cfg.out, inputs, verb="evaluate")
    baseline = None
    if cfg.p_baseline is not None:
        baseline = load_results(cfg.p_baseline).benchmarks.get("p")
        if not isinstance(baseline, StabilityResult):
            raise ValueError(f"{cfg.p_baseline} holds no -P results to normalise by; evaluate the baseline with "
                             "--perturbed")
    lm = open_model(cfg.checkpoint, cfg.arch, cfg.weights, _num_classes(cfg), cfg.dataset,
                    allow_other_dataset=cfg.allow_other_dataset)
    clean = _clean_set(cfg)
    check_batch(cfg.batch, clean.images.shape[1:] if clean.images is not None else (224, 224, 3), dev)
    ctx = Context(cfg, Predictor(lm, dev, cfg.batch, cfg.workers, cfg.progress), clean, baseline)
    handles = {name: REGISTRY[name].open(source, ctx) for name, source in sets.items()}
    with output_lock(cfg.out):
        return _evaluate_all(cfg, ctx, lm, clean, handles)


def _check_p_baseline(cfg: EvalConfig, sets: dict) -> None:
    if cfg.dataset != "imagenet":
        raise ValueError("--p-baseline normalises ImageNet-P (mFR); CIFAR-P reports the mean flip probability as is")
    if "p" not in sets:
        raise ValueError("--p-baseline normalises -P results; give the ImageNet-P set too (--perturbed or "
                         "--suite-dir)")


def _evaluate_all(cfg: EvalConfig, ctx: Context, lm, clean: CleanSet, handles: dict) -> Results:
    from augmix.io import own
    from augmix.report import write_results

    clean_res = _evaluate_clean(ctx)
    ctx.clean_error = clean_res.scores.error
    records = {}
    for name, handle in handles.items():
        record = REGISTRY[name].evaluate(handle, ctx)
        if record is not None:
            records[name] = record
    results = Results(name=cfg.name or Path(cfg.out).name,
                      model=ModelInfo(name=lm.spec.arch, source=lm.source, num_classes=lm.spec.num_classes),
                      dataset=cfg.dataset, clean=clean_res, benchmarks=records, subset=clean.subset)
    own(cfg.out, "evaluate")  # before its first output: every set was evaluated
    write_results(results, cfg.out)
    return results


def _num_classes(cfg: EvalConfig) -> int:
    """How many outputs a model of ``cfg.dataset`` must have (ImageNet: the class folders of val/)."""
    from augmix.data import NUM_CLASSES, DataError

    if cfg.dataset != "imagenet":
        return NUM_CLASSES.get(cfg.dataset, 10)
    val = Path(cfg.data_dir) / "val" if cfg.data_dir is not None else None
    if val is None or not val.is_dir():
        raise DataError("ImageNet evaluation needs --data-dir with a val/ ImageFolder tree")
    return len([d for d in val.iterdir() if d.is_dir() and not d.name.startswith(".")])


def _clean_set(cfg: EvalConfig) -> CleanSet:
    """The clean test data: the whole split, or its subset's rows."""
    from augmix.data.subsets import make_subset, select

    subset = make_subset(cfg.limit, cfg.indices)
    if cfg.dataset == "imagenet":
        from augmix.data.images import walk_image_tree

        tree = walk_image_tree(Path(cfg.data_dir) / "val")
        rows = select(subset, len(tree.images), f"{tree.root}")
        items = [tree.images[i] for i in rows]
        samples = [i.sample for i in items]
        source = f"ImageFolder {tree.root} (Resize 256, CenterCrop 224)" + (f", {subset.describe()}" if subset else "")
        return CleanSet(source, len(tree.images), rows, np.array([y for _, y in samples]), subset,
                        classes=tree.classes, samples=samples, items=items)
    if cfg.dataset == "digits":
        from augmix.data.digits import load_digits_rgb

        test = load_digits_rgb()[1]
    else:
        from augmix.data import load_cifar

        test = load_cifar(cfg.dataset, cfg.data_dir, train=False)
    rows = select(subset, len(test.labels), test.source)
    source = test.source + (f", {subset.describe()}" if subset else "")
    return CleanSet(source, len(test.labels), rows, np.asarray(test.labels)[rows], subset, images=test.images[rows])


def _evaluate_clean(ctx: Context):
    from augmix.evaluate import check_labels, clean_result

    clean = ctx.clean
    check_labels(ctx.model, clean.labels, "the clean test data")
    if clean.is_tree:
        logits, labels = ctx.predict.samples(clean.samples, desc="clean")
    else:
        logits, labels = ctx.predict.arrays(clean.images, desc="clean"), clean.labels
    return clean_result(logits, labels, clean.source)


def summary_line(results: Results) -> str:
    """The headline figures of an evaluation, one line."""
    parts = [f"clean error {100 * results.clean.scores.error:.2f}%"]
    for name, record in results.benchmarks.items():
        parts += REGISTRY[name].summary(record)
    return ", ".join(parts)
