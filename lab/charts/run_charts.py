"""Altair charts of a run's per-layer measurements and history, and the charts a run folder keeps.

Tidy frame in, chart out; inputs are never modified. Charts of functions (f and f', softmax,
pre-activations over f', the decision boundary) live in lab.charts.gallery_charts and are re-exported
here. Every builder takes `labels` to replace its English texts (the English catalogue's, lab.text.en.CHARTS)
with the visitor's language; missing keys keep the defaults. No streamlit, no TensorFlow: Altair, pandas and numpy only.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.gallery_charts import (  # noqa: F401  (the gallery is re-exported: one import for the app)
    BLUE,
    GREY,
    OKABE_ITO,
    ORANGE,
    VIRIDIS,
    activation_chart,
    boundary_chart,
    inline,
    integer_axis,
    integer_legend,
    message_chart,
    preactivation_histogram_chart,
    saturation_bands,
    softmax_chart,
    with_labels,
    zero_floor,
)
from lab.contract.result import frame
from lab.readings.theory_overlay import theory_profile

# The per-layer measures a log axis can show (their names in chart texts: lab.text's MEASURES).
MEASURES = ("grad_norm", "preact_grad_rms", "bias_grad_norm", "update_ratio", "weight_norm")


def _check_measure(measure: str) -> None:
    """Raise ValueError unless measure is a per-layer measure that a log axis can show."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}; got {measure!r}")


# Room above the profile chart's title: Streamlit fits these charts to the container's width, and with
# the log axis' padding the title's upper half was drawn outside the canvas (seen in Chromium
# screenshots of every profile and comparison chart); Vega's default padding is 5 on every side.
LAYERED_PADDING = {"top": 14, "left": 5, "right": 5, "bottom": 5}


def gradient_profile_chart(layers: pd.DataFrame, measure: str = "grad_norm", steps: Sequence[int] | None = None,
                           color_by: str = "step", labels: Mapping[str, str] | None = None,
                           theory: pd.DataFrame | None = None) -> alt.LayerChart:
    """A per-layer measure on a log y axis, one line per step (or run); exact zeros drawn at a labelled floor.

    theory: optional (layer, plotted) rows, drawn dashed: what theory predicts at initialisation
    (see lab.readings.theory_overlay). Labels: title, x, y ({measure} is replaced), step, run, epoch, layer,
    layer_kind, hidden, output, zero, empty, theory.
    """
    _check_measure(measure)
    if color_by not in ("step", "run") or (color_by == "run" and "run" not in layers):
        raise ValueError("color_by must be 'step', or 'run' for a frame with a run column (see compare_frames)")
    texts = with_labels("profile", labels, measure)
    data = _profile_data(layers, measure, steps, texts)
    if data.empty:
        return message_chart(texts["empty"])
    has_run = "run" in data
    tooltip = ([alt.Tooltip("run:N", title=texts["run"])] if has_run else []) + [
        alt.Tooltip("step:Q", title=texts["step"]), alt.Tooltip("epoch:Q", title=texts["epoch"]),
        alt.Tooltip("layer:Q", title=texts["layer"]), alt.Tooltip("kind:N", title=texts["layer_kind"]),
        alt.Tooltip(f"{measure}:Q", title=texts["y"], format=".3e")]
    base = alt.Chart(inline(data)).encode(
        x=alt.X("layer:Q", title=texts["x"], axis=integer_axis(data["layer"]), scale=alt.Scale(padding=16)),
        y=alt.Y("plotted:Q", title=texts["y"], scale=alt.Scale(type="log", padding=16),
                    axis=alt.Axis(format="~g")),
        detail=(["run:N"] if has_run else []) + ["step:O"], tooltip=tooltip, **_profile_colors(data, color_by, texts),
    )
    # The line runs through the floor too, so a collapse to 0 reads as a drop off the chart.
    kind_scale = alt.Scale(domain=[texts["hidden"], texts["output"]], range=["circle", "square"])
    points = base.mark_point(filled=True, size=70, opacity=1, stroke="white", strokeWidth=0.8).encode(
        shape=alt.Shape("kind:N", scale=kind_scale, title=texts["layer_kind"])).transform_filter(alt.datum[measure] > 0)
    parts = [base.mark_line(strokeWidth=2), points]
    if (data[measure] == 0).any():
        parts += _zero_marks(base, data, measure, texts["zero"])
    if theory is not None and not theory.empty:
        predicted = theory.assign(curve=texts["theory"])
        parts.append(alt.Chart(inline(predicted)).mark_line(strokeDash=[6, 4], color=GREY, strokeWidth=2).encode(
            x="layer:Q", y=alt.Y("plotted:Q", scale=alt.Scale(type="log", padding=16)),
            tooltip=[alt.Tooltip("curve:N", title=""), alt.Tooltip("layer:Q", title=texts["layer"]),
                     alt.Tooltip("plotted:Q", title=texts["theory"], format=".3e")]))
    return alt.layer(*parts, title=texts["title"]).properties(width=420, height=300, padding=LAYERED_PADDING)


