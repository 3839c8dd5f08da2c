"""What the app's pages share: the runs of this session, the cache and the training queue (and, from app.language,
the visitor's language)."""
from __future__ import annotations

import gc
import hashlib
import json
import os
import threading
import time

import streamlit as st

from app.byte_cache import trim_oldest
from app.caches import MB, cached_result, megabytes_from_environment, store_result
from app.language import language, t
from app.memory_size import result_bytes
from app.run_queue import TrainingQueue
from lab import config_to_yaml, run
from lab.contract.result import RunResult
from lab.text.i18n import chart_labels
from lab.training.run import partial_result
from lab.training.runtime import import_tensorflow

PRELOAD_DELAY_SECONDS = 2.0
# What one visitor's session keeps, by count and by bytes: a run is 1 to 45 MB of frames. Runs that
# are also in the server's cache are the same objects (no copy), so this bounds what a session alone
# can keep alive: stopped and opened runs, and runs the server's cache has evicted.
MAX_SESSION_RUNS = 12
DEFAULT_SESSION_MB = 128


@st.cache_resource
def training_queue() -> TrainingQueue:
    """The server's single training queue (shared by every session, by design)."""
    return TrainingQueue(slots=1)


@st.cache_resource
def preload_tensorflow() -> threading.Thread | None:
    """Start importing TensorFlow in the background once per server, so the first Train waits less.

    LAB_PRELOAD_TENSORFLOW=0 turns it off (a server that should stay small until someone trains).
    """
    if os.environ.get("LAB_PRELOAD_TENSORFLOW", "1") == "0":
        return None

    def delayed_import() -> None:
        time.sleep(PRELOAD_DELAY_SECONDS)  # let the first page reach the browser undisturbed
        import_tensorflow()
        # Streamlit runs a full garbage collection after every script run (runner.postScriptGC) and Keras'
        # clear_session another: over TensorFlow's ~360,000 objects each took 0.3 - 0.5 s of every rerun (profiled,
        # #16 goal 3). The objects alive now (modules, never garbage) are left out of every later collection.
        gc.freeze()

    thread = threading.Thread(target=delayed_import, name="tensorflow-preload", daemon=True)
    thread.start()
    return thread


def run_label(result: RunResult) -> str:
    """A short, unique label for a run in menus and legends."""
    config = result.config
    if config is None:  # a Keras callback run (lab.keras.GradientFlow): named by its model
        label = f"{result.summary.get('name', 'keras')} · keras · depth {result.depth} · {result.run_id[:6]}"
    else:
        label = f"{config.name} · {config.model.activation} · depth {config.model.depth} · {result.run_id[:6]}"
    return label if result.status == "ok" else f"{label} ({result.status})"


def session_runs() -> dict[str, RunResult]:
    """This session's runs, oldest first (finished, stopped, diverged and opened ones)."""
    return st.session_state.setdefault("runs", {})


def remember(result: RunResult, current: bool = True) -> str:
    """Keep a run in the session (the newest, within MAX_SESSION_RUNS and LAB_SESSION_MB), by default as the current one."""
    runs = session_runs()
    label = run_label(result)
    runs.pop(label, None)
    runs[label] = result
    max_bytes = megabytes_from_environment("LAB_SESSION_MB", DEFAULT_SESSION_MB) * MB
    trim_oldest(runs, MAX_SESSION_RUNS, max_bytes, result_bytes)
    if current and result.config is not None:  # a callback run has no config to show or retrain: Compare only
        st.session_state["current_run"] = label
    return label


def flash(kind: str, text: str) -> None:
    """Queue a message for the next render (callbacks run before the page draws)."""
    st.session_state.setdefault("flash", []).append((kind, text))


def show_flash() -> None:
    """Show and clear queued messages."""
    for kind, text in st.session_state.pop("flash", []):
        getattr(st, kind)(text)


def recover_stopped_training() -> None:
    """A training interrupted by Stop (or any click) left its records here: keep them as a stopped run."""
    partial = st.session_state.pop("partial", None)
    if partial and partial.get("layers") is not None and not partial["layers"].empty:
        message = t("stopped_message", step=partial["step"])
        remember(partial_result(partial["config"], partial["layers"], partial["history"], partial["step"], message,
                                partial.get("timesteps")))


