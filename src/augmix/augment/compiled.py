"""Compiled AugMix for uint8 batches on the CPU: every chain, op and the mix in one pass.

The tensor back-end (``apply.apply_chains``) runs each op as a handful of batched torch
calls; on a CPU with 32x32 images the per-call overhead and ``grid_sample``'s general
machinery dominate. This kernel walks each image through its chains in cache-sized
scratch buffers with Pillow's own arithmetic: the geometric ops are Pillow's affine
bilinear (``Geometry.c``: double-precision coordinates, edge clamping, black outside,
truncation), the point ops are Pillow's lookup tables, and the enhance ops blend in
float32 as ``Image.blend`` does. The mix is the reference's float32 convex combination.

Parameters come from the shared sampler (``sampler.sample_params``); this module only
applies them. Images run in parallel over numba's threads (capped at torch's count).
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import torch

from augmix.augment import functional as Fn
from augmix.augment.ops import OP_SPECS
from augmix.augment.sampler import AugMixConfig, AugMixParams, sample_params
from augmix.jit import announce_first_compile, kernel

# Kernel op codes: one per point and enhance op of the table (``ops.OP_SPECS``), and one for
# every geometric op, which becomes an affine with Pillow's coefficients.
_CODES = {name: code for code, name in enumerate(n for n, spec in OP_SPECS.items() if not spec.geometric)}
AFFINE = len(_CODES)
AUTOCONTRAST, EQUALIZE, POSTERIZE, SOLARIZE = (_CODES[n] for n in ("autocontrast", "equalize", "posterize", "solarize"))
COLOR, CONTRAST, BRIGHTNESS, SHARPNESS = (_CODES[n] for n in ("color", "contrast", "brightness", "sharpness"))


@kernel()
def _apply_lut(src, dst, lut):  # pragma: no cover - compiled
    c, h, w = src.shape
    for ch in range(c):
        for y in range(h):
            for x in range(w):
                dst[ch, y, x] = lut[ch, src[ch, y, x]]


@kernel()
def _histograms(img, hist):  # pragma: no cover - compiled
    c, h, w = img.shape
    hist[:] = 0
    for ch in range(c):
        for y in range(h):
            for x in range(w):
                hist[ch, img[ch, y, x]] += 1


@kernel()
def _point_lut(code, arg, img, hist, lut, eq_divisor):  # pragma: no cover - compiled
    """Fill ``lut`` [C, 256] for a point op, as ``ImageOps`` builds it."""
    c = img.shape[0]
    if code == POSTERIZE:
        bits = min(max(int(arg), 0), 8)
        mask = (~((1 << (8 - bits)) - 1)) & 0xFF
        for ch in range(c):
            for i in range(256):
                lut[ch, i] = i & mask
        return
    if code == SOLARIZE:
        t = arg
        for ch in range(c):
            for i in range(256):
                lut[ch, i] = i if i < t else 255 - i
        return
    _histograms(img, hist)
    npix = img.shape[1] * img.shape[2]
    for ch in range(c):
        if code == AUTOCONTRAST:
            lo, hi = 0, 255
            while lo < 256 and hist[ch, lo] == 0:
                lo += 1
            while hi >= 0 and hist[ch, hi] == 0:
                hi -= 1
            if hi <= lo:
                for i in range(256):
                    lut[ch, i] = i
            else:
                scale = 255.0 / (hi - lo)
                offset = -lo * scale
                for i in range(256):
                    v = int(i * scale + offset)
                    lut[ch, i] = 0 if v < 0 else (255 if v > 255 else v)
        else:  # EQUALIZE
            last, nonempty = 0, 0
            for i in range(256):
                if hist[ch, i] > 0:
                    last = i
                    nonempty += 1
            step = (npix - hist[ch, last]) // eq_divisor
            if nonempty <= 1 or step == 0:
                for i in range(256):
                    lut[ch, i] = i
            else:
                n = step // 2
                for i in range(256):
                    v = n // step
                    lut[ch, i] = v if v < 255 else 255
                    n += hist[ch, i]


@kernel()
def _shift(src, dst, ox, oy):  # pragma: no cover - compiled
    """Whole-pixel translation: output (x, y) = input (x + ox, y + oy), black outside; each
    row one contiguous copy between two runs of black."""
    c, h, w = src.shape
    lo = min(max(-ox, 0), w)  # the output columns that read inside: [lo, hi)
    hi = max(min(w - ox, w), lo)
    for ch in range(c):
        for y in range(h):
            ys = y + oy
            out = dst[ch, y]
            if ys < 0 or ys >= h:
                out[:] = 0
                continue
            row = src[ch, ys]
            out[:lo] = 0
            out[lo:hi] = row[lo + ox:hi + ox]
            out[hi:] = 0


@kernel()
def _affine(src, dst, m, idx, frac, keep):  # pragma: no cover - compiled
    """Pillow's ``transform(AFFINE, BILINEAR)`` with black fill (``Geometry.c``).

    A pixel centre maps to (xin, yin) in double precision; outside [0, w) x [0, h) is
    black; inside, the four neighbours (clamped to the edge) are blended along x, then
    y, and truncated. Translations, shears along x and shears along y take shortcuts
    that give the same doubles: a zero fractional offset makes its blend an identity.
    ``idx`` [4, W] (uint32), ``frac`` [2, W] and ``keep`` [W] (255 inside, 0 outside) hold one output
    row's sources, weights and mask, computed row by row so that they stay in the L1 cache while
    every channel gathers from them.
    """
    c, h, w = src.shape
    a0, a1, a2, a3, a4, a5 = m[0], m[1], m[2], m[3], m[4], m[5]
    if a0 == 1.0 and a1 == 0.0 and a3 == 0.0 and a4 == 1.0 and a2 == np.floor(a2) and a5 == np.floor(a5):
        _shift(src, dst, int(a2), int(a5))
        return
    rows_only = a3 == 0.0 and a4 == 1.0 and a5 == 0.0  # yin = y + .5: one source row, dy = 0
    cols_only = a0 == 1.0 and a1 == 0.0 and a2 == 0.0  # xin = x + .5: one source column, dx = 0
    s = src.reshape(c, h * w)
    for y in range(h):
        yc = y + 0.5
        b1 = a1 * yc
        b4 = a4 * yc
        for x in range(w):  # branch-free, so the compiler vectorises it; same doubles as Pillow's formula
            xc = x + 0.5
            xin = a0 * xc + b1 + a2  # = (a0 * xc + a1 * yc) + a2, Pillow's order of operations
            yin = a3 * xc + b4 + a5
            inside = (xin >= 0.0) & (xin < w) & (yin >= 0.0) & (yin < h)
            xs = xin - 0.5
            ys = yin - 0.5
            xf = np.floor(xs)  # Pillow's FLOOR
            yf = np.floor(ys)
            frac[0, x] = xs - xf
            frac[1, x] = ys - yf
            xi = np.int64(xf)
            yi = np.int64(yf)
            x0 = min(max(xi, 0), w - 1)
            x1 = min(max(xi + 1, 0), w - 1)
            y0 = min(max(yi, 0), h - 1)
            y1 = min(max(yi + 1, 0), h - 1)
            idx[0, x] = np.uint32(y0 * w + x0)
            idx[1, x] = np.uint32(y0 * w + x1)
            idx[2, x] = np.uint32(y1 * w + x0)
            idx[3, x] = np.uint32(y1 * w + x1)
            keep[x] = 255 if inside else 0
        i0, i1, i2, i3, f0, f1 = idx[0], idx[1], idx[2], idx[3], frac[0], frac[1]
        for ch in range(c):  # one branch-free loop per case; the gathers themselves stay scalar, and
            sc = s[ch]  # are most of the time (benchmarks/affine_gather.py); unsigned taps: no wraparound test
            dc = dst[ch, y]
            if rows_only:
                for x in range(w):
                    p = np.float64(sc[i0[x]])
                    dc[x] = np.uint8(p + (np.float64(sc[i1[x]]) - p) * f0[x]) & keep[x]
            elif cols_only:
                for x in range(w):
                    p = np.float64(sc[i0[x]])
                    dc[x] = np.uint8(p + (np.float64(sc[i2[x]]) - p) * f1[x]) & keep[x]
            else:
                for x in range(w):
                    p = np.float64(sc[i0[x]])
                    dx = f0[x]
                    v1 = p + (np.float64(sc[i1[x]]) - p) * dx
                    q = np.float64(sc[i2[x]])
                    v2 = q + (np.float64(sc[i3[x]]) - q) * dx
                    dc[x] = np.uint8(v1 + (v2 - v1) * f1[x]) & keep[x]


@kernel()
def _blend_row(deg, f, src, dst):  # pragma: no cover - compiled
    """One row of ``Image.blend(degenerate, img, f)`` in float32: clamped, truncated."""
    for x in range(src.shape[0]):
        d = deg[x]
        v = d + f * (np.float32(src[x]) - d)
        v = min(max(v, np.float32(0.0)), np.float32(255.0))
        dst[x] = np.uint8(int(v))


@kernel()
def _grey_row(src, y, out):  # pragma: no cover - compiled
    """Row ``y`` of ``convert("L")`` (ITU-R 601-2 in 16-bit fixed point) as float32; its sum."""
    c, _, w = src.shape
    total = 0
    for x in range(w):
        if c == 3:
            g = (np.int32(src[0, y, x]) * 19595 + np.int32(src[1, y, x]) * 38470
                 + np.int32(src[2, y, x]) * 7471 + 0x8000) >> 16
        else:
            g = np.int32(src[0, y, x])
        total += g
        out[x] = g
    return total


@kernel()
def _enhance(code, factor, src, dst, row):  # pragma: no cover - compiled
    """``ImageEnhance``: ``Image.blend(degenerate, img, factor)`` in float32, truncated.

    The degenerate image is made one row at a time into ``row`` (float32 [W]) and blended at
    once, so it never exists whole.
    """
    c, h, w = src.shape
    f = np.float32(factor)
    if code == BRIGHTNESS or code == CONTRAST:
        level = np.float32(0.0)
        if code == CONTRAST:
            total = 0
            for y in range(h):
                total += _grey_row(src, y, row)
            level = np.float32(np.floor(total / (h * w) + 0.5))
        row[:] = level
        for ch in range(c):
            for y in range(h):
                _blend_row(row, f, src[ch, y], dst[ch, y])
    elif code == COLOR:
        for y in range(h):
            _grey_row(src, y, row)
            for ch in range(c):
                _blend_row(row, f, src[ch, y], dst[ch, y])
    else:  # SHARPNESS: Pillow's SMOOTH filter (1 1 1 / 1 5 1 / 1 1 1) / 13; borders copied
        k1 = np.float32(1.0) / np.float32(13.0)
        k5 = np.float32(5.0) / np.float32(13.0)
        for ch in range(c):
            for y in range(h):
                for x in range(w):
                    v = np.float32(src[ch, y, x])
                    if 0 < y < h - 1 and 0 < x < w - 1:
                        s = np.float32(0.0)
                        for yy in range(y - 1, y + 2):
                            for xx in range(x - 1, x + 2):
                                s += np.float32(src[ch, yy, xx]) * (k5 if (yy == y and xx == x) else k1)
                        v = min(max(np.floor(s + np.float32(0.5)), np.float32(0.0)), np.float32(255.0))
                    row[x] = v
                _blend_row(row, f, src[ch, y], dst[ch, y])


@kernel()
def _scratch(c, w):  # pragma: no cover - compiled
    """An op's small buffers: histograms, a table, one row's affine taps and mask, one float32 row."""
    return (np.empty((c, 256), np.int64), np.empty((c, 256), np.uint8), np.empty((4, w), np.uint32),
            np.empty((2, w), np.float64), np.empty(w, np.uint8), np.empty(w, np.float32))


@kernel()
def _buffers(width, c, h, w):  # pragma: no cover - compiled
    """One image's working buffers, made once per call (per thread): every chain's result, a
    spare image and the ops' scratch."""
    return np.empty((width, c, h, w), np.uint8), np.empty((c, h, w), np.uint8), _scratch(c, w)