def _profile_data(layers: pd.DataFrame, measure: str, steps: Sequence[int] | None, texts: Mapping[str, str]) -> pd.DataFrame:
    """The rows to plot: finite values of the chosen steps, zeros moved to the floor in `plotted`."""
    columns = [column for column in ("run", "step", "epoch", "layer", "layer_kind", measure) if column in layers]
    if steps is not None:
        missing = sorted(set(steps) - set(layers["step"]))
        if missing:
            raise ValueError(f"steps {missing} were not recorded; recorded: {sorted(set(layers['step']))}")
        layers = layers[layers["step"].isin(list(steps))]
    # NaN means "not measured" (update_ratio at step 0) and inf cannot sit on an axis: both dropped.
    data = layers.loc[np.isfinite(layers[measure].to_numpy(dtype=np.float64)), columns]
    if steps is None:
        data = _first_and_last(data)
    kind = data["layer_kind"].map({"hidden": texts["hidden"], "output": texts["output"]})
    floor = zero_floor(data[measure])
    # layer_kind is sent as `kind`, in the visitor's language: no mark reads it (a thinner spec).
    return data.drop(columns="layer_kind").assign(kind=kind, plotted=data[measure].where(data[measure] > 0, floor))


def _first_and_last(data: pd.DataFrame) -> pd.DataFrame:
    """The rows of the first and last measured step (of each run, when there is a run column)."""
    if data.empty:
        return data
    steps = data.groupby("run")["step"] if "run" in data else data["step"]
    first, last = (steps.transform("min"), steps.transform("max")) if "run" in data else (steps.min(), steps.max())
    return data[(data["step"] == first) | (data["step"] == last)]


def _profile_colors(data: pd.DataFrame, color_by: str, texts: Mapping[str, str]) -> dict:
    """Colour by step (sequential viridis) or by run (Okabe-Ito, with dashes telling steps apart)."""
    if color_by == "step":
        return {"color": alt.Color("step:Q", scale=VIRIDIS, legend=integer_legend(data["step"], texts["step"]))}
    # Run labels name the experiment, its activation, depth and id (or a remedy): room for them whole.
    encodings = {"color": alt.Color("run:N", scale=alt.Scale(range=list(OKABE_ITO)), title=texts["run"],
                                    legend=alt.Legend(labelLimit=320))}
    if (data.groupby("run")["step"].nunique() > 1).any():
        encodings["strokeDash"] = alt.StrokeDash("step:O", title=texts["step"])
    return encodings


def _zero_marks(base: alt.Chart, data: pd.DataFrame, measure: str, zero_text: str) -> list[alt.Chart]:
    """Triangles for the exact zeros, and a dashed rule labelled '= 0' at the floor they sit on."""
    floor = float(data.loc[data[measure] == 0, "plotted"].iloc[0])
    zeros = base.mark_point(shape="triangle-down", filled=True, size=150, opacity=1, stroke="#222", strokeWidth=1)
    zeros = zeros.transform_filter(alt.datum[measure] == 0)
    note = pd.DataFrame({"layer": [data["layer"].min()], "plotted": [floor], "text": [zero_text]})
    rule = alt.Chart(inline(note)).mark_rule(color=GREY, strokeDash=[4, 4]).encode(y="plotted:Q")
    text = alt.Chart(inline(note)).mark_text(align="left", dx=4, dy=-7, color="#444", fontWeight="bold").encode(
        x="layer:Q", y="plotted:Q", text="text:N")
    return [zeros, rule, text]


