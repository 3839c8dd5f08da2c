"""Altair charts of signal propagation (issue #13): q and c per layer, the Jacobians' singular values, the phase diagram.

Tidy frames in (RunResult.propagation and .spectrum; lab.readings.phase's theory rows and grid), chart specs out.
Every builder takes `labels` (the catalogue's CHARTS[kind] in the visitor's language; English by default). Empty
frames give a chart that says so; exact zeros cannot sit on a log axis and are drawn at a floor or counted aside.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.gallery_charts import (
    BLUE,
    ORANGE,
    VERMILLION,
    VIRIDIS,
    inline,
    integer_axis,
    message_chart,
    with_labels,
    zero_floor,
)

HISTOGRAM_BINS = 24
XI_C_CAP = 1000.0  # ξc diverges at the boundary: shading stops at 10³ layers (log10 = 3)


def _moments(frame: pd.DataFrame, texts: Mapping[str, str]) -> pd.DataFrame:
    """The rows at the first and the last recorded step, with their moment's label (only 'start' if one step)."""
    steps = sorted(set(frame["step"]))
    first, last = steps[0], steps[-1]
    chosen = frame[frame["step"].isin([first, last])].copy()
    chosen["moment"] = np.where(chosen["step"] == first, texts["start"], texts["end"])
    return chosen


def _moment_color(texts: Mapping[str, str]) -> alt.Color:
    """Start blue, end orange, as the profile draws them."""
    return alt.Color("moment:N", title=texts["moment"],
                     scale=alt.Scale(domain=[texts["start"], texts["end"]], range=[BLUE, ORANGE]))


def propagation_chart(propagation: pd.DataFrame, theory: pd.DataFrame | None = None,
                      labels: Mapping[str, str] | None = None) -> alt.HConcatChart | alt.Chart:
    """q (log axis) and c per hidden layer at the start and the end; theory's maps from the measured layer 1 dashed.

    theory: (layer, q, c) rows (lab.readings.phase.theory_rows), drawn with the start's colour. Labels: title, q_title,
    c_title, x, q, c, moment, start, end, curve, measured, theory, layer, empty.
    """
    texts = with_labels("propagation", labels)
    if propagation.empty:
        return message_chart(texts["empty"])
    measured = _moments(propagation, texts).assign(curve=texts["measured"])[["layer", "q", "c", "moment", "curve"]]
    parts = [measured]
    if theory is not None and not theory.empty:
        parts.append(theory[["layer", "q", "c"]].assign(moment=texts["start"], curve=texts["theory"]))
    data = pd.concat(parts, ignore_index=True)
    panels = []
    for column, title, name, log in (("q", texts["q_title"], texts["q"], True), ("c", texts["c_title"], texts["c"], False)):
        valid = np.isfinite(data[column].to_numpy(dtype=np.float64)) & ((data[column] > 0) if log else True)
        rows = data.loc[valid, ["layer", column, "moment", "curve"]]
        scale = alt.Scale(type="log") if log else alt.Scale(domain=[min(-0.05, float(rows[column].min()) if len(rows) else 0), 1])
        panels.append(alt.Chart(inline(rows), title=title).mark_line(point=True, strokeWidth=2).encode(
            x=alt.X("layer:Q", title=texts["x"], axis=integer_axis(data["layer"])),
            y=alt.Y(f"{column}:Q", title=name, scale=scale, axis=alt.Axis(format="~g")),
            color=_moment_color(texts),
            strokeDash=alt.StrokeDash("curve:N", title=texts["curve"], scale=alt.Scale(
                domain=[texts["measured"], texts["theory"]], range=[[1, 0], [6, 4]])),
            detail=["moment:N", "curve:N"],
            tooltip=[alt.Tooltip("moment:N", title=texts["moment"]), alt.Tooltip("curve:N", title=texts["curve"]),
                     alt.Tooltip("layer:Q", title=texts["layer"]), alt.Tooltip(f"{column}:Q", title=name, format=".4g")],
        ).properties(width=260, height=240))
    return alt.hconcat(*panels, title=texts["title"])


def spectrum_bands(spectrum: pd.DataFrame) -> pd.DataFrame:
    """Per (step, layer): median, 5 % and 95 % quantiles of the singular values (every sample and index) and zeros."""
    grouped = spectrum.groupby(["step", "layer"])["singular_value"]
    return pd.DataFrame({
        "median": grouped.median(), "q05": grouped.quantile(0.05), "q95": grouped.quantile(0.95),
        "zeros": grouped.apply(lambda values: int((values == 0).sum())),
    }).reset_index()


