"""The results of one run: the verdict, then one view of its charts at a time, and the downloads.

A visitor looks at one view at a time, chosen with a segmented control (VIEW_KEY): the gradient through time
(recurrent runs), the per-layer gradients, units and curves, the boundary and a layer's histogram, and signal
propagation (MLP runs). Only the chosen view is built and sent: st.tabs or st.expander bodies run on every rerun,
and the browser redrawing seven charts made a cached rerun take 1.6 s (docs/performance.md). The views run in a
fragment, so choosing one reruns the views, not the page; a step slider or a layer select reruns the one chart it
drives (a nested fragment), so the chart beside it is not sent again.
"""
from __future__ import annotations

import functools
import tempfile

import streamlit as st

from app import fix_it_view, propagation_view, time_view
from app.caches import cached_spec
from app.comparison_view import MEASURES
from app.language import language, t
from lab import config_to_yaml
from lab.charts import run_charts as charts
from lab.contract.result import RunResult
from lab.contract.run_data import prepare_data
from lab.readings import report
from lab.readings.theory_overlay import theory_profile
from lab.runs import store
from lab.runs.archive import folder_to_zip
from lab.text.i18n import chart_labels


def fragment(function):
    """st.fragment in a script run; outside one (bench/memory.py calls show() in bare mode to measure the specs a
    visitor's page caches) the plain function, since st.fragment skips its body there."""
    in_script = st.fragment(function)

    @functools.wraps(function)
    def run(*args, **kwargs):
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        return (function if get_script_run_ctx(suppress_warning=True) is None else in_script)(*args, **kwargs)

    return run


def cached_chart(key: tuple, build) -> dict | None:
    """A chart's Vega-Lite spec, built and validated once per (run id, view settings), in the server's budget.

    A run's frames never change, so neither do its charts: rebuilding and re-validating every chart on
    every rerun made a cached run take ~0.8 s to show. key must name the run and every setting the chart
    depends on. The spec is drawn with st.vega_lite_chart (Altair's conversion is already done).
    """
    return cached_spec(("run", *key), build)


def draw(container, spec) -> None:
    """Draw a cached spec across the container's width."""
    container.vega_lite_chart(spec, width="stretch")


def csv_maker(result: RunResult, name: str):
    """A function making one frame's CSV: the download button calls it on click, so no visitor's
    session holds every frame as CSV bytes for a download it may never ask for (the largest run's
    histograms are 22 MB as CSV)."""
    return lambda: getattr(result, name).to_csv(index=False).encode("utf-8")


def folder_zip_maker(result: RunResult):
    """A function zipping the run folder in memory, called on click (see csv_maker)."""
    def make() -> bytes:
        with tempfile.TemporaryDirectory(prefix="lab-download-") as temporary:
            return folder_to_zip(store.save(result, temporary))

    return make


def header(result: RunResult) -> None:
    """Status, the config in one line, and the verdict computed from the numbers."""
    summary, config = result.summary, result.config
    st.subheader(t("run_heading", name=config.name, activation=config.model.activation, depth=config.model.depth,
                   width=config.model.width))
    st.caption(t("run_caption", run_id=result.run_id, dataset=config.data.dataset, initializer=config.model.kernel_initializer,
                 optimizer=config.training.optimizer, learning_rate=config.training.learning_rate,
                 epochs=config.training.epochs, seed=config.seed))
    if config.model.kind == "rnn":
        model = config.model
        radius = "" if model.spectral_radius is None else f" · ρ = {model.spectral_radius:g}"
        st.caption(t("time_run_caption", cell=model.cell, length=config.data.sequence_length,
                     recurrent_initializer=model.recurrent_initializer, radius=radius))
    if summary["status"] == "diverged":
        st.error(t("diverged", message=summary["message"]))
    elif summary["status"] == "stopped":
        st.warning(summary["message"])
    sentences = report.verdict(result.layers, config.model.depth, language())
    if sentences:
        st.markdown(f"**{t('verdict')}**\n\n" + "\n".join(f"- {sentence}" for sentence in sentences))


def recorded_steps(result: RunResult) -> list[int]:
    """The training steps the run recorded, in order."""
    return sorted(int(step) for step in result.layers["step"].unique())


