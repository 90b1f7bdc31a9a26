"""Reports: results.json, report.md with tables shaped like the paper's, and PNG plots;
``compare`` puts several runs side by side (the paper's per-method bar chart)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # the object API: no pyplot state, no backend switched on import

from augmix.corruptions.tables import BENCHMARK
from augmix.io import atomic_path


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def write_results(results: dict, out: str | Path) -> Path:
    """Write results.json, report.md and the plots into ``out``; return the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    plots = plot_results(results, out)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(markdown(results, plots))
    return out


def _signed(v: float | None) -> str:
    if v is None:
        return "n/a"
    word = "over" if v > 0 else ("under" if v < 0 else "")
    return f"{100 * v:+.1f}" + (f" ({word}confident)" if word else "")


def markdown(results: dict, plots: list[str] | None = None) -> str:
    r = results
    clean = r["clean"]
    lines = [f"# Robustness report: {r.get('name', 'model')}", ""]
    lines += [f"- Model: {r.get('model', {}).get('source', '?')}",
              f"- Clean data: {r.get('data', {}).get('clean', '?')}",
              f"- Corrupted data: {r.get('data', {}).get('corrupted', 'none')}", ""]
    lines += ["| metric | value (%) |", "|---|---:|", f"| clean error | {_pct(clean['error'])} |",
              f"| clean RMS calibration error | {_pct(clean['rms_calib'])} |",
              f"| clean calibration gap (mean confidence - accuracy) | {_signed(clean.get('calib_gap'))} |",
              f"| clean ECE | {_pct(clean['ece'])} |"]
    if "mean_corruption_error" in r:
        lines += [f"| mean corruption error ({r['corruptions_evaluated']} corruptions x "
                  f"{len(r['severities'])} severities) | {_pct(r['mean_corruption_error'])} |",
                  f"| corrupted RMS calibration error (mean over corruption x severity) | "
                  f"{_pct(r['corrupted_rms_calib_mean'])} |",
                  f"| corrupted calibration gap (mean over corruption x severity) | "
                  f"{_signed(r.get('corrupted_calib_gap_mean'))} |",
                  f"| corrupted RMS calibration error (all corrupted predictions pooled) | "
                  f"{_pct(r['corrupted_rms_calib_pooled'])} |"]
    if "mce" in r:
        lines += [f"| mCE (AlexNet-normalised) | {_pct(r['mce'])} |",
                  f"| relative mCE | {_pct(r['relative_mce'])} |"]
    if "corruptions" in r:
        sev = r["severities"]
        lines += ["", "## Error (%) per corruption and severity", "",
                  "| corruption | " + " | ".join(f"s{s}" for s in sev) + " | mean | RMS calib | calib gap |",
                  "|---|" + "---:|" * (len(sev) + 3)]
        for c, v in r["corruptions"].items():
            gap = f"{100 * float(np.mean(v['calib_gap'])):+.1f}" if "calib_gap" in v else "n/a"
            lines.append(f"| {c} | " + " | ".join(_pct(e) for e in v["error"]) +
                         f" | {_pct(float(np.mean(v['error'])))} | {_pct(float(np.mean(v['rms_calib'])))} | {gap} |")
        ps = r["per_severity"]
        mean_gap = r.get("corrupted_calib_gap_mean")
        lines.append("| **mean** | " + " | ".join(_pct(e) for e in ps["error"]) +
                     f" | **{_pct(r['mean_corruption_error'])}** | {_pct(r['corrupted_rms_calib_mean'])} | "
                     f"{'n/a' if mean_gap is None else f'{100 * mean_gap:+.1f}'} |")
        if "calib_gap" in ps:
            lines += ["", "## Calibration (%) per severity (mean over corruptions)", "",
                      "| | clean | " + " | ".join(f"s{s}" for s in sev) + " |", "|---|" + "---:|" * (len(sev) + 1),
                      f"| RMS calibration error | {_pct(clean['rms_calib'])} | " +
                      " | ".join(_pct(e) for e in ps["rms_calib"]) + " |",
                      f"| calibration gap | {100 * clean.get('calib_gap', float('nan')):+.1f} | " +
                      " | ".join(f"{100 * e:+.1f}" for e in ps["calib_gap"]) + " |",
                      f"| ECE | {_pct(clean['ece'])} | " + " | ".join(_pct(e) for e in ps["ece"]) + " |"]
    lines += ["", "Calibration: RMS calibration error with adaptive bins of 100 predictions, as "
              "`calib_err` in hendrycks/imagenet-r, which leaves the last bin (the 100-199 most "
              "confident predictions) out of the sum; the calibration gap is mean confidence minus "
              "accuracy (> 0: overconfident, < 0: underconfident), which the RMS error does not show; "
              "ECE uses 15 equal-width bins."]
    for p in plots or []:
        lines += ["", f"![{p}]({p})"]
    return "\n".join(lines) + "\n"