@kernel()
def _run_chain(b, i, x, codes, args, mats, depths, eq_divisor, res, spare, scratch):  # pragma: no cover
    """Chain ``i`` of image ``b`` into ``res[i]``, Pillow's arithmetic op by op.

    Every op reads one buffer and writes another, the first reading ``x[b]`` itself; the first
    op writes ``res[i]`` or ``spare`` by the chain's parity, so that the last writes ``res[i]``.
    """
    hist, lut, idx, frac, keep, row = scratch
    depth = depths[b, i]
    if depth == 0:
        res[i] = x[b]
        return
    src = x[b]
    dst, other = (res[i], spare) if depth % 2 == 1 else (spare, res[i])
    for d in range(depth):
        code = codes[b, i, d]
        if code == AFFINE:
            _affine(src, dst, mats[b, i, d], idx, frac, keep)
        elif code >= COLOR:
            _enhance(code, args[b, i, d], src, dst, row)
        else:
            _point_lut(code, args[b, i, d], src, hist, lut, eq_divisor)
            _apply_lut(src, dst, lut)
        src = dst
        dst, other = other, dst


@kernel()
def _augmix_one(b, x, codes, args, mats, depths, weights, mix, eq_divisor, out, bufs):  # pragma: no cover
    """out[b] = (1 - m) x[b] / 255 + sum_i (w_i m) chain_i(x[b]) / 255, clamped to [0, 1].

    The float32 arithmetic is ``apply.mix``'s, term by term (the same roundings in the same
    order), done in one pass over the chains' results one float32 row at a time.
    """
    _, c, h, w = x.shape
    res, spare, scratch = bufs
    row = scratch[-1]
    width = codes.shape[1]
    for i in range(width):
        _run_chain(b, i, x, codes, args, mats, depths, eq_divisor, res, spare, scratch)
    scale = np.float32(1.0 / 255.0)
    m = mix[b]
    base = (np.float32(1.0) - m) * scale
    wi = np.empty(width, np.float32)
    for i in range(width):
        wi[i] = (weights[b, i] * m) * scale
    for ch in range(c):
        for y in range(h):
            src = x[b, ch, y]
            for xx in range(w):
                row[xx] = np.float32(src[xx]) * base
            for i in range(width):
                ci = res[i, ch, y]
                f = wi[i]
                for xx in range(w):
                    row[xx] += np.float32(ci[xx]) * f
            dst = out[b, ch, y]
            for xx in range(w):
                dst[xx] = min(max(row[xx], np.float32(0.0)), np.float32(1.0))


