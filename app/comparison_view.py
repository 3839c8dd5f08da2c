"""Runs overlaid on shared axes: the Compare page's view, also drawn by "Fix it" for a run and its remedy."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.language import language, t
from app.url_state import differences
from lab.charts import run_charts as charts
from lab.charts import time_charts
from lab.contract.result import RunResult
from lab.readings.report import header_line
from lab.text.i18n import chart_labels

MEASURES = ("grad_norm", "preact_grad_rms", "bias_grad_norm", "update_ratio")


def overlay(chosen: dict[str, RunResult], key: str, measure: str = "grad_norm", which: str = "end") -> None:
    """Overlaid profiles and curves, and what differs between the configs.

    key prefixes the widgets' keys, so two overlays can live on different pages; measure and which
    are the radios' first choices.
    """
    measure = st.radio(t("measure"), MEASURES, index=MEASURES.index(measure), horizontal=True, key=f"{key}_measure",
                       format_func=lambda m: t(f"measure_{m}"))
    which = st.radio(t("compare_which"), ["start", "end"], index=["start", "end"].index(which), horizontal=True,
                     key=f"{key}_which", format_func=lambda value: t("which_start" if value == "start" else "which_end"))
    layers, history = charts.compare_frames(chosen)
    lang = language()
    recurrent = {label for label, result in chosen.items() if result.recurrent}
    if recurrent:
        timesteps = time_charts.compare_timesteps({label: chosen[label] for label in chosen if label in recurrent})
        st.altair_chart(time_charts.comparison_time_chart(timesteps, which=which, labels=chart_labels("time_compare", lang)),
                        width="stretch")
        st.caption(t("time_compare_note"))
    if recurrent and len(recurrent) < len(chosen):
        # An MLP's layer l and an rnn's layer l are different things: one clear message, no chart to misread.
        mlp = next(label for label in chosen if label not in recurrent)
        st.warning(t("time_compare_mixed", mlp=mlp, rnn=next(label for label in chosen if label in recurrent)))
    else:
        labels = chart_labels("profile", lang, measure)
        if recurrent:  # every run is recurrent: its layers are recurrent layers (the last the Dense head)
            labels.update({"hidden": t("time_recurrent"), "x": t("time_layer_axis")})
        profile = charts.comparison_profile_chart(layers, measure, which=which, labels=labels)
        st.altair_chart(profile, width="stretch")
        st.caption(t("zero_note"))
    if not history.empty:
        st.altair_chart(charts.comparison_history_chart(history, labels=chart_labels("history", lang)), width="stretch")
    st.markdown(f"**{t('compare_differences')}**")
    callback_runs = {label: result for label, result in chosen.items() if result.config is None}
    if callback_runs:  # GradientFlow runs have no config to set beside the others: their model, as recorded
        st.caption(t("compare_callback_runs"))
        for label, result in callback_runs.items():
            st.markdown(f"- **{label}**: `{header_line(result)}`")
    rows = differences({label: result.config for label, result in chosen.items() if result.config is not None})
    if rows:
        st.table(pd.DataFrame(rows).set_index("field"))  # a few rows: a static table draws at once, also in a screenshot
    else:
        st.write(t("compare_same"))
