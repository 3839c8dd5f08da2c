"""Altair charts and the summary table of a sweep (sweep.csv, one row per run), with optional theory lines.

Tidy frame in, chart out; inputs are never modified. Only status "ok" runs count, everywhere: one rule
keeps every number consistent with the table's `ok` column. Builders take `labels` in the visitor's language
(English defaults: lab.text.en.CHARTS).
No streamlit, no TensorFlow: Altair, pandas and numpy only.
"""
from __future__ import annotations

import io
import math
from collections.abc import Mapping
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.gallery_charts import GREY, OKABE_ITO, VIRIDIS, inline, integer_axis, message_chart, with_labels
from lab.text.i18n import translate

MODEL_KEYS = ("model.depth", "model.width", "model.activation", "model.kernel_initializer")
# sweep.csv's first-to-last ratio columns the depth view plots (their names in chart texts: lab.text's MEASURES).
RATIO_MEASURES = ("log10_signal_ratio_start", "log10_signal_ratio_end", "log10_grad_ratio_start", "log10_grad_ratio_end")
WILSON_Z = 1.959963984540054  # the standard normal's 97.5 % quantile: a two-sided 95 % interval
THEORY_DASH = [6, 4]


def _require(frame: pd.DataFrame, columns, name: str) -> pd.DataFrame:
    """The frame itself; ValueError naming the columns it lacks."""
    missing = [column for column in columns if column not in frame]
    if missing:
        raise ValueError(f"the {name} frame lacks the columns {missing}")
    return frame


def _ok_runs(sweep: pd.DataFrame, columns) -> pd.DataFrame:
    """The sweep's status "ok" rows, once it is known to have the columns."""
    sweep = _require(sweep, (*columns, "status"), "sweep")
    return sweep[sweep["status"] == "ok"]


def quantile(values, q: float) -> float:
    """numpy's default (linear) quantile of the non-NaN values, extended to -inf: any weight on -inf gives -inf."""
    array = np.asarray(values, dtype=np.float64)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return math.nan
    with np.errstate(invalid="ignore"):  # the NaN of an interpolation next to an infinity is handled below
        result = float(np.quantile(array, q))
    if not math.isnan(result):
        return result
    # numpy interpolates -inf + (b - a) * t = -inf + inf * t = NaN; in the extended reals a positive
    # weight on an infinite neighbour gives that infinity (and -inf with +inf stays undefined).
    ordered, position = np.sort(array), (array.size - 1) * q
    low, high = ordered[math.floor(position)], ordered[math.ceil(position)]
    return math.nan if np.isneginf(low) and np.isposinf(high) else float(low if np.isinf(low) else high)


