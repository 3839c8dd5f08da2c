"""bench/visitors.py in its quick mode (#16 goal 8): three browser sessions press one tour section's button at once on a
server pinned to one core, and the server trains each of the section's configs once. No timing is asserted."""
from __future__ import annotations

import pytest

from tests.test_bench import positive, run_quick

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_visitors_quick_presses_one_section_at_once_and_trains_it_once(tmp_path):
    figures = run_quick("visitors", tmp_path)
    assert figures["quick"] is True and figures["server_cores"] == 1
    (repeat,) = figures["repeats"]
    crowd = repeat["crowd"]
    assert len(crowd["visitor_seconds"]) == figures["visitors"] == 3
    assert all(positive(seconds) for seconds in crowd["visitor_seconds"])
    # The step section trains its experiment and its remedy: two configs, each trained once for the three visitors,
    # and every session got both (the server's log: a training's end, or the stored result after waiting).
    assert list(crowd["trainings_per_config"].values()) == [1, 1]
    assert len(crowd["server_got_result_s"]) == 3
    assert positive(crowd["peak_mb"]) and positive(repeat["one_training_s"])
