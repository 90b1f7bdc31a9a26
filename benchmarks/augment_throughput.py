"""JSD triplets (clean, augmix, augmix) per second per core at 32x32, ours vs the peers.

    python benchmarks/augment_throughput.py [--images 2000] [--batch 1000] [--rounds 5] [--reference-dir DIR]

(a) the reference code's per-image path: ``cifar.py``'s ``aug(image, preprocess)`` twice
plus ``preprocess(image)``, with its ToTensor + Normalize (the published module itself with
``--reference-dir``, else the same facts restated),
(b) torchvision ``v2.AugMix`` per PIL image and on a uint8 batch (ops shared by the batch),
(c) timm's ``augment_and_mix_transform`` (if timm is installed), (d) ours per image
(``augmix.AugMix``), (e) ours batched on the CPU with 1 and 2 threads (the compiled kernel
back-end, the default for uint8 CPU batches; also the torch back-ends for comparison: the
grouped one and the sync-free "graph" one meant for GPUs),
(f) ours on a GPU if one is visible. Same images for all; per-image paths run
single-threaded. Also compares the output distributions of (a) and (e) on every image:
per-image mean |augmented - clean| (mean, standard error, two-sample KS test). Finally
(a) and (e) run in ``--rounds`` interleaved rounds: the per-round speedups, and their
median, are robust to the machine's speed drifting during the run.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
import torchvision.transforms as T
from _common import cifar_test_images, machine, save, timed
from PIL import Image, ImageOps

import augmix


def reference_triplets(images: list[Image.Image], severity: int = 3, width: int = 3, alpha: float = 1.0,
                       reference_dir: str | None = None) -> list[tuple]:
    """(clean, aug, aug) per image as google-research/augmix ``cifar.py`` makes them.

    ``AugMixDataset.__getitem__`` returns ``(preprocess(x), aug(x, preprocess), aug(x,
    preprocess))`` with ``preprocess = Compose([ToTensor(), Normalize([0.5] * 3, [0.5] * 3)])``.
    With ``reference_dir`` (a checkout of the published repository, kept outside this
    project) its own ``cifar.aug`` runs; otherwise the same facts, restated here: ops from
    ``augmentations.augmentations`` each drawing ``level ~ U(0.1, severity)`` (and a sign),
    ``np.random.choice`` of the op, depth ``randint(1, 4)``, Dirichlet/Beta weights, every
    chain and the original preprocessed before the float mix.
    """
    preprocess = T.Compose([T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    aug = _published_aug(reference_dir) if reference_dir else _restated_aug(severity, width, alpha)
    return [(preprocess(im), aug(im, preprocess), aug(im, preprocess)) for im in images]


def _published_aug(reference_dir: str):
    import sys

    argv, sys.argv = sys.argv, ["cifar.py"]  # cifar.py parses its arguments on import: its defaults
    sys.path.insert(0, reference_dir)
    try:
        import cifar  # the published module, from the user's checkout
    finally:
        sys.argv = argv
    return cifar.aug


def _restated_aug(severity: int, width: int, alpha: float):
    size = 32

    def level() -> float:
        return np.random.uniform(low=0.1, high=severity)

    def signed(v: float) -> float:
        return -v if np.random.uniform() > 0.5 else v

    def affine(img, coeffs):
        return img.transform((size, size), Image.AFFINE, coeffs, resample=Image.BILINEAR)

    ops = [
        lambda im: ImageOps.autocontrast(im),
        lambda im: ImageOps.equalize(im),
        lambda im: ImageOps.posterize(im, 4 - int(level() * 4 / 10)),
        lambda im: im.rotate(signed(int(level() * 30 / 10)), resample=Image.BILINEAR),
        lambda im: ImageOps.solarize(im, 256 - int(level() * 256 / 10)),
        lambda im: affine(im, (1, signed(float(level()) * 0.3 / 10), 0, 0, 1, 0)),
        lambda im: affine(im, (1, 0, 0, signed(float(level()) * 0.3 / 10), 1, 0)),
        lambda im: affine(im, (1, 0, signed(int(level() * (size / 3) / 10)), 0, 1, 0)),
        lambda im: affine(im, (1, 0, 0, 0, 1, signed(int(level() * (size / 3) / 10)))),
    ]

    def aug(image, preprocess):
        ws = np.float32(np.random.dirichlet([alpha] * width))
        m = np.float32(np.random.beta(alpha, alpha))
        mix = torch.zeros_like(preprocess(image))
        for i in range(width):
            image_aug = image.copy()
            for _ in range(np.random.randint(1, 4)):
                image_aug = np.random.choice(ops)(image_aug)
            mix += ws[i] * preprocess(image_aug)
        return (1 - m) * preprocess(image) + m * mix

    return aug


def stats(aug: torch.Tensor, clean: torch.Tensor) -> dict:
    """Per-image mean |augmented - clean| (its mean and standard error), pixel mean and std."""
    change = (aug - clean).abs().mean(dim=(1, 2, 3)).double()
    return {"mean_abs_change": round(float(change.mean()), 5),
            "mean_abs_change_se": round(float(change.std() / len(change) ** 0.5), 5),
            "pixel_mean": round(float(aug.mean()), 5), "pixel_std": round(float(aug.std()), 5),
            "per_image_change": change.numpy()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved (a) vs (e) rounds: medians and ranges")
    ap.add_argument("--reference-dir", help="a checkout of google-research/augmix (kept outside this project): "
                    "arm (a) then runs its own cifar.aug")
    args = ap.parse_args()
    arr, provenance = cifar_test_images(args.images)
    pil = [Image.fromarray(a) for a in arr]
    batch = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
    n = len(pil)
    results: dict[str, dict] = {}
    reference = lambda: reference_triplets(pil, reference_dir=args.reference_dir)  # noqa: E731
    arm_a = "published cifar.aug" if args.reference_dir else "restated cifar.aug"

    def record(key, seconds, threads, count=n, **extra):
        rate = count / seconds
        results[key] = {"triplets_per_s": round(rate, 1), "threads": threads,
                        "triplets_per_s_per_core": round(rate / threads, 1), **extra}
        print(f"{key:44s} {rate:10.1f} triplets/s  ({rate / threads:9.1f} per core)")

    torch.set_num_threads(1)
    np.random.seed(0)
    torch.manual_seed(0)
    record("a_reference_cifar_aug", timed(reference, 1), 1, source=arm_a)

    import torchvision.transforms.v2 as v2
    tv = v2.AugMix(severity=3, mixture_width=3, chain_depth=-1, alpha=1.0)
    to_tensor = T.ToTensor()
    record("b_torchvision_augmix_pil", timed(
        lambda: [(to_tensor(im), to_tensor(tv(im)), to_tensor(tv(im))) for im in pil], 1), 1)

    def tv_batched():
        for i in range(0, n, args.batch):
            x = batch[i:i + args.batch]
            (x.float() / 255, tv(x).float() / 255, tv(x).float() / 255)

    record("b_torchvision_augmix_batched_shared_ops", timed(tv_batched, 1), 1,
           note="torchvision samples one op sequence for the whole batch")

    try:
        from timm.data.auto_augment import augment_and_mix_transform

        tm = augment_and_mix_transform("augmix-m3-w3", {"translate_const": 10, "img_mean": (128,) * 3})
        record("c_timm_augmix_pil", timed(
            lambda: [(to_tensor(im), to_tensor(tm(im)), to_tensor(tm(im))) for im in pil], 1), 1)
    except ImportError:
        results["c_timm_augmix_pil"] = {"skipped": "timm not installed (pip install timm)"}
        print("c_timm_augmix_pil: skipped, timm not installed")

    ours = augmix.AugMix(severity=3, generator=0)
    record("d_ours_per_image_pil", timed(lambda: [(to_tensor(im), ours(im), ours(im)) for im in pil], 1), 1)

    mod = augmix.AugMixBatch(severity=3, jsd=True, generator=0)
    mod_torch = augmix.AugMixBatch(severity=3, jsd=True, generator=0, backend="torch")
    mod_graph = augmix.AugMixBatch(severity=3, jsd=True, generator=0, backend="graph")

    def ours_batched(x_all=batch, m=mod):
        for i in range(0, n, args.batch):
            m(x_all[i:i + args.batch])

    for threads in (1, 2):
        torch.set_num_threads(threads)
        record(f"e_ours_batched_cpu_{threads}_thread", timed(ours_batched, 3), threads, backend="kernel")
    torch.set_num_threads(1)
    record("e_ours_batched_cpu_torch_backend_1_thread", timed(lambda: ours_batched(m=mod_torch), 1), 1,
           backend="torch")
    record("e_ours_batched_cpu_graph_backend_1_thread", timed(lambda: ours_batched(m=mod_graph), 1), 1,
           backend="graph", note="sync-free path for GPUs and torch.compile, run on the CPU as a proxy")

    if torch.cuda.is_available():
        gpu = batch.cuda()

        def ours_gpu():
            for i in range(0, n, args.batch):
                mod(gpu[i:i + args.batch])
            torch.cuda.synchronize()

        record("f_ours_batched_gpu", timed(ours_gpu, 3), 1, device=torch.cuda.get_device_name(0))
    else:
        results["f_ours_batched_gpu"] = {"skipped": "no CUDA device visible"}

    # Same distribution? Per-image change of (a) and (e) on the same images, independent draws.
    from scipy.stats import ks_2samp

    np.random.seed(1)
    a = torch.stack([t[1] for t in reference()]) * 0.5 + 0.5  # undo Normalize(0.5, 0.5)
    clean = batch.float() / 255
    e = mod(batch, generator=1)[1]
    sa, se = stats(a, clean), stats(e, clean)
    ks = ks_2samp(sa.pop("per_image_change"), se.pop("per_image_change"))
    dist = {"images": n, "a_reference_cifar_aug": sa, "e_ours_batched": se,
            "ks_statistic": round(float(ks.statistic), 4), "ks_pvalue": round(float(ks.pvalue), 4)}
    print("output statistics:", dist)

    # The machine's speed drifts: time (a) and (e) in interleaved rounds, so each ratio
    # compares measurements taken seconds apart; report the median and range over rounds.
    import time

    rounds: dict[str, list[float]] = {"speedup_1_thread": [], "speedup_per_core_2_threads": []}
    for _ in range(args.rounds):
        torch.set_num_threads(1)
        np.random.seed(0)
        t0 = time.perf_counter()
        reference()
        ta = time.perf_counter() - t0
        t1 = timed(ours_batched, 1)
        torch.set_num_threads(2)
        t2 = timed(ours_batched, 1)
        rounds["speedup_1_thread"].append(round(ta / t1, 2))
        rounds["speedup_per_core_2_threads"].append(round(ta / (2 * t2), 2))
    torch.set_num_threads(1)
    paired = {k: {"per_round": v, "median": float(np.median(v)), "min": min(v), "max": max(v)}
              for k, v in rounds.items()}
    print("paired rounds (speedup per core vs (a)):", paired)

    base = results["a_reference_cifar_aug"]["triplets_per_s_per_core"]
    for key in ("e_ours_batched_cpu_1_thread", "e_ours_batched_cpu_2_thread",
                "e_ours_batched_cpu_torch_backend_1_thread", "e_ours_batched_cpu_graph_backend_1_thread"):
        results[key]["speedup_per_core_vs_a"] = round(results[key]["triplets_per_s_per_core"] / base, 2)
    save("augment_throughput", {"command": " ".join(["python benchmarks/augment_throughput.py", *sys.argv[1:]]),
                                "data": provenance, "image_size": 32, "batch": args.batch, "images": n,
                                "reference_arm": arm_a, "machine": machine(), "results": results,
                                "paired_rounds": paired, "output_statistics": dist})


if __name__ == "__main__":
    main()
