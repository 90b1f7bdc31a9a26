"""Where the compiled AugMix kernel's time goes: microseconds per image for each op, one thread.

    python benchmarks/augmix_kernel_profile.py [--images 2000] [--rounds 5] [--size 32|224]

The kernel (``augment.compiled.augmix_uint8``) on CIFAR-10 test images (``--size 224``: Imagewoof
photographs after Resize(256) + CenterCrop(224), saved as ``augmix_kernel_profile_224``) at 1 thread, with the
parameters of one ``sample_params`` draw (seed 0, all ops, severity 3) changed so that every
chain has depth 1 and applies one op: 3 chains of that op, then the mix. A first row applies
solarize at threshold 256 (level 0: an identity lookup table) as the floor: copying the image
into each chain, one table pass, and the mix. Each op's own cost is its row minus the floor, divided by 3. The
last row is the default draw itself (reference op set, depth 1-3). Medians and ranges of
``--rounds`` interleaved rounds. Saves ``benchmarks/results/augmix_kernel_profile.json``.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
from _common import cifar_test_images, git_commit, imagenet_images, machine, save  # noqa: E402

from augmix.augment import AugMixConfig  # noqa: E402
from augmix.augment.compiled import augmix_uint8  # noqa: E402
from augmix.augment.sampler import sample_params  # noqa: E402


def _one_op(params, k: int, level: float | None = None):
    """``params`` with every chain of depth 1 applying op ``k`` (at ``level`` if given)."""
    levels = params.levels if level is None else torch.full_like(params.levels, level)
    return dataclasses.replace(params, ops=torch.full_like(params.ops, k), depths=torch.ones_like(params.depths),
                               levels=levels, _args_cache={})


def _time(x: torch.Tensor, params) -> float:
    """Microseconds per image of one kernel call over ``x``."""
    t0 = time.perf_counter()
    augmix_uint8(x, params)
    return 1e6 * (time.perf_counter() - t0) / len(x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size", type=int, default=32, choices=(32, 224), help="CIFAR-10 (32) or photographs (224)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.size == 224:
        images, note = imagenet_images(args.images)
    else:
        images, note = cifar_test_images(args.images)
        if note.startswith("synthetic"):
            sys.exit("error: no CIFAR-10 found; put it under $AUGMIX_DATA (official layout)")
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    every = sample_params(len(x), AugMixConfig(all_ops=True), seed=0)
    solarize = every.op_names.index("solarize")  # threshold 256 - int(level * 256 / 10): 256 at level 0
    floor_name = "floor: solarize at 256 (identity table)"
    arms = {floor_name: _one_op(every, solarize, level=0.0)}
    arms.update({name: _one_op(every, k) for k, name in enumerate(every.op_names)})
    arms["default draw (reference ops, depth 1-3)"] = sample_params(len(x), AugMixConfig(), seed=0)
    augmix_uint8(x[:8], every.select(slice(0, 8)))  # compiles or loads the kernel
    rows: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(args.rounds):  # interleaved: a drift of the machine's speed hits every row alike
        for name, params in arms.items():
            rows[name].append(_time(x, params))
    floor = statistics.median(rows[floor_name])
    result = {}
    for name, times in rows.items():
        med = statistics.median(times)
        row = {"us_per_image_median": round(med, 2), "range": [round(min(times), 2), round(max(times), 2)]}
        if name in every.op_names:
            row["op_us_per_chain"] = round((med - floor) / 3, 2)
        result[name] = row
        print(f"{name:45s} {med:7.2f} us/image" + (f"  op {row['op_us_per_chain']:6.2f} us" if "op_us_per_chain"
                                                      in row else ""))
    name = "augmix_kernel_profile" + ("_224" if args.size == 224 else "")
    save(name, {"command": "python benchmarks/augmix_kernel_profile.py " + " ".join(sys.argv[1:]),
                "commit": git_commit(), "machine": machine(), "data": note, "threads": 1, "rounds": args.rounds,
                "size": args.size, "rows": result})


if __name__ == "__main__":
    main()
