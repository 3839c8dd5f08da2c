"""The sweeps' phase-diagram view (issue #13): a sweep.csv column over σw² × depth or σw² × σb², with mean field over it.

Per grid cell the median over the ok seeds of any numeric sweep.csv column, as a heatmap whose axes are σw² (the
model.sigma_w axis squared) and the depth or σb²; over it lab.readings.phase's order–chaos boundary χ1 = 1 (a vertical
rule over depth, a curve over σb²) and, over depth, 6 ξc: Schoenholz et al. 2017 find networks trainable up to about
that depth. Grid axes other than the two plotted are each held at one value (the caller's, else the first), so every
cell of the map is one configuration and the theory has one activation and σb². Labels: lab.text's CHARTS
["phase_sweep"]. No streamlit, no TensorFlow: Altair, pandas, numpy.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.gallery_charts import GREY, VERMILLION, VIRIDIS, inline, integer_axis, message_chart, with_labels
from lab.charts.sweep_charts import quantile
from lab.readings.phase import boundary_line, depth_scale_line, effective_sigma_w_squared
from lab.science.mean_field import mean_field

SIGMA_W = "model.sigma_w"
Y_AXES = ("model.depth", "model.sigma_b")  # what σw² is plotted against, in the order the views are offered
CHART_NAMES = {"model.depth": "phase_depth", "model.sigma_b": "phase_sigma_b"}  # file name stems of the saved charts
IDENTITY_COLUMNS = ("cell", "seed", "run_id")  # numbers in sweep.csv that are not measurements
TRAINABLE_DEPTHS = 6.0  # Schoenholz et al. 2017: a network trains up to about 6 ξc layers
BEYOND_BOUNDARY = 1.1  # where the chart asks mean field what lies past χ1 = 1: σw² = 1.1 × the boundary's


def phase_views(sweep: pd.DataFrame) -> list[str]:
    """The y axes (of Y_AXES) a phase view of this sweep can plot: σw² must vary, and the y axis too."""
    if SIGMA_W not in sweep or sweep[SIGMA_W].nunique() < 2:
        return []
    return [axis for axis in Y_AXES if axis in sweep and sweep[axis].nunique() > 1]


def value_columns(sweep: pd.DataFrame) -> list[str]:
    """sweep.csv's numeric measurement columns with some value among the ok runs (not grid keys, ids or booleans)."""
    ok = sweep[sweep["status"] == "ok"] if "status" in sweep else sweep
    return [column for column in sweep.columns
            if column not in IDENTITY_COLUMNS and "." not in column and pd.api.types.is_numeric_dtype(sweep[column])
            and not pd.api.types.is_bool_dtype(sweep[column]) and ok[column].notna().any()]


def default_column(columns: list[str]) -> str | None:
    """val_accuracy where the sweep trained (it has values), else the signal ratio at initialisation, else the first."""
    for column in ("val_accuracy", "log10_signal_ratio_start"):
        if column in columns:
            return column
    return columns[0] if columns else None


def other_axes(sweep: pd.DataFrame, y_axis: str) -> dict[str, list]:
    """The grid axes besides σw and y_axis (config columns with more than one value), each with its values in sweep order."""
    return {column: list(pd.unique(sweep[column])) for column in sweep.columns
            if "." in column and column not in (SIGMA_W, y_axis) and sweep[column].nunique(dropna=False) > 1}


def cell_settings(planned: Iterable) -> pd.DataFrame:
    """What mean field needs per grid cell, read from a sweep's planned runs (each with .cell and .config): cell,
    activation, leaky_alpha and sigma_b2 (NaN where theory has no σb², see lab.readings.phase).

    A base value such as the bias scale is no sweep.csv column unless it is a grid axis: the planned configs have it.
    """
    rows, seen = [], set()
    for item in planned:
        if item.cell in seen:
            continue
        seen.add(item.cell)
        model = item.config.model
        _, sigma_b2, _ = effective_sigma_w_squared(item.config)
        rows.append({"cell": item.cell, "activation": model.activation, "leaky_alpha": float(model.leaky_alpha),
                     "sigma_b2": math.nan if sigma_b2 is None else sigma_b2})
    return pd.DataFrame(rows, columns=["cell", "activation", "leaky_alpha", "sigma_b2"])


