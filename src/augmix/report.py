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


def markdown(results: dict, plots: list[str] | None = None) -> str:
    r = results
    lines = [f"# Robustness report: {r.get('name', 'model')}", ""]
    lines += [f"- Model: {r.get('model', {}).get('source', '?')}",
              f"- Clean data: {r.get('data', {}).get('clean', '?')}",
              f"- Corrupted data: {r.get('data', {}).get('corrupted', 'none')}", ""]
    lines += ["| metric | value (%) |", "|---|---:|", f"| clean error | {_pct(r['clean']['error'])} |",
              f"| clean RMS calibration error | {_pct(r['clean']['rms_calib'])} |",
              f"| clean ECE | {_pct(r['clean']['ece'])} |"]
    if "mean_corruption_error" in r:
        lines += [f"| mean corruption error ({r['corruptions_evaluated']} corruptions x "
                  f"{len(r['severities'])} severities) | {_pct(r['mean_corruption_error'])} |",
                  f"| corrupted RMS calibration error (mean over corruption x severity) | "
                  f"{_pct(r['corrupted_rms_calib_mean'])} |",
                  f"| corrupted RMS calibration error (all corrupted predictions pooled) | "
                  f"{_pct(r['corrupted_rms_calib_pooled'])} |"]
    if "mce" in r:
        lines += [f"| mCE (AlexNet-normalised) | {_pct(r['mce'])} |",
                  f"| relative mCE | {_pct(r['relative_mce'])} |"]
    if "corruptions" in r:
        sev = r["severities"]
        lines += ["", "## Error (%) per corruption and severity", "",
                  "| corruption | " + " | ".join(f"s{s}" for s in sev) + " | mean | RMS calib |",
                  "|---|" + "---:|" * (len(sev) + 2)]
        for c, v in r["corruptions"].items():
            lines.append(f"| {c} | " + " | ".join(_pct(e) for e in v["error"]) +
                         f" | {_pct(float(np.mean(v['error'])))} | {_pct(float(np.mean(v['rms_calib'])))} |")
        ps = r["per_severity"]
        lines.append("| **mean** | " + " | ".join(_pct(e) for e in ps["error"]) +
                     f" | **{_pct(r['mean_corruption_error'])}** | {_pct(r['corrupted_rms_calib_mean'])} |")
    lines += ["", "Calibration: RMS calibration error with adaptive bins of 100 predictions, as "
              "`calib_err` in hendrycks/imagenet-r, which leaves the last bin (the 100-199 most "
              "confident predictions) out of the sum; ECE uses 15 equal-width bins."]
    for p in plots or []:
        lines += ["", f"![{p}]({p})"]
    return "\n".join(lines) + "\n"


def plot_results(results: dict, out: Path) -> list[str]:
    """Error per corruption, error and calibration vs severity, reliability diagram."""
    made = []
    if "corruptions" in results:
        names = list(results["corruptions"])
        errs = [100 * np.mean(results["corruptions"][c]["error"]) for c in names]
        fig = Figure(figsize=(10, 4))
        ax = fig.subplots()
        ax.bar(range(len(names)), errs, color="#4c72b0")
        ax.axhline(100 * results["clean"]["error"], color="k", ls="--", lw=1, label="clean error")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
        ax.set_ylabel("error (%)")
        ax.set_title("Error per corruption (mean over severities)")
        ax.legend()
        _save(fig, out / "error_per_corruption.png")
        made.append("error_per_corruption.png")

        sev = [0] + list(results["severities"])
        fig = Figure(figsize=(9, 3.5))
        ax = fig.subplots(1, 2)
        ax[0].plot(sev, [100 * results["clean"]["error"]] + [100 * e for e in results["per_severity"]["error"]], "o-")
        ax[0].set(xlabel="severity (0 = clean)", ylabel="error (%)", title="Error vs severity")
        ax[1].plot(sev, [100 * results["clean"]["rms_calib"]] +
                   [100 * e for e in results["per_severity"]["rms_calib"]], "o-", color="#c44e52")
        ax[1].set(xlabel="severity (0 = clean)", ylabel="RMS calibration error (%)", title="Calibration vs severity")
        _save(fig, out / "severity.png")
        made.append("severity.png")
    rel = results.get("corrupted_reliability") or results.get("clean_reliability")
    if rel:
        fig = Figure(figsize=(4, 4))
        ax = fig.subplots()
        centres = (np.array(rel["edges"][:-1]) + np.array(rel["edges"][1:])) / 2
        ax.bar(centres, np.nan_to_num(rel["accuracy"]), width=1 / len(centres), edgecolor="k", alpha=0.7,
               label="accuracy")
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        ax.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1),
               title="Reliability (" + ("corrupted" if "corrupted_reliability" in results else "clean") + ")")
        ax.legend(loc="upper left")
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


def compare(runs: list[str | Path], out: str | Path, labels: list[str] | None = None) -> Path:
    """Side-by-side table and bar chart of corruption error per run (the paper's Figure style)."""
    from augmix.io import ensure_writable_dir

    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"--labels has {len(labels)} names for {len(runs)} runs; give one per run")
    res = [load_results(r) for r in runs]
    ensure_writable_dir(out)
    labels = labels or [r.get("name") or Path(p).name for r, p in zip(res, runs, strict=True)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Comparison", "", "| run | clean error | mean corruption error | corrupted RMS calib |" +
             (" mCE |" if all("mce" in r for r in res) else ""), "|---|---:|---:|---:|" +
             ("---:|" if all("mce" in r for r in res) else "")]
    for lab, r in zip(labels, res, strict=True):
        row = (f"| {lab} | {_pct(r['clean']['error'])} | {_pct(r.get('mean_corruption_error', float('nan')))} | "
               f"{_pct(r.get('corrupted_rms_calib_mean', float('nan')))} |")
        lines.append(row + (f" {_pct(r['mce'])} |" if all("mce" in x for x in res) else ""))
    names = [c for c in BENCHMARK if all(c in r.get("corruptions", {}) for r in res)]
    if names:
        lines += ["", "| corruption | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
        for c in names:
            cells = [_pct(float(np.mean(r["corruptions"][c]["error"]))) for r in res]
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        fig = Figure(figsize=(12, 4))
        ax = fig.subplots()
        width = 0.8 / len(res)
        for k, (lab, r) in enumerate(zip(labels, res, strict=True)):
            ax.bar(np.arange(len(names)) + k * width, [100 * np.mean(r["corruptions"][c]["error"]) for c in names],
                   width, label=lab)
        ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=60, ha="right")
        ax.set_ylabel("error (%)")
        ax.set_title("Corruption error per method")
        ax.legend()
        _save(fig, out / "compare.png")
        lines += ["", "![compare.png](compare.png)"]
    with atomic_path(out / "compare.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return out
