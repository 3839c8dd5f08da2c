"""Altair charts of a recurrent run's gradient through time (issue #14): the gradient reaching each time step against
the time lag T - t, theory's line beside it, the time x training-step heatmap, and several runs overlaid.

Tidy frames in (RunResult.timesteps; lab.readings.time_reading's theory line), chart specs out. Every builder takes
`labels` (the catalogue's CHARTS[kind] in the visitor's language; English by default). Log axes: exact zeros cannot
sit on them and are drawn at a labelled floor (profiles) or in grey (heatmap).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.gallery_charts import GREY, OKABE_ITO, VIRIDIS, inline, integer_legend, message_chart, with_labels, zero_floor
from lab.readings import time_reading

SERIES = ("state_grad_rms", "cell_grad_rms")  # the gradient at h_t, and at the LSTM's carry c_t (NaN otherwise)
THEORY_DASH, CARRY_DASH = [6, 4], [2, 2]
_LOG = alt.Scale(type="log", padding=16)
_LAG = alt.Scale(nice=False, zero=True)  # lag 0 (t = T) at the left edge, no negative lags


def _lagged(timesteps: pd.DataFrame, texts: Mapping[str, str], layer: int, steps: Sequence[int] | None) -> pd.DataFrame:
    """Long rows (step, t, lag, series, value, plotted) of one layer's chosen steps; zeros moved to the floor in plotted."""
    rows = timesteps[timesteps["layer"] == layer]
    if steps is not None:
        missing = sorted(set(steps) - set(rows["step"]))
        if missing:
            raise ValueError(f"steps {missing} were not recorded; recorded: {sorted(set(rows['step']))}")
        rows = rows[rows["step"].isin(list(steps))]
    length = int(timesteps["t"].max())
    names = {"state_grad_rms": texts["state"], "cell_grad_rms": texts["carry"]}
    long = rows.melt(id_vars=["step", "t"], value_vars=list(SERIES), var_name="column", value_name="value")
    # NaN is "not measured" (cell_grad_rms of the simple cell and GRU) and inf cannot sit on a log axis: dropped.
    long = long[np.isfinite(long["value"].to_numpy(dtype=np.float64))]
    return long.assign(lag=length - long["t"], series=long["column"].map(names))


def _with_floor(data: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
    """data with `plotted`: the value, or the floor below every positive value of `values` for exact zeros."""
    return data.assign(plotted=data["value"].where(data["value"] > 0, zero_floor(values)))


def _series_dash(data: pd.DataFrame, texts: Mapping[str, str]) -> alt.StrokeDash:
    """Solid for the state's gradient, dotted for the LSTM carry's; the legend lists only the series drawn."""
    domain = [name for name in (texts["state"], texts["carry"]) if (data["series"] == name).any()]
    ranges = {texts["state"]: [1, 0], texts["carry"]: CARRY_DASH}
    scale = alt.Scale(domain=domain, range=[ranges[name] for name in domain])
    return alt.StrokeDash("series:N", title=texts["series"], scale=scale,
                          legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=2, symbolStrokeColor="#333"))


def _zero_rule(data: pd.DataFrame, texts: Mapping[str, str]) -> list[alt.Chart]:
    """A dashed rule labelled '= 0' at the floor the exact zeros sit on (none without zeros)."""
    if not (data["value"] == 0).any():
        return []
    floor = float(data.loc[data["value"] == 0, "plotted"].iloc[0])
    note = pd.DataFrame({"lag": [int(data["lag"].min())], "plotted": [floor], "text": [texts["zero"]]})
    rule = alt.Chart(inline(note)).mark_rule(color=GREY, strokeDash=[4, 4]).encode(y=alt.Y("plotted:Q", scale=_LOG))
    text = alt.Chart(inline(note)).mark_text(align="left", dx=4, dy=-7, color="#444", fontWeight="bold").encode(
        x="lag:Q", y=alt.Y("plotted:Q", scale=_LOG), text="text:N")
    return [rule, text]