def held_rows(sweep: pd.DataFrame, y_axis: str, fixed: Mapping | None = None) -> tuple[pd.DataFrame, dict]:
    """(the sweep's rows at the held values of the other grid axes, {axis: value held}); ValueError on an unknown axis
    or a value the axis does not have."""
    if y_axis not in Y_AXES:
        raise ValueError(f"y_axis must be one of {', '.join(Y_AXES)}; got {y_axis!r}")
    axes, fixed = other_axes(sweep, y_axis), dict(fixed or {})
    unknown = sorted(set(fixed) - set(axes))
    if unknown:
        raise ValueError(f"fixed: {unknown[0]} is not another grid axis of this sweep; the axes are {', '.join(axes) or 'none'}")
    rows, held = sweep, {}
    for axis, values in axes.items():
        value = fixed.get(axis, values[0])
        if not any((pd.isna(value) and pd.isna(known)) or known == value for known in values):
            raise ValueError(f"fixed: {axis} must be one of {', '.join(map(str, values))}; got {value!r}")
        rows, held[axis] = rows[rows[axis].isna() if pd.isna(value) else rows[axis] == value], value
    return rows, held


def _edges(centres: np.ndarray) -> dict:
    """Cell edges around sorted distinct centres: midpoints between neighbours, the ends half a gap out (not below 0)."""
    values = np.unique(centres.astype(np.float64))
    if values.size == 1:
        gaps = np.array([max(abs(values[0]) * 0.1, 0.5)])
    else:
        gaps = np.diff(values)
    middles = (values[:-1] + values[1:]) / 2
    lows = np.maximum(np.concatenate([[values[0] - gaps[0] / 2], middles]), 0.0)
    highs = np.concatenate([middles, [values[-1] + gaps[-1] / 2]])
    return {value: (low, high) for value, low, high in zip(values, lows, highs)}


def phase_cells(sweep: pd.DataFrame, y_axis: str, column: str, fixed: Mapping | None = None) -> pd.DataFrame:
    """Per (σw², y) cell of the held rows' ok runs: the median over seeds of column (NaN seeds left out, −inf kept),
    seeds and the cell's edges; y is the depth or σb². Columns: sigma_w2, y, median, seeds, cells and the edges."""
    for needed in (SIGMA_W, y_axis, column, "status", "cell"):
        if needed not in sweep:
            raise ValueError(f"column: {needed!r} is not a column of this sweep.csv (the view needs {SIGMA_W}, "
                             f"{y_axis}, status, cell and the column plotted)")
    rows, _ = held_rows(sweep, y_axis, fixed)
    ok = rows[rows["status"] == "ok"]
    runs = pd.DataFrame({"sigma_w2": ok[SIGMA_W].astype(np.float64) ** 2,
                         "y": ok[y_axis].astype(np.float64) ** (1 if y_axis == "model.depth" else 2),
                         "value": ok[column].astype(np.float64), "cell": ok["cell"]})
    columns = ["sigma_w2", "y", "median", "seeds", "cells", "sigma_w2_low", "sigma_w2_high", "y_low", "y_high"]
    if runs.empty:
        return pd.DataFrame({name: pd.Series(dtype="float64") for name in columns})
    x_edges, y_edges = _edges(runs["sigma_w2"].to_numpy()), _edges(runs["y"].to_numpy())
    out = []
    for (sigma_w2, y), group in runs.groupby(["sigma_w2", "y"], sort=True):
        out.append({"sigma_w2": sigma_w2, "y": y, "median": quantile(group["value"], 0.5), "seeds": len(group),
                    "cells": sorted(set(group["cell"])), "sigma_w2_low": x_edges[sigma_w2][0],
                    "sigma_w2_high": x_edges[sigma_w2][1], "y_low": y_edges[y][0], "y_high": y_edges[y][1]})
    return pd.DataFrame(out, columns=columns)


def _theory(cells: pd.DataFrame, settings: pd.DataFrame | None, y_axis: str) -> dict | None:
    """The one (activation, leaky_alpha, sigma_b2) of the plotted cells, or None (no settings, several, or no σb²).

    Over σb² the cells differ in σb² by design: the boundary curve needs only one activation and α.
    """
    if settings is None or settings.empty or cells.empty:
        return None
    plotted = {cell for cells_of in cells["cells"] for cell in cells_of}
    keys = ["activation", "leaky_alpha"] + (["sigma_b2"] if y_axis == "model.depth" else [])
    chosen = settings[settings["cell"].isin(plotted)].drop_duplicates(keys)
    if len(chosen) != 1 or chosen["sigma_b2"].isna().any():
        return None
    row = chosen.iloc[0]
    return {"activation": str(row["activation"]), "leaky_alpha": float(row["leaky_alpha"]), "sigma_b2": float(row["sigma_b2"])}


