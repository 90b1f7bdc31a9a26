"""Reports: results.json, report.md and PNG plots of one evaluation, and ``compare``, which
puts several runs side by side (the paper's per-method bar chart).

Everything here reads typed records (``augmix.results``) and loops over the benchmark
registry (``augmix.suite.registry``): each benchmark renders its own section, figures and
headline figures.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from augmix.corruptions.tables import BENCHMARK
from augmix.io import atomic_path, own, staged_outputs
from augmix.results import CorruptionResult, Results, load_results, write_json
from augmix.suite.benchmark import Headline
from augmix.suite.registry import REGISTRY
from augmix.suite.text import figure, pct, save_figure, signed

# the clean figures every run has, before the benchmarks' headlines
CLEAN_HEADLINES = (Headline("clean error", lambda r: r.scores.error),
                   Headline("clean RMS calib", lambda r: r.scores.rms_calib),
                   Headline("clean calib gap", lambda r: r.scores.calib_gap, signed=True))


def write_results(results: Results, out: str | Path) -> Path:
    """Write report.md, the plots and results.json into ``out`` as one unit (``io.staged_outputs``);
    return the folder.

    results.json is the folder's mark of completeness, moved in last: a run that fails leaves
    the previous evaluation's files as they were, and a kill during the swap leaves no
    results.json, so every reader (``load_results``) refuses the folder until a rerun.
    """
    out = Path(out)
    with staged_outputs(out, "results.json") as stage:
        plots = plot_results(results, stage)
        with atomic_path(stage / "report.md") as tmp:
            tmp.write_text(markdown(results, plots))
        write_json(results, stage / "results.json")
    return out


def markdown(results: Results, plots: list[str] | None = None) -> str:
    """report.md: the headline table, then each benchmark's section in registry order."""
    clean = results.clean.scores
    lines = [f"# Robustness report: {results.name}", "",
             f"- Model: {results.model.source}", f"- Clean data: {results.clean.data}"]
    if results.subset is not None:
        lines.append(f"- Subset: {results.subset.describe()} of the test split, and the same images of every set "
                     "made from it")
    lines += ["", "| metric | value (%) |", "|---|---:|", f"| clean error | {pct(clean.error)} |",
              f"| clean RMS calibration error | {pct(clean.rms_calib)} |",
              f"| clean calibration gap (mean confidence - accuracy) | {signed(clean.calib_gap)} |",
              f"| clean ECE | {pct(clean.ece)} |"]
    for name, record in results.benchmarks.items():
        for h in REGISTRY[name].headlines:
            value = h.read(record)
            if value is not None:
                lines.append(f"| {h.label} | {signed(value) if h.signed else pct(value)} |")
    for name, record in results.benchmarks.items():
        lines += REGISTRY[name].section(record, results)
    lines += ["", "Calibration: RMS calibration error with adaptive bins of 100 predictions, as "
              "`calib_err` in hendrycks/imagenet-r, which leaves the last bin (the 100-199 most "
              "confident predictions) out of the sum; the calibration gap is mean confidence minus "
              "accuracy (> 0: overconfident, < 0: underconfident), which the RMS error does not show; "
              "ECE uses 15 equal-width bins."]
    for p in plots or []:
        lines += ["", f"![{p}]({p})"]
    return "\n".join(lines) + "\n"


def plot_results(results: Results, out: Path) -> list[str]:
    """Each benchmark's figures, an overview of every benchmark's headline figure (suite.png), and
    the reliability diagram (of the -C predictions when there are some, else the clean ones)."""
    made: list[str] = []
    for name, record in results.benchmarks.items():
        if REGISTRY[name].plot is not None:
            made += REGISTRY[name].plot(record, results, out)
    bars = [(name, h.label, h.read(r)) for name, r in results.benchmarks.items()
            for h in REGISTRY[name].headlines[:1] if h.read(r) is not None]
    if bars:
        fig = figure(figsize=(max(5, 1 + 0.9 * len(bars)), 3.8))
        ax = fig.subplots()
        ax.bar(range(len(bars) + 1), [100 * results.clean.scores.error] + [100 * v for _, _, v in bars],
               color=["#999999"] + ["#dd8452"] * len(bars))
        ax.set_xticks(range(len(bars) + 1), ["clean error"] + [label for _, label, _ in bars], rotation=30, ha="right")
        ax.set(ylabel="%", title="Every benchmark's headline figure")
        save_figure(fig, out / "suite.png")
        made.append("suite.png")
    c = results.benchmarks.get("c")
    rel = c.reliability if isinstance(c, CorruptionResult) and c.reliability.count else results.clean.reliability
    if rel.count:
        fig = figure(figsize=(4, 5.2))
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        centres = (np.array(rel.edges[:-1]) + np.array(rel.edges[1:])) / 2
        width = 1 / len(centres)
        acc = np.array([np.nan if a is None else a for a in rel.accuracy], float)
        top.bar(centres, np.nan_to_num(acc), width=width, edgecolor="k", alpha=0.7, label="accuracy")
        top.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        top.set(ylabel="accuracy", xlim=(0, 1), ylim=(0, 1),
                title="Reliability (" + ("corrupted" if rel is not results.clean.reliability else "clean") + ")")
        top.legend(loc="upper left")
        counts = np.array(rel.count, float)
        bottom.bar(centres, counts / max(counts.sum(), 1), width=width, color="#999999", edgecolor="k")
        bottom.set(xlabel="confidence", ylabel="share of\npredictions")
        save_figure(fig, out / "reliability.png")
        made.append("reliability.png")
    return made