def jacobian_chart(spectrum: pd.DataFrame, labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """The singular values of J_l = dz_l/dz_1 per layer on a log axis: median line, 5–95 % band, start and end.

    Quantiles that are exactly 0 are drawn at a floor a decade below the smallest positive one. Labels: title, x, y,
    moment, start, end, median, q05, q95, layer, zeros, empty.
    """
    texts = with_labels("jacobian", labels)
    finite = spectrum[np.isfinite(spectrum["singular_value"].to_numpy(dtype=np.float64))] if not spectrum.empty else spectrum
    if finite.empty:
        return message_chart(texts["empty"])
    data = _moments(spectrum_bands(finite), texts)
    floor = zero_floor(data[["median", "q05", "q95"]].to_numpy().ravel())
    for column in ("median", "q05", "q95"):
        data[f"{column}_plotted"] = data[column].where(data[column] > 0, floor)
    base = alt.Chart(inline(data)).encode(
        x=alt.X("layer:Q", title=texts["x"], axis=integer_axis(data["layer"])), color=_moment_color(texts),
        tooltip=[alt.Tooltip("moment:N", title=texts["moment"]), alt.Tooltip("layer:Q", title=texts["layer"]),
                 alt.Tooltip("median:Q", title=texts["median"], format=".3e"),
                 alt.Tooltip("q05:Q", title=texts["q05"], format=".3e"), alt.Tooltip("q95:Q", title=texts["q95"], format=".3e"),
                 alt.Tooltip("zeros:Q", title=texts["zeros"])])
    y = alt.Y("median_plotted:Q", title=texts["y"], scale=alt.Scale(type="log"), axis=alt.Axis(format="~g"))
    band = base.mark_area(opacity=0.25).encode(y=alt.Y("q05_plotted:Q", title=texts["y"], scale=alt.Scale(type="log")),
                                                y2="q95_plotted:Q")
    line = base.mark_line(point=True, strokeWidth=2).encode(y=y)
    return alt.layer(band, line, title=texts["title"]).properties(width=420, height=280)


def spectrum_histogram(spectrum: pd.DataFrame, layer: int) -> pd.DataFrame:
    """At one layer, per step: counts of the positive singular values in HISTOGRAM_BINS log-spaced bins shared by the
    steps (bin_left, bin_right, count), and the exact zeros in zeros (the same on each row of a step)."""
    rows = spectrum[(spectrum["layer"] == layer) & np.isfinite(spectrum["singular_value"].to_numpy(dtype=np.float64))]
    positive = rows.loc[rows["singular_value"] > 0, "singular_value"].to_numpy(dtype=np.float64)
    columns = ["step", "bin_left", "bin_right", "count", "zeros"]
    if positive.size == 0:
        return pd.DataFrame({column: pd.Series(dtype="float64") for column in columns})
    low, high = math.log10(positive.min()), math.log10(positive.max())
    if high - low < 1e-9:  # one value (layer 1's J is the identity): one bin around it
        low, high = low - 0.05, high + 0.05
    edges = 10.0 ** np.linspace(low, high, HISTOGRAM_BINS + 1)
    if positive.min() < positive.max():  # 10 ** log10(v) can miss v by an ulp, and np.histogram would drop it
        edges[0], edges[-1] = positive.min(), positive.max()
    out = []
    for step, values in rows.groupby("step")["singular_value"]:
        counts, _ = np.histogram(values[values > 0], bins=edges)
        zeros = int((values == 0).sum())
        out += [{"step": step, "bin_left": left, "bin_right": right, "count": int(count), "zeros": zeros}
                for left, right, count in zip(edges[:-1], edges[1:], counts)]
    return pd.DataFrame(out, columns=columns)


def spectrum_histogram_chart(spectrum: pd.DataFrame, layer: int, labels: Mapping[str, str] | None = None) -> alt.Chart:
    """The histogram of J_layer's singular values (log-spaced bins) at the start and the end, overlaid.

    Labels: title ({layer}), x, y, moment, start, end, bin_left, bin_right, zeros, empty.
    """
    texts = with_labels("spectrum", labels)
    bins = spectrum_histogram(spectrum, layer) if not spectrum.empty else pd.DataFrame()
    if bins.empty:
        return message_chart(texts["empty"])
    data = _moments(bins, texts)
    return alt.Chart(inline(data), title=texts["title"].format(layer=layer)).mark_rect(opacity=0.55).encode(
        x=alt.X("bin_left:Q", title=texts["x"], scale=alt.Scale(type="log"), axis=alt.Axis(format="~g")), x2="bin_right:Q",
        y=alt.Y("count:Q", title=texts["y"], stack=None, axis=alt.Axis(tickMinStep=1, format="d")), y2=alt.Y2(datum=0),
        color=_moment_color(texts),
        tooltip=[alt.Tooltip("moment:N", title=texts["moment"]), alt.Tooltip("bin_left:Q", title=texts["bin_left"], format=".3g"),
                 alt.Tooltip("bin_right:Q", title=texts["bin_right"], format=".3g"), alt.Tooltip("count:Q", title=texts["y"]),
                 alt.Tooltip("zeros:Q", title=texts["zeros"])],
    ).properties(width=420, height=260)


def phase_diagram_chart(cells: pd.DataFrame, boundary: pd.DataFrame, activation: str, point: Mapping | None = None,
                        labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """The (σw², σb²) plane shaded by log10 ξc, the order–chaos boundary χ1 = 1 as a line, and the experiment as a dot.

    cells and boundary: lab.readings.phase.phase_grid's; point: {sigma_w2, sigma_b2} or None. Labels: title
    ({activation}), subtitle, x, y, color, xi_c, chi_1, boundary, you, empty.
    """
    texts = with_labels("phase", labels)
    if cells.empty:
        return message_chart(texts["empty"])
    shaded = cells.assign(shade=np.log10(np.clip(cells["xi_c"].to_numpy(dtype=np.float64), 1e-3, XI_C_CAP)))
    x_scale = alt.Scale(domain=[float(cells["sigma_w2_low"].min()),
                                max(float(cells["sigma_w2_high"].max()), float(point["sigma_w2"]) if point else 0.0)], nice=False)
    y_scale = alt.Scale(domain=[0.0, max(float(cells["sigma_b2_high"].max()), float(point["sigma_b2"]) if point else 0.0)],
                        nice=False)
    x = alt.X("sigma_w2_low:Q", title=texts["x"], scale=x_scale)
    y = alt.Y("sigma_b2_low:Q", title=texts["y"], scale=y_scale)
    grid = alt.Chart(inline(shaded)).mark_rect().encode(
        x=x, x2="sigma_w2_high:Q", y=y, y2="sigma_b2_high:Q",
        color=alt.Color("shade:Q", title=texts["color"], scale=VIRIDIS),
        tooltip=[alt.Tooltip("sigma_w2:Q", title=texts["x"], format=".3g"),
                 alt.Tooltip("sigma_b2:Q", title=texts["y"], format=".3g"),
                 alt.Tooltip("chi_1:Q", title=texts["chi_1"], format=".3g"),
                 alt.Tooltip("xi_c:Q", title=texts["xi_c"], format=".3g")])
    parts = [grid]
    line = boundary[np.isfinite(boundary["sigma_w2"].to_numpy(dtype=np.float64))].assign(curve=texts["boundary"])
    if not line.empty:
        parts.append(alt.Chart(inline(line)).mark_line(color="white", strokeWidth=3, clip=True).encode(
            x=alt.X("sigma_w2:Q", scale=x_scale), y=alt.Y("sigma_b2:Q", scale=y_scale), order="sigma_b2:Q",
            tooltip=[alt.Tooltip("curve:N", title=texts["boundary"]), alt.Tooltip("sigma_w2:Q", title=texts["x"], format=".3g"),
                     alt.Tooltip("sigma_b2:Q", title=texts["y"], format=".3g")]))
    if point is not None:
        dot = pd.DataFrame([{"sigma_w2": float(point["sigma_w2"]), "sigma_b2": float(point["sigma_b2"]), "curve": texts["you"]}])
        parts.append(alt.Chart(inline(dot)).mark_point(filled=True, size=160, color=VERMILLION, stroke="white",
                                                       strokeWidth=1.5, opacity=1).encode(
            x=alt.X("sigma_w2:Q", scale=x_scale), y=alt.Y("sigma_b2:Q", scale=y_scale),
            tooltip=[alt.Tooltip("curve:N", title=texts["you"]), alt.Tooltip("sigma_w2:Q", title=texts["x"], format=".3g"),
                     alt.Tooltip("sigma_b2:Q", title=texts["y"], format=".3g")]))
    title = alt.TitleParams(texts["title"].format(activation=activation), subtitle=texts["subtitle"])
    return alt.layer(*parts, title=title).properties(width=420, height=300)
