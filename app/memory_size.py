"""How many bytes a cached thing keeps alive in this process: a RunResult, a chart spec (no TensorFlow).

Pickled sizes understate what a process holds (pickle shares repeated objects and packs numbers),
and entry counts say nothing at all, so the app's byte budgets are charged with these figures.
"""
from __future__ import annotations

import sys

import pandas as pd

from lab.contract.result import FRAME_COLUMNS


def frame_bytes(frame: pd.DataFrame) -> int:
    """A frame's memory: its columns' buffers and, for text columns, every string object (deep)."""
    return int(frame.memory_usage(deep=True, index=True).sum())


def python_bytes(value, seen: set | None = None) -> int:
    """Deep size of plain Python data (dicts, lists, tuples, sets, strings, numbers), each object once.

    Chart specs are such data: Altair's to_dict() gives nested dicts whose inline rows are each a
    dict, so a spec takes several times its JSON length in memory.
    """
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(python_bytes(key, seen) + python_bytes(item, seen) for key, item in value.items())
    elif isinstance(value, (list, tuple, set, frozenset)):
        size += sum(python_bytes(item, seen) for item in value)
    return size


def result_bytes(result) -> int:
    """A RunResult's memory: every frame of the contract (deep) and its summary; the config is a few KB at most."""
    frames = sum(frame_bytes(getattr(result, name)) for name in FRAME_COLUMNS)
    return frames + python_bytes(result.summary)
