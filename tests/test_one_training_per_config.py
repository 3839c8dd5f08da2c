"""Many visitors asking for one config at once get one training (issue #16, goal 8): a class opening the same tour
link presses the same button in every session. Each session queues for the server's one training slot; the first
trains and stores the result before it leaves the slot, and every later one finds it there on taking the slot
(app.shared.train_live) instead of training it again. Real Streamlit sessions (AppTest, one thread each) share the
server's queue and caches; the training is a stand-in that holds the slot until every other session has queued, so
the test does not depend on timing. And a slot freed while a waiter is outside the queue's lock is taken at once."""
from __future__ import annotations

import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

import app.shared
from app.caches import server_caches
from app.run_queue import TrainingQueue
from app.shared import training_queue
from lab import ExperimentConfig, config_to_yaml, run_id_of
from lab.contract.result import FORMAT_VERSION, RunResult, frame

VISITORS = 4
WAIT = 60  # seconds an event may take on a busy CI machine: a deadlock guard, not a timing assert
CONFIG = ExperimentConfig(name="goal8_one_training", seed=80_816)


def visitor_script() -> None:
    """One visitor's page: obtain the config's result (cache, queue or training) and show its run id."""
    import streamlit as st

    from app.shared import obtain_result
    from lab import ExperimentConfig

    result, from_cache = obtain_result(ExperimentConfig(name="goal8_one_training", seed=80_816), st.empty())
    st.session_state["result_id"] = id(result)
    st.session_state["from_cache"] = from_cache
    st.write(f"run {result.run_id}")


def stand_in_result(config: ExperimentConfig) -> RunResult:
    """A finished run's result (empty frames): what the cache stores and the visitors show."""
    summary = {"format_version": FORMAT_VERSION, "run_id": run_id_of(config), "name": config.name, "status": "ok",
               "wall_time_seconds": 0.1}
    return RunResult(config, frame("layers"), frame("history"), frame("histograms"), frame("boundary"), summary)


@pytest.fixture
def trainings(monkeypatch):
    """The configs lab.run was called with in the app; the first call holds the slot until every other visitor has queued."""
    calls: list[ExperimentConfig] = []
    # A config of this test alone, so no other test's cached runs are touched; its stand-in result stays in the cache.
    assert config_to_yaml(CONFIG) not in server_caches()["results"]

    def stand_in_run(config, on_progress=None):
        calls.append(config)
        deadline = time.monotonic() + WAIT
        while len(calls) == 1 and training_queue().visitors_queued() < VISITORS - 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # the others are still arriving: the first training must end with all of them queued
        return stand_in_result(config)

    monkeypatch.setattr(app.shared, "run", stand_in_run)
    return calls


def test_visitors_pressing_one_config_at_once_share_one_training(trainings):
    pages = [AppTest.from_function(visitor_script, default_timeout=WAIT) for _ in range(VISITORS)]
    threads = [threading.Thread(target=page.run) for page in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), "a visitor never got its result: the queue deadlocked"
    assert len(trainings) == 1, f"{len(trainings)} trainings of one config"
    assert [page.exception for page in pages] == [[]] * VISITORS
    # Every visitor shows the one result the server stored (the same object, not a copy): one trained it, the
    # others took it from the cache.
    stored = server_caches()["results"].get(config_to_yaml(CONFIG))
    assert stored is not None and stored.run_id == run_id_of(CONFIG)
    assert {page.session_state["result_id"] for page in pages} == {id(stored)}
    assert sorted(page.session_state["from_cache"] for page in pages) == [False] + [True] * (VISITORS - 1)
    assert all(f"run {stored.run_id}" in page.markdown[0].value for page in pages)
    assert training_queue().visitors_queued() == 0


def test_a_slot_freed_while_a_waiter_is_told_its_place_is_taken_at_once():
    # The waiter is outside the queue's lock while on_wait shows its place: the slot is freed right then (notified
    # before the waiter waits again). It must take the slot without sleeping out its poll (here longer than WAIT).
    queue = TrainingQueue()
    holding, release, released, got = threading.Event(), threading.Event(), threading.Event(), threading.Event()

    def first():
        with queue.slot():
            holding.set()
            release.wait(WAIT)
        released.set()

    def on_wait(position):
        if not release.is_set():
            release.set()
            assert released.wait(WAIT)  # the slot is free and its notification gone before this waiter waits

    def second():
        with queue.slot(on_wait=on_wait, poll_seconds=10 * WAIT):
            got.set()

    holder = threading.Thread(target=first)
    holder.start()
    assert holding.wait(WAIT)
    waiter = threading.Thread(target=second, daemon=True)
    waiter.start()
    holder.join(WAIT)
    assert got.wait(WAIT), "the waiter slept through a freed slot"
    waiter.join(WAIT)