def obtain_result(config, progress_area, stop_key: str = "stop_training") -> tuple[RunResult, bool]:
    """(result, from_cache): the cached result of this config, or a live training shown in progress_area.

    stop_key: the Stop button's key, distinct for each training one script run may do.
    """
    config_yaml = config_to_yaml(config)
    cached = cached_result(config_yaml)
    if cached is not None:
        training_log("cached", config_yaml)
        return cached, True
    # Training happens here, outside any cache, so its progress widgets are never replayed.
    result, trained = train_live(config, config_yaml, progress_area, stop_key)
    if not trained:  # a visitor ahead in the queue trained this config: its result, shown as a cached one
        progress_area.empty()
    return result, not trained


def train_live(config, config_yaml: str, progress_area, stop_key: str = "stop_training") -> tuple[RunResult, bool]:
    """(result, trained here): train in this script run with a queue place, a progress bar, a live chart and a Stop
    button, unless the server's cache has the config's result by the time this visitor's turn comes.

    The queue holds one training at a time, and a training stores its deterministic result before it gives up its
    slot: so a visitor who queued behind another's training of the same config (a class opening one tour link at
    once, #16 goal 8) finds the result on taking the slot and never trains it again. That second look, under the
    slot, is the whole single-flight: with one slot, nobody can be training the config meanwhile. (A result the cache
    cannot hold, LAB_CACHE_MB=0 or one over its budget, is trained again by each visitor, as any uncached run is.)
    """
    from lab.charts.run_charts import gradient_profile_chart

    labels = chart_labels("profile", language(), "preact_grad_rms")
    with progress_area.container():
        status = st.status(t("training", name=config.name), expanded=True)
        with status:
            st.button(t("stop"), key=stop_key, help=t("stopped_message", step="…"))
            waiting, progress, live_chart = st.empty(), st.progress(0.0, text=t("loading_tf")), st.empty()

    def on_wait(position: int) -> None:
        waiting.info(t("queue_wait", position=position))

    def on_progress(step, total_steps, layers, history, timesteps=None) -> None:
        st.session_state["partial"].update(layers=layers, history=history, step=step, timesteps=timesteps)
        progress.progress(step / max(total_steps, 1), text=t("training_step", step=step, total=total_steps))
        live_chart.altair_chart(gradient_profile_chart(layers, "preact_grad_rms", labels=labels), width="stretch")

    with training_queue().slot(on_wait=on_wait):
        waiting.empty()
        cached = cached_result(config_yaml)
        if cached is not None:
            training_log("shared", config_yaml)
            return cached, False
        st.session_state["partial"] = {"config": config, "layers": None, "history": None, "step": 0}
        training_log("train", config_yaml)
        result = run(config, on_progress=on_progress)
        training_log("trained", config_yaml)
        st.session_state.pop("partial", None)
        if result.status in ("ok", "diverged"):  # deterministic outcomes; a stopped run is never cached
            store_result(config_yaml, result)  # inside the slot: the next visitor in the queue finds it
    status.update(label=t("trained", seconds=result.summary["wall_time_seconds"]), state="complete", expanded=False)
    return result, True


TRAINING_LOG = "LAB_TRAINING_LOG"
_training_log_lock = threading.Lock()


def training_log(event: str, config_yaml: str) -> None:
    """With LAB_TRAINING_LOG set to a file path, one JSON line per event of a visitor's run: cached (the server had
    it), train / trained (a training's start and end), shared (found in the cache after waiting in the queue).
    bench/visitors.py counts the trainings and times each session with it; unset (the default), nothing is written."""
    path = os.environ.get(TRAINING_LOG)
    if not path:
        return
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    line = json.dumps({"event": event, "time": time.time(), "session": None if context is None else context.session_id,
                       "config_sha": hashlib.sha256(config_yaml.encode()).hexdigest()[:12]})
    with _training_log_lock, open(path, "a", encoding="utf-8") as log:
        log.write(line + "\n")
