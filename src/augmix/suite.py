"""One evaluation over every benchmark that is present: clean, -C, -C-bar, -P and the natural
shifts, written as one results.json / report.md / plots.

A set is found either at a path given for it, or under a suite folder by the name its
release unpacks to (``SUITE_FOLDERS``); ``suite`` names restrict (and require) which.
"""

from __future__ import annotations

from pathlib import Path

from augmix.corruptions.tables import BENCHMARK, CBAR_TABLES

# What each benchmark's release unpacks to (the first name) and other spellings seen in use.
SUITE_FOLDERS: dict[str, dict[str, tuple[str, ...]]] = {
    "cifar10": {"c": ("CIFAR-10-C",), "c-bar": ("CIFAR-10-C-Bar", "CIFAR-10-C-bar", "cifar10_c_bar"),
                "p": ("CIFAR-10-P",), "cifar10.1": ("CIFAR-10.1",)},
    "cifar100": {"c": ("CIFAR-100-C",), "p": ("CIFAR-100-P",)},
    "imagenet": {"c": ("ImageNet-C", "imagenet-c"), "c-bar": ("ImageNet-C-Bar", "imagenet-c-bar", "imagenet_c_bar"),
                 "p": ("ImageNet-P", "imagenet-p"), "imagenet-r": ("imagenet-r",), "imagenet-a": ("imagenet-a",),
                 "imagenet-sketch": ("sketch", "imagenet-sketch"),
                 "imagenet-v2": ("imagenetv2-matched-frequency-format-val",)},
}
SETS = ("c", "c-bar", "p", "cifar10.1", "imagenet-r", "imagenet-a", "imagenet-sketch", "imagenet-v2")


def find_sets(dataset: str, suite_dir: str | Path | None, suite: list[str] | None, given: dict[str, object]) -> dict:
    """{set: path or "released"} to evaluate: the ``given`` ones, then those found in ``suite_dir``.

    ``suite``: only these sets, and each must be found (a missing one is an error naming
    where it was looked for); without it, every set found is evaluated.
    """
    known = SUITE_FOLDERS.get(dataset, {})
    if suite:
        bad = [s for s in suite if s not in SETS]
        if bad:
            raise ValueError(f"unknown suite set(s) {', '.join(bad)}; choose from {', '.join(SETS)}")
        other = [s for s in suite if s not in known]
        if other:
            raise ValueError(f"{', '.join(other)} is not a benchmark of {dataset}; for {dataset} choose from "
                             f"{', '.join(known) or 'none'}")
    found = {k: v for k, v in given.items() if v is not None}
    if suite_dir is not None:
        root = Path(suite_dir)
        if not root.is_dir():
            raise ValueError(f"--suite-dir {root} is not a folder")
        for name, folders in known.items():
            if name in found or (suite and name not in suite):
                continue
            hit = next((root / f for f in folders if (root / f).exists()), None)
            if hit is not None:
                found[name] = hit
    if suite:
        missing = [s for s in suite if s not in found]
        if missing:
            where = f"in {suite_dir}" if suite_dir is not None else "(no --suite-dir given)"
            raise ValueError("not found " + where + ": " + "; ".join(
                f"{s} (looked for {' or '.join(known[s])})" for s in missing))
        found = {k: v for k, v in found.items() if k in suite}
    return found


