"""Command line: parses arguments and calls the library; nothing else.

    augmix preview IMAGE... --out grid.png [--ops] [--corruptions]
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        print("augmix: interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, FileNotFoundError, TypeError) as err:
        print(f"augmix {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