def time_profile_chart(timesteps: pd.DataFrame, layer: int | None = None, steps: Sequence[int] | None = None,
                       theory: pd.DataFrame | None = None, labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """The gradient reaching each time step against the lag T - t on a log y axis, one line per chosen step (viridis).

    layer: the recurrent layer (the last by default); steps: the recorded steps to draw (the first and last by
    default). The LSTM's carry gradient (cell_grad_rms) is a second, dotted series. theory: (lag, value) rows of
    lab.readings.time_reading.theory_line, drawn grey and dashed. Labels: title, x, y, step, series, state, carry,
    theory, t, zero, empty.
    """
    texts = with_labels("time_profile", labels)
    if timesteps.empty:
        return message_chart(texts["empty"])
    layer = time_reading.last_layer(timesteps) if layer is None else layer
    if steps is None:
        recorded = time_reading.recorded_steps(timesteps)
        steps = sorted({recorded[0], recorded[-1]})
    data = _lagged(timesteps, texts, layer, steps)
    if data.empty:
        return message_chart(texts["empty"])
    predicted = None
    if theory is not None and not theory.empty:
        predicted = theory.loc[np.isfinite(theory["value"].to_numpy(dtype=np.float64)) & (theory["value"] > 0),
                               ["t", "lag", "value"]].assign(curve=texts["theory"])
    floor_source = pd.concat([data["value"], predicted["value"]]) if predicted is not None else data["value"]
    data = _with_floor(data, floor_source)
    base = alt.Chart(inline(data)).encode(
        x=alt.X("lag:Q", title=texts["x"], scale=_LAG),
        y=alt.Y("plotted:Q", title=texts["y"], scale=_LOG, axis=alt.Axis(format="~g")),
        color=alt.Color("step:Q", scale=VIRIDIS, legend=integer_legend(data["step"], texts["step"])),
        strokeDash=_series_dash(data, texts),
        detail=["step:O", "series:N"],
        tooltip=[alt.Tooltip("step:Q", title=texts["step"]), alt.Tooltip("series:N", title=texts["series"]),
                 alt.Tooltip("t:Q", title=texts["t"]), alt.Tooltip("lag:Q", title=texts["x"]),
                 alt.Tooltip("value:Q", title=texts["y"], format=".3e")])
    # Points on a layer of their own without dashes: a legend of line-with-points symbols hides the dashes.
    parts = [base.mark_line(strokeWidth=2), base.mark_point(size=24, filled=True, opacity=1).encode(strokeDash=alt.value([1, 0]))]
    parts += _zero_rule(data, texts)
    if predicted is not None and not predicted.empty:
        theory_line = alt.Chart(inline(predicted)).encode(x="lag:Q", y=alt.Y("value:Q", scale=_LOG))
        parts.append(theory_line.mark_line(strokeDash=THEORY_DASH, color=GREY, strokeWidth=2).encode(
            tooltip=[alt.Tooltip("curve:N", title=texts["series"]), alt.Tooltip("t:Q", title=texts["t"]),
                     alt.Tooltip("lag:Q", title=texts["x"]), alt.Tooltip("value:Q", title=texts["theory"], format=".3e")]))
        # Named where it ends (the largest lag), so the dashed line needs no legend of its own.
        end = predicted[predicted["lag"] == predicted["lag"].max()]
        parts.append(alt.Chart(inline(end)).mark_text(align="right", dy=-9, color="#555").encode(
            x="lag:Q", y=alt.Y("value:Q", scale=_LOG), text="curve:N"))
    return alt.layer(*parts, title=texts["title"]).properties(width=420, height=300)


def time_heatmap_chart(timesteps: pd.DataFrame, layer: int | None = None, column: str = "state_grad_rms",
                       labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """Time step t (1 at the bottom) x training step, coloured by log10(column) of one layer; exact zeros grey.

    Labels: title, x, y, color, value, zero, empty.
    """
    texts = with_labels("time_heatmap", labels)
    if timesteps.empty:
        return message_chart(texts["empty"])
    layer = time_reading.last_layer(timesteps) if layer is None else layer
    rows = timesteps[timesteps["layer"] == layer]
    data = rows.loc[np.isfinite(rows[column].to_numpy(dtype=np.float64)), ["step", "t", column]].rename(columns={column: "value"})
    if data.empty:
        return message_chart(texts["empty"])
    with np.errstate(divide="ignore"):  # log10(0) = -inf is never plotted: zeros get their own layer
        data = data.assign(log10_value=np.log10(data["value"]).where(data["value"] > 0), zero=texts["zero"])
    base = alt.Chart(inline(data)).encode(
        x=alt.X("step:O", title=texts["x"], axis=alt.Axis(labelAngle=0, labelOverlap="greedy")),
        y=alt.Y("t:O", title=texts["y"], sort="descending", axis=alt.Axis(labelOverlap="greedy")),
        tooltip=[alt.Tooltip("step:Q", title=texts["x"]), alt.Tooltip("t:Q", title=texts["y"]),
                 alt.Tooltip("value:Q", title=texts["value"], format=".3e")])
    cells = base.mark_rect().encode(color=alt.Color("log10_value:Q", scale=alt.Scale(scheme="viridis"), title=texts["color"]))
    parts = [cells.transform_filter(alt.datum.value > 0)]
    if (data["value"] == 0).any():
        parts.append(base.mark_rect().encode(color=alt.Color("zero:N", scale=alt.Scale(domain=[texts["zero"]], range=[GREY]),
                                                             title=None)).transform_filter(alt.datum.value == 0))
    return alt.layer(*parts, title=texts["title"]).resolve_scale(color="independent").properties(width=420, height=300)


def compare_timesteps(results: Mapping[str, object]) -> pd.DataFrame:
    """The rnn runs' timesteps stacked, each row tagged with a `run` column = its key (runs without rows left out)."""
    parts = [result.timesteps.assign(run=str(name)) for name, result in results.items() if not result.timesteps.empty]
    if not parts:
        return pd.DataFrame(columns=["run", "step", "layer", "t", *SERIES])
    return pd.concat(parts, ignore_index=True)


def comparison_time_chart(timesteps_with_run: pd.DataFrame, which: str = "start",
                          labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """Each run's gradient reaching each time step against the lag, at its first ("start") or last ("end") record, at
    its last recurrent layer (where the error enters), coloured by run (Okabe-Ito); LSTM carries dotted.

    Lags are each run's own T - t, so runs of different T share the axis from lag 0. Labels: title_start,
    title_end, x, y, run, series, state, carry, t, zero, empty.
    """
    if which not in ("start", "end") or "run" not in timesteps_with_run:
        raise ValueError("which must be 'start' or 'end', and the frame needs a run column (see compare_timesteps)")
    texts = with_labels("time_compare", labels)
    title = texts["title_start"] if which == "start" else texts["title_end"]
    parts = []
    for run, rows in timesteps_with_run.groupby("run", sort=False):
        steps = time_reading.recorded_steps(rows)
        step = steps[0] if which == "start" else steps[-1]
        parts.append(_lagged(rows, texts, time_reading.last_layer(rows), [step]).assign(run=run))
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if data.empty:
        return message_chart(texts["empty"])
    data = _with_floor(data, data["value"])
    base = alt.Chart(inline(data)).encode(
        x=alt.X("lag:Q", title=texts["x"], scale=_LAG),
        y=alt.Y("plotted:Q", title=texts["y"], scale=_LOG, axis=alt.Axis(format="~g")),
        color=alt.Color("run:N", scale=alt.Scale(range=list(OKABE_ITO)), title=texts["run"], legend=alt.Legend(labelLimit=320)),
        strokeDash=_series_dash(data, texts),
        detail=["run:N", "series:N"],
        tooltip=[alt.Tooltip("run:N", title=texts["run"]), alt.Tooltip("series:N", title=texts["series"]),
                 alt.Tooltip("t:Q", title=texts["t"]), alt.Tooltip("lag:Q", title=texts["x"]),
                 alt.Tooltip("value:Q", title=texts["y"], format=".3e")])
    parts = [base.mark_line(strokeWidth=2), *_zero_rule(data, texts)]
    return alt.layer(*parts, title=title).properties(width=520, height=300)