@kernel()
def _chains(x, codes, args, mats, depths, eq_divisor, out):  # pragma: no cover - compiled
    """out[b, i] = chain i of image b (uint8), for every image and chain."""
    _, c, h, w = x.shape
    width = codes.shape[1]
    spare, scratch = np.empty((c, h, w), np.uint8), _scratch(c, w)
    for b in range(x.shape[0]):
        for i in range(width):  # straight into the output: out[b] serves as res
            _run_chain(b, i, x, codes, args, mats, depths, eq_divisor, out[b], spare, scratch)


@kernel()
def _augmix_serial(x, codes, args, mats, depths, weights, mix, eq_divisor, out):  # pragma: no cover
    _, c, h, w = x.shape
    bufs = _buffers(codes.shape[1], c, h, w)
    for b in range(x.shape[0]):
        _augmix_one(b, x, codes, args, mats, depths, weights, mix, eq_divisor, out, bufs)


@kernel(parallel=True)
def _augmix_parallel(x, codes, args, mats, depths, weights, mix, eq_divisor, out):  # pragma: no cover
    _, c, h, w = x.shape
    width = codes.shape[1]
    slots = numba.config.NUMBA_NUM_THREADS  # one set of buffers per thread, made once per call
    res = np.empty((slots, width, c, h, w), np.uint8)
    spare = np.empty((slots, c, h, w), np.uint8)
    hist = np.empty((slots, c, 256), np.int64)
    lut = np.empty((slots, c, 256), np.uint8)
    idx = np.empty((slots, 4, w), np.uint32)
    frac = np.empty((slots, 2, w), np.float64)
    keep = np.empty((slots, w), np.uint8)
    row = np.empty((slots, w), np.float32)
    for b in numba.prange(x.shape[0]):
        t = numba.get_thread_id()
        _augmix_one(b, x, codes, args, mats, depths, weights, mix, eq_divisor, out,
                    (res[t], spare[t], (hist[t], lut[t], idx[t], frac[t], keep[t], row[t])))


