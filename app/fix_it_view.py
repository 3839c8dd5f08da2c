""""Fix it": from a finished run, re-run the same experiment with one remedy, then show the two overlaid.

The button's callback queues the remedied config like a shared link would (pending_config), so the
Experiment page puts it in the form and trains it in its usual way (queue place, progress, Stop,
the server's cache) and the URL then reproduces the remedied run. The pair is remembered as
{remedied run's label: (original run's label, remedy)} so the remedied run's view can overlay both
and say, with numbers from both runs, what the remedy changed.
"""
from __future__ import annotations

import streamlit as st

from app.comparison_view import overlay
from app.language import language, t
from app.shared import flash, run_label, session_runs
from app.url_state import check_ui_limits
from lab import ConfigError
from lab.contract.result import RunResult
from lab.readings.fix_it import applicable_remedies, comparison_sentences, remedied_config, suggested_remedy


def fixes() -> dict[str, tuple[str, str]]:
    """This session's remedied runs: {label: (label of the run it fixes, remedy)}."""
    return st.session_state.setdefault("fixes", {})


def request_fix(result: RunResult) -> None:
    """Callback of the Fix it button: queue the remedied config for this script run to train."""
    remedy = st.session_state[f"fix_remedy_{result.run_id}"]
    try:
        config = remedied_config(result.config, remedy)
        check_ui_limits(config)
    except (ConfigError, ValueError) as error:
        flash("error", t("config_error", message=error))
        return
    st.session_state["pending_config"] = config  # the Experiment page puts it in the form and trains it
    st.session_state["fix_origin"] = (run_label(result), remedy)


def take_origin() -> tuple[str, str] | None:
    """The (original label, remedy) queued with the pending config; taken once, so a stopped
    remedied training does not attach its origin to a later run."""
    return st.session_state.pop("fix_origin", None)


def record(label: str, origin: tuple[str, str] | None) -> None:
    """Remember that the run labelled label is origin's run with origin's remedy."""
    if origin is not None:
        fixes()[label] = origin


def section(result: RunResult) -> None:
    """The remedy picker (the one the run's numbers point to first) and the Fix it button."""
    if result.status == "stopped":  # not a finished run: its numbers stop mid-training
        return
    with st.container(border=True):
        st.markdown(f"**:material/healing: {t('fix_title')}**")
        choices = applicable_remedies(result.config)
        if not choices:
            st.caption(t("fix_none"))
            return
        suggested = suggested_remedy(result)
        ordered = ([suggested] if suggested else []) + [name for name in choices if name != suggested]
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        left.selectbox(t("fix_choose"), ordered, key=f"fix_remedy_{result.run_id}",
                       format_func=lambda name: t(f"remedy_{name}"), help=t("fix_help"))
        right.button(t("fix_button"), key=f"fix_button_{result.run_id}", on_click=request_fix, args=(result,),
                     type="primary", width="stretch")
        st.caption(t("fix_suggested", remedy=t(f"remedy_{suggested}")) if suggested else t("fix_no_suggestion"))


def before_after(label: str, result: RunResult) -> None:
    """For a remedied run: what the remedy changed, in sentences and overlaid charts (the signal at initialisation first)."""
    origin = fixes().get(label)
    if origin is None:
        return
    before_label, remedy = origin
    before = session_runs().get(before_label)
    with st.container(border=True):
        st.markdown(f"#### {t('fix_heading', remedy=t(f'remedy_{remedy}'))}")
        if before is None:
            st.caption(t("fix_before_gone"))
            return
        st.markdown("\n".join(f"- {sentence}" for sentence in comparison_sentences(before, result, remedy, language())))
        overlay({before_label: before, label: result}, key="fix", measure="preact_grad_rms", which="start")
