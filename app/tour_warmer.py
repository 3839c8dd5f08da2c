"""The tour's runs, trained in the background once per server so a visitor finds their numbers and charts at once.

A hosted app's server starts cold: without warming, the tour shows claims and buttons and the first
visitor to press one waits for the training. The warmer is one daemon thread per server process,
started a moment after the first page has gone out (like the TensorFlow preload). It trains the tour's
runs one at a time, in the tour's order (each section's experiment, remedy and aside), into the
server's results cache under the key a visitor's press uses (config_to_yaml of the same config), so a
warmed run is the run a press gives. It stays below every visitor: a warm run starts only when no
visitor is training or queued (and none has finished within QUIET_SECONDS), and a visitor who queues
meanwhile stops it at its next record (about a second for the tour's presets); the stopped run is
started again later. A run already in the cache is skipped; when the cache cannot hold the tour beside
what visitors keep there (LAB_CACHE_MB too small: a warm run not stored, or an earlier one pushed out)
warming stops, so it never churns the cache. LAB_WARM_TOUR=0 turns it off.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

import streamlit as st

from app.byte_cache import ByteBudgetCache
from app.caches import server_caches
from app.memory_size import result_bytes
from app.run_queue import TrainingQueue
from app.shared import PRELOAD_DELAY_SECONDS, training_queue
from lab import config_to_yaml, run
from lab.contract.config import ExperimentConfig
from lab.training.runtime import import_tensorflow

SWITCH = "LAB_WARM_TOUR"
# A visitor who has just trained is likely to change a setting and press Train again.
QUIET_SECONDS = 10.0
DETERMINISTIC = ("ok", "diverged")  # the outcomes the app caches (app.shared.obtain_result); a stopped run is not

log = logging.getLogger(__name__)


class Preempted(Exception):
    """A visitor queued for the slot a warm run holds: the warm run stops at its record."""


def tour_configs(quick: bool = False) -> list[ExperimentConfig]:
    """Every run the tour shows, in its order: each section's experiment, its remedy and its aside."""
    from lab.readings.tour import SECTIONS  # read in the warmer's thread: 27 ms of imports kept off the first page

    configs = []
    for tour_section in SECTIONS:
        configs += [config for config in (tour_section.config(quick), tour_section.remedy_config(quick),
                                          tour_section.aside_config(quick)) if config is not None]
    return configs


def warming_enabled() -> bool:
    """LAB_WARM_TOUR: 1 (the default) warms the tour, 0 does not; ValueError naming it otherwise."""
    text = os.environ.get(SWITCH, "1").strip() or "1"
    if text not in ("0", "1"):
        raise ValueError(f"{SWITCH}: 1 (warm the tour's runs in the background, the default) or 0 (off); got {text!r}")
    return text == "1"


class TourWarmer:
    """Trains configs() one at a time into results (keyed by config_to_yaml) through queue's background slots.

    configs() is called in the warmer's thread, after the start delay (reading the presets is kept off the first page);
    train(config, on_progress) -> RunResult is lab.run (a stand-in in tests); size_of measures a result
    for the byte budget; prepare() runs once before the first training, outside any slot (TensorFlow's import).
    """

    def __init__(self, configs: Callable[[], Sequence[ExperimentConfig]], queue: TrainingQueue, results: ByteBudgetCache,
                 train: Callable = run, size_of: Callable = result_bytes, prepare: Callable[[], object] = import_tensorflow,
                 start_delay: float = PRELOAD_DELAY_SECONDS, quiet_seconds: float = QUIET_SECONDS):
        self.configs, self.queue, self.results = configs, queue, results
        self.train, self.size_of, self.prepare = train, size_of, prepare
        self.start_delay, self.quiet_seconds = start_delay, quiet_seconds
        self.warmed: list[str] = []  # keys this warmer stored, in order
        self.current: str | None = None  # the name of the run in training, if any
        self.preemptions = 0  # warm runs stopped for a visitor (and started again)
        self.finished = threading.Event()
        self.stopped_reason: str | None = None  # why warming ended early, if it did

    def start(self) -> threading.Thread:
        """Warm in a daemon thread (it ends with the server)."""
        thread = threading.Thread(target=self.warm_all, name="tour-warmer", daemon=True)
        thread.start()
        return thread

    def warm_all(self) -> None:
        """Every config in order, each trained at most once to completion; then finished is set."""
        try:
            time.sleep(self.start_delay)  # let the first page reach the browser undisturbed, as the TensorFlow preload
            self.prepare()
            for config in self.configs():
                if not self.warm(config):
                    break
        finally:
            self.finished.set()

    def warm(self, config: ExperimentConfig) -> bool:
        """Make sure config's result is in the cache (trained here only if it is not); False: stop warming."""
        key = config_to_yaml(config)
        while key not in self.results:
            with self.queue.background_slot(self.quiet_seconds) as preempted:
                if key in self.results:  # a visitor trained it while the warmer waited
                    break
                self.current = config.name
                try:
                    result = self.train(config, on_progress=self.progress_check(preempted))
                except Preempted:
                    self.preemptions += 1
                    continue  # leaves the slot to the visitor; tried again once the queue is idle
                except Exception:  # a failing run must not stop the server: log it, warm the rest
                    log.exception("tour warming: %s failed", config.name)
                    return True
                finally:
                    self.current = None
            return self.keep(key, result)
        return True

    @staticmethod
    def progress_check(preempted: Callable[[], bool]) -> Callable:
        """An on_progress for lab.run that stops the warm run at the first record after a visitor queues."""
        def on_progress(step, total_steps, layers, history) -> None:
            if preempted():
                raise Preempted
        return on_progress

    def keep(self, key: str, result) -> bool:
        """Store a deterministic result; False (stop warming) when the cache cannot hold the tour."""
        if result.status not in DETERMINISTIC:
            return True
        stored = self.results.put(key, result, self.size_of(result))
        self.warmed.append(key)
        if not stored or any(earlier not in self.results for earlier in self.warmed):
            self.stopped_reason = "the results cache (LAB_CACHE_MB) cannot hold the tour's runs"
            log.warning("tour warming stopped: %s", self.stopped_reason)
            return False
        return True


@st.cache_resource(show_spinner=False)
def tour_warmer() -> TourWarmer | None:
    """The server's warmer, started on the first call (the app's, after its first page, or the tour page's asking
    whether it is still warming: its thread waits start_delay before any work either way); None when LAB_WARM_TOUR=0
    or the results cache holds nothing (LAB_CACHE_MB=0)."""
    results = server_caches()["results"]
    if not warming_enabled() or results.max_bytes == 0:
        return None
    warmer = TourWarmer(tour_configs, training_queue(), results)  # the queue every visitor's Train goes through
    warmer.start()
    return warmer