def summary_headlines() -> list[tuple[str | None, Headline]]:
    """Every figure ``compare`` can show: (benchmark or None for the clean data, headline)."""
    return [(None, h) for h in CLEAN_HEADLINES] + [(name, h) for name, b in REGISTRY.items() for h in b.headlines]


def read_headline(results: Results, where: str | None, h: Headline) -> float | None:
    if where is None:
        return h.read(results.clean)
    record = results.benchmarks.get(where)
    return None if record is None else h.read(record)


def mean_std(values: list) -> tuple[float, float | None] | None:
    """(mean, sample standard deviation or None for one run), or None when any run lacks the figure."""
    if not values or any(v is None for v in values):
        return None
    return float(np.mean(values)), (float(np.std(values, ddof=1)) if len(values) > 1 else None)


def _cell(st: tuple[float, float | None] | None, signed: bool) -> str:
    if st is None:
        return "n/a"
    mean, sd = st
    text = f"{100 * mean:+.1f}" if signed else pct(mean)
    return text + (f" ± {100 * sd:.1f}" if sd is not None else "")


def compare(runs: list[str | Path], out: str | Path, labels: list[str] | None = None) -> Path:
    """Side-by-side tables and bar chart of several evaluated runs (the paper's Figure style).

    Runs that share a label are seeds of one method: their figures are shown as mean ±
    sample standard deviation, and a difference between two methods smaller than the
    spread of a single run's difference (the two standard deviations added in quadrature)
    is marked as such. Also writes compare.json with those numbers.
    """
    from augmix.io import ensure_writable_dir, output_lock

    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"--labels has {len(labels)} names for {len(runs)} runs; give one per run")
    twice = next((r for i, r in enumerate(runs) if Path(r).resolve() in [Path(x).resolve() for x in runs[:i]]), None)
    if twice is not None:  # one run counted twice would report a spread of 0 over "2 seeds"
        raise ValueError(f"{twice} is given twice; each run is one replicate - give each once")
    res = [load_results(r) for r in runs]
    _check_comparable(res, runs)
    out = ensure_writable_dir(out, [Path(r).parent if Path(r).is_file() else r for r in runs], verb="compare")
    with output_lock(out):
        own(out, "compare")
        return _write_compare(res, runs, out, labels)


def _check_comparable(res: list[Results], runs: list[str | Path]) -> None:
    """Runs set side by side were evaluated on the same data: one dataset, one subset of it."""
    for r, path in zip(res[1:], runs[1:], strict=True):
        if r.dataset != res[0].dataset:
            raise ValueError(f"{runs[0]} was evaluated on {res[0].dataset} and {path} on {r.dataset}; compare runs "
                             "on one dataset")
        if r.subset != res[0].subset:
            raise ValueError(f"{runs[0]} was evaluated on {_images(res[0].subset)} and {path} on {_images(r.subset)}; "
                             "compare runs on the same test images (the same --limit/--indices)")


def _images(subset) -> str:
    return subset.describe() if subset is not None else "the whole test split"


