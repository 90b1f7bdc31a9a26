"""Command line: parses arguments and calls the library; nothing else.

    augmix preview IMAGE... --out grid.png [--ops] [--corruptions]
    augmix corrupt --dataset cifar10 --out DIR      (CIFAR-10-C layout; --benchmark c-bar: CIFAR-10-C-bar)
    augmix corrupt --images FOLDER --out DIR        (ImageNet-C layout)
    augmix perturb --dataset cifar10 --out DIR      (CIFAR-10-P layout; --images FOLDER: ImageNet-P videos)
    augmix train --recipe cifar-wrn --out runs/wrn [--method standard|augmix|augmix_jsd] [--resume]
    augmix evaluate runs/wrn/checkpoint.pt --corrupted DIR|released --out runs/wrn/eval
    augmix evaluate runs/wrn/checkpoint.pt --suite-dir DATASETS --out runs/wrn/eval  (-C, -C-bar, -P, shifts)
    augmix compare RUN... --out DIR
    augmix demo --out runs/demo                     (offline, ~4 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any


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


def _one_line_errors(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` with its ValueError shown as argparse's one-line usage error."""
    def checked(value: str) -> Any:
        try:
            return parse(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    checked.__name__ = getattr(parse, "__name__", "value")
    return checked


def _positive(kind: type, minimum: int = 1, maximum: int | None = None):
    def parse(value: str):
        try:
            v = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {value!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        if maximum is not None and v > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum}, got {value}")
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


def config_from_args(cls: type, args: argparse.Namespace, **fixed: Any) -> Any:
    """The config ``cls`` of the parsed options its fields generated (``add_config_options``):
    lists become tuples, a field's ``convert`` reads what the flag named; ``fixed`` adds the
    fields the verb sets itself."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in fixed or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if isinstance(value, list):
            value = tuple(value)
        if value is not None and "convert" in f.metadata:
            value = f.metadata["convert"](value)
        values[f.name] = value
    return cls(**values, **fixed)


def cmd_corrupt(args: argparse.Namespace) -> None:
    from augmix.generation import GenerateConfig, generate

    print(f"wrote {generate(config_from_args(GenerateConfig, args))}")


def cmd_perturb(args: argparse.Namespace) -> None:
    from augmix.generation import GenerateConfig, generate

    print(f"wrote {generate(config_from_args(GenerateConfig, args, benchmark='p'))}")


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
    from augmix.suite import EvalConfig, run_evaluation, summary_line

    config = config_from_args(EvalConfig, args, sets=_sets_from_args(args))
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


def _help_text(meta: Mapping[str, Any], verb: str) -> str:
    text = meta.get("help", "")
    text = text() if callable(text) else text
    text = text[verb] if isinstance(text, dict) else text
    return text.replace("{verb}", verb)


def _flag(f: Field, verb: str) -> str:
    flag = f.metadata.get("flag")
    flag = flag[verb] if isinstance(flag, dict) else flag
    return flag or "--" + f.name.replace("_", "-")


def _value_parser(f: Field, kind: Any):
    """How the flag's text becomes the field's value: the field's ``parse``, a list kind, a number
    with its minimum, or the field's type (``X | None`` read as ``X``; a ``Literal`` as str)."""
    meta = f.metadata
    if "parse" in meta:
        return _one_line_errors(meta["parse"])
    if meta.get("kind") == "names":
        return _names
    if meta.get("kind") == "ints":
        return _ints
    base = next((t for t in typing.get_args(kind) if t is not type(None)), kind) if typing.get_args(kind) else kind
    if typing.get_origin(kind) is typing.Literal or typing.get_origin(base) is typing.Literal:
        return str
    if "minimum" in meta:
        return _positive(base, meta["minimum"])
    return base


def _option_kwargs(f: Field, kind: Any, verb: str, defaults: bool) -> dict[str, Any]:
    """argparse's keywords for field ``f``: default, help (with the default and a list's names
    told), and how its text is parsed."""
    meta = f.metadata
    required = f.default is MISSING and f.default_factory is MISSING  # type: ignore[misc]
    default = None if required else f.default if f.default is not MISSING else f.default_factory()  # type: ignore
    help_text = _help_text(meta, verb)
    kw: dict[str, Any] = {"default": default if defaults else None, "help": help_text}
    if kind is bool:
        return {**kw, "action": argparse.BooleanOptionalAction}
    kw["type"] = _value_parser(f, kind)
    kw.update({key: meta[key] for key in ("choices", "metavar") if key in meta})
    if "kind" in meta and "choices" in kw:  # a list: its names are told, each is checked by the config
        kw["help"] = help_text = f"{help_text} ({', '.join(kw.pop('choices'))})"
    if defaults and default is not None:
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        kw["help"] = f"{help_text} (default {shown})" if shown != "" else help_text
    if not meta.get("positional"):
        kw["required"] = required and defaults
    return kw


def add_config_options(parser: argparse.ArgumentParser, cls: type, verb: str, *, defaults: bool = True,
                       skip: tuple[str, ...] = ()) -> None:
    """One option per field of the config dataclass ``cls`` that ``verb`` has (``augmix.options``):
    its flag, help text, parser, choices and default; options of one ``group`` exclude each other.

    ``defaults=False`` leaves unset options as None, so a recipe's values show through.
    """
    hints = typing.get_type_hints(cls)
    groups: dict[str, Any] = {}
    for f in fields(cls):
        meta = f.metadata
        if f.name in skip or meta.get("cli") is False or verb not in meta.get("verbs", (verb,)):
            continue
        kw = _option_kwargs(f, hints[f.name], verb, defaults)
        target = parser
        if "group" in meta:
            if meta["group"] not in groups:
                groups[meta["group"]] = parser.add_mutually_exclusive_group()
            target = groups[meta["group"]]
        if meta.get("positional"):
            target.add_argument(f.name, nargs="?", **kw)
        else:
            target.add_argument(_flag(f, verb), dest=f.name, **kw)


def _benchmark_flags() -> dict[str, list]:
    """{flag: the registry's benchmarks that declare it}, in registry order."""
    from augmix.suite import REGISTRY

    flags: dict[str, list] = {}
    for b in REGISTRY.values():
        if b.flag:
            flags.setdefault(b.flag, []).append(b)
    return flags


def _flag_dest(flag: str) -> str:
    return "set_" + flag.lstrip("-").replace("-", "_")


def _add_benchmark_options(p: argparse.ArgumentParser) -> None:
    """Each registry benchmark's own option (its source: a folder, 'released' or 'generate'); a flag
    several benchmarks share takes NAME=FOLDER and may be repeated."""
    for flag, group in _benchmark_flags().items():
        if len(group) == 1:
            p.add_argument(flag, dest=_flag_dest(flag), metavar="FOLDER", help=group[0].flag_help)
        else:
            p.add_argument(flag, dest=_flag_dest(flag), type=_named_path, action="append", metavar="NAME=FOLDER",
                           help=f"{group[0].flag_help}; NAME among {', '.join(b.name for b in group)}")


def _sets_from_args(args: argparse.Namespace) -> dict[str, str]:
    """``EvalConfig.sets`` of the benchmark options given."""
    sets: dict[str, str] = {}
    for flag, group in _benchmark_flags().items():
        value = getattr(args, _flag_dest(flag))
        if value is None:
            continue
        if len(group) == 1:
            sets[group[0].name] = value
            continue
        names = [b.name for b in group]
        for name, path in value:
            if name not in names:
                raise ValueError(f"{flag} {name}: unknown; choose from {', '.join(names)}")
            if name in sets:
                raise ValueError(f"{flag} {name} is given twice")
            sets[name] = path
    return sets


def _add_preview(sub: argparse._SubParsersAction) -> None:
    from augmix.augment import AugMixConfig

    p = sub.add_parser("preview", help=VERBS["preview"])
    p.add_argument("images", nargs="+", type=Path, help="image files (PNG, JPEG, ...)")
    p.add_argument("--out", type=_out_picture, required=True, help="output picture (.png/.jpg)")
    p.add_argument("--samples", type=_positive(int, 1, 64), default=4, help="AugMix results per image, 1-64 "
                   "(default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--ops", action="store_true", help="every op at several severities")
    mode.add_argument("--corruptions", action="store_true", help="every corruption x severity 1-5 on the first image")
    add_config_options(p.add_argument_group("AugMix"), AugMixConfig, "preview")
    p.set_defaults(func=cmd_preview)


def _add_generate(sub: argparse._SubParsersAction, verb: str) -> None:
    from augmix.generation.config import GenerateConfig

    p = sub.add_parser(verb, help=VERBS[verb], description="Options are the fields of GenerateConfig.")
    add_config_options(p, GenerateConfig, verb)
    p.set_defaults(func={"corrupt": cmd_corrupt, "perturb": cmd_perturb}[verb])


def _add_train(sub: argparse._SubParsersAction) -> None:
    from augmix.recipes import RECIPES
    from augmix.train import TrainConfig

    p = sub.add_parser("train", help=VERBS["train"],
                       description="Options left out take the recipe's value, else TrainConfig's default "
                                   "(the paper's CIFAR-10 WRN-40-2 settings).")
    p.add_argument("--recipe", choices=sorted(RECIPES), help="the paper's settings by name")
    p.add_argument("--resume", action="store_true", help="continue the checkpoint in --out")
    add_config_options(p.add_argument_group("settings (TrainConfig)"), TrainConfig, "train", defaults=False)
    p.set_defaults(func=cmd_train)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    from augmix.suite import REGISTRY, EvalConfig

    p = sub.add_parser("evaluate", help=VERBS["evaluate"], description="Options are the fields of EvalConfig, and "
                       "each benchmark's source (a folder, 'released' or 'generate').")
    add_config_options(p, EvalConfig, "evaluate")
    _add_benchmark_options(p.add_argument_group(
        "benchmarks", f"the registry's (augmix.suite.REGISTRY), named for --suite: {', '.join(REGISTRY)}"))
    p.set_defaults(func=cmd_evaluate)


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help=VERBS["demo"])
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


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help=VERBS["compare"])
    p.add_argument("runs", nargs="+", type=Path, help="folders holding results.json")
    p.add_argument("--labels", type=_names, help="comma-separated labels, one per run")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=cmd_compare)


