"""Reports: results.json, report.md with tables shaped like the paper's, and PNG plots;
``compare`` puts several runs side by side (the paper's per-method bar chart)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # the object API: no pyplot state, no backend switched on import

from augmix.corruptions.tables import BENCHMARK
from augmix.data.natural import NAMES as NATURAL
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
    if "mean_corruption_error" in r.get("c_bar", {}):
        lines.append(f"| -C-bar mean error | {_pct(r['c_bar']['mean_corruption_error'])} |")
    p = r.get("perturbations", {})
    if "mean_flip_probability" in p:
        lines.append(f"| -P mean flip probability ({len(p['test_set'])} test perturbations) | "
                     f"{100 * p['mean_flip_probability']:.2f} |")
    if "mfr" in p:
        lines.append(f"| -P mFR (baseline-normalised) | {_pct(p['mfr'])} |")
    if "mt5d" in p:
        lines.append(f"| -P mT5D (baseline-normalised) | {_pct(p['mt5d'])} |")
    for k, v in r.get("natural", {}).items():
        lines.append(f"| {k} error | {_pct(v['error'])} |")
    if "corruptions" in r:
        lines += _corruption_tables(r, "Error (%) per corruption and severity", clean=clean)
    if "corruptions" in r.get("c_bar", {}):
        cb = r["c_bar"]
        lines += ["", "## -C-bar", "", f"Data: {cb.get('data', '?')}. Mean error over {cb['corruptions_evaluated']} "
                  f"corruptions x {len(cb['severities'])} severities: **{_pct(cb['mean_corruption_error'])} %**."]
        lines += _corruption_tables(cb, "-C-bar error (%) per corruption and severity", level="###")
    if "per" in r.get("perturbations", {}):
        lines += _perturbation_table(r["perturbations"])
    if r.get("natural"):
        lines += ["", "## Natural distribution shifts", "",
                  "| set | error (%) | RMS calib (%) | calib gap (%) | images | classes evaluated |",
                  "|---|---:|---:|---:|---:|---:|"]
        for k, v in r["natural"].items():
            classes = f"{v['classes']} of {v['classes_of_set']}" if "classes_of_set" in v else "all"
            lines.append(f"| {k} | {_pct(v['error'])} | {_pct(v['rms_calib'])} | {_signed(v.get('calib_gap'))} | "
                         f"{v['n']} | {classes} |")
        lines += ["", "ImageNet shifts are scored on the classes the model and the set share, with those "
                  "classes' logits only (for a 1000-class model on ImageNet-R/-A: the published 200-logit "
                  "evaluation)."]
    lines += ["", "Calibration: RMS calibration error with adaptive bins of 100 predictions, as "
              "`calib_err` in hendrycks/imagenet-r, which leaves the last bin (the 100-199 most "
              "confident predictions) out of the sum; the calibration gap is mean confidence minus "
              "accuracy (> 0: overconfident, < 0: underconfident), which the RMS error does not show; "
              "ECE uses 15 equal-width bins."]
    for p in plots or []:
        lines += ["", f"![{p}]({p})"]
    return "\n".join(lines) + "\n"


def _corruption_tables(r: dict, title: str, level: str = "##", clean: dict | None = None) -> list[str]:
    """The per-corruption x severity table and the per-severity calibration table of a -C style section."""
    sev = r["severities"]
    lines = ["", f"{level} {title}", "",
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
        rows = {"RMS calibration error": [_pct(e) for e in ps["rms_calib"]],
                "calibration gap": [f"{100 * e:+.1f}" for e in ps["calib_gap"]],
                "ECE": [_pct(e) for e in ps["ece"]]}
        head = [f"s{s}" for s in sev]
        if clean is not None:
            head = ["clean", *head]
            rows["RMS calibration error"].insert(0, _pct(clean["rms_calib"]))
            rows["calibration gap"].insert(0, f"{100 * clean.get('calib_gap', float('nan')):+.1f}")
            rows["ECE"].insert(0, _pct(clean["ece"]))
        lines += ["", f"{level} Calibration (%) per severity (mean over corruptions)", "",
                  "| | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
        lines += [f"| {k} | " + " | ".join(v) + " |" for k, v in rows.items()]
    return lines


def _perturbation_table(p: dict) -> list[str]:
    lines = ["", "## Perturbation stability (-P)", "", f"Data: {p.get('data', '?')}.", "",
             "| perturbation | flip probability (%) | top-5 distance | compared with | videos x frames |",
             "|---|---:|---:|---|---:|"]
    for name, v in p["per"].items():
        test = " (test)" if name in p.get("test_set", ()) else ""
        t5 = "n/a" if v["top5_distance"] is None else f"{v['top5_distance']:.3f}"
        lines.append(f"| {name}{test} | {100 * v['flip_probability']:.2f} | {t5} | "
                     f"{v['compared_with']} | {v['videos']} x {v['frames']} |")
    if "mean_flip_probability" in p:
        t5 = (f", top-5 distance **{p['mean_top5_distance']:.3f}**" if "mean_top5_distance" in p else
              " (no top-5 distance: the model has fewer than 5 classes)")
        lines += ["", f"Mean over the {len(p['test_set'])} test perturbations ({', '.join(p['test_set'])}): "
                  f"flip probability **{100 * p['mean_flip_probability']:.2f} %**{t5} (unnormalised)."]
    else:
        lines += ["", f"No means: the test set lacks {', '.join(p.get('missing_for_means', []))}."]
    if "mfr" in p:
        t5 = f", mT5D **{100 * p['mt5d']:.1f} %**" if "mt5d" in p else ""
        lines += [f"Normalised by the baseline {p.get('baseline', '')}: mFR **{100 * p['mfr']:.1f} %**{t5}."]
    return lines


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
    p, nat = results.get("perturbations", {}).get("per"), results.get("natural")
    if p or nat:
        fig = Figure(figsize=(11, 3.8))
        axes = fig.subplots(1, int(bool(p)) + int(bool(nat)), squeeze=False)[0]
        k = 0
        if p:
            names = list(p)
            axes[k].bar(range(len(names)), [100 * p[n]["flip_probability"] for n in names], color="#55a868")
            axes[k].set_xticks(range(len(names)), names, rotation=60, ha="right")
            axes[k].set(ylabel="flip probability (%)", title="-P: flip probability per perturbation")
            k += 1
        if nat:
            names = ["clean", *nat]
            axes[k].bar(range(len(names)), [100 * clean["error"]] + [100 * v["error"] for v in nat.values()],
                        color=["#999999"] + ["#dd8452"] * len(nat))
            axes[k].set_xticks(range(len(names)), names, rotation=30, ha="right")
            axes[k].set(ylabel="error (%)", title="Natural distribution shifts")
        _save(fig, out / "suite.png")
        made.append("suite.png")
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


def _corruption_problem(res: dict, what: str) -> str | None:
    per, sev = res["corruptions"], res.get("severities")
    if not isinstance(per, dict) or not isinstance(sev, list):
        return f"{what} without severities"
    for name, v in per.items():
        errs = v.get("error") if isinstance(v, dict) else None
        if not isinstance(errs, list) or len(errs) != len(sev) or not all(_is_number(e) for e in errs):
            return f"{what} {name!r} lacks one error per severity"
    for key in ("mean_corruption_error", "corrupted_rms_calib_mean"):
        if not _is_number(res.get(key)):
            return f"no {key} for {what}"
    return None


def _results_problem(res) -> str | None:
    if not isinstance(res, dict):
        return "not a JSON object"
    clean = res.get("clean")
    if not isinstance(clean, dict) or not all(_is_number(clean.get(k)) for k in ("error", "rms_calib", "ece")):
        return "no clean error, RMS calibration error and ECE"
    if "corruptions" in res and (problem := _corruption_problem(res, "corruption")):
        return problem
    if "c_bar" in res:
        if not isinstance(res["c_bar"], dict) or "corruptions" not in res["c_bar"]:
            return "a c_bar section without corruptions"
        if problem := _corruption_problem(res["c_bar"], "-C-bar corruption"):
            return problem
    if "perturbations" in res:
        per = res["perturbations"].get("per") if isinstance(res["perturbations"], dict) else None
        if not isinstance(per, dict) or not all(
                isinstance(v, dict) and _is_number(v.get("flip_probability")) and
                (v.get("top5_distance") is None or _is_number(v.get("top5_distance"))) for v in per.values()):
            return "perturbations without a flip probability and top-5 distance each"
    if "natural" in res:
        nat = res["natural"]
        if not isinstance(nat, dict) or not all(isinstance(v, dict) and _is_number(v.get("error")) and
                                                _is_number(v.get("rms_calib")) for v in nat.values()):
            return "natural shifts without an error and RMS calibration error each"
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
    ("-C-bar error", lambda r: r.get("c_bar", {}).get("mean_corruption_error"), False),
    ("-P mean flip prob.", lambda r: r.get("perturbations", {}).get("mean_flip_probability"), False),
    ("-P mFR", lambda r: r.get("perturbations", {}).get("mfr"), False),
    ("-P mT5D", lambda r: r.get("perturbations", {}).get("mt5d"), False),
    *((f"{name} error", (lambda n: lambda r: r.get("natural", {}).get(n, {}).get("error"))(name), False)
      for name in NATURAL),
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
