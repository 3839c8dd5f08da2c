"""The Experiment page's "Signal propagation" section (issue #13): where the run sits on the phase diagram, and its
q, c and Jacobian spectra when the run recorded them (probe.propagation).

Built only while a visitor has chosen this view (app.results_view's view control; an expander's body would run on every
rerun): the phase diagram's mean-field grid takes seconds the first time per activation. Specs are cached in the
server's chart budget (app.caches.cached_spec).
"""
from __future__ import annotations

import streamlit as st

from app.caches import cached_spec
from app.language import language, t
from lab.charts import propagation_charts
from lab.contract.result import RunResult
from lab.readings import phase
from lab.text.i18n import chart_labels, fact_sentences


def draw(container, spec) -> None:
    """Draw a cached spec across the container's width."""
    container.vega_lite_chart(spec, width="stretch")


def phase_diagram(result: RunResult, lang: str) -> dict | None:
    """The phase diagram of the run's activation with the run as a dot (no dot where theory has no σw², σb²)."""
    model = result.config.model
    sigma_w2, sigma_b2, _ = phase.effective_sigma_w_squared(result.config)
    point = None if sigma_w2 is None or sigma_b2 is None else {"sigma_w2": sigma_w2, "sigma_b2": sigma_b2}

    def build():
        # Called only when the spec is not cached; the grid itself takes 1 - 3.4 s the first time per activation
        # (phase.phase_grid), and st.spinner shows nothing for a block under 0.5 s (the grid already cached).
        with st.spinner(t("propagation_phase_spinner", activation=model.activation)):
            cells, boundary, _ = phase.phase_grid(model.activation, float(model.leaky_alpha))
        return propagation_charts.phase_diagram_chart(cells, boundary, model.activation, point,
                                                      labels=chart_labels("phase", lang))

    alpha = float(model.leaky_alpha) if model.activation == "leaky_relu" else None  # the others ignore α
    return cached_spec(("phase", model.activation, alpha, sigma_w2, sigma_b2, lang), build)


def measured_charts(result: RunResult, lang: str) -> None:
    """q and c per layer with theory dashed, the singular values per layer, and one layer's histogram."""
    key = (result.run_id, result.status, lang)
    qc = cached_spec(("propagation", *key), lambda: propagation_charts.propagation_chart(
        result.propagation, phase.theory_rows(result.propagation, result.config), labels=chart_labels("propagation", lang)))
    draw(st, qc)
    left, right = st.columns(2)
    draw(left, cached_spec(("jacobian", *key), lambda: propagation_charts.jacobian_chart(
        result.spectrum, labels=chart_labels("jacobian", lang))))
    with right:
        layer_spectrum(result, lang)


@st.fragment
def layer_spectrum(result: RunResult, lang: str) -> None:
    """The layer select and that layer's singular values: choosing a layer redraws this chart only."""
    layers = sorted(int(layer) for layer in result.spectrum["layer"].unique()) or [1]
    layer = st.selectbox(t("propagation_layer"), layers, index=len(layers) - 1, key=f"propagation_layer_{result.run_id}")
    key = ("spectrum", result.run_id, result.status, lang, layer)
    draw(st, cached_spec(key, lambda: propagation_charts.spectrum_histogram_chart(
        result.spectrum, layer, labels=chart_labels("spectrum", lang))))


def section(result: RunResult) -> None:
    """The phase sentences and diagram, and the measured charts (or how to get them)."""
    lang = language()
    sentences = fact_sentences(phase.where_you_are(result.config), lang)
    st.markdown("\n".join(f"- {sentence}" for sentence in sentences))
    draw(st, phase_diagram(result, lang))
    if result.propagation.empty:
        st.caption(t("propagation_off"))
        return
    measured_charts(result, lang)