_ADD_VERB: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "preview": _add_preview, "corrupt": lambda sub: _add_generate(sub, "corrupt"),
    "perturb": lambda sub: _add_generate(sub, "perturb"), "train": _add_train, "evaluate": _add_evaluate,
    "demo": _add_demo, "compare": _add_compare}


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """``augmix`` with ``--version`` and an empty set of verbs to add to."""
    from augmix import __version__

    parser = _Parser(prog="augmix", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"augmix {__version__}")
    return parser, parser.add_subparsers(dest="command", required=True, parser_class=_Parser)


def build_parser(verbs: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line, generated from the config dataclasses; ``verbs`` (default all) limits it to
    those verbs, so that one verb's ``--help`` imports only what that verb's options are read from."""
    parser, sub = _top_parser()
    for verb in VERBS if verbs is None else verbs:
        _ADD_VERB[verb](sub)
    return parser


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
    parser, sub = _top_parser()
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


def _libraries_load(verb: str) -> bool:
    """Under an address-space limit, whether torch and the image libraries load, tried in a child
    process first: torch's C++ code aborts the process when the limit is too low for it to map
    its libraries (``std::bad_alloc``, "cannot allocate memory for thread-local data"), which no
    Python code can catch. Without a limit nothing is tried."""
    import resource
    import subprocess

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return True
    margin = 384 * 2 ** 20  # the run's own threads and data beyond the libraries (4 GB ran 2 generator workers)
    code = (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({max(soft - margin, 1)}, {hard})); "
            "import torch, numpy, scipy, cv2, PIL, skimage, numba, llvmlite.binding as b; b.initialize_native_target()")
    try:
        probe = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        probe = None
    if probe is not None and probe.returncode == 0:
        return True
    print(f"augmix {verb}: error: torch and the image libraries cannot load under the address-space limit "
          f"(ulimit -v {soft // 1024}); raise it (this installation's torch loaded and ran under ulimit -v "
          f"{int(4.5 * 2 ** 20)})", file=sys.stderr)
    return False


def _loaded_errors() -> tuple[type[Exception], ...]:
    """The errors of modules the verb loaded (one it never imported cannot have raised its own),
    so that ``corrupt`` or ``perturb`` need not import torch's model code to catch them."""
    found = []
    for module, name in (("augmix.checkpoint", "CheckpointError"), ("augmix.train.loop", "TrainingDiverged")):
        if module in sys.modules:
            found.append(getattr(sys.modules[module], name))
    return tuple(found)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in VERBS:  # --version, --help, a bad or missing verb
        try:
            _light_parser().parse_args(argv)
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 2
    _start_under_limits()
    if not any(a in ("-h", "--help") for a in argv) and not _libraries_load(argv[0]):
        return 2
    try:
        args = build_parser([argv[0]]).parse_args(argv)  # a verb's --help ends here, loading only its options
        from augmix.data import DataError
        from augmix.io import MissingTool
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
    except (DataError, ValueError, MissingTool, *_loaded_errors()) as err:
        print(f"augmix {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permissions, a missing file: the system's reason, one line
        where = f" ({err.filename})" if err.filename else ""
        print(f"augmix {args.command}: error: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except MemoryError:
        knobs = {"evaluate": "a smaller --batch-size or fewer --workers", "train": "a smaller --batch-size",
                 "corrupt": "fewer --workers", "perturb": "fewer --workers", "demo": "fewer --workers"}
        advice = f"use {knobs[args.command]}, or " if args.command in knobs else ""
        print(f"augmix {args.command}: error: out of memory; {advice}raise the memory limit", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
