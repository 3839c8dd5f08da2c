"""The recurrent sweeps' views (issue #14): accuracy against the time lag T per cell, and the gradient through time
(log10 of state_grad_rms at t = 1 over t = T, sweep.csv's log10_time_ratio_start) against the spectral radius with
mean field's line dashed (lab.science.recurrent_theory).

Only status "ok" runs count, as in lab.charts.sweep_charts. A series is one combination of the grid axes other than
the plotted one, so every point of a line is one configuration. Labels: lab.text's CHARTS["time_lag"] and
["time_radius"]. No streamlit, no TensorFlow: Altair, pandas, numpy.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.gallery_charts import GREY, OKABE_ITO, inline, message_chart, with_labels
from lab.charts.sweep_charts import THEORY_DASH, quantile

LENGTH = "data.sequence_length"
RADIUS = "model.spectral_radius"
CELL = "model.cell"
ACTIVATION = "model.activation"
TIME_RATIO = "log10_time_ratio_start"
ACCURACY = "val_accuracy"
CHART_NAMES = {"time_lag": "time_lag", "time_radius": "time_radius"}  # file name stems of the saved charts


def time_sweep_views(sweep: pd.DataFrame) -> list[str]:
    """The time views this sweep.csv has: time_lag (T varies, trained) and time_radius (ρ varies, rnn columns)."""
    if TIME_RATIO not in sweep:  # an rnn sweep's sweep.csv, and only one, has the time columns
        return []
    views = []
    if LENGTH in sweep and sweep[LENGTH].nunique() > 1 and sweep[ACCURACY].notna().any():
        views.append("time_lag")
    if RADIUS in sweep and sweep[RADIUS].nunique() > 1:
        views.append("time_radius")
    return views


def series_names(sweep: pd.DataFrame, x_column: str) -> pd.Series:
    """Per row, its series: the values of the varied grid axes other than x (the cell first), e.g. 'lstm'; with none,
    the activation (one series, named for what it is)."""
    others = [column for column in sweep.columns if "." in column and column != x_column
              and sweep[column].nunique(dropna=False) > 1]
    others.sort(key=lambda column: column != CELL)
    if not others:
        return sweep[ACTIVATION].astype(str) if ACTIVATION in sweep else pd.Series("", index=sweep.index)
    parts = [sweep[column].astype(str) if column == CELL else column.split(".")[-1] + " " + sweep[column].astype(str)
             for column in others]
    names = parts[0]
    for part in parts[1:]:
        names = names + " · " + part
    return names


def summary(sweep: pd.DataFrame, x_column: str, value: str) -> pd.DataFrame:
    """Per (series, x) over the ok seeds with a value: median, 5 % and 95 % quantiles, seeds, exact zeros (-inf)."""
    ok = sweep[(sweep["status"] == "ok") & sweep[value].notna() & (sweep[value] != np.inf)]
    frame = pd.DataFrame({"series": series_names(sweep, x_column).loc[ok.index], "x": ok[x_column].astype(np.float64),
                          "value": ok[value].astype(np.float64)})
    rows = []
    for (series, x), group in frame.groupby(["series", "x"], sort=True):
        values = group["value"].to_numpy()
        rows.append({"series": series, "x": x, "seeds": int(values.size), "zeros": int(np.isneginf(values).sum()),
                     **{name: quantile(values, q) for name, q in (("median", 0.5), ("q05", 0.05), ("q95", 0.95))}})
    return pd.DataFrame(rows, columns=["series", "x", "seeds", "zeros", "median", "q05", "q95"])


def _color(series: list[str], title: str) -> alt.Color:
    """One Okabe-Ito colour per series; the band's opacity kept out of the legend."""
    return alt.Color("series:N", title=title, scale=alt.Scale(domain=series, range=list(OKABE_ITO)),
                     legend=alt.Legend(symbolOpacity=1))