def run_evaluation(out: str | Path, checkpoint: str | Path | None = None, arch: str | None = None,
                   weights: str | Path | None = None, dataset: str = "cifar10", data_dir: str | Path | None = None,
                   corrupted: str | Path | None = None, corruptions=BENCHMARK, batch_size: int = 500,
                   workers: int = 2, device: str | None = None, name: str | None = None,
                   progress: bool = True, allow_other_dataset: bool = False, *, perturbed: str | Path | None = None,
                   c_bar: str | Path | None = None, natural: dict[str, str | Path] | None = None,
                   suite_dir: str | Path | None = None, suite: list[str] | None = None,
                   p_baseline: str | Path | None = None, difficulty: int = 1) -> dict:
    """Evaluate a model on its clean test data and every benchmark asked for or found, and
    write results.json, report.md and plots to ``out``.

    ``dataset``: cifar10, cifar100, digits (their test splits) or imagenet (``data_dir/val``).
    ``corrupted``: a -C folder, or ``"released"`` to download/verify CIFAR-10-C / CIFAR-100-C.
    ``perturbed``: a -P folder (CIFAR-P arrays or ImageNet-P videos). ``c_bar``: a -C-bar
    folder. ``natural``: {set name: folder} of natural shifts (cifar10.1, imagenet-r, ...).
    ``suite_dir``/``suite``: find the sets by their release names (see ``find_sets``).
    ``p_baseline``: a results.json whose -P results normalise ImageNet-P's mFR and mT5D.
    The output folder is checked for writing before any work.
    """
    from augmix.data import NUM_CLASSES
    from augmix.evaluate import open_model, resolve_device
    from augmix.io import ensure_writable_dir
    from augmix.report import load_results, write_results

    if batch_size < 1 or workers < 0:
        raise ValueError(f"--batch-size must be >= 1 and --workers >= 0, got {batch_size} and {workers}")
    if difficulty < 1:
        raise ValueError(f"--difficulty must be >= 1, got {difficulty}")
    dev = resolve_device(device)
    given = {"c": corrupted, "p": perturbed, "c-bar": c_bar, **(natural or {})}
    bad = [k for k in (natural or {}) if k not in SETS or k in ("c", "p", "c-bar")]
    if bad:
        raise ValueError(f"unknown natural shift {', '.join(bad)}; choose from {', '.join(SETS[3:])}")
    sets = find_sets(dataset, suite_dir, suite, given)
    wrong = [k for k in sets if k in SETS[3:] and k not in SUITE_FOLDERS.get(dataset, {})]
    if wrong:
        raise ValueError(f"{', '.join(wrong)} is a natural shift of another dataset than {dataset}")
    if p_baseline is not None and dataset != "imagenet":
        raise ValueError("--p-baseline normalises ImageNet-P (mFR); CIFAR-P reports the mean flip probability as is")
    if p_baseline is not None and "p" not in sets:
        raise ValueError("--p-baseline normalises -P results; give the ImageNet-P set too (--perturbed or --suite-dir)")
    baseline = load_results(p_baseline).get("perturbations") if p_baseline is not None else None
    if p_baseline is not None and not baseline:
        raise ValueError(f"{p_baseline} holds no -P results to normalise by; evaluate the baseline with --perturbed")
    ensure_writable_dir(out)
    if dataset in NUM_CLASSES or dataset == "digits":
        lm = open_model(checkpoint, arch, weights, NUM_CLASSES.get(dataset, 10), dataset,
                        allow_other_dataset=allow_other_dataset)
        res, data = _cifar_sets(lm, dataset, data_dir, sets, dev, corruptions, batch_size, progress, difficulty)
    elif dataset == "imagenet":
        if data_dir is None or not (Path(data_dir) / "val").is_dir():
            raise ValueError("ImageNet evaluation needs --data-dir with a val/ ImageFolder tree")
        from torchvision.datasets import ImageFolder

        from augmix.data.folders import is_image_file

        k = len(ImageFolder(str(Path(data_dir) / "val"), is_valid_file=is_image_file).classes)
        lm = open_model(checkpoint, arch, weights, k, dataset, allow_other_dataset=allow_other_dataset)
        res, data = _imagenet_sets(lm, data_dir, sets, dev, corruptions, min(batch_size, 250), workers, progress,
                                   difficulty, baseline)
        if baseline is not None:  # (a -P set is present: checked above)
            res["perturbations"]["baseline"] = str(p_baseline)
    else:
        raise ValueError(f"unknown dataset {dataset!r}; choose cifar10, cifar100, digits or imagenet")
    res = {"name": name or Path(out).name, "model": {"name": lm.spec.arch, "source": lm.source,
                                                     "num_classes": lm.spec.num_classes},
           "data": data, "sets": sorted(sets), **res}
    write_results(res, out)
    return res