def kernel_params(params: AugMixParams, height: int, width: int) -> tuple[np.ndarray, ...]:
    """The sampled parameters as the kernel's arrays: op codes, args, affine matrices."""
    names = params.op_names
    lut = np.array([AFFINE if OP_SPECS[n].geometric else _CODES[n] for n in names], np.int8)
    ops = params.ops.numpy()
    codes = lut[ops]
    args = params.args(height, width).numpy()
    mats = np.zeros((*ops.shape, 6), dtype=np.float64)
    for k, name in enumerate(names):  # each formula on the steps that drew it
        if OP_SPECS[name].geometric:
            sel = ops == k
            n = int(sel.sum())
            if n > 8:
                mats[sel] = Fn.affine_matrix(name, torch.from_numpy(args[sel]), height, width).numpy()
            elif n:  # a few steps (one image's draw): rotations and translations repeat, so remember them
                mats[sel] = [_step_matrix(name, float(a), height, width) for a in args[sel]]
    return codes, args, mats


@functools.lru_cache(maxsize=4096)
def _step_matrix(name: str, arg: float, height: int, width: int) -> tuple[float, ...]:
    """``affine_matrix`` of one step (torch's per-call cost is most of a small draw's time)."""
    return tuple(Fn.affine_matrix(name, torch.tensor([arg], dtype=torch.float64), height, width)[0].tolist())