def time_lag_chart(sweep: pd.DataFrame, chance: float | None = None,
                   labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """Validation accuracy against T (log axis) per series: median over seeds, 5-95 % band, each seed a dot,
    chance dashed. Labels: title, subtitle, x, y, series, median, q05, q95, seeds, chance, empty."""
    texts = with_labels("time_lag", labels)
    if not {LENGTH, ACCURACY, "status"} <= set(sweep.columns):
        return message_chart(texts["empty"])
    cells = summary(sweep, LENGTH, ACCURACY)
    if cells.empty:
        return message_chart(texts["empty"])
    ok = sweep[(sweep["status"] == "ok") & sweep[ACCURACY].notna()]
    seeds = pd.DataFrame({"series": series_names(sweep, LENGTH).loc[ok.index], "x": ok[LENGTH].astype(np.float64),
                          "value": ok[ACCURACY].astype(np.float64), "seed": ok["seed"]})
    series = sorted(cells["series"].unique())
    color = _color(series, texts["series"])
    lengths = sorted(cells["x"].unique())
    x = alt.X("x:Q", title=texts["x"], scale=alt.Scale(type="log", domain=[lengths[0], lengths[-1]], nice=False),
              axis=alt.Axis(values=lengths, format="d"))
    y = alt.Y("median:Q", title=texts["y"], scale=alt.Scale(domain=[0, 1]))
    tooltip = [alt.Tooltip("x:Q", title=texts["x"]), alt.Tooltip("series:N", title=texts["series"]),
               alt.Tooltip("median:Q", title=texts["median"], format=".3f"),
               alt.Tooltip("q05:Q", title=texts["q05"], format=".3f"),
               alt.Tooltip("q95:Q", title=texts["q95"], format=".3f"), alt.Tooltip("seeds:Q", title=texts["seeds"])]
    base = alt.Chart(inline(cells)).encode(x=x, color=color)
    parts = [base.mark_area(opacity=0.15).encode(y=alt.Y("q05:Q", title=texts["y"], scale=alt.Scale(domain=[0, 1])), y2="q95:Q"),
             base.mark_line(strokeWidth=2).encode(y=y),
             base.mark_point(filled=True, size=60, opacity=1).encode(y=y, tooltip=tooltip),
             alt.Chart(inline(seeds)).mark_point(size=18, opacity=0.45).encode(x=x, y="value:Q", color=color)]
    if chance is not None and math.isfinite(chance):
        line = pd.DataFrame({"chance": [chance], "text": [texts["chance"]], "x": [lengths[0]]})
        parts += [alt.Chart(inline(line)).mark_rule(color=GREY, strokeDash=THEORY_DASH).encode(y="chance:Q"),
                  alt.Chart(inline(line)).mark_text(align="left", dx=4, dy=-7, color="#444").encode(
                      x=x, y="chance:Q", text="text:N")]
    return alt.layer(*parts, title=alt.Title(texts["title"], subtitle=texts["subtitle"])).properties(width=460, height=300)


def time_radius_chart(sweep: pd.DataFrame, theory: pd.DataFrame | None = None,
                      labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """log10(state_grad_rms t = 1 / t = T) at initialisation against ρ per series: median over seeds, 5-95 % band,
    mean field dashed (theory: cell, log10_time_ratio; lab.sweeps.theory_views.time_theory), 0 (no vanishing) a rule.
    Labels: title, subtitle, x, y, series, median, q05, q95, seeds, zeros, theory, empty."""
    texts = with_labels("time_radius", labels)
    if not {RADIUS, TIME_RATIO, "status"} <= set(sweep.columns):
        return message_chart(texts["empty"])
    cells = summary(sweep, RADIUS, TIME_RATIO)
    cells = cells[cells["median"].notna() & np.isfinite(cells["median"])]
    if cells.empty:
        return message_chart(texts["empty"])
    predicted = _predicted(sweep, theory)
    series = sorted(set(cells["series"]) | set(predicted["series"]))
    color = _color(series, texts["series"])
    x = alt.X("x:Q", title=texts["x"], scale=alt.Scale(zero=False))
    y = alt.Y("median:Q", title=texts["y"])
    tooltip = [alt.Tooltip("x:Q", title=texts["x"]), alt.Tooltip("series:N", title=texts["series"]),
               alt.Tooltip("median:Q", title=texts["median"], format=".2f"),
               alt.Tooltip("q05:Q", title=texts["q05"], format=".2f"),
               alt.Tooltip("q95:Q", title=texts["q95"], format=".2f"), alt.Tooltip("seeds:Q", title=texts["seeds"]),
               alt.Tooltip("zeros:Q", title=texts["zeros"])]
    base = alt.Chart(inline(cells)).encode(x=x, color=color)
    parts = [alt.Chart(inline(pd.DataFrame({"zero": [0.0]}))).mark_rule(color=GREY).encode(y="zero:Q"),
             base.mark_area(opacity=0.18).encode(y=alt.Y("q05:Q", title=texts["y"]), y2="q95:Q"),
             base.mark_line(strokeWidth=2).encode(y=y),
             base.mark_point(filled=True, size=60, opacity=1).encode(y=y, tooltip=tooltip)]
    if not predicted.empty:
        parts.append(alt.Chart(inline(predicted)).mark_line(strokeDash=THEORY_DASH, strokeWidth=1.5).encode(
            x=x, y="value:Q", color=color, detail="series:N",
            tooltip=[alt.Tooltip("x:Q", title=texts["x"]), alt.Tooltip("series:N", title=texts["series"]),
                     alt.Tooltip("value:Q", title=texts["theory"], format=".2f")]))
    return alt.layer(*parts, title=alt.Title(texts["title"], subtitle=texts["subtitle"])).properties(width=460, height=300)


def _predicted(sweep: pd.DataFrame, theory: pd.DataFrame | None) -> pd.DataFrame:
    """The theory's finite values as series, x, value: each grid cell's prediction on the cell's series."""
    if theory is None or theory.empty:
        return pd.DataFrame({"series": [], "x": [], "value": []})
    first = sweep.drop_duplicates("cell").set_index("cell")
    names = series_names(sweep, RADIUS).loc[sweep.drop_duplicates("cell").index]
    names.index = first.index
    known = theory[theory["cell"].isin(first.index) & np.isfinite(theory["log10_time_ratio"].astype(np.float64))]
    return pd.DataFrame({"series": names.loc[known["cell"]].to_numpy(),
                         "x": first.loc[known["cell"], RADIUS].astype(np.float64).to_numpy(),
                         "value": known["log10_time_ratio"].astype(np.float64).to_numpy()}).sort_values(["series", "x"])


def time_sweep_charts(sweep: pd.DataFrame, theory: pd.DataFrame | None = None,
                      chance: float | None = None) -> dict[str, alt.TopLevelMixin]:
    """The time views that apply, by file name stem (time_lag, time_radius), English labels."""
    views = time_sweep_views(sweep)
    charts = {}
    if "time_lag" in views:
        charts[CHART_NAMES["time_lag"]] = time_lag_chart(sweep, chance)
    if "time_radius" in views:
        charts[CHART_NAMES["time_radius"]] = time_radius_chart(sweep, theory)
    return charts
