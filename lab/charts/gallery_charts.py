"""Altair charts of functions: f and f', softmax, pre-activations over f', the learned decision boundary.

Also the small helpers every chart module shares (labels, inline data, palette), so lab.charts.run_charts can
import them from here without an import cycle. No streamlit, no TensorFlow: Altair, pandas, numpy.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from lab.science import activations as act
from lab.text.i18n import chart_labels, measure_name

# Altair validates every object as it is built ("debug mode") and again the whole spec when it is
# converted; the first pass doubled the gallery's build time (0.6 s -> 0.3 s for nine charts), the
# second still catches every schema error. Process-wide, for every chart of the lab; called before
# this module builds its first Altair object (VIRIDIS below).
alt.utils.schemapi.disable_debug_mode()

# Okabe & Ito (2008): distinguishable with every common form of colour blindness.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
BLUE, ORANGE, VERMILLION, GREY = "#0072B2", "#E69F00", "#D55E00", "#9E9E9E"
# Viridis is sequential and colour-blind safe; its last 15% is a yellow too pale to read on white.
VIRIDIS = alt.Scale(scheme=alt.SchemeParams(name="viridis", extent=[0.0, 0.85]))
SATURATION_THRESHOLD = 0.05  # the same 5% of max |f'| that lab.training.measures uses for saturated_fraction
NUM_POINTS = 400


def with_labels(kind: str, labels: Mapping[str, str] | None, measure: str | None = None) -> dict[str, str]:
    """The English catalogue's texts for this kind of chart, overridden by whatever the caller passes (e.g. Korean).

    With a measure, a {measure} still left in any text (the caller's too) is filled with its English name.
    """
    texts = {**chart_labels(kind, "en", measure), **(labels or {})}
    if measure is None:
        return texts
    # replace, not format: a caller's text may hold other braces.
    return {key: text.replace("{measure}", measure_name(measure)) for key, text in texts.items()}


def inline(frame: pd.DataFrame) -> alt.InlineData:
    """The frame as inline records, NaN and +-inf as null (JSON has no inf), floats kept exact."""
    # A DataFrame would go through Altair's data transformer, whose 5000-row limit a 100 x 100
    # boundary or a long run's heatmap exceeds; DataFrame.to_json would round 1e-12 to 0.
    values = frame.astype(object)
    finite = frame.notna() & ~frame.isin([np.inf, -np.inf])
    records = values.where(finite, None).to_dict("records")
    # Construct without Altair's debug-mode validation, which checks every record against the
    # JSON schema (about 1 s for a 100 x 100 boundary); the chart is still validated once, as a whole,
    # when it is turned into a spec.
    with alt.utils.schemapi.debug_mode(False):
        return alt.InlineData(values=records)


def message_chart(text: str) -> alt.Chart:
    """A chart that only says something (no data to plot)."""
    return alt.Chart(inline(pd.DataFrame({"text": [text]}))).mark_text(size=14, color="#555").encode(text="text:N")


def integer_axis(values: pd.Series, max_ticks: int = 12) -> alt.Axis:
    """An axis with integer ticks only: every integer when few, else integer steps."""
    low, high = int(values.min()), int(values.max())
    # tickMinStep alone still lets Vega put a tick at 1.5 (shown as a second "2") on short ranges.
    if high - low < max_ticks:
        return alt.Axis(values=list(range(low, high + 1)), format="d")
    return alt.Axis(tickMinStep=1, format="d")


def integer_legend(values: pd.Series, title: str, max_entries: int = 12) -> alt.Legend:
    """A legend for a quantitative colour over integers: one entry per value when few, else a gradient."""
    distinct = sorted(int(value) for value in pd.unique(values))
    if len(distinct) <= max_entries:
        return alt.Legend(title=title, values=distinct, format="d", type="symbol")
    return alt.Legend(title=title, format="d", tickMinStep=1, type="gradient")


def saturation_bands(name: str, x_min: float, x_max: float, alpha: float = act.DEFAULT_LEAKY_ALPHA) -> list[tuple[float, float]]:
    """The x intervals inside [x_min, x_max] where |f'(x)| < 5% of max |f'| (empty if not SATURATING)."""
    if name not in act.SATURATING:
        return []
    # A fine grid finds every band (gelu's and swish's narrow ones round f' = 0 included);
    # bisection then puts each edge on the threshold crossing itself, not on a grid point.
    grid = np.linspace(x_min, x_max, 4001)
    mask = act.saturated_mask(name, grid, alpha, SATURATION_THRESHOLD)
    changes = np.flatnonzero(mask[1:] != mask[:-1])
    bounds = [x_min] + [_crossing(name, grid[i], grid[i + 1], alpha) for i in changes] + [x_max]
    inside = bool(mask[0])
    bands = []
    for start, end in itertools.pairwise(bounds):
        if inside:
            bands.append((float(start), float(end)))
        inside = not inside
    return bands


def _crossing(name: str, left: float, right: float, alpha: float) -> float:
    """The x between left and right where the saturated mask flips, by bisection."""
    def saturated(x):
        return bool(act.saturated_mask(name, np.float64(x), alpha, SATURATION_THRESHOLD))

    left_state = saturated(left)
    for _ in range(60):
        middle = 0.5 * (left + right)
        if saturated(middle) == left_state:
            left = middle
        else:
            right = middle
    return 0.5 * (left + right)


def x_axis(field: str, title: str, domain: tuple[float, float]) -> alt.X:
    """A quantitative x encoding with a fixed domain, so shaded bands end exactly at the frame."""
    return alt.X(f"{field}:Q", title=title, scale=alt.Scale(domain=list(domain), nice=False))


def _band_layer(bands: list[tuple[float, float]], texts: Mapping[str, str], domain: tuple[float, float]) -> alt.Chart:
    """Grey full-height rectangles over the saturation bands (texts: saturation, x, band_start, band_end)."""
    frame = pd.DataFrame(bands, columns=["start", "end"]).assign(note=texts["saturation"])
    return alt.Chart(inline(frame)).mark_rect(color=GREY, opacity=0.25).encode(
        x=x_axis("start", texts["x"], domain), x2="end:Q",
        tooltip=[alt.Tooltip("note:N", title=""), alt.Tooltip("start:Q", title=texts["band_start"]),
                 alt.Tooltip("end:Q", title=texts["band_end"])])



def activation_chart(name: str, alpha: float = act.DEFAULT_LEAKY_ALPHA, x_min: float = -5.0, x_max: float = 5.0,
                     labels: Mapping[str, str] | None = None) -> alt.LayerChart:
    """f and f' on one axis, saturation shaded, max f' marked (step: a "f' = 0 everywhere" note).

    Labels (see lab.text.en.CHARTS["activation"]): title ({name} is replaced), x, y, legend, value, derivative,
    max ({value}), zero, saturation, band_start, band_end.
    """
    texts = with_labels("activation", labels)
    if not (math.isfinite(x_min) and math.isfinite(x_max) and x_min < x_max):
        raise ValueError(f"need finite x_min < x_max; got {x_min!r}, {x_max!r}")
    x = np.linspace(x_min, x_max, NUM_POINTS)
    curves = pd.concat([
        pd.DataFrame({"x": x, "value": act.value(name, x, alpha), "curve": texts["value"]}),
        pd.DataFrame({"x": x, "value": act.derivative(name, x, alpha), "curve": texts["derivative"]}),
    ])
    lines = alt.Chart(inline(curves)).mark_line(strokeWidth=2.5).encode(
        x=x_axis("x", texts["x"], (x_min, x_max)), y=alt.Y("value:Q", title=texts["y"]),
        color=alt.Color("curve:N", title=texts["legend"], sort=[texts["value"], texts["derivative"]],
                        scale=alt.Scale(domain=[texts["value"], texts["derivative"]], range=[BLUE, VERMILLION])),
        strokeDash=alt.StrokeDash("curve:N", legend=None, sort=[texts["value"], texts["derivative"]]),
        tooltip=[alt.Tooltip("curve:N", title=texts["legend"]), alt.Tooltip("x:Q", format=".3f"),
                 alt.Tooltip("value:Q", format=".4f", title=texts["y"])],
    )
    bands = saturation_bands(name, x_min, x_max, alpha)
    layers = ([_band_layer(bands, texts, (x_min, x_max))] if bands else []) + [lines]
    layers.append(_derivative_note(name, x, alpha, texts).encode(x=x_axis("x", texts["x"], (x_min, x_max))))
    title = alt.Title(texts["title"].format(name=name), subtitle=texts["saturation"] if bands else "")
    return alt.layer(*layers, title=title)


def _derivative_note(name: str, x: np.ndarray, alpha: float, texts: Mapping[str, str]) -> alt.LayerChart:
    """A point and a label at max f' (the supremum), or the 'f' = 0 everywhere' note for step."""
    maximum = act.max_derivative(name, alpha)
    if maximum == 0.0:
        frame = pd.DataFrame({"x": [0.0], "value": [0.0], "text": [texts["zero"]]})
    else:
        # Place the point where the sampled |f'| peaks; its height is the exact supremum (selu's is
        # a limit at 0- that no sample reaches).
        where = float(x[np.argmax(np.abs(act.derivative(name, x, alpha)))])
        frame = pd.DataFrame({"x": [where], "value": [maximum], "text": [texts["max"].format(value=f"{maximum:.3g}")]})
    base = alt.Chart(inline(frame)).encode(y="value:Q", tooltip=[alt.Tooltip("text:N", title="")])
    point = base.mark_point(filled=True, size=70, color=VERMILLION)
    label = base.mark_text(align="left", dx=7, dy=-10, fontSize=12, fontWeight="bold").encode(text="text:N")
    return alt.layer(point, label)



def softmax_chart(logits: Sequence[float], temperature: float = 1.0, labels: Mapping[str, str] | None = None) -> alt.LayerChart:
    """Softmax probabilities per class as labelled bars. Labels: title ({temperature}), x, y, logit."""
    texts = with_labels("softmax", labels)
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 1 or logits.size == 0 or not np.all(np.isfinite(logits)):
        raise ValueError("logits must be a non-empty sequence of finite numbers")
    frame = pd.DataFrame({"class": np.arange(logits.size), "logit": logits,
                          "probability": act.softmax(logits, temperature)})
    base = alt.Chart(inline(frame)).encode(
        x=alt.X("class:O", title=texts["x"], axis=alt.Axis(labelAngle=0)),
        y=alt.Y("probability:Q", title=texts["y"], scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("class:O", title=texts["x"]), alt.Tooltip("logit:Q", title=texts["logit"], format=".3f"),
                 alt.Tooltip("probability:Q", title=texts["y"], format=".4f")],
    )
    bars = base.mark_bar(color=BLUE)
    values = base.mark_text(dy=-8, fontSize=12).encode(text=alt.Text("probability:Q", format=".2f"))
    title = texts["title"].format(temperature=temperature)
    return alt.layer(bars, values, title=title).properties(width=max(240, 50 * logits.size))



def preactivation_histogram_chart(histograms: pd.DataFrame, step: int, layer: int, activation: str,
                                  alpha: float = act.DEFAULT_LEAKY_ALPHA,
                                  labels: Mapping[str, str] | None = None) -> alt.LayerChart:
    """One (step, layer) pre-activation histogram, f'(z) on a right axis and the saturation shaded.

    For the output layer pass the output activation (sigmoid; softmax draws the histogram alone).
    Labels: title ({layer}, {step}, {activation}), x, y, derivative, count, bin_left, bin_right, edges, below,
    above ({edge}), saturation, band_start, band_end.
    """
    texts = with_labels("histogram", labels)
    rows = histograms.loc[(histograms["step"] == step) & (histograms["layer"] == layer), ["bin_left", "bin_right", "count"]]
    if rows.empty:
        raise ValueError(f"no histogram for step {step}, layer {layer}")
    rows = rows.sort_values("bin_left").reset_index(drop=True)
    low, high = float(rows["bin_left"].iloc[0]), float(rows["bin_right"].iloc[-1])
    total = rows["count"].sum()
    rows["share"] = rows["count"] / total if total > 0 else 0.0
    # lab.training.measures clips z into the range before counting, so the edge bins hold the tails.
    rows["note"] = ""
    rows.loc[rows.index[0], "note"] = texts["below"].format(edge=low)
    rows.loc[rows.index[-1], "note"] = texts["above"].format(edge=high)
    # rect with an explicit y2 = 0: a bar with x and x2 both set is read as a horizontal bar.
    bars = alt.Chart(inline(rows)).mark_rect(color=BLUE, opacity=0.8, stroke="white", strokeWidth=0.5).encode(
        x=x_axis("bin_left", texts["x"], (low, high)), x2="bin_right:Q", y=alt.Y("share:Q", title=texts["y"]), y2=alt.datum(0),
        tooltip=[alt.Tooltip("bin_left:Q", title=texts["bin_left"]), alt.Tooltip("bin_right:Q", title=texts["bin_right"]),
                 alt.Tooltip("count:Q", title=texts["count"]),
                 alt.Tooltip("share:Q", format=".3f", title=texts["y"]), alt.Tooltip("note:N", title="")],
    )
    title = alt.Title(texts["title"].format(layer=layer, step=step, activation=activation),
                      subtitle=texts["edges"].format(edge=high))
    if activation not in act.HIDDEN_ACTIVATIONS:  # softmax has no elementwise f'(z): histogram alone
        return alt.layer(bars, title=title)
    bands = saturation_bands(activation, low, high, alpha)
    # Bands share the bars' y scale (a rect without y then spans the full height); only f' gets
    # its own right-hand axis. Bands inside an independent-y layer lose their height and the x axis.
    histogram = alt.layer(_band_layer(bands, texts, (low, high)), bars) if bands else alt.layer(bars)
    derivative_line = _derivative_line(activation, (low, high), alpha, texts)
    return alt.layer(histogram, derivative_line, title=title).resolve_scale(y="independent")


def _derivative_line(name: str, domain: tuple[float, float], alpha: float, texts: Mapping[str, str]) -> alt.Chart:
    """f'(z) over the histogram's range as a line on its own right-hand y axis."""
    z = np.linspace(*domain, NUM_POINTS)
    frame = pd.DataFrame({"z": z, "derivative": act.derivative(name, z, alpha)})
    title = texts["derivative"]
    return alt.Chart(inline(frame)).mark_line(color=VERMILLION, strokeWidth=2.5).encode(
        x=x_axis("z", texts["x"], domain),
        y=alt.Y("derivative:Q", title=title, axis=alt.Axis(orient="right", titleColor=VERMILLION)),
        tooltip=[alt.Tooltip("z:Q", format=".3f"), alt.Tooltip("derivative:Q", format=".4f", title=title)],
    )


MAX_BOUNDARY_CELLS = 2500  # what the chart draws; the boundary frame keeps its full 100 x 100 grid


def boundary_chart(boundary: pd.DataFrame, points: pd.DataFrame | None = None,
                   labels: Mapping[str, str] | None = None) -> alt.LayerChart | None:
    """Grid cells coloured by predicted class, opacity by its probability, data points on top; None if empty.

    Labels: title, x1, x2, class, probability, label.
    """
    if boundary is None or boundary.empty:
        return None
    texts = with_labels("boundary", labels)
    # Four decimals are far finer than a grid cell and shorten the inline JSON of 10 000 cells.
    grid = boundary[["x1", "x2", "predicted_class", "probability"]].round({"x1": 4, "x2": 4, "probability": 3})
    grid = _thinned(grid, MAX_BOUNDARY_CELLS)
    classes = sorted(set(grid["predicted_class"]) | (set(points["label"]) if points is not None else set()))
    color_scale = alt.Scale(domain=[int(c) for c in classes], range=[OKABE_ITO[int(c) % len(OKABE_ITO)] for c in classes])
    half_x1, half_x2 = _half_cell(grid["x1"]), _half_cell(grid["x2"])
    # Cell edges are computed by Vega from the centres, so the data carries only x1 and x2.
    cells = alt.Chart(inline(grid)).transform_calculate(
        x1_low=f"datum.x1 - {half_x1}", x1_high=f"datum.x1 + {half_x1}",
        x2_low=f"datum.x2 - {half_x2}", x2_high=f"datum.x2 + {half_x2}",
    ).mark_rect().encode(
        x=alt.X("x1_low:Q", title=texts["x1"], scale=_edge_scale(grid["x1"], half_x1)), x2="x1_high:Q",
        y=alt.Y("x2_low:Q", title=texts["x2"], scale=_edge_scale(grid["x2"], half_x2)), y2="x2_high:Q",
        color=alt.Color("predicted_class:N", scale=color_scale, title=texts["class"]),
        opacity=alt.Opacity("probability:Q", title=texts["probability"],
                            scale=alt.Scale(domain=[1.0 / max(len(classes), 2), 1.0], range=[0.1, 0.85])),
        tooltip=["x1:Q", "x2:Q", alt.Tooltip("predicted_class:N", title=texts["class"]),
                 alt.Tooltip("probability:Q", title=texts["probability"], format=".3f")],
    )
    parts = [cells]
    if points is not None and not points.empty:
        dots = alt.Chart(inline(points[["x1", "x2", "label"]])).mark_circle(size=30, stroke="#222", strokeWidth=0.8, opacity=1)
        parts.append(dots.encode(x="x1:Q", y="x2:Q", color=alt.Color("label:N", scale=color_scale),
                                 tooltip=["x1:Q", "x2:Q", alt.Tooltip("label:N", title=texts["label"])]))
    return alt.layer(*parts, title=texts["title"]).properties(width=340, height=340)


def _thinned(grid: pd.DataFrame, max_cells: int) -> pd.DataFrame:
    """Every k-th grid line in each direction until at most max_cells cells remain.

    A 340-pixel chart cannot show 100 x 100 cells anyway, and Altair deep-copies inline data on
    every conversion: 10 000 cells cost about 0.5 s per rerun of the app, 2 500 a quarter of that.
    """
    step = 1
    x1_values, x2_values = np.unique(grid["x1"]), np.unique(grid["x2"])
    while (len(x1_values[::step]) * len(x2_values[::step])) > max_cells:
        step += 1
    if step == 1:
        return grid
    return grid[grid["x1"].isin(x1_values[::step]) & grid["x2"].isin(x2_values[::step])]


def _half_cell(centres: pd.Series) -> float:
    """Half the grid spacing of one coordinate (0.5 for a single column of cells)."""
    distinct = np.unique(centres.to_numpy(dtype=np.float64))
    return float(np.min(np.diff(distinct)) / 2) if distinct.size > 1 else 0.5


def _edge_scale(centres: pd.Series, half: float) -> alt.Scale:
    """A scale exactly spanning the outer cell edges, so the grid fills the plot without margins."""
    return alt.Scale(domain=[float(centres.min()) - half, float(centres.max()) + half], nice=False, zero=False)


NO_POSITIVE_FLOOR = 1e-12  # where exact zeros sit when nothing is positive


def zero_floor(values: Iterable[float]) -> float:
    """The log-axis stand-in for exact zeros: 10**(floor(log10(smallest positive)) - 1), 1e-12 if none."""
    array = np.asarray(list(values) if not isinstance(values, (np.ndarray, pd.Series)) else values, dtype=np.float64)
    positive = array[np.isfinite(array) & (array > 0)]
    if positive.size == 0:
        return NO_POSITIVE_FLOOR
    smallest = float(positive.min())
    exponent = math.floor(math.log10(smallest))
    if 10.0 ** (exponent + 1) <= smallest:  # log10 of an exact power of 10 can round just below it
        exponent += 1
    return float(f"1e{exponent - 1}")  # the literal, not 10.0 ** n, so 1e-8 is exactly 1e-08