def _cifar_sets(lm, dataset: str, data_dir, sets: dict, dev, corruptions, batch_size: int, progress: bool,
                difficulty: int) -> tuple[dict, dict]:
    """Every set opened (and downloaded) first, so a missing one stops the run before any work."""
    from augmix.data import load_cifar
    from augmix.data.corrupted import load_released_cifar_c, open_cifar_c
    from augmix.data.natural import load_cifar10_1, read_cifar10_1
    from augmix.data.perturbed import open_cifar_p
    from augmix.evaluate import corrupted_arrays, evaluate_cifar, evaluate_clean_arrays
    from augmix.stability import evaluate_cifar_p

    if dataset == "digits":
        from augmix.data.digits import load_digits_rgb

        test = load_digits_rgb()[1]
    else:
        test = load_cifar(dataset, data_dir, train=False)
    n = len(test)
    cc = (load_released_cifar_c(dataset, data_dir) if sets.get("c") == "released" else
          open_cifar_c(sets["c"], expected_n=n) if "c" in sets else None)
    cb = open_cifar_c(sets["c-bar"], expected_n=n) if "c-bar" in sets else None
    cp = open_cifar_p(sets["p"], expected_n=n) if "p" in sets else None
    where = sets.get("cifar10.1")
    shift = None if where is None else load_cifar10_1(data_dir) if where == "released" else read_cifar10_1(where)

    res = evaluate_cifar(lm, test.images, test.labels, cc, dev, corruptions, batch_size, progress)
    if cb is not None:
        res["c_bar"] = {**corrupted_arrays(lm, cb, dev, tuple(CBAR_TABLES[32]), batch_size, progress),
                        "data": cb.provenance}
    if cp is not None:
        res["perturbations"] = {**evaluate_cifar_p(lm, cp, dev, difficulty=difficulty, batch_size=batch_size,
                                                   progress=progress), "data": cp.provenance}
    if shift is not None:
        r = evaluate_clean_arrays(lm, shift.images, shift.labels, dev, batch_size, progress, desc="cifar10.1")
        res["natural"] = {"cifar10.1": {**{k: v for k, v in r.items() if not k.startswith("_")},
                                        "data": shift.source}}
    return res, {"clean": test.source, "corrupted": cc.provenance if cc else None}


def _imagenet_sets(lm, data_dir, sets: dict, dev, corruptions, batch_size: int, workers: int, progress: bool,
                   difficulty: int, baseline: dict | None) -> tuple[dict, dict]:
    """Every set opened (and downloaded) first, then evaluated."""
    from augmix.data.corrupted import open_folder_c
    from augmix.data.natural import open_imagenet_shift
    from augmix.data.perturbed import open_folder_p
    from augmix.evaluate import corrupted_folders, evaluate_imagenet, evaluate_imagenet_shift
    from augmix.stability import evaluate_folder_p, normalise_by

    fc = open_folder_c(sets["c"]) if "c" in sets else None
    fb = open_folder_c(sets["c-bar"]) if "c-bar" in sets else None
    fp = open_folder_p(sets["p"]) if "p" in sets else None
    shifts = [open_imagenet_shift(k, data_dir if sets[k] == "released" else sets[k], download=sets[k] == "released")
              for k in ("imagenet-r", "imagenet-a", "imagenet-sketch", "imagenet-v2") if k in sets]

    res = evaluate_imagenet(lm, Path(data_dir) / "val", fc, dev, corruptions, batch_size, workers, progress)
    if fb is not None:
        res["c_bar"] = {**corrupted_folders(lm, fb, dev, tuple(CBAR_TABLES[224]), batch_size, workers, progress),
                        "data": f"ImageNet-C-bar tree {fb.root} (read as stored)"}
    if fp is not None:
        pres = evaluate_folder_p(lm, fp, dev, difficulty=difficulty, batch_size=batch_size, workers=workers,
                                 progress=progress)
        if baseline is not None:
            pres.update(normalise_by(pres, baseline))
        res["perturbations"] = {**pres, "data": f"ImageNet-P videos {fp.root}"}
    for shift in shifts:
        r = evaluate_imagenet_shift(lm, shift, dev, batch_size, workers, progress)
        res.setdefault("natural", {})[shift.name] = {**r, "data": f"{shift.name} at {shift.root}"}
    data = {"clean": f"ImageFolder {Path(data_dir) / 'val'} (Resize 256, CenterCrop 224)",
            "corrupted": f"ImageNet-C tree {fc.root} (read as stored, no resize)" if fc else None}
    return res, data


def summary_line(res: dict) -> str:
    """The headline figures of a results dict, one line."""
    parts = [f"clean error {100 * res['clean']['error']:.2f}%"]
    if "mean_corruption_error" in res:
        parts.append(f"mean corruption error {100 * res['mean_corruption_error']:.2f}%")
    if "mce" in res:
        parts.append(f"mCE {100 * res['mce']:.1f}%")
    if "mean_corruption_error" in res.get("c_bar", {}):
        parts.append(f"-C-bar error {100 * res['c_bar']['mean_corruption_error']:.2f}%")
    p = res.get("perturbations", {})
    if "mfr" in p:
        parts.append(f"mFR {100 * p['mfr']:.1f}%")
    elif "mean_flip_probability" in p:
        parts.append(f"mean flip probability {100 * p['mean_flip_probability']:.2f}%")
    for k, v in res.get("natural", {}).items():
        parts.append(f"{k} error {100 * v['error']:.2f}%")
    return ", ".join(parts)


__all__ = ["SETS", "SUITE_FOLDERS", "find_sets", "run_evaluation", "summary_line"]
