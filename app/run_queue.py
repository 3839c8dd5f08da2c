"""One training at a time per server: visitors of a hosted app queue and see their place; background work
(the tour's warm runs, app.tour_warmer) runs only when no visitor is training or waiting, and gives way to one."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class TrainingQueue:
    """A first-come first-served queue in front of `slots` concurrent trainings, with background work below it.

    Training two models at once on a small shared machine makes both slower and doubles the memory;
    a queue keeps each visitor's wait honest and visible. A background slot holds a slot like a visitor's
    but never takes one while any visitor is queued or training, and it is told (preempted()) as soon as
    a visitor queues, so the background work can stop at once and hand the slot over.
    """

    def __init__(self, slots: int = 1):
        self.slots = slots
        self._condition = threading.Condition()
        self._waiting: list[object] = []
        self._active = 0  # visitors' trainings and background work holding a slot
        self._visitor_ended = -math.inf  # time.monotonic() when a visitor's training last ended

    @contextmanager
    def slot(self, on_wait: Callable[[int], None] | None = None, poll_seconds: float = 0.5) -> Iterator[None]:
        """Wait for a free slot (calling on_wait(position) while waiting), hold it for the block."""
        ticket = object()
        with self._condition:
            self._waiting.append(ticket)
            self._condition.notify_all()  # background work in progress learns a visitor is waiting
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
                    # Sleep only if nothing moved while on_wait ran outside the lock: a slot freed (or a place gained)
                    # meanwhile was notified before this wait began, and would otherwise cost a whole poll_seconds;
                    # a crowd of waiters for one config then passes the slot on in milliseconds (#16 goal 8).
                    if self._waiting.index(ticket) == position and not (position == 0 and self._active < self.slots):
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
                self._visitor_ended = time.monotonic()
                self._condition.notify_all()

    def visitors_waiting(self) -> bool:
        """Whether any visitor is queued for a slot (what background work checks to give way)."""
        return self.visitors_queued() > 0

    def visitors_queued(self) -> int:
        """How many visitors are queued for a slot now (not counting those training)."""
        with self._condition:
            return len(self._waiting)

    def background_may_start(self, quiet_seconds: float = 0.0) -> bool:
        """No visitor queued or training, and none has finished within quiet_seconds (a visitor changing a
        setting and pressing Train again should not find a warm run just started in the way)."""
        with self._condition:
            return self._idle(quiet_seconds)

    def _idle(self, quiet_seconds: float) -> bool:
        """background_may_start's test (the caller holds the condition's lock)."""
        return not self._waiting and self._active == 0 and time.monotonic() - self._visitor_ended >= quiet_seconds

    @contextmanager
    def background_slot(self, quiet_seconds: float = 0.0, poll_seconds: float = 0.5) -> Iterator[Callable[[], bool]]:
        """Wait until the queue is idle (background_may_start), hold a slot for the block; yields preempted(),
        True once a visitor is queued: the work should then stop and leave the block, and the visitor trains next.

        A visitor queued while the block runs waits only until the work notices (app.tour_warmer checks at
        every record of a training), never behind a queue of background work: the next background slot is
        granted only when no visitor is waiting.
        """
        with self._condition:
            while not self._idle(quiet_seconds):
                self._condition.wait(timeout=poll_seconds)
            self._active += 1
        try:
            yield self.visitors_waiting
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()
