"""Compare page: runs of this session and opened run folders, overlaid on shared axes."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.comparison_view import overlay
from app.language import t
from app.shared import flash, remember, session_runs, show_flash
from lab.runs.archive import load_zip
from lab.runs.store import RunFolderError, is_complete, load

LOCAL_RUNS = Path("runs")


def open_upload() -> None:
    """Callback of the zip uploader: a saved run folder joins the session's runs."""
    upload = st.session_state.get("compare_upload")
    if upload is None:
        return
    try:
        result = load_zip(upload.getvalue())
    except (RunFolderError, ValueError, OSError) as error:
        flash("error", t("run_error", message=error))
        return
    flash("success", t("compare_opened", name=remember(result)))


def open_local() -> None:
    """Callback of the local runs/ picker (shown only when the app runs where runs/ exists)."""
    folder = LOCAL_RUNS / st.session_state["compare_local"]
    try:
        flash("success", t("compare_opened", name=remember(load(folder))))
    except (RunFolderError, ValueError, OSError) as error:
        flash("error", t("run_error", message=error))


def sources_ui() -> None:
    """Upload a zipped run folder, or pick one from the local runs/ folder."""
    st.file_uploader(t("compare_upload"), type=["zip"], key="compare_upload", on_change=open_upload)
    if LOCAL_RUNS.is_dir():
        folders = sorted(path.name for path in LOCAL_RUNS.iterdir() if path.is_dir() and is_complete(path))
        if folders:
            left, right = st.columns([3, 1])
            left.selectbox(t("compare_local"), folders, key="compare_local")
            right.button(t("compare_open"), on_click=open_local, width="stretch")


def main() -> None:
    """The compare page."""
    st.title(t("tab_compare"))
    show_flash()
    sources_ui()
    runs = session_runs()
    default = list(runs)[-2:]
    labels = st.multiselect(t("compare_pick"), list(runs), default=default, key="compare_pick")
    if len(labels) < 2:
        st.info(t("compare_need_two"))
        return
    overlay({label: runs[label] for label in labels}, key="compare")


main()