def step_choice(result: RunResult) -> int:
    """The recorded step chosen with the step slider (the last by default; no slider for a single record)."""
    steps = recorded_steps(result)
    return (st.select_slider(t("step_slider"), steps, value=steps[-1], key=f"view_step_{result.run_id}")
            if len(steps) > 1 else steps[0])


def profile_section(result: RunResult) -> None:
    """Measure choice, then the per-layer profile with its step slider and the heatmap."""
    measure = st.radio(t("measure"), MEASURES, horizontal=True, key="view_measure", format_func=lambda m: t(f"measure_{m}"))
    recurrent = result.config.model.kind == "rnn"
    left, right = st.columns(2)
    with left:
        profile_at_step(result, measure)
    lang = language()
    draw(right, cached_chart(("heatmap", result.run_id, result.status, measure, lang), lambda: charts.heatmap_chart(
        result.layers, measure, labels=layer_labels("heatmap", lang, measure, recurrent))))
    st.caption(t("zero_note") + (" " + t("time_layers_note") if recurrent else ""))


@fragment
def profile_at_step(result: RunResult, measure: str) -> None:
    """The step slider and the profile at the first, chosen and last step: the slider redraws this chart only."""
    layers, lang = result.layers, language()
    recurrent = result.config.model.kind == "rnn"
    steps = recorded_steps(result)
    shown = sorted({steps[0], step_choice(result), steps[-1]})

    def profile():
        # The MLP's mean-field profile says nothing about a recurrent layer (its theory is the time view's).
        predicted = None if recurrent else theory_profile(layers, result.config, measure)
        return charts.gradient_profile_chart(layers, measure, steps=shown, labels=layer_labels("profile", lang, measure,
                                                                                             recurrent), theory=predicted)

    draw(st, cached_chart(("profile", result.run_id, result.status, measure, lang, tuple(shown)), profile))


def layer_labels(kind: str, lang: str, measure: str, recurrent: bool) -> dict:
    """A layer chart's labels; for a recurrent run its layers are named recurrent layers (the last is the Dense head)."""
    labels = chart_labels(kind, lang, measure)
    if recurrent:
        labels.update({"hidden": t("time_recurrent"), ("x" if kind == "profile" else "y"): t("time_layer_axis")})
    return labels


def units_and_curves(result: RunResult) -> None:
    """Dead and saturated units over training, and the loss/accuracy curves."""
    lang = language()
    key = (result.run_id, result.status, lang)
    left, right = st.columns(2)
    draw(left, cached_chart(("dead", *key), lambda: charts.dead_fraction_chart(result.layers, labels=chart_labels("dead", lang))))
    saturation = cached_chart(("saturation", *key),
                              lambda: charts.saturation_chart(result.layers, labels=chart_labels("saturation", lang)))
    if saturation is not None:
        draw(right, saturation)
    draw(st, cached_chart(("history", *key), lambda: charts.history_chart(result.history, labels=chart_labels("history", lang))))


def boundary_and_histogram(result: RunResult) -> None:
    """Decision boundary (2-D data) and a layer's pre-activations over the activation's derivative."""
    lang = language()
    left, right = st.columns(2)
    if not result.boundary.empty:
        def boundary():
            points = training_points(result)
            return charts.boundary_chart(result.boundary, points=points, labels=chart_labels("boundary", lang))

        draw(left, cached_chart(("boundary", result.run_id, result.status, lang), boundary))
    if not result.histograms.empty:
        with right:
            histogram(result)
    if result.boundary.empty and result.histograms.empty:
        st.caption(t("view_inside_empty"))


@fragment
def histogram(result: RunResult) -> None:
    """The step slider, the layer select and that layer's histogram: they redraw this chart only."""
    lang = language()
    step = step_choice(result)
    depth = result.config.model.depth
    layer = st.selectbox(t("histogram_layer"), list(range(1, depth + 1)), key=f"view_layer_{result.run_id}")
    chart_key = ("histogram", result.run_id, result.status, step, layer, lang)
    draw(st, cached_chart(chart_key, lambda: charts.preactivation_histogram_chart(
        result.histograms, step, layer, result.config.model.activation, result.config.model.leaky_alpha,
        labels=chart_labels("histogram", lang),
    )))


