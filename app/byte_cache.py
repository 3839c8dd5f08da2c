"""A thread-safe least-recently-used cache bounded by bytes, not by entries (no streamlit, no TensorFlow).

An entry count says nothing about memory when one run's result is 0.6 MB and another's 100 MB: a
hosted server with a few GB needs its caches bounded by what they hold. The caller states each
entry's size when storing it (see app.memory_size), so the cache never guesses.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

_MISSING = object()


class ByteBudgetCache:
    """Entries kept while their sizes sum to at most max_bytes; the least recently used go first."""

    def __init__(self, max_bytes: int):
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict = OrderedDict()  # key -> (value, size), least recently used first
        self._total = 0
        # Every visitor's script runs in its own thread and they share this cache.
        self._lock = threading.Lock()

    def get(self, key: Hashable, default=None):
        """The value stored under key (now the most recently used), or default."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value, size_bytes: int) -> bool:
        """Store value, evicting the least recently used entries to make room; False if it alone is over budget.

        A value bigger than the whole budget is not stored and evicts nothing: emptying the cache for
        an entry that cannot fit would only lose the others.
        """
        if size_bytes < 0:
            raise ValueError(f"size_bytes must be >= 0, got {size_bytes}")
        with self._lock:
            self._discard(key)
            if size_bytes > self.max_bytes:
                return False
            while self._total + size_bytes > self.max_bytes:
                self._discard(next(iter(self._entries)))
            self._entries[key] = (value, size_bytes)
            self._total += size_bytes
            return True

    def get_or_make(self, key: Hashable, make: Callable[[], object], size_of: Callable[[object], int]):
        """The value under key, or make() stored with size_of(value) bytes (made outside the lock).

        Two threads missing the same key at once both make it and the later one is kept: cheaper than
        making every other visitor wait behind a slow build.
        """
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = make()
            self.put(key, value, size_of(value))
        return value

    def _discard(self, key: Hashable) -> None:
        """Remove key if present (the caller holds the lock)."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._total -= entry[1]

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._total = 0

    @property
    def total_bytes(self) -> int:
        """The sum of the stored entries' sizes."""
        return self._total

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def keys(self) -> list:
        """The keys, least recently used first."""
        with self._lock:
            return list(self._entries)


def trim_oldest(entries: dict, max_entries: int, max_bytes: int, size_of: Callable[[object], int]) -> list:
    """Remove the oldest entries of an insertion-ordered dict until both bounds hold; the keys removed.

    The newest entry is always kept, even alone over max_bytes: it is the one being shown.
    """
    total = sum(size_of(value) for value in entries.values())
    removed = []
    while len(entries) > 1 and (len(entries) > max_entries or total > max_bytes):
        key = next(iter(entries))
        total -= size_of(entries.pop(key))
        removed.append(key)
    return removed