def _diverges_beyond(theory: dict, boundary_sigma_w2: float, sigma_b2: float) -> bool:
    """Whether past the boundary the length map diverges (q* = inf: ReLU-like, no chaotic phase) instead of decorrelating."""
    if not math.isfinite(boundary_sigma_w2):
        return False
    field = mean_field(theory["activation"], math.sqrt(BEYOND_BOUNDARY * boundary_sigma_w2), math.sqrt(sigma_b2),
                       theory["leaky_alpha"])
    return math.isinf(field.q_star)


def phase_sweep_chart(sweep: pd.DataFrame, y_axis: str, column: str, fixed: Mapping | None = None,
                      settings: pd.DataFrame | None = None,
                      labels: Mapping[str, str] | None = None) -> alt.LayerChart | alt.Chart:
    """The heatmap of column's median over seeds by σw² and y_axis (depth or σb²), mean field's boundary and 6 ξc over it.

    fixed: a value for each other grid axis (other_axes; the first value where left out). settings: cell_settings of
    the sweep's planned runs; without it, or where the plotted cells differ in activation or σb², no theory is drawn.
    Labels: title ({column}, {axis}), subtitle, subtitle_sigma_b, held ({values}), x, depth, sigma_b2, median, seeds,
    zero, infinite, boundary, trainable, xi_c, diverges, no_depth_scale, no_theory, empty.
    """
    texts = with_labels("phase_sweep", labels)
    cells = phase_cells(sweep, y_axis, column, fixed)
    _, held = held_rows(sweep, y_axis, fixed)
    y_name = texts["depth"] if y_axis == "model.depth" else texts["sigma_b2"]
    cells = cells[cells["median"].notna()]  # every seed NaN: nothing to colour
    if cells.empty:
        return message_chart(texts["empty"])
    x_domain = [float(cells["sigma_w2_low"].min()), float(cells["sigma_w2_high"].max())]
    y_domain = [float(cells["y_low"].min()), float(cells["y_high"].max())]
    x_scale, y_scale = alt.Scale(domain=x_domain, nice=False), alt.Scale(domain=y_domain, nice=False)
    data = cells.drop(columns=["cells"]).assign(
        median_text=[texts["zero"] if value == -np.inf else texts["infinite"] if value == np.inf else f"{value:.4g}"
                     for value in cells["median"]])
    tooltip = [alt.Tooltip("sigma_w2:Q", title=texts["x"], format=".3g"), alt.Tooltip("y:Q", title=y_name, format=".3g"),
               alt.Tooltip("median_text:N", title=texts["median"]), alt.Tooltip("seeds:Q", title=texts["seeds"])]
    finite = np.isfinite(data["median"].to_numpy(dtype=np.float64))
    y_ticks = integer_axis(data["y"]) if y_axis == "model.depth" else alt.Axis(format="~g")
    parts = []
    # An exact zero's −inf (or +inf) has no colour on the scale: those cells are grey, their tooltip says which.
    for rows, mark in ((data[finite], {}), (data[~finite], {"color": GREY})):
        if rows.empty:
            continue
        chart = alt.Chart(inline(rows)).mark_rect(stroke="white", strokeWidth=0.5, **mark).encode(
            x=alt.X("sigma_w2_low:Q", title=texts["x"], scale=x_scale), x2="sigma_w2_high:Q",
            y=alt.Y("y_low:Q", title=y_name, scale=y_scale, axis=y_ticks), y2="y_high:Q", tooltip=tooltip)
        parts.append(chart if mark else chart.encode(color=alt.Color("median:Q", title=texts["median"], scale=VIRIDIS)))
    notes = [texts["subtitle"] if y_axis == "model.depth" else texts["subtitle_sigma_b"]]
    theory = _theory(cells, settings, y_axis)
    if theory is None:
        notes.append(texts["no_theory"])
    elif y_axis == "model.depth":
        parts += _depth_theory(theory, x_domain, x_scale, y_scale, texts, notes)
    else:
        parts += _sigma_b_theory(theory, y_domain, x_scale, y_scale, texts, notes)
    if held:
        notes.append(texts["held"].replace("{values}", ", ".join(f"{axis} = {value}" for axis, value in held.items())))
    title = texts["title"].replace("{column}", column).replace("{axis}", y_name)
    return alt.layer(*parts, title=alt.Title(title, subtitle=notes)).properties(width=460, height=320)