def training_points(result: RunResult):
    """Up to 400 training points (standardised x1, x2 and label) to draw over the boundary.

    Only the boundary chart's build calls it, and that chart is cached, so it needs no cache of its own.
    """
    import pandas as pd

    dataset, _ = prepare_data(result.config)
    count = min(400, len(dataset.x_train))
    return pd.DataFrame({"x1": dataset.x_train[:count, 0], "x2": dataset.x_train[:count, 1], "label": dataset.y_train[:count]})


# The optional frames (probe.propagation; timesteps for model.kind rnn), offered only when the run wrote them,
# with their text keys.
PROPAGATION_DOWNLOADS = (("propagation", "download_propagation"), ("spectrum", "download_spectrum"),
                         ("timesteps", "time_download"))


def propagation_downloads(result: RunResult) -> list[tuple[str, str]]:
    """(frame name, text key) of the propagation frames this run has rows in (none without probe.propagation)."""
    return [(name, key) for name, key in PROPAGATION_DOWNLOADS if not getattr(result, name).empty]


def downloads(result: RunResult) -> None:
    """The resolved config, the frames as CSV, and the whole run folder (which Compare can open)."""
    st.markdown(f"**{t('downloads')}**")
    columns = st.columns(6)
    columns[0].download_button(t("download_config"), config_to_yaml(result.config), file_name="config.yaml", mime="text/yaml")
    for column, name in zip(columns[1:5], ("layers", "history", "histograms", "boundary")):
        column.download_button(f"{name}.csv", csv_maker(result, name), file_name=f"{name}.csv", mime="text/csv")
    if result.status in ("ok", "diverged"):
        columns[5].download_button(t("download_folder"), folder_zip_maker(result),
                                   file_name=f"{result.config.name}-{result.run_id}.zip", mime="application/zip")
    extra = propagation_downloads(result)
    if extra:  # a second row: six columns are as many as the page's width labels legibly
        for column, (name, key) in zip(st.columns(6), extra):
            column.download_button(t(key), csv_maker(result, name), file_name=f"{name}.csv", mime="text/csv",
                                   key=f"download_{name}_{result.run_id}")
    # Issue #15: the run as a standalone Keras script, written on click (as the CSVs); a run the export refuses says why.
    from lab.exports.keras_script import export_refusal, script_text

    refusal = export_refusal(result.config, result.summary)
    if refusal is None:
        st.download_button(t("download_keras_script"), lambda: script_text(result.config, result.run_id).encode("utf-8"),
                           file_name=f"{result.config.name}-{result.run_id}.py", mime="text/x-python",
                           key=f"download_keras_script_{result.run_id}", help=t("download_keras_script_help"))
    else:
        st.caption(t("keras_script_refused", reason=refusal))


# The views, by name: what builds each and its label's text key. The one chosen is the only one built.
VIEW_KEY = "view_section"
VIEWS = {"time": (time_view.section, "view_time"), "gradients": (profile_section, "view_gradients"),
         "training": (units_and_curves, "view_training"), "inside": (boundary_and_histogram, "view_inside"),
         "propagation": (propagation_view.section, "view_propagation")}


def view_names(result: RunResult) -> list[str]:
    """The views this run has, the first its default: recurrent runs start with the gradient through time and have no
    phase diagram (mean field's is the MLP's; probe.propagation is refused for rnn)."""
    if result.config.model.kind == "rnn" and not result.timesteps.empty:
        return ["time", "gradients", "training", "inside"]
    return ["gradients", "training", "inside", "propagation"]


@fragment
def views(result: RunResult) -> None:
    """The view control and the chosen view: choosing another reruns this fragment, not the page."""
    names = view_names(result)
    if st.session_state.get(VIEW_KEY) not in names:  # a view another run had (or none yet): this run's first
        st.session_state[VIEW_KEY] = names[0]
    chosen = st.segmented_control(t("view_choose"), names, required=True, key=VIEW_KEY,
                                  format_func=lambda name: t(VIEWS[name][1]))
    build, _ = VIEWS[chosen or names[0]]
    build(result)


def show(label: str, result: RunResult) -> None:
    """One run (label: its name among the session's runs): header, Fix it, the chosen view, downloads."""
    header(result)
    fix_it_view.before_after(label, result)
    fix_it_view.section(result)
    views(result)
    downloads(result)