def fits(x: torch.Tensor) -> bool:
    """Whether the kernel takes ``x``: a uint8 CPU batch [B, C, H, W] of grey or RGB images."""
    return x.device.type == "cpu" and x.dtype == torch.uint8 and x.ndim == 4 and x.shape[1] in (1, 3)


def chains_uint8(x: torch.Tensor, params: AugMixParams) -> np.ndarray:
    """The AugMix chains of a CPU uint8 batch ``[B, C, H, W]`` before mixing, uint8
    ``[B, width, C, H, W]``: the bytes the PIL path's chains have (one thread)."""
    if not fits(x):
        raise ValueError(f"chains_uint8 takes a CPU uint8 batch [B, C, H, W] with 1 or 3 channels, got {x.dtype} "
                         f"{tuple(x.shape)} on {x.device}")
    b, c, h, w = x.shape
    codes, args, mats = kernel_params(params, h, w)
    out = np.empty((b, codes.shape[1], c, h, w), dtype=np.uint8)
    announce_first_compile(_chains, "the AugMix kernel")
    _chains(x.contiguous().numpy(), codes, args, mats, params.depths.numpy().astype(np.int64), Fn.EQUALIZE_DIVISOR,
            out)
    return out


@kernel()
def _mix_to_float(x, chains, weights, m, out):  # pragma: no cover - compiled
    """``apply_pil``'s mix with ToTensor, operation by operation in float32 as torch does it:
    every value divided by 255, the chains weighted and summed in order, then ``(1 - m) x + m
    mix`` (separate roundings: numba fuses nothing without fastmath), so the bits are equal."""
    width, c, h, w = chains.shape
    d = np.float32(255.0)
    keep = np.float32(1.0) - m
    for k in range(c):
        for i in range(h):
            for j in range(w):
                acc = weights[0] * (np.float32(chains[0, k, i, j]) / d)
                for q in range(1, width):
                    acc = acc + weights[q] * (np.float32(chains[q, k, i, j]) / d)
                out[k, i, j] = keep * (np.float32(x[k, i, j]) / d) + m * acc


