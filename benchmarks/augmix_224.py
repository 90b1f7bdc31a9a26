"""AugMix+JSD at 224 px on the CPU, one thread: ours per image and batched against the peers.

    python benchmarks/augmix_224.py [--images 64] [--rounds 3] [--reference-dir DIR] [--keep-freed-memory]

What one ImageNet training image costs in AugMix+JSD - the clean view and two AugMix views,
severity 1, width 3, depth 1-3 (imagenet.py's defaults) - on Imagewoof photographs after
Resize(256) + CenterCrop(224), in one interleaved run (``--rounds`` rounds, arms in alternating
order), CPU seconds of this process with one thread, JSD triplets per second:

- ``reference``: google-research/augmix ``imagenet.py``'s ``aug(image, preprocess)`` twice and
  ``preprocess(image)`` (``--reference-dir``: a checkout, kept outside this project);
- ``torchvision v2.AugMix``: ``v2.AugMix(severity=1)`` per PIL image, then ``ToTensor``;
- ``timm``: ``augment_and_mix_transform("augmix-m1-w3")`` per PIL image, then ``ToTensor``;
- ``ours per PIL image``: ``augmix.AugMix`` (its chains from the compiled kernel, Pillow's bytes);
- ``ours per uint8 tensor``: ``augmix.AugMix`` on a ``[3, 224, 224]`` uint8 tensor;
- ``ours AugMixBatch``: ``AugMixBatch(jsd=True)`` on the uint8 batch (compiled kernel), and with
  ``backend="torch"``.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import git_commit, imagenet_images, machine, round_order, save  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision.transforms import functional as TF  # noqa: E402

from augmix.augment import AugMix, AugMixBatch, AugMixConfig  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def _reference(reference_dir: str):
    from torchvision import transforms

    argv, sys.argv = sys.argv, ["imagenet.py", "unused", "unused"]  # imagenet.py parses its arguments on import
    sys.path.insert(0, reference_dir)
    try:
        import imagenet  # the published module, from the user's checkout
    finally:
        sys.argv = argv
    preprocess = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    return lambda img: (preprocess(img), imagenet.aug(img, preprocess), imagenet.aug(img, preprocess))


def _per_pil(transform):
    return lambda img: (TF.to_tensor(img), TF.to_tensor(transform(img)), TF.to_tensor(transform(img)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reference-dir", help="a checkout of google-research/augmix (kept outside this project)")
    ap.add_argument("--keep-freed-memory", action="store_true",
                    help="glibc keeps freed memory for every arm, as `augmix train` sets it: a batch's output "
                         "then reuses the last one's pages instead of faulting fresh ones in")
    args = ap.parse_args()
    if args.keep_freed_memory:
        from augmix.allocator import keep_freed_memory

        keep_freed_memory()
    torch.set_num_threads(1)
    arrays, note = imagenet_images(args.images)
    photos = [Image.fromarray(a) for a in arrays]
    tensors = [torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))) for a in arrays]
    batch = torch.stack(tensors)
    config = AugMixConfig(severity=1, width=3, depth=-1, alpha=1.0)

    from timm.data.auto_augment import augment_and_mix_transform
    from torchvision.transforms import v2

    ours = AugMix(config, generator=0)
    arms = {}
    if args.reference_dir:
        arms["reference imagenet.py"] = ("image", _reference(args.reference_dir))
    arms["torchvision v2.AugMix"] = ("image", _per_pil(v2.AugMix(severity=1)))
    arms["timm augmix-m1-w3"] = ("image", _per_pil(augment_and_mix_transform("augmix-m1-w3", {})))
    arms["ours per PIL image"] = ("image", lambda img: (TF.to_tensor(img), ours(img), ours(img)))
    arms["ours per uint8 tensor"] = ("tensor", lambda t: (t.float() / 255, ours(t), ours(t)))
    arms["ours AugMixBatch"] = ("batch", AugMixBatch(config, jsd=True, generator=0))
    arms["ours AugMixBatch(backend='torch')"] = ("batch", AugMixBatch(config, jsd=True, generator=0, backend="torch"))

    def run(kind, fn) -> float:
        t0 = time.process_time()
        if kind == "batch":
            fn(batch)
        else:
            for item in (photos if kind == "image" else tensors):
                fn(item)
        return len(photos) / (time.process_time() - t0)

    for kind, fn in arms.values():  # warm-up: compilation, caches
        run(kind, fn)
    rates: dict[str, list[float]] = {name: [] for name in arms}
    for r in range(args.rounds):
        for name, (kind, fn) in round_order(arms, r):
            rates[name].append(run(kind, fn))
            print(f"round {r + 1}: {name}: {rates[name][-1]:.1f} triplets/s", flush=True)
    ref = next(iter(arms))
    out = {name: {"triplets_per_s": round(statistics.median(v), 1), "range": [round(min(v), 1), round(max(v), 1)],
                  "vs_" + ref.split()[0]: round(statistics.median(v) / statistics.median(rates[ref]), 2)}
           for name, v in rates.items()}
    for name, res in out.items():
        print(f"{name:>36}: {res['triplets_per_s']:7.1f} triplets/s (range {res['range'][0]}-{res['range'][1]})  "
              f"{res['vs_' + ref.split()[0]]:.2f}x")
    name = "augmix_224" + ("_keep_freed" if args.keep_freed_memory else "")
    save(name, {"command": "python benchmarks/augmix_224.py " + " ".join(sys.argv[1:]),
                "commit": git_commit(), "machine": machine(), "data": note, "threads": 1,
                "keep_freed_memory": args.keep_freed_memory,
                "rounds": args.rounds, "config": "severity 1, width 3, depth 1-3, alpha 1",
                "unit": "JSD triplets (clean + 2 AugMix views) per CPU second, one thread", "results": out})


if __name__ == "__main__":
    main()
