"""Command line: parses arguments and calls the library; nothing else.

    augmix preview IMAGE... --out grid.png [--ops] [--corruptions]
    augmix corrupt --dataset cifar10 --out DIR      (CIFAR-10-C layout)
    augmix corrupt --images FOLDER --out DIR        (ImageNet-C layout)
    augmix train --recipe cifar-wrn --out runs/wrn [--method standard|augmix|augmix_jsd] [--resume]
    augmix evaluate runs/wrn/checkpoint.pt --corrupted DIR|released --out runs/wrn/eval
    augmix compare RUN... --out DIR
    augmix demo --out runs/demo                     (offline, ~3 minutes on 2 cores)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def _out_png(value: str) -> Path:
    path = Path(value)
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise argparse.ArgumentTypeError(f"{value}: the output must end in .png or .jpg")
    return path


def cmd_preview(args: argparse.Namespace) -> None:
    from augmix.augment import AugMixConfig
    from augmix.io import atomic_path, open_image
    from augmix.preview import augmix_grid, ops_grid

    images = [open_image(p) for p in args.images]
    config = AugMixConfig(severity=args.severity, width=args.width, depth=args.depth,
                          alpha=args.alpha, all_ops=args.all_ops)
    if args.corruptions:
        from augmix.preview import corruption_grid

        sheet = corruption_grid(images[0], seed=args.seed)
    elif args.ops:
        sheet = ops_grid(images[0], all_ops=True)
    else:
        sheet = augmix_grid(images, config, samples=args.samples, seed=args.seed)
    with atomic_path(args.out) as tmp:
        sheet.save(tmp, format="PNG" if args.out.suffix.lower() == ".png" else "JPEG")
    print(f"wrote {args.out} ({sheet.width}x{sheet.height})")


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _ints(value: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from None


def cmd_corrupt(args: argparse.Namespace) -> None:
    from augmix.corrupt import ALL, BENCHMARK
    from augmix.corrupt.generate import generate_cifar_c, generate_folder_c

    corruptions = args.corruptions or list(ALL if args.extra else BENCHMARK)
    if args.images and args.layout == "cifar":
        from augmix.corrupt.generate import read_image_folder

        images, labels, source = read_image_folder(args.images)
        out = generate_cifar_c(images, labels, args.out, corruptions, args.severities, seed=args.seed,
                               workers=args.workers, source=source)
    elif args.images:
        out = generate_folder_c(args.images, args.out, corruptions, args.severities, size=args.size,
                                seed=args.seed, workers=args.workers)
    else:
        from augmix.data import load_cifar

        test = load_cifar(args.dataset, args.data_dir, train=False)
        out = generate_cifar_c(test.images, test.labels, args.out, corruptions, args.severities,
                               seed=args.seed, workers=args.workers, source=test.source)
    print(f"wrote {out}")


def cmd_train(args: argparse.Namespace) -> None:
    from augmix.recipes import RECIPES
    from augmix.train import TrainConfig, train

    settings = dict(RECIPES[args.recipe]) if args.recipe else {}
    for key in ("dataset", "data_dir", "model", "method", "epochs", "batch_size", "lr", "weight_decay",
                "jsd_lambda", "augment_on", "split_bn", "seed", "workers", "train_subset", "out",
                "tensorboard", "extras", "cutout_size", "patch_size", "patch_max_sigma", "mix_alpha",
                "pgd_eps", "pgd_step", "pgd_iters", "stylized_dir", "eval_every", "tune_malloc"):
        value = getattr(args, key)
        if value is not None:
            settings[key] = str(value) if isinstance(value, Path) else value
    if args.augmix:
        settings["augmix"] = args.augmix
    cfg = TrainConfig.from_dict(settings)
    out = train(cfg, resume=args.resume)
    print(f"checkpoint and logs in {out}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from augmix.evaluate import run_evaluation

    corrupted = args.corrupted if args.corrupted in (None, "released") else Path(args.corrupted)
    res = run_evaluation(args.out, args.checkpoint, args.arch, args.weights, args.dataset, args.data_dir,
                         corrupted, batch_size=args.batch_size, workers=args.workers, device=args.device,
                         name=args.name)
    line = f"clean error {100 * res['clean']['error']:.2f}%"
    if "mean_corruption_error" in res:
        line += f", mean corruption error {100 * res['mean_corruption_error']:.2f}%"
    if "mce" in res:
        line += f", mCE {100 * res['mce']:.1f}%"
    print(f"{line}; report in {args.out}")


def cmd_compare(args: argparse.Namespace) -> None:
    from augmix.report import compare

    out = compare(args.runs, args.out, args.labels)
    print(f"wrote {out / 'compare.md'}")


def cmd_demo(args: argparse.Namespace) -> None:
    from augmix.demo import run_demo

    out = run_demo(args.out, args.dataset, args.data_dir, args.seed, args.workers, epochs=args.epochs,
                   model=args.model)
    print(f"report: {out / 'report.md'}")


def _augmix_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("AugMix")
    g.add_argument("--severity", type=int, default=3, help="op severity 1-10 (default 3)")
    g.add_argument("--width", type=int, default=3, help="number of chains (default 3)")
    g.add_argument("--depth", type=int, default=-1, help="ops per chain; -1: random 1-3")
    g.add_argument("--alpha", type=float, default=1.0, help="Dirichlet/Beta concentration")
    g.add_argument("--all-ops", action="store_true",
                   help="add color/contrast/brightness/sharpness (overlap the test corruptions)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="augmix", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("preview", help="picture grid of AugMix (or --ops / --corruptions)")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, ...)")
    p.add_argument("--out", type=_out_png, required=True, help="output picture (.png/.jpg)")
    p.add_argument("--samples", type=int, default=4, help="AugMix results per image")
    p.add_argument("--seed", type=int, default=0)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--ops", action="store_true", help="every op at several severities")
    mode.add_argument("--corruptions", action="store_true",
                      help="every corruption x severity 1-5 on the first image")
    _augmix_options(p)
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("corrupt", help="generate a -C dataset (CIFAR-C .npy or ImageNet-C folders)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", choices=["cifar10", "cifar100"], default="cifar10",
                     help="corrupt this dataset's test split into the CIFAR-C layout")
    src.add_argument("--images", type=Path, help="an ImageFolder tree -> ImageNet-C layout")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="dataset root (default $AUGMIX_DATA or ~/.cache/augmix)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--corruptions", type=_names, default=None, help="comma-separated subset")
    p.add_argument("--extra", action="store_true", help="also the 4 held-out corruptions")
    p.add_argument("--severities", type=_ints, default=[1, 2, 3, 4, 5], help="e.g. 1,3,5")
    p.add_argument("--layout", choices=["imagenet", "cifar"], default="imagenet",
                   help="--images: ImageNet-C folders (default) or CIFAR-C .npy arrays (same-size images)")
    p.add_argument("--size", type=int, default=224, choices=[224, 64],
                   help="--images: ImageNet (224) or Tiny-ImageNet (64) preprocessing and table")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.set_defaults(func=cmd_corrupt)

    from augmix.recipes import RECIPES
    from augmix.train import METHODS

    p = sub.add_parser("train", help="train Standard / AugMix / AugMix+JSD (torchrun for DDP)")
    p.add_argument("--recipe", choices=sorted(RECIPES), help="the paper's settings by name")
    p.add_argument("--dataset", choices=["cifar10", "cifar100", "imagenet"])
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--model")
    p.add_argument("--method", choices=METHODS)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--jsd-lambda", type=float)
    p.add_argument("--augmix", help="AugMix settings, e.g. severity=3,width=3,depth=-1,alpha=1,all_ops=false")
    p.add_argument("--augment-on", choices=["device", "loader"])
    p.add_argument("--split-bn", action="store_true", default=None)
    p.add_argument("--seed", type=int)
    p.add_argument("--workers", type=int)
    p.add_argument("--train-subset", type=int, help="train on the first N images only")
    p.add_argument("--tensorboard", action="store_true", default=None)
    p.add_argument("--no-tune-malloc", dest="tune_malloc", action="store_false", default=None,
                   help="CPU: leave glibc's allocator as it is (by default freed memory is kept for reuse)")
    p.add_argument("--eval-every", type=int, help="test error every N epochs (0: last only, -1: never)")
    b = p.add_argument_group("baselines (composable with each other and with AugMix)")
    b.add_argument("--extras", help="comma-separated: cutout, patch_uniform, mixup, cutmix, autoaugment, "
                   "autoaugment_imagenet, randaugment, trivialaugment, random_autoaugment, adversarial")
    b.add_argument("--cutout-size", type=int)
    b.add_argument("--patch-size", type=int)
    b.add_argument("--patch-max-sigma", type=float)
    b.add_argument("--mix-alpha", type=float, help="Mixup/CutMix Beta(alpha, alpha)")
    b.add_argument("--pgd-eps", type=float)
    b.add_argument("--pgd-step", type=float)
    b.add_argument("--pgd-iters", type=int)
    b.add_argument("--stylized-dir", type=Path, help="ImageNet: Stylized-ImageNet train folder to mix in")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--resume", action="store_true", help="continue the checkpoint in --out")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="clean + corruption error, mCE, calibration; report files")
    p.add_argument("checkpoint", nargs="?", type=Path, help="an augmix checkpoint.pt")
    p.add_argument("--arch", help="instead of a checkpoint: our/torchvision/timm model name")
    p.add_argument("--weights", type=Path, help="weights file for --arch")
    p.add_argument("--dataset", default="cifar10", choices=["cifar10", "cifar100", "imagenet"])
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--corrupted", help="-C folder, or 'released' to download CIFAR-10-C/100-C")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", help="label for reports (default: the --out folder name)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", help="Standard vs AugMix+JSD end to end, offline, in minutes on a CPU")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="report folder (default runs/demo)")
    p.add_argument("--dataset", choices=["digits", "cifar10"], default="digits",
                   help="digits: bundled with scikit-learn, offline (default); cifar10: downloaded if absent")
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--epochs", type=int)
    p.add_argument("--model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("compare", help="several evaluated runs side by side")
    p.add_argument("runs", nargs="+", type=Path, help="folders holding results.json")
    p.add_argument("--labels", type=_names, help="comma-separated labels")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from augmix.data import DataError
    from augmix.train import TrainingDiverged

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        print("augmix: interrupted", file=sys.stderr)
        return 130
    except (CliError, DataError, ValueError, FileNotFoundError, TypeError, TrainingDiverged) as err:
        print(f"augmix {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
