"""The byte-bounded caches: least recently used out first, never over budget, sizes that match memory."""
import pickle
import threading
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from app.byte_cache import ByteBudgetCache, trim_oldest
from app.memory_size import frame_bytes, python_bytes, result_bytes


def test_least_recently_used_entry_goes_first_when_over_budget():
    cache = ByteBudgetCache(max_bytes=100)
    cache.put("a", 1, 40)
    cache.put("b", 2, 40)
    assert cache.get("a") == 1  # "a" is now the most recently used, "b" the least
    cache.put("c", 3, 40)
    assert cache.keys() == ["a", "c"]
    assert cache.total_bytes == 80


def test_several_entries_leave_to_make_room_for_a_big_one():
    cache = ByteBudgetCache(max_bytes=100)
    for key in "abcd":
        cache.put(key, key, 25)
    cache.put("big", "big", 70)
    assert cache.keys() == ["d", "big"]
    assert cache.total_bytes == 95


def test_an_entry_over_the_whole_budget_is_refused_and_evicts_nothing():
    cache = ByteBudgetCache(max_bytes=100)
    cache.put("a", 1, 60)
    assert cache.put("huge", 2, 101) is False
    assert cache.keys() == ["a"]
    assert cache.get("huge") is None


def test_a_zero_budget_stores_nothing():
    cache = ByteBudgetCache(max_bytes=0)
    assert cache.put("a", 1, 1) is False
    assert len(cache) == 0


def test_replacing_a_key_counts_its_new_size_only():
    cache = ByteBudgetCache(max_bytes=100)
    cache.put("a", 1, 60)
    cache.put("a", 2, 30)
    assert cache.get("a") == 2
    assert cache.total_bytes == 30
    cache.put("b", 3, 70)  # fits only because the old 60 bytes of "a" are gone
    assert cache.keys() == ["a", "b"]


def test_negative_sizes_and_budgets_are_refused():
    with pytest.raises(ValueError, match="max_bytes"):
        ByteBudgetCache(-1)
    with pytest.raises(ValueError, match="size_bytes"):
        ByteBudgetCache(10).put("a", 1, -5)


def test_get_or_make_makes_once_and_caches_none_results_too():
    cache = ByteBudgetCache(max_bytes=1000)
    calls = []

    def make():  # returns None: a chart that does not exist for this run is remembered as such
        calls.append(1)

    assert cache.get_or_make("k", make, lambda value: 16) is None
    assert cache.get_or_make("k", make, lambda value: 16) is None
    assert len(calls) == 1