def augmix_to_float(x: torch.Tensor, params: AugMixParams) -> torch.Tensor:
    """AugMix of one uint8 image ``[C, H, W]`` (batch-size-1 ``params``) exactly as
    ``apply_pil(img, params)`` computes it with ``ToTensor``: Pillow's chains, torch's float32 mix
    to the bit, without making PIL images of the chains or torch tensors of every step."""
    chains = chains_uint8(x.unsqueeze(0), params)[0]
    out = np.empty(x.shape, dtype=np.float32)
    _mix_to_float(x.contiguous().numpy(), chains, params.chain_weights[0].numpy().astype(np.float32),
                  np.float32(params.mix_weights[0].item()), out)
    return torch.from_numpy(out)


def load() -> None:
    """Load (or compile) the per-image kernel now, in this process: DataLoader workers forked
    afterwards inherit it, where each would otherwise load it on its first image of every epoch
    (0.9 s measured here, a fifth of a 384-photograph epoch on 2 workers). ``AugMixDataset``
    calls it; call it yourself before a DataLoader whose workers run ``AugMix`` on PIL images.
    Both halves of the PIL path load: the chains and the float32 mix."""
    augmix_to_float(torch.zeros(3, 8, 8, dtype=torch.uint8), sample_params(1, AugMixConfig(), 0))


def augmix_uint8(x: torch.Tensor, params: AugMixParams) -> torch.Tensor:
    """AugMix of a CPU uint8 batch ``[B, C, H, W]``: float32 in [0, 1], Pillow-exact chains."""
    if not fits(x):
        raise ValueError(f"augmix_uint8 takes a CPU uint8 batch [B, C, H, W] with 1 or 3 channels, "
                         f"got {x.dtype} {tuple(x.shape)} on {x.device}; use apply_tensor(..., backend='torch')")
    b, c, h, w = x.shape
    if params.batch_size != b:
        raise ValueError(f"parameters are for {params.batch_size} images, the batch has {b}")
    codes, args, mats = kernel_params(params, h, w)
    out = torch.empty(b, c, h, w, dtype=torch.float32)
    threads = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS, b)
    # One thread (e.g. in DataLoader workers, where torch sets one) stays off numba's
    # threading layer, whose OpenMP flavour is not fork-safe.
    arrays = (x.contiguous().numpy(), codes, args, mats, params.depths.numpy().astype(np.int64),
              params.chain_weights.numpy().astype(np.float32), params.mix_weights.numpy().astype(np.float32),
              Fn.EQUALIZE_DIVISOR, out.numpy())
    if threads == 1:
        announce_first_compile(_augmix_serial, "the AugMix kernel")
        _augmix_serial(*arrays)
        return out
    # Images differ in cost (a chain of rotations vs one posterize) and a shared machine may
    # stall a thread: hand out small chunks instead of one fixed share per thread. Both
    # settings are numba's process-wide state, so they are put back afterwards.
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(threads)
    previous_chunk = numba.set_parallel_chunksize(16)
    try:
        announce_first_compile(_augmix_parallel, "the parallel AugMix kernel")
        _augmix_parallel(*arrays)
    finally:
        numba.set_parallel_chunksize(previous_chunk)
        numba.set_num_threads(previous_threads)
    return out
