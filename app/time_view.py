"""The Experiment page's "Gradient through time" section for recurrent runs (issue #14): the sentences computed from
the timesteps frame, the gradient reaching each time step against the lag (at the first, a chosen and the last record)
with theory's line for the simple cell, and the time x training-step heatmap.

Numbers and sentences come from lab.readings.time_reading, charts from lab.charts.time_charts; specs are cached in the
server's chart budget by run and view settings (a run's frames never change).
"""
from __future__ import annotations

import streamlit as st

from app.caches import cached_spec
from app.language import language, t
from lab.charts import time_charts
from lab.contract.result import RunResult
from lab.readings import time_reading
from lab.text.i18n import chart_labels, fact_sentences


def draw(container, spec) -> None:
    """Draw a cached spec across the container's width."""
    container.vega_lite_chart(spec, width="stretch")


def layer_choice(result: RunResult) -> int:
    """The recurrent layer chosen with the layer select (the last by default; no select for one layer)."""
    layers = sorted(int(layer) for layer in result.timesteps["layer"].unique())
    return (st.selectbox(t("time_layer"), layers, index=len(layers) - 1, key=f"time_layer_{result.run_id}")
            if len(layers) > 1 else layers[0])


@st.fragment
def profile_at_step(result: RunResult, layer: int, lang: str) -> None:
    """The step slider and the profile at the first, chosen and last record: the slider redraws this chart only."""
    timesteps = result.timesteps
    steps = time_reading.recorded_steps(timesteps)
    step = (st.select_slider(t("time_step"), steps, value=steps[-1], key=f"time_step_{result.run_id}")
            if len(steps) > 1 else steps[0])
    shown = tuple(sorted({steps[0], step, steps[-1]}))

    def profile():
        theory = time_reading.theory_line(timesteps, result.summary, step, layer)
        return time_charts.time_profile_chart(timesteps, layer, shown, theory=theory, labels=chart_labels("time_profile", lang))

    draw(st, cached_spec(("time_profile", result.run_id, result.status, layer, lang, step, shown), profile))


def section(result: RunResult) -> None:
    """The section: sentences, the layer choice, the profile with theory and its step, the heatmap and their notes."""
    timesteps = result.timesteps
    if result.config.model.kind != "rnn" or timesteps.empty:
        return
    lang = language()
    st.markdown(f"**{t('time_heading')}**")
    st.caption(t("time_intro"))
    sentences = fact_sentences(time_reading.time_facts(timesteps, result.summary), lang)
    if sentences:
        st.markdown("\n".join(f"- {sentence}" for sentence in sentences))
    layer = layer_choice(result)
    left, right = st.columns(2)
    with left:
        profile_at_step(result, layer, lang)
    draw(right, cached_spec(("time_heatmap", result.run_id, result.status, layer, lang), lambda: time_charts.time_heatmap_chart(
        timesteps, layer, labels=chart_labels("time_heatmap", lang))))
    st.caption(t("time_theory_note") if result.config.model.cell == "simple" else t("time_gated_note"))
