"""ImageNet-size evaluation speed on the CPU: ``augmix evaluate`` against the bare model.

    python benchmarks/eval_throughput.py [--arch resnet50] [--images 200] [--rounds 3] [--folder DIR]

Four arms, each in a fresh process (glibc's allocator setting is process-wide), in
interleaved rounds, all with torch's default threads and batches of 100:

* ``bare_default``: the model's forward over the photographs decoded beforehand
  (Resize 256 + CenterCrop 224, not timed), glibc as it comes;
* ``bare_keep_freed``: the same with ``augmix.allocator.keep_freed_memory()``;
* ``evaluate``: ``run_evaluation`` on the same photographs as an ImageNet val folder (decoding
  in 2 DataLoader workers, the clean error written to results.json), as shipped;
* ``evaluate_no_tune``: the same with ``tune_malloc=False`` (``--no-tune-malloc``).

The model has random weights (seed 0; speed does not depend on them) and one output per
class folder, as ``evaluate`` builds it. Data: the developers'
Imagewoof copy (500 ImageNet validation-size photographs of 10 ImageNet classes), or
``--folder`` (an ImageFolder tree of photographs). Prints and saves
``benchmarks/results/eval_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import imagewoof_val, machine, save

ARMS = ("bare_default", "bare_keep_freed", "evaluate", "evaluate_no_tune")


def _photos(folder: Path | None) -> tuple[Path, str]:
    if folder is not None:
        if not folder.is_dir():
            sys.exit(f"error: --folder {folder} is not a folder; give an ImageFolder tree of photographs")
        return folder, f"photographs under {folder}"
    cache = imagewoof_val()
    if cache is None:
        sys.exit("error: no photographs found; give --folder DIR (an ImageFolder tree, e.g. ImageNet val)")
    return cache, "Imagewoof2-320 validation (ImageNet photographs, 10 classes), 320 px"


def _arm(arm: str, arch: str, weights: Path, folder: Path, images: int, out: Path) -> float:
    """Run one arm in this process; return images per second."""
    import torch

    if arm == "bare_keep_freed":
        from augmix.allocator import keep_freed_memory

        keep_freed_memory()
    if arm.startswith("bare"):
        from augmix.data.images import EvalImages, walk_image_tree
        from augmix.evaluate import model_input
        from augmix.models import build_arch

        items = walk_image_tree(folder).images[:images]
        data = EvalImages([(it.path, 0) for it in items], True)
        x = torch.stack([data[i][0] for i in range(len(data))])
        model = build_arch(arch, len(walk_image_tree(folder).classes))
        model.load_state_dict(torch.load(weights, weights_only=True))
        model.eval()
        mean_std = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        t0 = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(x), 100):
                model(model_input(x[i:i + 100], mean_std, torch.device("cpu")))
        return len(x) / (time.perf_counter() - t0)
    from augmix.suite import EvalConfig, run_evaluation

    t0 = time.perf_counter()
    res = run_evaluation(EvalConfig(out=out, arch=arch, weights=weights, dataset="imagenet", data_dir=folder.parent,
                                    limit=images, batch_size=100, workers=2, device="cpu", progress=False,
                                    tune_malloc=arm == "evaluate"))
    return res.clean.scores.n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--folder", type=Path, help="an ImageFolder tree of photographs (its parent is used as the "
                    "ImageNet root, so name it val)")
    ap.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)
    ap.add_argument("--weights", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.arm:  # one arm, in its own process
        print(json.dumps({"img_per_s": _arm(args.arm, args.arch, args.weights, args.folder, args.images, args.out)}))
        return
    folder, note = _photos(args.folder)
    if folder.name != "val":
        sys.exit(f"error: {folder} must be named val (evaluate reads DATA_DIR/val)")
    import torch

    from augmix.data.images import walk_image_tree
    from augmix.models import build_arch

    classes = len(walk_image_tree(folder).classes)  # evaluate builds the model with one output per class folder
    rates: dict[str, list[float]] = {arm: [] for arm in ARMS}
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights.pt"
        torch.manual_seed(0)
        torch.save(build_arch(args.arch, classes).state_dict(), weights)
        for r in range(args.rounds):
            for arm in ARMS:
                out = Path(tmp) / f"eval-{arm}-{r}"
                proc = subprocess.run([sys.executable, __file__, "--arm", arm, "--arch", args.arch, "--weights",
                                       str(weights), "--folder", str(folder), "--images", str(args.images),
                                       "--out", str(out)], capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    sys.exit(f"error: arm {arm} failed: {proc.stderr.strip().splitlines()[-1:]}")
                rate = json.loads(proc.stdout.strip().splitlines()[-1])["img_per_s"]
                rates[arm].append(round(rate, 2))
                print(f"round {r + 1} {arm:18s} {rate:7.2f} img/s")
    summary = {arm: {"img_per_s_median": statistics.median(v), "min": min(v), "max": max(v), "per_round": v}
               for arm, v in rates.items()}
    base = summary["bare_keep_freed"]["img_per_s_median"]
    for arm in ARMS:
        summary[arm]["vs_bare_keep_freed"] = round(summary[arm]["img_per_s_median"] / base, 2)
    print(json.dumps(summary, indent=1))
    save("eval_throughput", {"command": " ".join(["python benchmarks/eval_throughput.py", *sys.argv[1:]]),
                             "data": note, "images": args.images, "arch": f"{args.arch} (random weights, seed 0)",
                             "batch_size": 100, "threads": torch.get_num_threads(), "machine": machine(),
                             "results": summary})


if __name__ == "__main__":
    main()
