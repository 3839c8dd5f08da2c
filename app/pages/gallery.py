"""Activation gallery: every activation with its derivative, and softmax on a vector of logits.

Pure numpy: it renders while TensorFlow is still loading in the background.
"""
from __future__ import annotations

import streamlit as st

from app.caches import cached_spec
from app.shared import language, t
from lab.charts.gallery_charts import activation_chart, softmax_chart
from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.text.i18n import chart_labels, description


def gallery_chart(name: str, alpha: float, low: float, high: float, language_code: str) -> dict:
    """An activation's chart spec, built once per setting for every visitor, in the server's chart budget.

    Each spec is about 0.25 MB in memory and every slider position makes nine, so an entry count
    bounded nothing a hosted server could rely on.
    """
    return cached_spec(("gallery", name, alpha, low, high, language_code), lambda: activation_chart(
        name, alpha=alpha, x_min=low, x_max=high, labels=chart_labels("activation", language_code)))


def controls() -> tuple[tuple[float, float], float]:
    """The x range and leaky ReLU's alpha."""
    left, right = st.columns(2)
    x_range = left.slider(t("x_range"), -20.0, 20.0, (-5.0, 5.0), step=0.5, key="gallery_range")
    alpha = right.slider(t("leaky_alpha"), 0.0, 0.5, 0.01, step=0.01, key="gallery_alpha")
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
    text = left.text_input(t("softmax_logits"), "2.0, 1.0, 0.1, -1.0", key="gallery_logits")
    temperature = right.slider(t("softmax_temperature"), 0.1, 5.0, 1.0, step=0.1, key="gallery_temperature")
    try:
        logits = [float(part) for part in text.split(",") if part.strip()]
        if not logits or len(logits) > 20 or any(abs(value) > 1e6 for value in logits):
            raise ValueError
    except ValueError:
        st.warning(t("softmax_bad_logits"))
        return
    st.altair_chart(softmax_chart(logits, temperature=temperature, labels=chart_labels("softmax", language())), width="stretch")
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