def wilson_interval(successes, trials, z: float = WILSON_Z) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval (low, high) of a binomial proportion, elementwise; NaN where trials is 0."""
    k, n = np.asarray(successes, dtype=np.float64), np.asarray(trials, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    # Clipped: rounding can put an end a hair outside [0, 1] when k is 0 or n.
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def depth_view_chart(sweep: pd.DataFrame, measure: str = "log10_signal_ratio_start", theory: pd.DataFrame | None = None,
                     labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """A log10 first-to-last ratio by depth: per (activation, initializer) the median over seeds, a 5-95 % band, theory dashed.

    Exact zeros (-inf) are drawn at a labelled floor below every finite value; NaN seeds are dropped.
    Labels: title ({measure} is replaced), subtitle, x, y, depth, series, median, q05, q95, seeds, zeros, zero, theory, empty.
    """
    if measure not in RATIO_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(RATIO_MEASURES)}; got {measure!r}")
    texts = with_labels("depth", labels, measure)
    runs = _series_frame(_ok_runs(sweep, ("model.depth", "model.activation", "model.kernel_initializer", measure)), measure)
    # NaN is undefined (both layers 0). +inf (only the last layer at 0) cannot happen: a last layer
    # whose signal is 0 sends 0 back to every earlier layer, so it is dropped with the NaNs.
    runs = runs[runs["value"].notna() & (runs["value"] != np.inf)]
    if runs.empty:
        return message_chart(texts["empty"])
    predicted = _theory_frame(theory, measure, set(runs["series"]))
    finite = np.concatenate([runs["value"][np.isfinite(runs["value"])], predicted["value"]])
    floor = float(math.floor(finite.min()) - 1) if finite.size else -1.0
    summary = _depth_summary(runs, floor, texts["zero"])
    series = sorted(summary["series"].unique())
    # The band's opacity would make the shared legend's swatches pale: they are drawn solid.
    color = alt.Color("series:N", title=texts["series"], scale=alt.Scale(domain=series, range=list(OKABE_ITO)),
                      legend=alt.Legend(symbolOpacity=1))
    x = _depth_axis(summary["depth"], texts["x"])
    tooltip = [alt.Tooltip("depth:Q", title=texts["depth"]), alt.Tooltip("series:N", title=texts["series"]),
               alt.Tooltip("median_text:N", title=texts["median"]),
               alt.Tooltip("q05_text:N", title=texts["q05"]), alt.Tooltip("q95_text:N", title=texts["q95"]),
               alt.Tooltip("seeds:Q", title=texts["seeds"]), alt.Tooltip("zeros:Q", title=texts["zeros"])]
    # The default y scale keeps 0 (ratio 1, no vanishing) in view, so a drop reads against it.
    base = alt.Chart(inline(summary)).encode(x=x, color=color)
    parts = [base.mark_area(opacity=0.18).encode(y=alt.Y("q05:Q", title=texts["y"]), y2="q95:Q"),
             base.mark_line(strokeWidth=2).encode(y="median:Q"),
             base.mark_point(filled=True, size=60, opacity=1).encode(y="median:Q", tooltip=tooltip)]
    if not predicted.empty:
        parts.append(alt.Chart(inline(predicted)).mark_line(strokeDash=THEORY_DASH, strokeWidth=1.5).encode(
            x=x, y="value:Q", color=color, detail="series:N",
            tooltip=[alt.Tooltip("depth:Q", title=texts["depth"]), alt.Tooltip("series:N", title=texts["series"]),
                     alt.Tooltip("value:Q", title=texts["theory"], format=".2f")]))
    if (summary["zeros"] > 0).any():
        parts += _floor_marks(base.transform_filter(alt.datum.zeros > 0), summary, floor, texts["zero"], tooltip)
    title = alt.Title(texts["title"], subtitle=texts["subtitle"])
    return alt.layer(*parts, title=title).properties(width=460, height=300)


def _depth_axis(depths: pd.Series, title: str) -> alt.X:
    """Depth on x: integer ticks, the domain starting at the smallest depth rather than at 0."""
    return alt.X("depth:Q", title=title, axis=integer_axis(depths), scale=alt.Scale(zero=False, padding=16))


def _series_frame(runs: pd.DataFrame, measure: str) -> pd.DataFrame:
    """depth, series ("activation · initializer") and the measure as `value`."""
    activation, initializer = runs["model.activation"].astype(str), runs["model.kernel_initializer"].astype(str)
    return pd.DataFrame({"depth": runs["model.depth"].astype(int), "series": activation + " · " + initializer,
                         "value": runs[measure].astype(np.float64)})


def _theory_frame(theory: pd.DataFrame | None, measure: str, series: set[str]) -> pd.DataFrame:
    """The theory's finite predictions of the measure's quantity for the measured series, as depth, series, value."""
    if theory is None or theory.empty:  # no cell the theory covers (rai, normalisation): nothing dashed
        return pd.DataFrame({"depth": [], "series": [], "value": []})
    column = "log10_signal_ratio" if measure.startswith("log10_signal_ratio") else "log10_grad_ratio"
    needed = ("model.depth", "model.activation", "model.kernel_initializer", column)
    predicted = _series_frame(_require(theory, needed, "theory"), column)
    # Other series would add colours with nothing measured to compare against.
    keep = predicted["series"].isin(series) & np.isfinite(predicted["value"])
    return predicted[keep].sort_values(["series", "depth"]).reset_index(drop=True)


def _depth_summary(runs: pd.DataFrame, floor: float, zero_text: str) -> pd.DataFrame:
    """Per (depth, series): seeds, exact zeros, and median/q05/q95 with -inf moved to the floor (texts keep the truth)."""
    rows = []
    for (depth, series), group in runs.groupby(["depth", "series"], sort=True):
        values = group["value"].to_numpy()
        row = {"depth": int(depth), "series": series, "seeds": int(values.size), "zeros": int(np.isneginf(values).sum())}
        for name, q in (("median", 0.5), ("q05", 0.05), ("q95", 0.95)):
            statistic = quantile(values, q)
            row[name] = floor if statistic == -np.inf else statistic
            row[f"{name}_text"] = zero_text if statistic == -np.inf else f"{statistic:.3f}"
        rows.append(row)
    return pd.DataFrame(rows).assign(floor=floor)


def _floor_marks(base: alt.Chart, summary: pd.DataFrame, floor: float, zero_text: str, tooltip: list) -> list[alt.Chart]:
    """Triangles at the floor wherever some seed was exactly 0, and a dashed rule labelled '= 0 (−∞)'."""
    triangles = base.mark_point(shape="triangle-down", filled=True, size=140, opacity=1, stroke="#222", strokeWidth=1)
    note = pd.DataFrame({"depth": [summary["depth"].min()], "floor": [floor], "text": [zero_text]})
    rule = alt.Chart(inline(note)).mark_rule(color=GREY, strokeDash=[2, 2]).encode(y="floor:Q")
    text = alt.Chart(inline(note)).mark_text(align="left", dx=4, dy=-8, color="#444", fontWeight="bold").encode(
        x="depth:Q", y="floor:Q", text="text:N")
    return [triangles.encode(y="floor:Q", tooltip=tooltip), rule, text]


def born_dead_chart(sweep: pd.DataFrame, theory: pd.DataFrame | None = None,
                    labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """Per width, the share of seeds born with a dead hidden layer by depth, Wilson 95 % error bars, theory bound dashed.

    Colour: width on an ordinal viridis scale (ordered like the widths, evenly spaced so 8 and 16 differ
    as much as 256 and 512, and never repeating like a nominal palette).
    Labels: title, subtitle, x, y, depth, width, dead, seeds, low, high, bound, empty.
    """
    texts = with_labels("born_dead", labels)
    shares = born_dead_shares(sweep)
    if shares.empty:
        return message_chart(texts["empty"])
    widths = sorted(int(width) for width in shares["width"].unique())
    color = alt.Color("width:O", title=texts["width"], scale=alt.Scale(domain=widths, scheme=VIRIDIS.scheme))
    x = _depth_axis(shares["depth"], texts["x"])
    y = alt.Y("share:Q", title=texts["y"], scale=alt.Scale(domain=[0, 1]))
    tooltip = [alt.Tooltip("width:Q", title=texts["width"]), alt.Tooltip("depth:Q", title=texts["depth"]),
               alt.Tooltip("share:Q", title=texts["y"], format=".3f"),
               alt.Tooltip("dead:Q", title=texts["dead"]), alt.Tooltip("seeds:Q", title=texts["seeds"]),
               alt.Tooltip("low:Q", title=texts["low"], format=".3f"), alt.Tooltip("high:Q", title=texts["high"], format=".3f")]
    base = alt.Chart(inline(shares)).encode(x=x, color=color)
    # Bars of several widths at one depth overlap (xOffset needs a discrete x): translucent, they stay legible.
    parts = [base.mark_line(strokeWidth=2).encode(y=y),
             base.mark_errorbar(ticks=True, opacity=0.7).encode(y=alt.Y("low:Q", title=texts["y"]), y2="high:Q"),
             base.mark_point(filled=True, size=60, opacity=1).encode(y=y, tooltip=tooltip)]
    if theory is not None:
        # lab.science.theory.born_dead_curve names its columns width and depth, without the sweep's model. prefix.
        theory = theory.rename(columns={"width": "model.width", "depth": "model.depth"})
        _require(theory, ("model.width", "model.depth", "bound"), "theory")
        bound = pd.DataFrame({"width": theory["model.width"].astype(int), "depth": theory["model.depth"].astype(int),
                              "bound": theory["bound"].astype(np.float64)})
        bound = bound[bound["width"].isin(widths) & bound["bound"].notna()].sort_values(["width", "depth"])
        if not bound.empty:
            parts.append(alt.Chart(inline(bound)).mark_line(strokeDash=THEORY_DASH, strokeWidth=1.5).encode(
                x=x, y="bound:Q", color=color, detail="width:O",
                tooltip=[alt.Tooltip("width:Q", title=texts["width"]), alt.Tooltip("depth:Q", title=texts["depth"]),
                         alt.Tooltip("bound:Q", title=texts["bound"], format=".3f")]))
    return alt.layer(*parts, title=alt.Title(texts["title"], subtitle=texts["subtitle"])).properties(width=460, height=300)


def born_dead_shares(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per (width, depth) of the ok runs: seeds, dead (born dead), share and its Wilson 95 % interval low/high."""
    runs = _ok_runs(sweep, ("model.depth", "model.width", "dead_layer_start"))
    runs = pd.DataFrame({"width": runs["model.width"].astype(int), "depth": runs["model.depth"].astype(int),
                         "dead": runs["dead_layer_start"].astype("boolean")}).dropna(subset=["dead"])
    counts = runs.groupby(["width", "depth"], sort=True)["dead"].agg(dead="sum", seeds="count").reset_index()
    counts = counts.astype({"dead": int, "seeds": int})
    low, high = wilson_interval(counts["dead"], counts["seeds"])
    return counts.assign(share=counts["dead"] / counts["seeds"], low=low, high=high)


