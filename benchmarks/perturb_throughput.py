"""-P generation at 32 px: ours against the published make_cifar_p.py, sequences per second.

    python benchmarks/perturb_throughput.py --published-dir PATH/robustness/ImageNet-P/create_p \
        [--images 200] [--rounds 5] [--full-out DIR]

PATH is a checkout of hendrycks/robustness kept outside this project. make_cifar_p.py holds
one block per perturbation, all but one commented out; each block is read, its comment marks
removed, its noise difficulties split, and run as a function of one image, with only the
library patches of tests/fixtures/README.md (``np.frombuffer``, ``channel_axis``, and
torchvision 0.2-0.4's ``affine``). Wand and ImageMagick are needed for motion blur and snow.

Per perturbation and round, on the same CIFAR-10 test images: the published blocks (one image
at a time, numpy/torch global streams seeded), ours in reference-stream mode (checked byte-
identical to the published output every round), and ours in the default batched mode, one
process. ``--full-out`` also times writing the 10 CIFAR-10-P test perturbations of all 10,000
test images with ``augmix perturb`` on every core (kept in DIR for stability_eval.py).
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import cifar_root, cifar_test_images, machine, save
from PIL import Image

from augmix.perturbations import ALL, CIFAR_TEST, Streams, perturb


def _tv02_affine(img, angle, translate, scale, shear, resample=0, fillcolor=None):
    """torchvision 0.2-0.4's F.affine (what the published scripts call)."""
    from augmix.perturbations.functional import old_affine_matrix

    return img.transform(img.size, Image.AFFINE, old_affine_matrix(img.size, angle, translate, scale, shear),
                         resample)


def _uncomment(line: str) -> str:
    while line.startswith("#"):
        line = line[2:] if line.startswith("# ") else line[1:]
    return line


def published_sequences(folder: Path) -> dict:
    """{release name: function(image) -> list of frames} from make_cifar_p.py's blocks."""
    text = (folder / "make_cifar_p.py").read_text()
    head = text[:text.index("test_data = dset")].replace("np.fromstring(", "np.frombuffer(")
    env: dict = {"__name__": "make_cifar_p"}
    exec(compile(head, str(folder / "make_cifar_p.py"), "exec"), env)  # noqa: S102 - the user's own checkout
    env["trn_F"] = type("F", (), {"affine": staticmethod(_tv02_affine)})
    lines = text.splitlines()
    out = {}
    for k, line in enumerate(lines):
        m = re.search(r"/////////////// (.+) Code ///////////////", line)
        if not m or m.group(1).startswith("End") or m.group(1) in ("Test Data", "Validation Data"):
            continue
        name = m.group(1).lower().replace(" ", "_")
        end = next(j for j in range(k + 1, len(lines)) if f"End {m.group(1)} Code" in lines[j])
        body = [_uncomment(b[4:]).replace("multichannel=True", "channel_axis=-1")
                .replace("np.fromstring(", "np.frombuffer(") for b in lines[k + 1:end]]
        loops = [i for i, b in enumerate(body) if b.startswith("for i in range(1, 31)")]
        variants = [body] if len(loops) <= 1 else [
            body[:loops[0]] + body[s:next((j for j in range(s + 1, len(body)) if body[j] and not body[j][0].isspace()),
                                          len(body))] for s in loops]
        for d, var in enumerate(variants, 1):
            src = "def make(img):\n    seq = []\n" + "\n".join("    " + b for b in var) + "\n    return seq\n"
            scope = dict(env)
            exec(compile(src, f"{name}_{d}", "exec"), scope)  # noqa: S102
            out[name if d == 1 else f"{name}_{d}"] = scope["make"]
    return out


def _round(fn, x: np.ndarray, name: str) -> dict:
    np.random.seed(0)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    theirs = np.stack([np.stack([np.asarray(f, np.uint8) for f in fn(img)]) for img in x])
    t_pub = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = perturb(x, name, seed=Streams.reference(0))
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    perturb(x, name, seed=0)
    t_fast = time.perf_counter() - t0
    return {"published": len(x) / t_pub, "reference": len(x) / t_ref, "batched": len(x) / t_fast,
            "identical": bool(np.array_equal(ref, theirs))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--published-dir", type=Path, required=True,
                    help="hendrycks/robustness checkout's ImageNet-P/create_p folder")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--full-out", type=Path, help="also time writing the full CIFAR-10-P test set here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    x, note = cifar_test_images(args.images)
    fns = published_sequences(args.published_dir)
    missing = sorted(set(ALL) - set(fns))
    if missing:
        raise SystemExit(f"make_cifar_p.py lacks blocks for {missing}")
    for name in ALL:  # warm-up (caches, lazy imports)
        _round(fns[name], x[:2], name)
    rows = {n: {k: [] for k in ("published", "reference", "batched", "identical")} for n in ALL}
    for r in range(args.rounds):
        for name in ALL:
            res = _round(fns[name], x, name)
            for k, v in res.items():
                rows[name][k].append(v)
            print(f"round {r + 1} {name:16s} published {res['published']:8.1f}/s  reference {res['reference']:8.1f}/s"
                  f"  batched {res['batched']:8.1f}/s  identical={res['identical']}", flush=True)
    results = {}
    for n, v in rows.items():
        speed = np.array(v["batched"]) / np.array(v["published"])
        results[n] = {f"{k}_seq_per_s": float(np.median(v[k])) for k in ("published", "reference", "batched")}
        results[n].update({f"{k}_range": [round(min(v[k]), 1), round(max(v[k]), 1)]
                           for k in ("published", "reference", "batched")})
        results[n]["batched_speedup"] = round(float(np.median(speed)), 1)
        results[n]["byte_identical_every_round"] = all(v["identical"])
    payload = {"command": "python benchmarks/perturb_throughput.py " + " ".join(sys.argv[1:]), "data": note,
               "rounds": args.rounds, "threads": 1, "machine": machine(), "results": results}
    # geometric means over the 10 test perturbations (one round's figures each)
    for k in ("published", "batched"):
        payload[f"test_set_{k}_geomean_seq_per_s"] = float(math.exp(np.mean(
            [np.log(results[n][f"{k}_seq_per_s"]) for n in CIFAR_TEST])))
    if args.full_out is not None:
        root, _ = cifar_root()
        if root is None:
            raise SystemExit("--full-out needs CIFAR-10")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "augmix", "perturb", "--data-dir", str(root), "--out",
                        str(args.full_out), "--perturbations", ",".join(CIFAR_TEST)], check=True)
        wall = time.perf_counter() - t0
        payload["full_cifar10_p_test_set"] = {"wall_s": round(wall, 1), "sequences": 10 * 10000,
                                              "seq_per_s": round(10 * 10000 / wall, 1), "out": str(args.full_out),
                                              "workers": "all cores"}
        print(f"full CIFAR-10-P (10 test perturbations x 10,000 images): {wall:.1f} s")
    save("perturb_throughput", payload)


if __name__ == "__main__":
    main()
