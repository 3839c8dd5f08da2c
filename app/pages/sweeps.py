"""Sweeps page: the depth, born-dead and phase-diagram views of a sweep, theory beside; open one or run a small one.

A picked preset shows its shipped full-size table at once (experiments/sweeps/tables/, docs/sweeps.md "Shipped
tables"), until the visitor runs it, opens a folder or uploads a sweep: that view then replaces it.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app.language import language, t
from app.shared import flash, show_flash, training_queue
from lab import ConfigError
from lab.charts.phase_sweep_charts import (
    cell_settings,
    default_column,
    other_axes,
    phase_sweep_chart,
    phase_views,
    value_columns,
)
from lab.charts.sweep_charts import born_dead_chart, depth_view_chart, sweep_summary_table
from lab.charts.time_sweep_charts import time_lag_chart, time_radius_chart, time_sweep_views
from lab.contract.config_io import parse_yaml
from lab.contract.presets import shipped_sweep_table, sweep_presets
from lab.sweeps.runner import plan_sweep, run_sweep
from lab.sweeps.table import read_sweep_csv
from lab.sweeps.theory_views import chance_accuracy, theory_frames, time_theory
from lab.text.i18n import chart_labels

LOCAL_FOLDERS = (Path("sweeps"), Path("runs"))  # where a local user's `--out` folders usually are
MAX_APP_SWEEP_RUNS = 300  # a bigger sweep runs with --quick here, or with python -m lab sweep


def local_sweeps() -> dict[str, Path]:
    """Sweep folders (holding sweep.csv and sweep.yaml) under ./sweeps and ./runs, when the app runs locally."""
    found = {}
    for root in LOCAL_FOLDERS:
        if root.is_dir():
            for table in sorted(root.glob("*/sweep.csv")):
                if (table.parent / "sweep.yaml").is_file():
                    found[str(table.parent)] = table.parent
    return found


def load_views(folder: Path, name: str | None = None, quick: bool = False) -> dict:
    """sweep.csv with the theory frames its sweep.yaml implies, and mean field's per-cell settings for the phase view.

    name: the folder's name unless given (None for an upload, named in the visitor's language when shown).
    """
    _, _, planned = plan_sweep(folder / "sweep.yaml")
    frame = read_sweep_csv(folder / "sweep.csv")
    depth_theory, dead_theory = theory_frames(frame, planned)
    if depth_theory is not None and depth_theory.empty:  # no cell theory covers (gaussian σw...): no columns to read
        depth_theory = None
    # Only a sweep over σw has a phase view: the others skip reading the planned configs' activation and σb².
    settings = cell_settings(planned) if phase_views(frame) else None
    # A recurrent sweep's views (accuracy against T, the time ratio against ρ): mean field's line and chance.
    time = (time_theory(planned), chance_accuracy(planned)) if time_sweep_views(frame) else (None, None)
    return {"name": name, "quick": quick, "shipped": False, "frame": frame, "depth": depth_theory, "dead": dead_theory,
            "settings": settings, "time": time[0], "chance": time[1]}


@st.cache_resource(show_spinner=False, max_entries=16)
def shipped_views(name: str, stamp: tuple) -> dict:
    """A preset's shipped full-size table as views, made once per server (stamp: the files' sizes and times, so a
    regenerated table is read again). Expanding the full grid's configs takes a while (1,600 for born_dead): once.

    Shared by every session as it is: the views only read the frames (pandas' copy-on-write guards them).
    """
    folder = shipped_sweep_table(name)
    return {**load_views(folder, name=name), "shipped": True}


def shipped_view(name: str) -> dict | None:
    """The picked preset's shipped table as views, or None when none is shipped."""
    folder = shipped_sweep_table(name)
    if folder is None:
        return None
    stamp = tuple((path.stat().st_size, path.stat().st_mtime_ns) for path in (folder / "sweep.csv", folder / "sweep.yaml"))
    return shipped_views(name, stamp)


def forget_view() -> None:
    """Callback: a newly picked preset shows its shipped table, not the view opened or run before."""
    st.session_state.pop("sweep_view", None)


def require_inline_base(data: bytes) -> None:
    """ConfigError unless an uploaded sweep.yaml carries its base inline, as every sweep.yaml the lab writes does.

    A base given as a path would make the server read one of its own files for a stranger.
    """
    raw = parse_yaml(data.decode("utf-8"), what="sweep.yaml")
    if isinstance(raw, dict) and "base" in raw and not isinstance(raw["base"], dict):
        raise ConfigError("sweep.yaml: base must be written inline (a mapping), as in the sweep.yaml a sweep writes; "
                          "an uploaded sweep cannot name files on this server")


def open_uploads() -> None:
    """Callback: sweep.csv and sweep.yaml uploaded together."""
    files = {upload.name: upload for upload in st.session_state.get("sweep_upload") or []}
    if not {"sweep.csv", "sweep.yaml"} <= set(files):
        return
    with tempfile.TemporaryDirectory(prefix="lab-sweep-") as temporary:
        for name in ("sweep.csv", "sweep.yaml"):
            (Path(temporary) / name).write_bytes(files[name].getvalue())
        try:
            require_inline_base(files["sweep.yaml"].getvalue())
            st.session_state["sweep_view"] = load_views(Path(temporary), name=None)
        except (ConfigError, ValueError, KeyError, OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
            flash("error", t("run_error", message=error))


def run_small(preset: Path, progress_area) -> None:
    """Run a preset sweep here (quick when it is over the app's cap), with a progress bar."""
    _, _, planned = plan_sweep(preset)
    quick = len(planned) > MAX_APP_SWEEP_RUNS
    bar = progress_area.progress(0.0, text=f"{preset.stem}: 0 / …")

    def on_progress(progress):
        bar.progress(progress.done / max(progress.total, 1), text=f"{preset.stem}: {progress.done} / {progress.total}")

    def on_wait(position: int) -> None:
        progress_area.info(t("queue_wait", position=position))

    with training_queue().slot(on_wait=on_wait), tempfile.TemporaryDirectory(prefix="lab-sweep-") as temporary:
        run_sweep(preset, temporary, quick=quick, on_progress=on_progress)
        st.session_state["sweep_view"] = load_views(Path(temporary), name=preset.stem, quick=quick)


def sources_ui() -> str:
    """Run a preset sweep, open a local sweep folder, or upload sweep.csv with sweep.yaml; returns the picked preset."""
    presets = sweep_presets()
    left, right = st.columns([3, 1])
    name = left.selectbox(t("sweep_preset"), list(presets), key="sweep_preset", on_change=forget_view)
    progress_area = st.empty()
    if right.button(t("sweep_run"), width="stretch"):
        run_small(presets[name], progress_area)
    st.caption(t("sweep_cap", runs=MAX_APP_SWEEP_RUNS))
    folders = local_sweeps()
    if folders:
        left, right = st.columns([3, 1])
        chosen = left.selectbox(t("sweep_folder"), list(folders), key="sweep_folder")
        if right.button(t("compare_open"), width="stretch"):
            try:
                st.session_state["sweep_view"] = load_views(folders[chosen], name=folders[chosen].name)
            except (ConfigError, ValueError, OSError) as error:
                st.error(t("run_error", message=error))
    st.file_uploader(t("sweep_upload"), type=["csv", "yaml"], accept_multiple_files=True,
                     key="sweep_upload", on_change=open_uploads)
    return name


def view_title(view: dict) -> str:
    """The sweep's name as shown: the folder or preset, marked when it ran in quick mode; an upload says so."""
    if view["name"] is None:
        return t("sweep_uploaded")
    return t("sweep_quick", name=view["name"]) if view["quick"] else view["name"]


def views(view: dict) -> None:
    """The depth views (signal and weight gradient), the born-dead view and the per-cell table, in the visitor's language."""
    frame, lang = view["frame"], language()
    st.subheader(view_title(view))
    if view.get("shipped"):
        st.caption(t("sweep_shipped", runs=len(frame)))
    if time_sweep_views(frame):  # a recurrent sweep: one layer, so the depth views do not apply
        time_views(view)
    elif frame["model.depth"].nunique() > 1:
        left, right = st.columns(2)
        for column, measure in ((left, "log10_signal_ratio_start"), (right, "log10_grad_ratio_start")):
            chart = depth_view_chart(frame, measure, theory=view["depth"], labels=chart_labels("depth", lang, measure))
            column.altair_chart(chart, width="stretch")
        st.altair_chart(born_dead_chart(frame, theory=view["dead"], labels=chart_labels("born_dead", lang)), width="stretch")
    else:
        st.info(t("sweep_one_depth"))
    # Grid keys other than the model's keep their dotted config names, as in sweep.csv.
    st.dataframe(sweep_summary_table(frame).rename(columns=chart_labels("sweep_table", lang)), width="stretch")
    if phase_views(frame):
        phase_view(view)


def time_views(view: dict) -> None:
    """A recurrent sweep: validation accuracy against the time lag T, and the time ratio against ρ with mean field."""
    frame, lang = view["frame"], language()
    for name in time_sweep_views(frame):
        if name == "time_lag":
            chart = time_lag_chart(frame, view.get("chance"), labels=chart_labels("time_lag", lang))
        else:
            chart = time_radius_chart(frame, view.get("time"), labels=chart_labels("time_radius", lang))
        st.altair_chart(chart, width="stretch")
    st.caption(t("sweep_time_caption"))


def phase_view(view: dict) -> None:
    """A sweep.csv column over σw² and the depth or σb², with the other grid axes held at chosen values, theory over it."""
    frame, lang = view["frame"], language()
    st.subheader(t("sweep_phase_heading"))
    axes = phase_views(frame)
    names = {"model.depth": t("sweep_phase_depth"), "model.sigma_b": t("sweep_phase_sigma_b")}
    y_axis = axes[0] if len(axes) == 1 else st.radio(t("sweep_phase_axis"), axes, format_func=names.get,
                                                      horizontal=True, key="sweep_phase_axis")
    columns = value_columns(frame)
    if not columns:
        st.info(t("sweep_phase_none"))
        return
    column = st.selectbox(t("sweep_phase_column"), columns, index=columns.index(default_column(columns)),
                          key="sweep_phase_column")
    others = other_axes(frame, y_axis)
    fixed = {}
    for place, (axis, values) in zip(st.columns(max(len(others), 1)), others.items()):
        fixed[axis] = place.selectbox(t("sweep_phase_fixed", axis=axis), values, format_func=str, key=f"sweep_phase_{axis}")
    chart = phase_sweep_chart(frame, y_axis, column, fixed, view.get("settings"), labels=chart_labels("phase_sweep", lang))
    st.altair_chart(chart, width="stretch")
    st.caption(t("sweep_phase_caption"))


def main() -> None:
    """The sweeps page."""
    st.title(t("tab_sweeps"))
    show_flash()
    preset = sources_ui()
    view = st.session_state.get("sweep_view")
    if view is None:  # nothing run, opened or uploaded: the picked preset's shipped full-size table, if any
        view = shipped_view(preset)
    if view is not None:
        views(view)


main()