def _depth_theory(theory: dict, x_domain: list, x_scale: alt.Scale, y_scale: alt.Scale, texts: Mapping,
                  notes: list) -> list[alt.Chart]:
    """Over depth: the boundary σw² at the cells' σb² as a vertical rule, 6 ξc along σw² as a line (where finite)."""
    line, critical = depth_scale_line(theory["activation"], theory["sigma_b2"], theory["leaky_alpha"], *x_domain)
    line = line.assign(trainable_depth=TRAINABLE_DEPTHS * line["xi_c"])
    line = line[np.isfinite(line["trainable_depth"].to_numpy(dtype=np.float64))]
    parts = []
    if math.isfinite(critical):
        rule = pd.DataFrame({"sigma_w2_critical": [critical], "curve": [texts["boundary"]]})
        parts.append(alt.Chart(inline(rule)).mark_rule(color="white", strokeWidth=3, clip=True).encode(
            x=alt.X("sigma_w2_critical:Q", scale=x_scale),
            tooltip=[alt.Tooltip("curve:N", title=texts["boundary"]),
                     alt.Tooltip("sigma_w2_critical:Q", title=texts["x"], format=".4g")]))
        if _diverges_beyond(theory, critical, theory["sigma_b2"]):
            notes.append(texts["diverges"].replace("{activation}", theory["activation"]))
    if line.empty:
        notes.append(texts["no_depth_scale"])
    else:
        parts.append(alt.Chart(inline(line.assign(curve=texts["trainable"]))).mark_line(
            color=VERMILLION, strokeWidth=2.5, clip=True).encode(
            x=alt.X("sigma_w2:Q", scale=x_scale), y=alt.Y("trainable_depth:Q", scale=y_scale), order="sigma_w2:Q",
            tooltip=[alt.Tooltip("curve:N", title=texts["trainable"]), alt.Tooltip("sigma_w2:Q", title=texts["x"], format=".4g"),
                     alt.Tooltip("xi_c:Q", title=texts["xi_c"], format=".4g"),
                     alt.Tooltip("trainable_depth:Q", title=texts["trainable"], format=".4g")]))
    return parts


def _sigma_b_theory(theory: dict, y_domain: list, x_scale: alt.Scale, y_scale: alt.Scale, texts: Mapping,
                    notes: list) -> list[alt.Chart]:
    """Over σb²: the boundary χ1 = 1 as a curve σw²(σb²) from σb² = 0 to the top of the map (where it exists)."""
    line = boundary_line(theory["activation"], theory["leaky_alpha"], y_domain[1])
    line = line[np.isfinite(line["sigma_w2"].to_numpy(dtype=np.float64))]
    if line.empty:
        return []
    if _diverges_beyond(theory, float(line["sigma_w2"].iloc[0]), float(line["sigma_b2"].iloc[0])):
        notes.append(texts["diverges"].replace("{activation}", theory["activation"]))
    return [alt.Chart(inline(line.assign(curve=texts["boundary"]))).mark_line(color="white", strokeWidth=3, clip=True).encode(
        x=alt.X("sigma_w2:Q", scale=x_scale), y=alt.Y("sigma_b2:Q", scale=y_scale), order="sigma_b2:Q",
        tooltip=[alt.Tooltip("curve:N", title=texts["boundary"]), alt.Tooltip("sigma_w2:Q", title=texts["x"], format=".4g"),
                 alt.Tooltip("sigma_b2:Q", title=texts["sigma_b2"], format=".4g")])]


def phase_sweep_charts(sweep: pd.DataFrame, settings: pd.DataFrame | None = None) -> dict[str, alt.TopLevelMixin]:
    """The phase views that apply, by file name stem (phase_depth, phase_sigma_b): the default column, first held values."""
    column = default_column(value_columns(sweep))
    if column is None:
        return {}
    return {CHART_NAMES[axis]: phase_sweep_chart(sweep, axis, column, None, settings) for axis in phase_views(sweep)}
