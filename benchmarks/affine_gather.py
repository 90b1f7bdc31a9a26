"""Why rotate and the shears dominate the AugMix kernel at 224 px: the gathers, not the arithmetic.

    python benchmarks/affine_gather.py [--images 16] [--rounds 7]

Times, on Imagewoof photographs after Resize(256) + CenterCrop(224) (one thread, microseconds per
image and op, the minimum of ``--rounds`` interleaved rounds of every arm):

- ``kernel rotate``: the AugMix kernel's affine (``augment.compiled._affine``) for a 17 degree
  rotation: Pillow's bilinear, the source coordinates per output row, four 8-bit taps gathered
  per value, the blend in float64 (Pillow's arithmetic, equal to Pillow's bytes);
- ``the same blend, taps at consecutive addresses``: the same arithmetic per value, the four taps
  read from four consecutive runs of the source (what a shift can have and a rotation cannot):
  what the blend would cost if its loads were vector loads;
- ``float32 blend, gathered taps``: the kernel's gathers with the blend in float32 (a "fast"
  variant, within about one grey level of Pillow's): what giving up Pillow's arithmetic buys.

Saves ``benchmarks/results/affine_gather.json``.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
from _common import git_commit, imagenet_images, machine, save  # noqa: E402

from augmix.augment import compiled  # noqa: E402


@numba.njit(cache=False)
def _consecutive(src, dst, frac, keep):  # the kernel's blend with vector loads instead of gathers
    c, h, w = src.shape
    s = src.reshape(c, h * w)
    f0, f1 = frac[0], frac[1]
    for y in range(h - 1):
        for ch in range(c):
            row = s[ch, y * w:]
            below = s[ch, (y + 1) * w:]
            dc = dst[ch, y]
            for x in range(w - 1):
                p = np.float64(row[x])
                dx = f0[x]
                v1 = p + (np.float64(row[x + 1]) - p) * dx
                q = np.float64(below[x])
                v2 = q + (np.float64(below[x + 1]) - q) * dx
                dc[x] = np.uint8(v1 + (v2 - v1) * f1[x]) & keep[x]


@numba.njit(cache=False)
def _float32_gathers(src, dst, m, idx, frac, keep):  # the kernel's taps, the blend in float32
    c, h, w = src.shape
    a0, a1, a2, a3, a4, a5 = m[0], m[1], m[2], m[3], m[4], m[5]
    s = src.reshape(c, h * w)
    for y in range(h):
        yc = y + 0.5
        for x in range(w):
            xc = x + 0.5
            xin = a0 * xc + a1 * yc + a2
            yin = a3 * xc + a4 * yc + a5
            inside = (xin >= 0.0) & (xin < w) & (yin >= 0.0) & (yin < h)
            xs, ys = xin - 0.5, yin - 0.5
            xf, yf = np.floor(xs), np.floor(ys)
            frac[0, x], frac[1, x] = xs - xf, ys - yf
            x0, x1 = min(max(np.int64(xf), 0), w - 1), min(max(np.int64(xf) + 1, 0), w - 1)
            y0, y1 = min(max(np.int64(yf), 0), h - 1), min(max(np.int64(yf) + 1, 0), h - 1)
            idx[0, x], idx[1, x] = np.uint32(y0 * w + x0), np.uint32(y0 * w + x1)
            idx[2, x], idx[3, x] = np.uint32(y1 * w + x0), np.uint32(y1 * w + x1)
            keep[x] = 255 if inside else 0
        i0, i1, i2, i3 = idx[0], idx[1], idx[2], idx[3]
        for ch in range(c):
            sc, dc = s[ch], dst[ch, y]
            for x in range(w):
                dx, dy = np.float32(frac[0, x]), np.float32(frac[1, x])
                p = np.float32(sc[i0[x]])
                v1 = p + (np.float32(sc[i1[x]]) - p) * dx
                q = np.float32(sc[i2[x]])
                v2 = q + (np.float32(sc[i3[x]]) - q) * dx
                dc[x] = np.uint8(v1 + (v2 - v1) * dy) & keep[x]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    arrays, note = imagenet_images(args.images)
    images = [np.ascontiguousarray(a.transpose(2, 0, 1)) for a in arrays]
    _, h, w = images[0].shape
    angle = math.radians(17.0)  # Image.rotate(17)'s coefficients, centre (w / 2, h / 2)
    a, b = round(math.cos(angle), 15), round(math.sin(angle), 15)
    m = np.array([a, b, a * -w / 2 + b * -h / 2 + w / 2, -b, a, -b * -w / 2 + a * -h / 2 + h / 2])
    dst = np.empty_like(images[0])
    idx, frac, keep = np.empty((4, w), np.uint32), np.random.default_rng(0).random((2, w)), np.full(w, 255, np.uint8)
    arms = {
        "kernel rotate (Pillow's bilinear, gathered taps, float64 blend)":
            lambda img: compiled._affine(img, dst, m, idx, frac, keep),
        "the same blend, taps at consecutive addresses": lambda img: _consecutive(img, dst, frac, keep),
        "float32 blend, gathered taps": lambda img: _float32_gathers(img, dst, m, idx, frac, keep),
    }
    for fn in arms.values():  # compile
        fn(images[0])
    best = {name: float("inf") for name in arms}
    for _ in range(args.rounds):
        for name, fn in arms.items():
            t0 = time.perf_counter()
            for img in images:
                fn(img)
            best[name] = min(best[name], 1e6 * (time.perf_counter() - t0) / len(images))
    for name, us in best.items():
        print(f"{name:66s} {us:8.1f} us per image")
    save("affine_gather", {"command": "python benchmarks/affine_gather.py " + " ".join(sys.argv[1:]),
                           "commit": git_commit(), "machine": machine(), "data": note, "threads": 1,
                           "rounds": args.rounds, "unit": "us per 224 px image and op, minimum over rounds",
                           "results": {k: round(v, 1) for k, v in best.items()}})


if __name__ == "__main__":
    main()
