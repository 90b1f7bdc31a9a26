"""How a bare training step scales from batch 128 to JSD's 384 on the CPU, per setting.

    python benchmarks/step_scaling.py [--models tiny,small,wrn40_2] [--rounds 4]

For each model, memory layout (NCHW or channels_last) and allocator setting (glibc's
default, or ``augmix.allocator.keep_freed_memory``), a fresh process times forward + backward +
SGD step on random 32x32 inputs at batch 128 and 384, alternating, and reports the median
step times and their ratio (3.0 is linear). This isolates why a JSD epoch may cost more
than 3x a standard one on a CPU; ``train_throughput.py`` measures whole epochs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
from _common import machine, save


def child(model: str, channels_last: bool, keep_memory: bool, rounds: int) -> dict:
    if keep_memory:
        from augmix.allocator import keep_freed_memory

        keep_freed_memory()
    from augmix.models import create_model

    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = create_model(model, 10).to(memory_format=fmt)
    opt = torch.optim.SGD(net.parameters(), 0.01, momentum=0.9)
    inputs = {b: torch.randn(b, 3, 32, 32).contiguous(memory_format=fmt) for b in (128, 384)}
    labels = {b: torch.randint(0, 10, (b,)) for b in (128, 384)}

    def step(b: int) -> None:
        loss = torch.nn.functional.cross_entropy(net(inputs[b]), labels[b])
        opt.zero_grad()
        loss.backward()
        opt.step()

    for b in (128, 384):  # warm-up
        step(b)
        step(b)
    times: dict[int, list[float]] = {128: [], 384: []}
    for _ in range(rounds):
        for b, n in ((128, 3), (384, 1)):
            t0 = time.perf_counter()
            for _ in range(n):
                step(b)
            times[b].append((time.perf_counter() - t0) / n)
    t128, t384 = statistics.median(times[128]), statistics.median(times[384])
    return {"step_s_128": round(t128, 4), "step_s_384": round(t384, 4), "ratio": round(t384 / t128, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="tiny,small,wrn40_2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--child", nargs=3, metavar=("MODEL", "LAYOUT", "ALLOCATOR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        model, layout, alloc = args.child
        print(json.dumps(child(model, layout == "channels_last", alloc == "keep_freed", args.rounds)))
        return
    results: dict[str, dict] = {}
    for model in args.models.split(","):
        results[model] = {}
        for layout in ("nchw", "channels_last"):
            for alloc in ("glibc_default", "keep_freed"):
                out = subprocess.run([sys.executable, __file__, "--rounds", str(args.rounds),
                                      "--child", model, layout, alloc],
                                     check=True, capture_output=True, text=True).stdout
                row = json.loads(out.strip().splitlines()[-1])
                results[model][f"{layout}/{alloc}"] = row
                print(f"{model:8s} {layout:13s} {alloc:13s} b128 {row['step_s_128']:.3f}s  "
                      f"b384 {row['step_s_384']:.3f}s  ratio {row['ratio']:.2f}")
    save("step_scaling", {"data": "random inputs 3x32x32 (timing only)", "machine": machine(),
                          "threads": torch.get_num_threads(), "rounds": args.rounds, "results": results})


if __name__ == "__main__":
    main()
