"""Runs overlaid on shared axes: the Compare page's view, also drawn by "Fix it" for a run and its remedy."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app.shared import language, t
from app.url_state import differences
from lab.charts import run_charts as charts
from lab.contract.result import RunResult
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
    profile = charts.comparison_profile_chart(layers, measure, which=which, labels=chart_labels("profile", lang, measure))
    st.altair_chart(profile, width="stretch")
    st.caption(t("zero_note"))
    if not history.empty:
        st.altair_chart(charts.comparison_history_chart(history, labels=chart_labels("history", lang)), width="stretch")
    st.markdown(f"**{t('compare_differences')}**")
    rows = differences({label: result.config for label, result in chosen.items()})
    if rows:
        st.table(pd.DataFrame(rows).set_index("field"))  # a few rows: a static table draws at once, also in a screenshot
    else:
        st.write(t("compare_same"))
