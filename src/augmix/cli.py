"""Command line: parses arguments and calls the library; nothing else.

    augmix preview IMAGE... --out grid.png [--ops] [--corruptions]
    augmix corrupt --dataset cifar10 --out DIR      (CIFAR-10-C layout; --benchmark c-bar: CIFAR-10-C-bar)
    augmix corrupt --images FOLDER --out DIR        (ImageNet-C layout)
    augmix perturb --dataset cifar10 --out DIR      (CIFAR-10-P layout; --images FOLDER: ImageNet-P videos)
    augmix train --recipe cifar-wrn --out runs/wrn [--method standard|augmix|augmix_jsd] [--resume]
    augmix evaluate runs/wrn/checkpoint.pt --corrupted DIR|released --out runs/wrn/eval
    augmix evaluate runs/wrn/checkpoint.pt --suite-dir DATASETS --out runs/wrn/eval  (-C, -C-bar, -P, shifts)
    augmix compare RUN... --out DIR
    augmix demo --out runs/demo                     (offline, ~3 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence
from dataclasses import MISSING, fields
from pathlib import Path


def _out_picture(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise argparse.ArgumentTypeError(f"{value}: the output must end in .png or .jpg")
    return path


def _names(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {value!r}")
    return names


def _ints(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def _named_path(value: str) -> tuple[str, str]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=FOLDER (e.g. imagenet-r=/data/imagenet-r), got {value!r}")
    return name.strip(), path


def _augmix_config(value: str):
    from augmix.augment import AugMixConfig

    try:
        return AugMixConfig.parse(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(kind: type, minimum: int = 1):
    def parse(value: str):
        try:
            v = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {value!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return v
    return parse


# ----------------------------------------------------------------------------- commands

def cmd_preview(args: argparse.Namespace) -> None:
    from augmix.augment import AugMixConfig
    from augmix.io import ensure_writable_dir, open_image, save_image
    from augmix.preview import augmix_grid, corruption_grid, ops_grid

    if any(args.out.resolve() == Path(p).resolve() for p in args.images):
        raise ValueError(f"--out {args.out} is one of the input images; write the picture elsewhere")
    images = [open_image(p) for p in args.images]
    ensure_writable_dir(args.out.parent, owned=False)
    if args.corruptions:
        sheet = corruption_grid(images[0], seed=args.seed)
    elif args.ops:
        sheet = ops_grid(images[0], all_ops=True)
    else:
        config = AugMixConfig(**{f.name: getattr(args, f.name) for f in fields(AugMixConfig)})
        sheet = augmix_grid(images, config, samples=args.samples, seed=args.seed)
    save_image(sheet, args.out, "PNG" if args.out.suffix.lower() == ".png" else "JPEG")
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")


def _subset_fields(args: argparse.Namespace) -> dict:
    from augmix.data.subsets import read_indices

    return {"limit": args.limit, "indices": read_indices(args.indices) if args.indices is not None else None}


def cmd_corrupt(args: argparse.Namespace) -> None:
    from augmix.generation import GenerateConfig, generate

    config = GenerateConfig(out=args.out, benchmark=args.benchmark, dataset=args.dataset, data_dir=args.data_dir,
                            images=args.images, layout=args.layout, size=args.size,
                            names=tuple(args.corruptions) if args.corruptions else None, extra=args.extra,
                            severities=tuple(args.severities), seed=args.seed, workers=args.workers,
                            reference_stream=args.reference_stream, device=args.device, **_subset_fields(args))
    print(f"wrote {generate(config)}")


def cmd_perturb(args: argparse.Namespace) -> None:
    from augmix.generation import GenerateConfig, generate

    config = GenerateConfig(out=args.out, benchmark="p", dataset=args.dataset, data_dir=args.data_dir,
                            images=args.images, layout=args.layout, size=args.size,
                            names=tuple(args.perturbations) if args.perturbations else None, seed=args.seed,
                            workers=args.workers, reference_stream=args.reference_stream, **_subset_fields(args))
    print(f"wrote {generate(config)}")


def cmd_train(args: argparse.Namespace) -> None:
    from augmix.recipes import RECIPES
    from augmix.train import TrainConfig, train

    settings = dict(RECIPES[args.recipe]) if args.recipe else {}
    for f in fields(TrainConfig):
        value = getattr(args, f.name)
        if value is not None:
            settings[f.name] = str(value) if isinstance(value, Path) else value
    out = train(TrainConfig.from_dict(settings), resume=args.resume)
    print(f"checkpoint and logs in {out}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from augmix.suite import GENERATE, RELEASED, EvalConfig, run_evaluation, summary_line

    sets: dict[str, Path | str] = {}
    for name, path in [("c", args.corrupted), ("p", args.perturbed), ("c-bar", args.c_bar), ("3dcc", args.threedcc),
                       *(args.natural or [])]:
        if path is None:
            continue
        if name in sets:
            raise ValueError(f"--natural {name} is given twice")
        sets[name] = str(path) if str(path) in (RELEASED, GENERATE) else Path(path)
    config = EvalConfig(out=args.out, checkpoint=args.checkpoint, arch=args.arch, weights=args.weights,
                        dataset=args.dataset, data_dir=args.data_dir, sets=sets, suite_dir=args.suite_dir,
                        suite=tuple(args.suite) if args.suite else None, batch_size=args.batch_size,
                        workers=args.workers, device=args.device, name=args.name,
                        allow_other_dataset=args.allow_other_dataset, p_baseline=args.p_baseline,
                        difficulty=args.difficulty, generate_seed=args.generate_seed,
                        generate_device=args.generate_device,
                        tune_malloc=args.tune_malloc, **_subset_fields(args))
    res = run_evaluation(config)
    print(f"{summary_line(res)}; report in {args.out}")


def cmd_compare(args: argparse.Namespace) -> None:
    from augmix.report import compare

    out = compare(args.runs, args.out, args.labels)
    print(f"wrote {out / 'compare.md'}")


def cmd_demo(args: argparse.Namespace) -> None:
    from augmix.demo import run_demo

    out = run_demo(args.out, args.dataset, args.data_dir, tuple(args.seeds), args.workers, epochs=args.epochs,
                   model=args.model)
    print(f"report: {out / 'report.md'}")


# ------------------------------------------------------------------------------ parser

class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line that points to --help (not the whole usage)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_dataclass_options(group, cls, *, defaults: bool, skip: tuple[str, ...] = ()) -> None:
    """One option per dataclass field, with the field's help text and allowed values.

    ``defaults=False`` leaves unset options as None, so a recipe's values show through.
    """
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        meta = f.metadata
        kind = hints[f.name]
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        kw: dict = {"dest": f.name, "default": default if defaults else None}
        help_text = meta.get("help", "")
        if kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif f.name == "augmix":
            kw["type"] = _augmix_config
            kw["metavar"] = "KEY=VALUE,..."
        elif f.name == "baselines":
            kw["type"] = _names
            kw["metavar"] = "NAME,..."
            help_text += f" ({', '.join(meta['choices'])})"
        else:
            base = next((t for t in typing.get_args(kind) if t is not type(None)), kind)
            kw["type"] = Path if f.name.endswith("_dir") else base
            if "choices" in meta:
                kw["choices"] = meta["choices"]
        if defaults and not isinstance(default, tuple):
            help_text += f" (default {default})"
        group.add_argument(flag, help=help_text, **kw)


def build_parser() -> argparse.ArgumentParser:
    from augmix import __version__
    from augmix.augment import AugMixConfig
    from augmix.corruptions import ALL
    from augmix.corruptions.tables import CBAR_ALL
    from augmix.perturbations.tables import ALL as P_ALL
    from augmix.recipes import RECIPES
    from augmix.suite import REGISTRY
    from augmix.train import TrainConfig

    parser = _Parser(prog="augmix", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"augmix {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("preview", help="picture grid of AugMix (or --ops / --corruptions)")
    p.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, ...)")
    p.add_argument("--out", type=_out_picture, required=True, help="output picture (.png/.jpg)")
    p.add_argument("--samples", type=_positive(int), default=4, help="AugMix results per image (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--ops", action="store_true", help="every op at several severities")
    mode.add_argument("--corruptions", action="store_true", help="every corruption x severity 1-5 on the first image")
    _add_dataclass_options(p.add_argument_group("AugMix"), AugMixConfig, defaults=True)
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("corrupt", help="generate a -C or -C-bar dataset (CIFAR-C .npy or ImageNet-C folders)")
    _add_generator_options(p, "corrupt", "ImageNet-C folders", "CIFAR-C .npy arrays (same-size images)")
    p.add_argument("--corruptions", type=_names, default=None,
                   help=f"comma-separated subset of: {', '.join(ALL)}; with --benchmark c-bar: {', '.join(CBAR_ALL)}")
    p.add_argument("--extra", action="store_true", help="also the 4 held-out corruptions (speckle_noise, "
                   "gaussian_blur, spatter, saturate)")
    p.add_argument("--severities", type=_ints, default=[1, 2, 3, 4, 5], help="comma-separated, among 1-5 "
                   "(default 1,2,3,4,5)")
    p.add_argument("--reference-stream", action="store_true",
                   help="byte-identical to the published make_*_c.py scripts run after np.random.seed(SEED) before "
                        "each corruption (one process per corruption, one image at a time: slower)")
    p.add_argument("--benchmark", choices=["c", "c-bar"], default="c",
                   help="-C (default) or -C-bar (Mintun et al. 2021: CIFAR-10-C-bar at 32 px, ImageNet-C-bar at 224)")
    p.add_argument("--device", default=None,
                   help="corrupt with the torch back-end on this device (cuda, cuda:1, cpu; -C only): equal in "
                        "distribution, its own random streams; default: the numpy back-end on every core")
    p.set_defaults(func=cmd_corrupt)

    p = sub.add_parser("perturb", help="generate a -P dataset (CIFAR-P .npy or ImageNet-P .mp4 videos)")
    _add_generator_options(p, "perturb", "ImageNet-P videos", "CIFAR-P arrays (same-size square images)")
    p.add_argument("--perturbations", type=_names, default=None,
                   help=f"comma-separated subset of: {', '.join(P_ALL)} (default all)")
    p.add_argument("--reference-stream", action="store_true",
                   help="byte-identical to the published make_*_p.py scripts run after np.random.seed(SEED) and "
                        "torch.manual_seed(SEED) (one process per perturbation, one image at a time)")
    p.set_defaults(func=cmd_perturb)

    p = sub.add_parser("train", help="train Standard / AugMix / AugMix+JSD (torchrun for DDP)",
                       description="Options left out take the recipe's value, else TrainConfig's default "
                                   "(the paper's CIFAR-10 WRN-40-2 settings).")
    p.add_argument("--recipe", choices=sorted(RECIPES), help="the paper's settings by name")
    p.add_argument("--resume", action="store_true", help="continue the checkpoint in --out")
    _add_dataclass_options(p.add_argument_group("settings (TrainConfig)"), TrainConfig, defaults=False)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="clean + corruption error, mCE, calibration; report files")
    p.add_argument("checkpoint", nargs="?", type=Path, help="an augmix checkpoint.pt")
    p.add_argument("--arch", help="instead of a checkpoint: our, torchvision's or timm's model name")
    p.add_argument("--weights", type=Path, help="weights file for --arch (a state dict, or a dict holding one)")
    p.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100", "digits", "imagenet"],
                   help="clean test data (default cifar10; imagenet: --data-dir holds val/)")
    p.add_argument("--data-dir", type=Path, help="dataset root (default $AUGMIX_DATA or ~/.cache/augmix)")
    p.add_argument("--corrupted", help="-C folder, 'released' to download CIFAR-10-C/100-C, or 'generate' to "
                   "corrupt the test data in memory exactly as `augmix corrupt --seed` writes it")
    p.add_argument("--perturbed", type=Path, help="-P folder (CIFAR-10-P arrays or ImageNet-P videos)")
    p.add_argument("--3dcc", dest="threedcc", type=Path, help="ImageNet-3DCC folder (<corruption>/<severity>/<class>/"
                   "<image>), with --dataset imagenet")
    p.add_argument("--c-bar", help="-C-bar folder (CIFAR-10-C-bar arrays or an ImageNet-C-bar tree), or 'generate' "
                   "(in memory)")
    p.add_argument("--generate-seed", type=int, default=0, help="the seed of sets made in memory ('generate'): "
                   "as `augmix corrupt --seed` (default 0)")
    p.add_argument("--generate-device", help="make --corrupted generate with the torch back-end on this device "
                   "(cuda, cpu): as `augmix corrupt --device` writes it; default: the numpy back-end")
    p.add_argument("--natural", type=_named_path, action="append", metavar="NAME=FOLDER",
                   help="a natural shift: cifar10.1, imagenet-r, imagenet-a, imagenet-sketch or imagenet-v2 = its "
                        "folder, or =released to download and verify it (repeatable)")
    p.add_argument("--suite-dir", type=Path,
                   help="a folder holding benchmarks under their release names (CIFAR-10-C, CIFAR-10-P, "
                        "CIFAR-10-C-Bar, CIFAR-10.1, ImageNet-C, ImageNet-3DCC, ImageNet-P, imagenet-r, ...): "
                        "evaluate all found")
    p.add_argument("--suite", type=_names, metavar="SET,...",
                   help=f"only (and all of) these sets: {', '.join(REGISTRY)}")
    p.add_argument("--p-baseline", type=Path, help="results.json of the baseline (AlexNet) on the same -P set: "
                   "normalises ImageNet-P into mFR and mT5D")
    p.add_argument("--difficulty", type=_positive(int), default=1,
                   help="-P frame step for the non-noise perturbations (default 1, as published)")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    p.add_argument("--name", help="label for reports (default: the --out folder name)")
    p.add_argument("--batch-size", type=_positive(int), default=None,
                   help="images per batch (default 500 for 32 px data, 100 for ImageNet; used as given)")
    p.add_argument("--workers", type=_positive(int, 0), default=2, help="DataLoader workers (default 2)")
    p.add_argument("--no-tune-malloc", dest="tune_malloc", action="store_false",
                   help="CPU: leave glibc's allocator as it is (default: keep freed memory for reuse, which makes "
                        "large batches faster; the process keeps its peak memory)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--allow-other-dataset", action="store_true",
                   help="evaluate a checkpoint on a dataset other than the one it was trained on")
    _add_subset_options(p, "evaluate", "and the same images of every -C, -C-bar, -P and 3DCC set; the first N "
                        "images of each natural shift")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", help="Standard vs AugMix+JSD end to end, offline, in minutes on a CPU")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="report folder (default runs/demo)")
    p.add_argument("--dataset", choices=["digits", "cifar10"], default="digits",
                   help="digits: bundled with scikit-learn, offline (default); cifar10: downloaded if absent")
    p.add_argument("--data-dir", type=Path, help="dataset root (default $AUGMIX_DATA or ~/.cache/augmix)")
    p.add_argument("--epochs", type=_positive(int), help="epochs per arm (default: the preset's)")
    p.add_argument("--model", choices=sorted(_model_names()), help="architecture (default: tiny)")
    p.add_argument("--seeds", type=_ints, default=[0, 1, 2], help="comma-separated seeds, each training both "
                   "arms (default 0,1,2)")
    p.add_argument("--workers", type=_positive(int), default=None, help="processes for corrupting (default: all)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("compare", help="several evaluated runs side by side")
    p.add_argument("runs", nargs="+", type=Path, help="folders holding results.json")
    p.add_argument("--labels", type=_names, help="comma-separated labels, one per run")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=cmd_compare)
    return parser


def _add_generator_options(p: argparse.ArgumentParser, verb: str, folders: str, arrays: str) -> None:
    """The options ``corrupt`` and ``perturb`` share: where the images come from and go, and how."""
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", choices=["cifar10", "cifar100"], default="cifar10",
                     help=f"{verb} this dataset's test split into the CIFAR layout (default cifar10)")
    src.add_argument("--images", type=Path, help=f"an ImageFolder tree (ROOT/<class>/<image>) to {verb}")
    p.add_argument("--data-dir", type=Path, default=None, help="dataset root (default $AUGMIX_DATA or ~/.cache/augmix)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--layout", choices=["imagenet", "cifar"], default="imagenet",
                   help=f"--images: {folders} (default) or {arrays}")
    p.add_argument("--size", type=int, default=224, choices=[224, 64],
                   help="--images: ImageNet (224, default) or Tiny-ImageNet (64) preprocessing and table")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    p.add_argument("--workers", type=_positive(int), default=None, help="processes (default: all cores)")
    _add_subset_options(p, verb, "recorded in meta.json; evaluate them with the same --limit/--indices")


def _add_subset_options(p: argparse.ArgumentParser, verb: str, extra: str) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--limit", type=_positive(int), help=f"{verb} only the first N test images ({extra})")
    group.add_argument("--indices", type=Path, metavar="FILE", help=f"{verb} only the test images of these indices "
                       "(a .npy array, or a text file of integers)")


def _model_names() -> list[str]:
    from augmix.models import MODELS

    return list(MODELS)


def _one_line(err: BaseException) -> str:
    """The message of ``err``; for an error re-raised from a DataLoader worker (whose message
    embeds the worker's traceback), the original error's own last line."""
    text = str(err)
    if "Original Traceback" in text:
        last = text.strip().splitlines()[-1]
        return last.split(": ", 1)[1] if ": " in last else last
    return text


VERBS = {  # verb -> its one-line help: all ``augmix --help`` needs (it imports no library)
    "preview": "picture grid of AugMix (or --ops / --corruptions)",
    "corrupt": "generate a -C or -C-bar dataset (CIFAR-C .npy or ImageNet-C folders)",
    "perturb": "generate a -P dataset (CIFAR-P .npy or ImageNet-P .mp4 videos)",
    "train": "train Standard / AugMix / AugMix+JSD (torchrun for DDP)",
    "evaluate": "clean + corruption error, mCE, calibration; report files",
    "demo": "Standard vs AugMix+JSD end to end, offline, in minutes on a CPU",
    "compare": "several evaluated runs side by side",
}


def _light_parser() -> argparse.ArgumentParser:
    """The parser of ``augmix``, ``augmix --version`` and ``augmix --help``: no verb's options,
    so no torch, numpy or scipy is loaded (they start slowly, and under a tight ``ulimit -v``)."""
    from augmix import __version__

    parser = _Parser(prog="augmix", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"augmix {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for verb, text in VERBS.items():
        sub.add_parser(verb, help=text)
    return parser


def _start_under_limits() -> None:
    """Under an address-space limit (``ulimit -v``, as cluster jobs set), start OpenBLAS with one
    thread unless told otherwise: the three OpenBLAS copies numpy, scipy and OpenCV bring each
    reserve memory per thread at load, and OpenCV's older one spins forever when that fails. The
    BLAS work here is small; torch's own thread pool is not affected."""
    import os
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and "OPENBLAS_NUM_THREADS" not in os.environ:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in VERBS:  # --version, --help, a bad or missing verb
        try:
            _light_parser().parse_args(argv)
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 2
    _start_under_limits()
    try:
        from augmix.checkpoint import CheckpointError
        from augmix.data import DataError
        from augmix.io import MissingTool
        from augmix.train import TrainingDiverged

        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse's usage errors (status 2), --help and --version (0)
        return exit_.code if isinstance(exit_.code, int) else 2
    except (ImportError, MemoryError) as err:  # a library that cannot load (e.g. under a low ulimit -v)
        print(f"augmix {argv[0]}: error: cannot load the libraries it needs ({_one_line(err)[:200]}); "
              "raise the memory limit (ulimit -v) or install them", file=sys.stderr)
        return 2
    try:
        args.func(args)
    except KeyboardInterrupt:
        print("augmix: interrupted", file=sys.stderr)
        return 130
    except (DataError, CheckpointError, ValueError, TrainingDiverged, MissingTool) as err:
        print(f"augmix {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permissions, a missing file: the system's reason, one line
        where = f" ({err.filename})" if err.filename else ""
        print(f"augmix {args.command}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"augmix {args.command}: error: out of memory; use a smaller --batch-size or fewer --workers, or "
              "raise the memory limit", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