def _write_compare(res: list[Results], runs: list[str | Path], out: Path, labels: list[str] | None) -> Path:
    """compare.md, compare.png and compare.json (its mark of completeness), as one unit."""
    groups: dict[str, list[Results]] = {}
    for lab, r in zip(labels or [r.name or Path(p).name for r, p in zip(res, runs, strict=True)], res, strict=True):
        groups.setdefault(lab, []).append(r)
    table = _headline_table(groups)
    shown = [(h.label, h.signed) for _, h in summary_headlines()
             if any(table[lab][h.label] is not None for lab in groups)]
    per_corr = _per_corruption(groups, res)
    lines = [*_method_lines(groups, table, shown), *_difference_lines(table, shown), *_corruption_lines(per_corr)]
    with staged_outputs(out, "compare.json") as stage:
        if per_corr:
            _corruption_chart(per_corr, groups, stage / "compare.png")
            lines += ["", "![compare.png](compare.png)"]
        with atomic_path(stage / "compare.md") as tmp:
            tmp.write_text("\n".join(lines) + "\n")
        with atomic_path(stage / "compare.json") as tmp:
            tmp.write_text(json.dumps(_compare_json(groups, table, shown, per_corr), indent=2))
    return out


Table = dict[str, dict[str, tuple[float, float | None] | None]]  # method -> headline -> (mean, std)


def _headline_table(groups: dict[str, list[Results]]) -> Table:
    """Each method's headline figures: mean and std over its runs."""
    return {lab: {h.label: mean_std([read_headline(r, where, h) for r in g]) for where, h in summary_headlines()}
            for lab, g in groups.items()}


def _compare_json(groups: dict[str, list[Results]], table: Table, shown: list[tuple[str, bool]],
                  per_corr: dict[str, dict[str, tuple]]) -> dict:
    """compare.json: the numbers of compare.md."""
    def stat(v: tuple | None) -> dict | None:
        return None if v is None else {"mean": v[0], "std": v[1]}

    return {"methods": {lab: {"runs": len(groups[lab]), **{n: stat(table[lab][n]) for n, _ in shown}}
                        for lab in groups},
            "per_corruption": {c: {lab: stat(v) for lab, v in d.items()} for c, d in per_corr.items()}}


def _method_lines(groups: dict[str, list[Results]], table: Table, shown: list[tuple[str, bool]]) -> list[str]:
    """The headline table: one row per method (label), mean ± std over its runs."""
    lines = ["# Comparison", "", "Figures in %; `a ± s`: mean and sample standard deviation over the runs "
             "(seeds) sharing a label. Calibration gap: mean confidence - accuracy (> 0 overconfident).", "",
             "| method | runs | " + " | ".join(n for n, _ in shown) + " |", "|---|---:|" + "---:|" * len(shown)]
    for lab, g in groups.items():
        lines.append(f"| {lab} | {len(g)} | " + " | ".join(_cell(table[lab][n], sg) for n, sg in shown) + " |")
    return lines


def _difference_lines(table: Table, shown: list[tuple[str, bool]]) -> list[str]:
    """Each method's difference from the first, with the spread it must exceed to count."""
    names = list(table)
    if len(names) < 2:
        return []
    base = names[0]
    lines = ["", f"## Differences from {base}", "", "| method | metric | difference | spread | |",
             "|---|---|---:|---:|---|"]
    for lab in names[1:]:
        for n, _ in shown:
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
    return lines


def _per_corruption(groups: dict[str, list[Results]], res: list[Results]) -> dict[str, dict[str, tuple]]:
    """{corruption: {method: (mean, std) of its error over severities}} for the -C corruptions every
    run has."""
    corr = [c for c in BENCHMARK
            if all(isinstance(r.benchmarks.get("c"), CorruptionResult) and c in r.benchmarks["c"].per for r in res)]
    return {c: {lab: mean_std([r.benchmarks["c"].mean_of(c) for r in g]) for lab, g in groups.items()}
            for c in corr}


def _corruption_lines(per_corr: dict[str, dict[str, tuple]]) -> list[str]:
    if not per_corr:
        return []
    names = list(next(iter(per_corr.values())))
    lines = ["", "## Error (%) per corruption (mean over severities)", "",
             "| corruption | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for c, by_method in per_corr.items():
        lines.append(f"| {c} | " + " | ".join(_cell(by_method[lab], False) for lab in names) + " |")
    return lines


def _corruption_chart(per_corr: dict[str, dict[str, tuple]], groups: dict[str, list[Results]], path: Path) -> None:
    """Bars of each method's error per corruption (error bars: the std over its runs)."""
    corr, names = list(per_corr), list(groups)
    fig = figure(figsize=(12, 4))
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
    save_figure(fig, path)