def plot_results(results: dict, out: Path) -> list[str]:
    """Error per corruption, error and calibration vs severity, reliability diagram."""
    made = []
    clean = results["clean"]
    if "corruptions" in results:
        names = list(results["corruptions"])
        errs = [100 * np.mean(results["corruptions"][c]["error"]) for c in names]
        fig = Figure(figsize=(10, 4))
        ax = fig.subplots()
        ax.bar(range(len(names)), errs, color="#4c72b0")
        ax.axhline(100 * clean["error"], color="k", ls="--", lw=1, label="clean error")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
        ax.set_ylabel("error (%)")
        ax.set_title("Error per corruption (mean over severities)")
        ax.legend()
        _save(fig, out / "error_per_corruption.png")
        made.append("error_per_corruption.png")

        ps = results["per_severity"]
        sev = [0] + list(results["severities"])
        fig = Figure(figsize=(13, 3.5))
        ax = fig.subplots(1, 3)
        ax[0].plot(sev, [100 * clean["error"]] + [100 * e for e in ps["error"]], "o-")
        ax[0].set(xlabel="severity (0 = clean)", ylabel="error (%)", title="Error vs severity")
        ax[1].plot(sev, [100 * clean["rms_calib"]] + [100 * e for e in ps["rms_calib"]], "o-", color="#c44e52")
        ax[1].set(xlabel="severity (0 = clean)", ylabel="RMS calibration error (%)", title="Calibration vs severity")
        if "calib_gap" in ps and "calib_gap" in clean:
            ax[2].plot(sev, [100 * clean["calib_gap"]] + [100 * e for e in ps["calib_gap"]], "o-", color="#8172b2")
            ax[2].axhline(0, color="k", lw=0.8)
        ax[2].set(xlabel="severity (0 = clean)", ylabel="confidence - accuracy (%)",
                  title="Direction: > 0 overconfident")
        _save(fig, out / "severity.png")
        made.append("severity.png")
    rel = results.get("corrupted_reliability") or results.get("clean_reliability")
    if rel:
        fig = Figure(figsize=(4, 5.2))
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        centres = (np.array(rel["edges"][:-1]) + np.array(rel["edges"][1:])) / 2
        width = 1 / len(centres)
        top.bar(centres, np.nan_to_num(np.array(rel["accuracy"], float)), width=width, edgecolor="k", alpha=0.7,
                label="accuracy")
        top.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        top.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1),
                title="Reliability (" + ("corrupted" if "corrupted_reliability" in results else "clean") + ")")
        top.legend(loc="upper left")
        counts = np.array(rel["count"], float)
        bottom.bar(centres, counts / max(counts.sum(), 1), width=width, color="#999999", edgecolor="k")
        bottom.set(xlabel="confidence", ylabel="share of\npredictions")
        _save(fig, out / "reliability.png")
        made.append("reliability.png")
    return made


