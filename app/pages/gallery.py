"""Activation gallery: every activation with its derivative, and softmax on a vector of logits.

At its opening settings every chart comes from the shipped specs (app.gallery_defaults), so a fresh server's
first page imports neither Altair nor TensorFlow; other settings are built, once per server, by lab.charts.
"""
from __future__ import annotations

import streamlit as st

from app.gallery_defaults import (
    DEFAULT_ALPHA,
    DEFAULT_LOGITS,
    DEFAULT_TEMPERATURE,
    DEFAULT_X_RANGE,
    SOFTMAX,
    parse_logits,
    shipped_spec,
)
from app.language import language, t
from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.text.i18n import chart_labels, description


def gallery_chart(name: str, alpha: float, low: float, high: float, language_code: str) -> dict:
    """An activation's chart spec: shipped at the opening settings, else built once per setting for every visitor,
    in the server's chart budget.

    Each spec is about 0.25 MB in memory and every slider position makes twelve, so an entry count
    bounded nothing a hosted server could rely on.
    """
    if (low, high) == DEFAULT_X_RANGE and alpha == DEFAULT_ALPHA:
        shipped = shipped_spec(name, language_code)
        if shipped is not None:
            return shipped
    from app.caches import cached_spec
    from lab.charts.gallery_charts import activation_chart

    return cached_spec(("gallery", name, alpha, low, high, language_code), lambda: activation_chart(
        name, alpha=alpha, x_min=low, x_max=high, labels=chart_labels("activation", language_code)))


def softmax_spec(logits: list[float], temperature: float, language_code: str) -> dict:
    """The softmax chart's spec: shipped at the opening logits and temperature, else built (it is small)."""
    if logits == parse_logits(DEFAULT_LOGITS) and temperature == DEFAULT_TEMPERATURE:
        shipped = shipped_spec(SOFTMAX, language_code)
        if shipped is not None:
            return shipped
    from lab.charts.gallery_charts import softmax_chart

    return softmax_chart(logits, temperature=temperature, labels=chart_labels("softmax", language_code)).to_dict()


def controls() -> tuple[tuple[float, float], float]:
    """The x range and leaky ReLU's alpha."""
    left, right = st.columns(2)
    x_range = left.slider(t("x_range"), -20.0, 20.0, DEFAULT_X_RANGE, step=0.5, key="gallery_range")
    alpha = right.slider(t("leaky_alpha"), 0.0, 0.5, DEFAULT_ALPHA, step=0.01, key="gallery_alpha")
    return x_range, alpha


def activation_grid(x_range: tuple[float, float], alpha: float) -> None:
    """Two activations per row, each with what it means for gradients."""
    low, high = x_range if x_range[0] < x_range[1] else (x_range[0] - 1.0, x_range[0] + 1.0)
    for start in range(0, len(HIDDEN_ACTIVATIONS), 2):
        for column, name in zip(st.columns(2), HIDDEN_ACTIVATIONS[start:start + 2]):
            with column:
                st.markdown(f"#### {name}")
                st.vega_lite_chart(gallery_chart(name, alpha, low, high, language()), width="stretch")
                st.caption(description(name, language()))


def softmax_section() -> None:
    """Softmax turns logits into probabilities; the temperature sharpens or flattens them."""
    st.markdown(f"#### {t('softmax_title')}")
    left, right = st.columns(2)
    text = left.text_input(t("softmax_logits"), DEFAULT_LOGITS, key="gallery_logits")
    temperature = right.slider(t("softmax_temperature"), 0.1, 5.0, DEFAULT_TEMPERATURE, step=0.1, key="gallery_temperature")
    try:
        logits = parse_logits(text)
    except ValueError:
        st.warning(t("softmax_bad_logits"))
        return
    st.vega_lite_chart(softmax_spec(logits, temperature, language()), width="stretch")
    st.caption(description("softmax", language()))


def main() -> None:
    """The gallery page."""
    st.title(t("app_title"))
    st.write(t("app_subtitle"))
    st.info(t("gallery_intro"))
    x_range, alpha = controls()
    activation_grid(x_range, alpha)
    softmax_section()


main()