def heatmap_chart(layers: pd.DataFrame, measure: str = "grad_norm", labels: Mapping[str, str] | None = None) -> alt.LayerChart:
    """Layer (layer 1 at the bottom) x step cells coloured by log10(measure); exact zeros in grey.

    Labels: title, x, y, color, value ({measure} is replaced), epoch, layer_kind, hidden, output, zero, empty.
    """
    _check_measure(measure)
    texts = with_labels("heatmap", labels, measure)
    data = layers.loc[np.isfinite(layers[measure].to_numpy(dtype=np.float64)), ["step", "epoch", "layer", "layer_kind", measure]]
    if data.empty:
        return message_chart(texts["empty"])
    output_layers = data.loc[data["layer_kind"] == "output", "layer"].unique()
    has_zeros = bool((data[measure] == 0).any())
    with np.errstate(divide="ignore"):  # log10(0) = -inf is never plotted: zeros get their own layer
        # Only the columns the marks read (a thinner spec): layer_kind is sent as `kind`, in the visitor's language,
        # and the zero cells' legend text only when there are zero cells.
        data = data.assign(log10_value=np.log10(data[measure]).where(data[measure] > 0),
                           kind=data["layer_kind"].map({"hidden": texts["hidden"], "output": texts["output"]}),
                           **({"zero": texts["zero"]} if has_zeros else {})).drop(columns="layer_kind")
    label_expr = (f"datum.value == {output_layers[0]} ? datum.label + ' ({texts['output']})' : datum.label"
                  if len(output_layers) == 1 else "datum.label")
    base = alt.Chart(inline(data)).encode(
        x=alt.X("step:O", title=texts["x"], axis=alt.Axis(labelAngle=0, labelOverlap="greedy")),
        y=alt.Y("layer:O", title=texts["y"], sort="descending", axis=alt.Axis(labelExpr=label_expr)),
        tooltip=[alt.Tooltip("step:Q", title=texts["x"]), alt.Tooltip("epoch:Q", title=texts["epoch"]),
                 alt.Tooltip("layer:Q", title=texts["y"]), alt.Tooltip("kind:N", title=texts["layer_kind"]),
                 alt.Tooltip(f"{measure}:Q", title=texts["value"], format=".3e")],
    )
    cells = base.mark_rect().encode(color=alt.Color("log10_value:Q", scale=alt.Scale(scheme="viridis"), title=texts["color"]))
    parts = [cells.transform_filter(alt.datum[measure] > 0)]
    if has_zeros:
        zero_scale = alt.Scale(domain=[texts["zero"]], range=[GREY])
        parts.append(base.mark_rect().encode(color=alt.Color("zero:N", scale=zero_scale, title=None))
                     .transform_filter(alt.datum[measure] == 0))
    return alt.layer(*parts, title=texts["title"]).resolve_scale(color="independent").properties(width=420, height=300)


def dead_fraction_chart(layers: pd.DataFrame, labels: Mapping[str, str] | None = None) -> alt.Chart:
    """Each hidden layer's dead fraction over training. Labels: title, x, y, layer, epoch, empty."""
    texts = with_labels("dead", labels)
    chart = _fraction_chart(layers, "dead_fraction", texts)
    return message_chart(texts["empty"]) if chart is None else chart


def saturation_chart(layers: pd.DataFrame, labels: Mapping[str, str] | None = None) -> alt.Chart | None:
    """Each hidden layer's saturated fraction over training; None without a saturating regime.

    Labels: title, x, y, layer, epoch.
    """
    return _fraction_chart(layers, "saturated_fraction", with_labels("saturation", labels))