def test_the_budget_holds_under_concurrent_writers():
    cache = ByteBudgetCache(max_bytes=1000)
    over_budget = []

    def writer(offset: int) -> None:
        for index in range(2000):
            cache.put((offset, index), index, 7)
            if cache.total_bytes > 1000:
                over_budget.append(cache.total_bytes)

    threads = [threading.Thread(target=writer, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not over_budget
    assert cache.total_bytes == 7 * len(cache) == 7 * (1000 // 7)


def test_trim_oldest_keeps_the_newest_within_both_bounds():
    entries = {"a": 30, "b": 30, "c": 30, "d": 30}
    removed = trim_oldest(entries, max_entries=3, max_bytes=65, size_of=lambda value: value)
    assert removed == ["a", "b"]
    assert list(entries) == ["c", "d"]


def test_trim_oldest_keeps_the_newest_even_alone_over_budget():
    entries = {"old": 10, "new": 500}
    trim_oldest(entries, max_entries=12, max_bytes=100, size_of=lambda value: value)
    assert list(entries) == ["new"]


def test_frame_bytes_counts_text_cells_and_numeric_buffers():
    rows = 10_000
    frame = pd.DataFrame({"run_id": np.array([f"{index:012x}" for index in range(rows)], dtype=object),
                          "value": np.zeros(rows)})
    characters = 12 * rows  # pandas 3 stores the text in one Arrow buffer, plus an offset per row
    assert rows * 8 + characters <= frame_bytes(frame) <= rows * 8 + characters + rows * 8 + 1024


def test_python_bytes_is_close_to_what_the_allocator_reports_for_a_spec_like_structure():
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    spec = {"data": {"values": [{"x": float(index) + 0.5, "layer": f"layer {index}"} for index in range(5000)]},
            "mark": {"type": "line"}}
    allocated = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert 0.8 * allocated <= python_bytes(spec) <= 1.25 * allocated


def test_python_bytes_counts_a_shared_object_once():
    row = {"value": 1.5, "name": "x" * 1000}
    assert python_bytes([row, row]) < python_bytes([row]) + 100


def test_result_bytes_of_a_real_run_is_its_frames_and_exceeds_nothing_it_holds(make_config):
    from lab import run

    result = run(make_config())
    frames = sum(frame_bytes(getattr(result, name)) for name in ("layers", "history", "histograms", "boundary"))
    assert frames < result_bytes(result) < frames + 64 * 1024
    # the frames' own numeric buffers are a lower bound (run_id text is on top of them)
    numeric = sum(getattr(result, name).select_dtypes("number").to_numpy().nbytes
                  for name in ("layers", "histograms", "boundary"))
    assert result_bytes(result) > numeric
    assert result_bytes(result) >= 0.5 * len(pickle.dumps(result))


def test_the_app_budget_comes_from_LAB_CACHE_MB_and_keeps_three_quarters_for_results(monkeypatch):
    from app import caches

    monkeypatch.setenv("LAB_CACHE_MB", "8")
    caches.server_caches.clear()
    try:
        held = caches.server_caches()
        assert held["results"].max_bytes == 6 * 1024 * 1024
        assert held["charts"].max_bytes == 2 * 1024 * 1024
    finally:
        caches.server_caches.clear()


def test_a_malformed_LAB_CACHE_MB_is_refused_by_name(monkeypatch):
    from app import caches

    monkeypatch.setenv("LAB_CACHE_MB", "lots")
    caches.server_caches.clear()
    try:
        with pytest.raises(ValueError, match="LAB_CACHE_MB"):
            caches.server_caches()
    finally:
        caches.server_caches.clear()


def test_the_app_hands_out_the_stored_result_itself_not_a_copy(monkeypatch):
    from app import caches
    from lab.contract.result import RunResult, frame

    monkeypatch.delenv("LAB_CACHE_MB", raising=False)
    caches.server_caches.clear()
    try:
        result = RunResult(None, frame("layers"), frame("history"), frame("histograms"), frame("boundary"), {"run_id": "r"})
        caches.store_result("config: 1", result)
        assert caches.cached_result("config: 1") is result  # a session holding it adds no copy
        assert caches.cached_result("config: 2") is None
    finally:
        caches.server_caches.clear()


def session_script():
    """A page that remembers five runs of 3 MB each in its session and lists what the session kept."""
    import numpy as np
    import pandas as pd
    import streamlit as st

    from app.shared import remember, session_runs
    from lab import load_config
    from lab.contract.result import RunResult, frame

    for index in range(5):
        layers = pd.DataFrame({"value": np.zeros(3 * 1024 * 1024 // 8)})
        remember(RunResult(load_config({"seed": index}), layers, frame("history"), frame("histograms"), frame("boundary"),
                           {"run_id": f"{index:06d}abcdef", "status": "ok"}))
    st.write(" | ".join(label[-6:] for label in session_runs()))


def test_a_session_keeps_its_newest_runs_within_LAB_SESSION_MB(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LAB_SESSION_MB", "10")  # three runs of 3 MB fit, a fourth does not
    app = AppTest.from_function(session_script, default_timeout=60).run()
    assert not app.exception
    assert app.markdown[0].value == "000002 | 000003 | 000004"
