"""The server's caches, bounded by bytes: run results and chart specs, shared by every visitor.

One budget for the whole server, LAB_CACHE_MB (default 256 MB; Streamlit Community Cloud gives the
app about 2.7 GB, of which TensorFlow takes 0.7 GB and training the largest experiment up to 0.5 GB
more). Three quarters of it hold run results, which cost a training to remake; the rest holds chart
specs, which cost a fraction of a second, so a visitor dragging the gallery's sliders never evicts
a result. Each part evicts its least recently used entries; sizes are measured, not counted
(app.memory_size). A result of the default experiment is about 2 MB, of the largest the form allows
about 45 MB; the specs of one run 1 to 9 MB.

The stored objects are handed out as they are, not copied (pandas' copy-on-write keeps the frames
intact): a result kept by the cache and by several visitors' sessions is in memory once.
"""
from __future__ import annotations

import os

import streamlit as st

from app.byte_cache import ByteBudgetCache
from app.memory_size import python_bytes, result_bytes
from lab.contract.result import RunResult

MB = 1024 * 1024
DEFAULT_CACHE_MB = 256
RESULT_SHARE = 0.75


def megabytes_from_environment(name: str, default: int) -> int:
    """A size in MB from an environment variable (a whole number >= 0), else default; ValueError if malformed."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise ValueError(f"{name}: must be a whole number of MB (0 turns the cache off); got {text!r}")
    return int(text)


@st.cache_resource(show_spinner=False)
def server_caches() -> dict[str, ByteBudgetCache]:
    """The server's two caches, made once per server: 'results' and 'charts'."""
    budget = megabytes_from_environment("LAB_CACHE_MB", DEFAULT_CACHE_MB) * MB
    results = int(budget * RESULT_SHARE)
    return {"results": ByteBudgetCache(results), "charts": ByteBudgetCache(budget - results)}


def cached_result(config_yaml: str) -> RunResult | None:
    """The result of this resolved config if the server has it (now the most recently used), else None."""
    return server_caches()["results"].get(config_yaml)


def store_result(config_yaml: str, result: RunResult) -> None:
    """Keep a deterministic result for every visitor (not stored if it alone is over the budget)."""
    server_caches()["results"].put(config_yaml, result, result_bytes(result))


def cached_spec(key: tuple, build) -> dict | None:
    """A chart's Vega-Lite spec, built (build() -> Altair chart or None) once per key.

    key must name the run, or the inputs, and every setting the chart depends on.
    """
    def make():
        chart = build()
        return None if chart is None else chart.to_dict()

    return server_caches()["charts"].get_or_make(key, make, python_bytes)