def sweep_summary_table(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per grid cell: its grid keys, seeds, ok runs, median/5 %/95 % of the start ratios, shares dead, median val_accuracy.

    Statistics count the ok runs only; -inf (an exact zero) stays -inf, NaN seeds are left out.
    """
    _require(sweep, ("cell", "status"), "sweep")
    keys = [key for key in MODEL_KEYS if key in sweep] + [c for c in sweep.columns if "." in c and c not in MODEL_KEYS]
    rows = []
    # dropna=False: a grid value may be null (e.g. training.clip_norm: null = off) and is still a cell.
    for _, cell in sweep.groupby(["cell"] + keys, sort=True, dropna=False):
        ok = cell[cell["status"] == "ok"]
        row = {"cell": cell["cell"].iloc[0], **{key: cell[key].iloc[0] for key in keys}, "seeds": len(cell), "ok": len(ok)}
        for measure in ("log10_signal_ratio_start", "log10_grad_ratio_start"):
            for name, q in (("median", 0.5), ("q05", 0.05), ("q95", 0.95)):
                row[f"{measure}_{name}"] = quantile(ok[measure], q) if measure in ok else math.nan
        for moment in ("start", "end"):
            column = f"dead_layer_{moment}"
            dead = ok[column].astype("boolean") if column in ok else pd.Series([], dtype="boolean")
            row[f"dead_share_{moment}"] = float(dead.mean()) if dead.notna().any() else math.nan
        rows.append({**row, "val_accuracy_median": quantile(ok["val_accuracy"], 0.5) if "val_accuracy" in ok else math.nan})
    return pd.DataFrame(rows)


def sweep_charts(sweep: pd.DataFrame, theory_depth: pd.DataFrame | None = None,
                 theory_dead: pd.DataFrame | None = None) -> dict[str, alt.TopLevelMixin]:
    """The charts that apply, by file name stem: depth views and the born-dead view need more than one depth."""
    if sweep["model.depth"].nunique() < 2:
        return {}
    return {"depth_signal": depth_view_chart(sweep, "log10_signal_ratio_start", theory_depth),
            "depth_grad": depth_view_chart(sweep, "log10_grad_ratio_start", theory_depth),
            "born_dead": born_dead_chart(sweep, theory_dead)}


def save_sweep_charts(sweep: pd.DataFrame, folder, theory_depth: pd.DataFrame | None = None,
                      theory_dead: pd.DataFrame | None = None,
                      extra: Mapping[str, alt.TopLevelMixin] | None = None) -> list[Path]:
    """Write sweep_charts.html and one <name>.png per chart into folder (atomically, file by file); return the paths.

    extra: more charts by file name stem (the phase views, lab.charts.phase_sweep_charts), after the depth views.
    """
    import vl_convert  # lazy: only writing PNGs needs it

    from lab.runs.store import write_atomic  # lazy: lab.runs.store may one day import the chart modules

    charts = {**sweep_charts(sweep, theory_depth, theory_dead), **(extra or {})}
    files = {f"{name}.png": vl_convert.vegalite_to_png(chart.to_json(), scale=1) for name, chart in charts.items()}
    # With one depth there is no view to draw: the page says so instead of being absent.
    page = (alt.vconcat(*charts.values(), spacing=40).resolve_scale(color="independent", strokeDash="independent")
            if charts else message_chart(translate("sweep_one_depth")))
    buffer = io.StringIO()
    page.save(buffer, format="html")
    files["sweep_charts.html"] = buffer.getvalue().encode("utf-8")
    (folder := Path(folder)).mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_atomic(folder / name, data)
    return [folder / name for name in files]
