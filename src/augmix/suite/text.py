"""Shared pieces of the benchmarks' report sections and figures: number formats, the
corruption x severity tables, and saving a figure atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from augmix.io import atomic_path, reads_back
from augmix.results import CorruptionResult, Scores


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def signed(v: float | None) -> str:
    """A calibration gap in %, with its direction in words."""
    if v is None:
        return "n/a"
    word = "over" if v > 0 else ("under" if v < 0 else "")
    return f"{100 * v:+.1f}" + (f" ({word}confident)" if word else "")


def figure(*args, **kwargs):
    """A matplotlib ``Figure`` (the object API: no pyplot state, no backend switched), imported
    only when a figure is drawn."""
    from matplotlib.figure import Figure

    return Figure(*args, **kwargs)


def save_figure(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path, verify=reads_back) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def corruption_tables(r: CorruptionResult, title: str, level: str = "##", clean: Scores | None = None) -> list[str]:
    """The per-corruption x severity table and the per-severity calibration table of a corruption record."""
    sev = r.severities
    lines = ["", f"{level} {title}", "",
             "| corruption | " + " | ".join(f"s{s}" for s in sev) + " | mean | RMS calib | calib gap |",
             "|---|" + "---:|" * (len(sev) + 3)]
    for c, v in r.per.items():
        lines.append(f"| {c} | " + " | ".join(pct(e) for e in v.error) +
                     f" | {pct(float(np.mean(v.error)))} | {pct(float(np.mean(v.rms_calib)))} | "
                     f"{100 * float(np.mean(v.calib_gap)):+.1f} |")
    ps = r.per_severity
    lines.append("| **mean** | " + " | ".join(pct(e) for e in ps.error) +
                 f" | **{pct(r.mean_error)}** | {pct(r.rms_calib_mean)} | {100 * r.calib_gap_mean:+.1f} |")
    rows = {"RMS calibration error": [pct(e) for e in ps.rms_calib],
            "calibration gap": [f"{100 * e:+.1f}" for e in ps.calib_gap], "ECE": [pct(e) for e in ps.ece]}
    head = [f"s{s}" for s in sev]
    if clean is not None:
        head = ["clean", *head]
        rows["RMS calibration error"].insert(0, pct(clean.rms_calib))
        rows["calibration gap"].insert(0, f"{100 * clean.calib_gap:+.1f}")
        rows["ECE"].insert(0, pct(clean.ece))
    lines += ["", f"{level} Calibration (%) per severity (mean over corruptions)", "",
              "| | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    lines += [f"| {k} | " + " | ".join(v) + " |" for k, v in rows.items()]
    return lines


def corruption_plots(r: CorruptionResult, clean: Scores, out: Path, prefix: str = "",
                     what: str = "corruption") -> list[str]:
    """Error per corruption (bars), and error / calibration / its direction against severity."""
    names = r.corruptions
    fig = figure(figsize=(10, 4))
    ax = fig.subplots()
    ax.bar(range(len(names)), [100 * r.mean_of(c) for c in names], color="#4c72b0")
    ax.axhline(100 * clean.error, color="k", ls="--", lw=1, label="clean error")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_ylabel("error (%)")
    ax.set_title(f"Error per {what} (mean over severities)")
    ax.legend()
    first = f"{prefix}error_per_corruption.png"
    save_figure(fig, out / first)

    ps, sev = r.per_severity, [0, *r.severities]
    fig = figure(figsize=(13, 3.5))
    ax = fig.subplots(1, 3)
    ax[0].plot(sev, [100 * clean.error] + [100 * e for e in ps.error], "o-")
    ax[0].set(xlabel="severity (0 = clean)", ylabel="error (%)", title="Error vs severity")
    ax[1].plot(sev, [100 * clean.rms_calib] + [100 * e for e in ps.rms_calib], "o-", color="#c44e52")
    ax[1].set(xlabel="severity (0 = clean)", ylabel="RMS calibration error (%)", title="Calibration vs severity")
    ax[2].plot(sev, [100 * clean.calib_gap] + [100 * e for e in ps.calib_gap], "o-", color="#8172b2")
    ax[2].axhline(0, color="k", lw=0.8)
    ax[2].set(xlabel="severity (0 = clean)", ylabel="confidence - accuracy (%)", title="Direction: > 0 overconfident")
    second = f"{prefix}severity.png"
    save_figure(fig, out / second)
    return [first, second]
