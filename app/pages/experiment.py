"""Experiment page: the sidebar form trains on Train; the results of the current run are drawn from frames."""
from __future__ import annotations

import streamlit as st

from app import experiment_form as form
from app import fix_it_view, results_view
from app.language import language, t
from app.shared import flash, obtain_result, recover_stopped_training, remember, session_runs, show_flash
from app.url_state import check_ui_limits, config_to_query, query_to_config
from lab import ConfigError, load_config


def config_from_url() -> None:
    """First render of a session: a URL's parameters fill the form and run (usually from the cache)."""
    if st.session_state.get("url_read"):
        return
    st.session_state["url_read"] = True
    try:
        config = query_to_config(dict(st.query_params))
    except ConfigError as error:
        flash("error", t("query_error", message=error))
        return
    if config is not None:
        st.session_state["pending_config"] = config  # main puts it in the form and runs it


def validated(raw: dict):
    """The form's config, or None with the core's message shown."""
    try:
        config = load_config(raw)
        check_ui_limits(config)
        return config
    except ConfigError as error:
        st.error(t("config_error", message=error))
        return None


def share(config) -> None:
    """Bind the URL to the experiment, so the link reproduces it."""
    st.query_params.clear()
    st.query_params.update({**config_to_query(config), "lang": language()})


def main() -> None:
    """Sidebar form, training when asked, then the current run's results."""
    recover_stopped_training()
    config_from_url()
    form.ensure_widget_defaults()
    if st.session_state.get("pending_config") is not None:  # queued by a link, Fix it or the tour: the form shows it
        form.apply_to_widgets(st.session_state["pending_config"])
    with st.sidebar:
        form.sources_ui()
        dataset, classes = form.task_ui()
        raw = form.form_ui(dataset, classes)
    st.title(t("app_title"))
    show_flash()
    progress_area = st.empty()
    origin = None
    if raw is not None:
        config = validated(raw)
    else:
        config, origin = st.session_state.pop("pending_config", None), fix_it_view.take_origin()
    if config is not None:
        share(config)
        result, from_cache = obtain_result(config, progress_area)
        fix_it_view.record(remember(result), origin)
        if from_cache:
            st.toast(t("from_cache"))
    label = st.session_state.get("current_run")
    current = session_runs().get(label)
    if current is None:
        st.info(t("no_run"))
        return
    results_view.show(label, current)


main()