def _save(fig: Figure, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def load_results(path: str | Path) -> dict:
    """A results.json written by ``augmix evaluate``, checked for what reports read from it."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"no results.json at {path}; run `augmix evaluate` first")
    try:
        res = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({type(err).__name__}); run `augmix evaluate` again") from None
    problem = _results_problem(res)
    if problem:
        raise ValueError(f"{path} is not a complete augmix results.json ({problem}); run `augmix evaluate` again")
    return res


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _results_problem(res) -> str | None:
    if not isinstance(res, dict):
        return "not a JSON object"
    clean = res.get("clean")
    if not isinstance(clean, dict) or not all(_is_number(clean.get(k)) for k in ("error", "rms_calib", "ece")):
        return "no clean error, RMS calibration error and ECE"
    if "corruptions" in res:
        per, sev = res["corruptions"], res.get("severities")
        if not isinstance(per, dict) or not isinstance(sev, list):
            return "corruptions without severities"
        for name, v in per.items():
            errs = v.get("error") if isinstance(v, dict) else None
            if not isinstance(errs, list) or len(errs) != len(sev) or not all(_is_number(e) for e in errs):
                return f"corruption {name!r} lacks one error per severity"
        for key in ("mean_corruption_error", "corrupted_rms_calib_mean"):
            if not _is_number(res.get(key)):
                return f"no {key}"
    return None


# the summary figures ``compare`` sets side by side: (label, how to read it from results.json, signed?)
SUMMARY = (
    ("clean error", lambda r: r["clean"]["error"], False),
    ("mean corruption error", lambda r: r.get("mean_corruption_error"), False),
    ("clean RMS calib", lambda r: r["clean"]["rms_calib"], False),
    ("clean calib gap", lambda r: r["clean"].get("calib_gap"), True),
    ("corrupted RMS calib", lambda r: r.get("corrupted_rms_calib_mean"), False),
    ("corrupted calib gap", lambda r: r.get("corrupted_calib_gap_mean"), True),
    ("mCE", lambda r: r.get("mce"), False),
)


def _stats(values: list) -> tuple[float, float | None] | None:
    """(mean, sample standard deviation or None for one run), or None when any run lacks the figure."""
    if not values or any(v is None for v in values):
        return None
    return float(np.mean(values)), (float(np.std(values, ddof=1)) if len(values) > 1 else None)


def _cell(st: tuple[float, float | None] | None, signed: bool) -> str:
    if st is None:
        return "n/a"
    mean, sd = st
    text = f"{100 * mean:+.1f}" if signed else _pct(mean)
    return text + (f" ± {100 * sd:.1f}" if sd is not None else "")


def compare(runs: list[str | Path], out: str | Path, labels: list[str] | None = None) -> Path:
    """Side-by-side tables and bar chart of several evaluated runs (the paper's Figure style).

    Runs that share a label are seeds of one method: their figures are shown as mean ±
    sample standard deviation, and a difference between two methods smaller than the
    spread of a single run's difference (the two standard deviations added in quadrature)
    is marked as such. Also writes compare.json with those numbers.
    """
    from augmix.io import ensure_writable_dir

    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"--labels has {len(labels)} names for {len(runs)} runs; give one per run")
    res = [load_results(r) for r in runs]
    out = ensure_writable_dir(out)
    labels = labels or [r.get("name") or Path(p).name for r, p in zip(res, runs, strict=True)]
    groups: dict[str, list[dict]] = {}
    for lab, r in zip(labels, res, strict=True):
        groups.setdefault(lab, []).append(r)
    shown = [(name, read, signed) for name, read, signed in SUMMARY
             if any(_stats([read(r) for r in g]) is not None for g in groups.values())]
    table = {lab: {name: _stats([read(r) for r in g]) for name, read, _ in shown} for lab, g in groups.items()}

    lines = ["# Comparison", "", "Figures in %; `a ± s`: mean and sample standard deviation over the runs "
             "(seeds) sharing a label. Calibration gap: mean confidence - accuracy (> 0 overconfident).", "",
             "| method | runs | " + " | ".join(n for n, _, _ in shown) + " |", "|---|---:|" + "---:|" * len(shown)]
    for lab, g in groups.items():
        lines.append(f"| {lab} | {len(g)} | " + " | ".join(_cell(table[lab][n], sg) for n, _, sg in shown) + " |")
    names = list(groups)
    if len(names) > 1:
        base = names[0]
        lines += ["", f"## Differences from {base}", "",
                  "| method | metric | difference | spread | |", "|---|---|---:|---:|---|"]
        for lab in names[1:]:
            for n, _, _ in shown:
                a, b = table[base][n], table[lab][n]
                if a is None or b is None:
                    continue
                diff = b[0] - a[0]
                if a[1] is None or b[1] is None:
                    spread, note = "n/a", "one run on a side: spread unknown"
                else:
                    sp = float(np.hypot(a[1], b[1]))
                    spread = f"{100 * sp:.1f}"
                    note = "**smaller than the spread**" if abs(diff) <= sp else ""
                lines.append(f"| {lab} | {n} | {100 * diff:+.1f} | {spread} | {note} |")
    corr = [c for c in BENCHMARK if all(c in r.get("corruptions", {}) for r in res)]
    per_corr: dict[str, dict[str, tuple]] = {}
    if corr:
        lines += ["", "## Error (%) per corruption (mean over severities)", "",
                  "| corruption | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for c in corr:
            per_corr[c] = {lab: _stats([float(np.mean(r["corruptions"][c]["error"])) for r in groups[lab]])
                           for lab in names}
            lines.append(f"| {c} | " + " | ".join(_cell(per_corr[c][lab], False) for lab in names) + " |")
        fig = Figure(figsize=(12, 4))
        ax = fig.subplots()
        width = 0.8 / len(names)
        for k, lab in enumerate(names):
            means = [100 * per_corr[c][lab][0] for c in corr]
            sds = [100 * (per_corr[c][lab][1] or 0.0) for c in corr]
            ax.bar(np.arange(len(corr)) + k * width, means, width, yerr=sds if len(groups[lab]) > 1 else None,
                   capsize=2, label=f"{lab} (n={len(groups[lab])})")
        ax.set_xticks(np.arange(len(corr)) + 0.4 - width / 2, corr, rotation=60, ha="right")
        ax.set_ylabel("error (%)")
        ax.set_title("Corruption error per method")
        ax.legend()
        _save(fig, out / "compare.png")
        lines += ["", "![compare.png](compare.png)"]
    with atomic_path(out / "compare.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    summary = {"methods": {lab: {"runs": len(groups[lab]),
                                 **{n: (None if table[lab][n] is None else
                                        {"mean": table[lab][n][0], "std": table[lab][n][1]}) for n, _, _ in shown}}
                           for lab in names},
               "per_corruption": {c: {lab: {"mean": v[0], "std": v[1]} for lab, v in d.items()}
                                  for c, d in per_corr.items()}}
    with atomic_path(out / "compare.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return out