def _fraction_chart(layers: pd.DataFrame, column: str, texts: Mapping[str, str]) -> alt.Chart | None:
    """One line per hidden layer of a 0..1 fraction over steps, coloured on a quantitative scale; None if no values."""
    data = layers.loc[(layers["layer_kind"] == "hidden") & layers[column].notna(), ["step", "epoch", "layer", column]]
    if data.empty:
        return None
    # Quantitative colour: a nominal palette repeats after 10 layers; detail splits the lines.
    return alt.Chart(inline(data), title=texts["title"]).mark_line(point=True).encode(
        x=alt.X("step:Q", title=texts["x"]),
        y=alt.Y(f"{column}:Q", title=texts["y"], scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("layer:Q", scale=VIRIDIS, legend=integer_legend(data["layer"], texts["layer"])), detail="layer:O",
        tooltip=[alt.Tooltip("step:Q", title=texts["x"]), alt.Tooltip("epoch:Q", title=texts["epoch"]),
                 alt.Tooltip("layer:Q", title=texts["layer"]), alt.Tooltip(f"{column}:Q", title=texts["y"], format=".3f")],
    ).properties(width=420, height=260)


def history_chart(history: pd.DataFrame, labels: Mapping[str, str] | None = None) -> alt.HConcatChart | alt.Chart:
    """Loss and accuracy per epoch, train and validation, side by side.

    Labels: title, loss_title, accuracy_title, x, loss, accuracy, split, train, validation, empty.
    """
    return _history_panels(history, with_labels("history", labels), by_run=False)


def comparison_history_chart(history_with_run: pd.DataFrame,
                             labels: Mapping[str, str] | None = None) -> alt.HConcatChart | alt.Chart:
    """Several runs' loss and accuracy per epoch: colour = run (Okabe-Ito), dashes = train/validation.

    Labels: those of history_chart, plus run.
    """
    if "run" not in history_with_run:
        raise ValueError("the history frame needs a run column (see compare_frames)")
    return _history_panels(history_with_run, with_labels("history", labels), by_run=True)


def _history_panels(history: pd.DataFrame, texts: Mapping[str, str], by_run: bool) -> alt.HConcatChart | alt.Chart:
    """The loss panel and the accuracy panel of a long (metric x split) history."""
    long = history.melt(id_vars=["epoch"] + (["run"] if by_run else []), var_name="column", value_name="value",
                        value_vars=["loss", "accuracy", "val_loss", "val_accuracy"])
    long = long[np.isfinite(long["value"].to_numpy(dtype=np.float64))]  # a diverged run's inf loss has no place
    if long.empty:
        return message_chart(texts["empty"])
    long["metric"] = long["column"].str.removeprefix("val_")
    long["split"] = np.where(long["column"].str.startswith("val_"), texts["validation"], texts["train"])
    splits = [texts["train"], texts["validation"]]
    # Dashes tell the splits apart, so neither chart relies on colour alone. They sit on a line-only
    # layer: Vega-Lite draws a line-with-points legend with transparent strokes, hiding the dashes.
    ink = {"symbolStrokeColor": "#333"} if by_run else {}  # by run, the split legend has no colour of its own
    dash = alt.StrokeDash("split:N", scale=alt.Scale(domain=splits),
                          legend=alt.Legend(title=texts["split"], symbolType="stroke", symbolStrokeWidth=2, **ink))
    color = (alt.Color("run:N", title=texts["run"], scale=alt.Scale(range=list(OKABE_ITO))) if by_run else
             alt.Color("split:N", title=texts["split"], scale=alt.Scale(domain=splits, range=[BLUE, ORANGE])))
    tooltip = [alt.Tooltip("run:N", title=texts["run"])] if by_run else []
    tooltip += [alt.Tooltip("epoch:Q", title=texts["x"]), alt.Tooltip("split:N", title=texts["split"])]
    panels = []
    for metric, axis_title, panel_title in (("loss", texts["loss"], texts["loss_title"]),
                                            ("accuracy", texts["accuracy"], texts["accuracy_title"])):
        scale = alt.Scale(domain=[0, 1]) if metric == "accuracy" else alt.Scale(zero=False)
        base = alt.Chart(inline(long[long["metric"] == metric].drop(columns="column"))).encode(
            x=alt.X("epoch:Q", title=texts["x"], axis=integer_axis(long["epoch"])),
            y=alt.Y("value:Q", title=axis_title, scale=scale), color=color,
            tooltip=tooltip + [alt.Tooltip("value:Q", title=axis_title, format=".4f")],
        )
        lines = base.mark_line().encode(strokeDash=dash, detail=["run:N", "split:N"] if by_run else ["split:N"])
        points = base.mark_point(filled=True, opacity=1).encode(shape=alt.Shape("split:N", legend=None))
        panels.append(alt.layer(lines, points, title=panel_title).properties(width=300, height=220))
    return alt.hconcat(*panels, title=texts["title"])


def compare_frames(results: Mapping[str, object]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs' layers and history frames stacked, each row tagged with a `run` column = its key."""
    layers = [result.layers.assign(run=str(name)) for name, result in results.items()]
    history = [result.history.assign(run=str(name)) for name, result in results.items()]
    return _stack(layers, "layers"), _stack(history, "history")


def _stack(frames: list[pd.DataFrame], name: str) -> pd.DataFrame:
    """Concatenate frames; with none (or only empty ones) an empty frame of the contract plus `run`."""
    non_empty = [part for part in frames if not part.empty]
    if not non_empty:
        return frame(name).assign(run=pd.Series(dtype=object))
    return pd.concat(non_empty, ignore_index=True)


def comparison_profile_chart(layers_with_run: pd.DataFrame, measure: str = "grad_norm", which: str = "end",
                             labels: Mapping[str, str] | None = None) -> alt.LayerChart:
    """Each run's profile at its first ("start") or last ("end") measured step, coloured by run.

    Labels: those of gradient_profile_chart; the title is title_start or title_end, by which.
    """
    _check_measure(measure)
    if which not in ("start", "end") or "run" not in layers_with_run:
        raise ValueError("which must be 'start' or 'end', and the frame needs a run column (see compare_frames)")
    finite = layers_with_run[np.isfinite(layers_with_run[measure].to_numpy(dtype=np.float64))]
    chosen_step = finite.groupby("run")["step"].transform("min" if which == "start" else "max")
    chosen = finite[finite["step"] == chosen_step]
    texts = with_labels("profile", labels, measure)
    texts["title"] = texts["title_start"] if which == "start" else texts["title_end"]
    steps = sorted(set(chosen["step"])) or None
    return gradient_profile_chart(chosen, measure, steps=steps, color_by="run", labels=texts)


def main_charts(result) -> dict[str, alt.TopLevelMixin]:
    """The charts a run folder keeps, by file name stem (boundary and saturation only when present)."""
    charts = {
        # Theory's profile dashed beside the measured one, as the app draws it (None where theory says nothing).
        "profile_grad_norm": gradient_profile_chart(result.layers, "grad_norm",
                                                    theory=theory_profile(result.layers, result.config, "grad_norm")),
        "profile_preact_grad_rms": gradient_profile_chart(
            result.layers, "preact_grad_rms", theory=theory_profile(result.layers, result.config, "preact_grad_rms")),
        "heatmap_grad_norm": heatmap_chart(result.layers, "grad_norm"),
        "dead_fraction": dead_fraction_chart(result.layers),
        "saturation": saturation_chart(result.layers),
        "history": history_chart(result.history),
        "boundary": boundary_chart(result.boundary),
    }
    if not result.propagation.empty:  # probe.propagation (issue #13): q and c with theory, the Jacobians' spectra
        from lab.charts import propagation_charts
        from lab.readings.phase import theory_rows

        charts["propagation"] = propagation_charts.propagation_chart(result.propagation,
                                                                     theory_rows(result.propagation, result.config))
        charts["jacobian"] = propagation_charts.jacobian_chart(result.spectrum)
    if not result.timesteps.empty:  # model.kind rnn (issue #14): the gradient through time, theory dashed, and the heatmap
        from lab.charts import time_charts
        from lab.readings import time_reading

        first = int(result.timesteps["step"].min())
        layer = time_reading.last_layer(result.timesteps)
        charts["time_profile"] = time_charts.time_profile_chart(
            result.timesteps, layer, theory=time_reading.theory_line(result.timesteps, result.summary, first, layer))
        charts["time_heatmap"] = time_charts.time_heatmap_chart(result.timesteps, layer)
    return {name: chart for name, chart in charts.items() if chart is not None}


def chart_files(result) -> dict[str, bytes]:
    """charts.html (every main chart, data embedded) and one <name>.png per chart, as bytes."""
    import vl_convert  # lazy: only writing PNGs needs it, the app and the tests of builders do not

    charts = main_charts(result)
    files = {f"{name}.png": vl_convert.vegalite_to_png(chart.to_json(), scale=1) for name, chart in charts.items()}
    # Concatenated views share colour, shape and dash scales unless told otherwise, and these differ.
    # Padding belongs to a top-level chart only (Vega-Lite refuses it inside a concatenation).
    page = alt.vconcat(*(_without_padding(chart) for chart in charts.values()), spacing=40).resolve_scale(
        color="independent", shape="independent", strokeDash="independent", opacity="independent")
    buffer = io.StringIO()
    page.save(buffer, format="html")
    files["charts.html"] = buffer.getvalue().encode("utf-8")
    return files


def _without_padding(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """A shallow copy of chart with no padding of its own."""
    copy = chart.copy(deep=False)
    copy.padding = alt.Undefined
    return copy
