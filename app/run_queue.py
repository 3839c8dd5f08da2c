"""One training at a time per server: visitors of a hosted app queue and see their place."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class TrainingQueue:
    """A first-come first-served queue in front of `slots` concurrent trainings.

    Training two models at once on a small shared machine makes both slower and doubles the memory;
    a queue keeps each visitor's wait honest and visible.
    """

    def __init__(self, slots: int = 1):
        self.slots = slots
        self._condition = threading.Condition()
        self._waiting: list[object] = []
        self._active = 0

    @contextmanager
    def slot(self, on_wait: Callable[[int], None] | None = None, poll_seconds: float = 0.5) -> Iterator[None]:
        """Wait for a free slot (calling on_wait(position) while waiting), hold it for the block."""
        ticket = object()
        with self._condition:
            self._waiting.append(ticket)
        try:
            while True:
                with self._condition:
                    position = self._waiting.index(ticket)
                    if position == 0 and self._active < self.slots:
                        self._waiting.pop(0)
                        self._active += 1
                        break
                if on_wait is not None:
                    on_wait(position + 1)  # may raise (a visitor who leaves): handled below
                with self._condition:
                    self._condition.wait(timeout=poll_seconds)
        except BaseException:
            with self._condition:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._condition.notify_all()
            raise
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()
