"""The tour warmed in the background (issue #16, goal 9): app.tour_warmer trains the tour's runs one at a time into the
server's results cache, below every visitor (app.run_queue's background slots), and the tour page shows a warmed
section's numbers and charts without a press. The queue's ordering is tested with threads and events, never with
timing; the trainings are real where the numbers matter (a warmed run is the run a press gives) and stand-ins where
only the order does."""
import threading

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import app.tour_warmer
from app.byte_cache import ByteBudgetCache
from app.caches import server_caches
from app.run_queue import TrainingQueue
from app.shared import training_queue
from app.tour_warmer import TourWarmer, tour_configs, tour_warmer, warming_enabled
from lab import config_to_yaml
from lab.readings.tour import SECTIONS, section
from lab.text.i18n import TEXT
from tests.support.app_test import APP, TIMEOUT, chart_rows

WAIT = 60  # seconds an event may take to come in a busy CI machine: a deadlock guard, not a timing assert


def cold_warmer(configs, queue=None, results=None, **options) -> TourWarmer:
    """A warmer that starts at once (no delay, no quiet period, TensorFlow imported by the run itself)."""
    return TourWarmer(lambda: configs, queue or TrainingQueue(), results if results is not None else ByteBudgetCache(1 << 30),
                      prepare=lambda: None, start_delay=0.0, quiet_seconds=0.0, **options)


class Stand_in:
    """A result the stand-in trainings return: the status the warmer checks."""

    status = "ok"


def join(thread: threading.Thread) -> None:
    thread.join(WAIT)
    assert not thread.is_alive(), "a thread did not finish: the queue deadlocked"


# ---- the queue: a visitor's Train goes first ------------------------------------------------------------

def test_a_background_slot_is_granted_only_when_no_visitor_is_training_or_queued():
    queue = TrainingQueue()
    assert queue.background_may_start()
    holding, release, queued = threading.Event(), threading.Event(), threading.Event()

    def visitor():
        with queue.slot():
            holding.set()
            release.wait(WAIT)

    def second_visitor():
        with queue.slot(on_wait=lambda position: queued.set()):
            pass

    first = threading.Thread(target=visitor)
    first.start()
    assert holding.wait(WAIT)
    assert not queue.background_may_start()  # a visitor is training
    second = threading.Thread(target=second_visitor)
    second.start()
    assert queued.wait(WAIT)
    assert queue.visitors_waiting() and not queue.background_may_start()  # and one is queued
    release.set()
    join(first)
    join(second)
    assert queue.background_may_start(quiet_seconds=0.0)
    assert not queue.background_may_start(quiet_seconds=3600.0)  # a visitor has just trained: wait for a quiet spell


def test_a_visitor_arriving_while_a_warm_run_waits_trains_before_it():
    queue, order = TrainingQueue(), []
    holding, release, queued = threading.Event(), threading.Event(), threading.Event()

    def visitor(name, on_wait=None):
        with queue.slot(on_wait=on_wait):
            order.append(name)
            if name == "first visitor":
                holding.set()
                release.wait(WAIT)

    def warm():
        with queue.background_slot():
            order.append("warm run")

    first = threading.Thread(target=visitor, args=("first visitor",))
    first.start()
    assert holding.wait(WAIT)
    warmer = threading.Thread(target=warm)
    warmer.start()  # waits: a visitor is training
    second = threading.Thread(target=visitor, args=("second visitor", lambda position: queued.set()))
    second.start()
    assert queued.wait(WAIT)  # the second visitor is in the queue before the first leaves
    release.set()
    for thread in (first, second, warmer):
        join(thread)
    assert order == ["first visitor", "second visitor", "warm run"]


def test_a_visitor_queued_during_a_warm_run_is_first_in_line_and_stops_it():
    queue, positions = TrainingQueue(), []
    queued, trained = threading.Event(), threading.Event()

    def visitor():
        def on_wait(position):
            positions.append(position)
            queued.set()
        with queue.slot(on_wait=on_wait):
            trained.set()

    with queue.background_slot() as preempted:
        assert not preempted()
        thread = threading.Thread(target=visitor)
        thread.start()
        assert queued.wait(WAIT)
        assert preempted()  # the warm run is told at once, and stops at its next record
        assert not trained.is_set()  # one training at a time: the visitor waits for the warm run to leave
    join(thread)
    assert trained.is_set() and set(positions) == {1}  # never behind anything but the warm run in progress


# ---- the warmer -----------------------------------------------------------------------------------------

def test_the_warmer_stops_a_warm_run_for_a_visitor_and_trains_it_again_after(make_config):
    config = make_config(name="warm_me")
    queue, order = TrainingQueue(), []
    in_training, visitor_queued = threading.Event(), threading.Event()

    def train(config, on_progress):
        order.append("warm run starts")
        assert warmer.current == "warm_me"  # what the warmer is training, for the bench's record
        if len(order) == 1:  # the first attempt: a visitor queues during it
            in_training.set()
            assert visitor_queued.wait(WAIT)
        on_progress(1, 2, None, None)  # a record: raises Preempted once a visitor is queued
        order.append("warm run done")
        return Stand_in()

    warmer = cold_warmer([config], queue, train=train, size_of=lambda result: 1)
    thread = warmer.start()
    assert in_training.wait(WAIT)

    def visitor():
        with queue.slot(on_wait=lambda position: visitor_queued.set()):
            order.append("visitor trains")

    visiting = threading.Thread(target=visitor)
    visiting.start()
    join(visiting)
    join(thread)
    assert order == ["warm run starts", "visitor trains", "warm run starts", "warm run done"]
    assert warmer.preemptions == 1 and warmer.finished.is_set() and warmer.current is None
    assert isinstance(warmer.results.get(config_to_yaml(config)), Stand_in)


def test_runs_already_in_the_cache_are_not_trained_and_failed_ones_not_stored(make_config):
    cached, failing, fresh = (make_config(name=name) for name in ("cached", "failing", "fresh"))
    results = ByteBudgetCache(1 << 20)
    results.put(config_to_yaml(cached), "a visitor's run", 1)
    trained = []

    def train(config, on_progress):
        trained.append(config.name)
        if config.name == "failing":
            raise RuntimeError("out of memory")
        result = Stand_in()
        result.status = "stopped" if config.name == "fresh" else "ok"
        return result

    warmer = cold_warmer([cached, failing, fresh], results=results, train=train, size_of=lambda result: 1)
    warmer.warm_all()
    assert trained == ["failing", "fresh"]  # a failing run is logged and the rest still warmed
    assert results.get(config_to_yaml(cached)) == "a visitor's run"
    assert config_to_yaml(failing) not in results and config_to_yaml(fresh) not in results  # only ok or diverged


def test_warming_stops_when_the_cache_cannot_hold_the_tour(make_config):
    configs = [make_config(name=f"run_{index}") for index in range(4)]
    trained = []

    def train(config, on_progress):
        trained.append(config.name)
        return Stand_in()

    # Room for two runs of 40 bytes: the third pushes the first out, and warming more would only churn the cache.
    warmer = cold_warmer(configs, results=ByteBudgetCache(100), train=train, size_of=lambda result: 40)
    warmer.warm_all()
    assert trained == ["run_0", "run_1", "run_2"]
    assert "LAB_CACHE_MB" in warmer.stopped_reason


def test_the_tours_runs_in_its_order_with_each_sections_remedy_and_aside():
    names = [config.name for config in tour_configs()]
    expected = []
    for item in SECTIONS:
        expected += [item.config().name] + ([item.remedy_config().name] if item.remedy else [])
        expected += [item.aside_config().name] if item.aside else []
    assert names == expected
    assert names[:3] == ["step_zero_gradient", "step_zero_gradient_tanh", "sigmoid_vanishing"]
    assert names[-3:] == ["rnn_vanishing", "rnn_vanishing_lstm", "rnn_latch"]


def test_the_warmer_fills_the_cache_with_the_tours_runs_quick():
    # The step and softmax sections at quick size (the tour's test size): a section with a remedy and one without.
    configs = [config for config in tour_configs(quick=True) if config.name.startswith(("step_", "softmax_"))]
    assert [config.name for config in configs] == ["step_zero_gradient", "step_zero_gradient_tanh", "softmax_multiclass"]
    warmer = cold_warmer(configs)
    warmer.warm_all()
    assert warmer.warmed == [config_to_yaml(config) for config in configs] and warmer.stopped_reason is None
    for config in configs:
        result = warmer.results.get(config_to_yaml(config))
        assert result.status == "ok" and result.config == config and not result.layers.empty


# ---- the switch -----------------------------------------------------------------------------------------

def test_LAB_WARM_TOUR_0_turns_warming_off_and_a_bad_value_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("LAB_WARM_TOUR", "0")
    assert not warming_enabled()
    tour_warmer.clear()
    assert tour_warmer() is None
    monkeypatch.setenv("LAB_WARM_TOUR", "yes")
    with pytest.raises(ValueError, match="LAB_WARM_TOUR: 1 .* or 0"):
        warming_enabled()
    tour_warmer.clear()


def test_the_servers_warmer_uses_the_visitors_queue_and_the_results_cache(monkeypatch):
    started = []
    monkeypatch.setattr(TourWarmer, "start", lambda warmer: started.append(warmer))  # no thread: only the wiring
    monkeypatch.delenv("LAB_WARM_TOUR", raising=False)
    tour_warmer.clear()
    try:
        warmer = tour_warmer()
        assert started == [warmer] and tour_warmer() is warmer  # once per server
        assert warmer.queue is training_queue() and warmer.results is server_caches()["results"]
        assert warmer.configs is tour_configs
    finally:
        tour_warmer.clear()


# ---- the page -------------------------------------------------------------------------------------------

def tour_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app/pages/tour.py")
    return app.run()


def assert_same_run(warmed, pressed) -> None:
    assert warmed.run_id == pressed.run_id and warmed.config == pressed.config
    for name in ("layers", "history", "histograms"):
        pd.testing.assert_frame_equal(getattr(warmed, name), getattr(pressed, name), check_exact=True)


def test_a_warmed_section_is_the_pressed_one_and_shows_without_a_press(monkeypatch):
    monkeypatch.setenv("LAB_WARM_TOUR", "0")  # a cold server: this test warms by hand
    tour_warmer.clear()
    server_caches.clear()
    step = section("step")
    configs = [step.config(), step.remedy_config()]

    # A visitor's press on a cold server: the section's runs through the page's own path.
    app = tour_page()
    assert "tour_run_step" in {button.key for button in app.button}
    assert TEXT["en"]["tour_warming"] not in [caption.value for caption in app.caption]  # nothing is warming
    app = app.button(key="tour_run_step").click().run(timeout=TIMEOUT)
    assert not app.exception
    pressed = [server_caches()["results"].get(config_to_yaml(config)) for config in configs]

    # Another cold server, warmed: the same runs under the same keys, equal to the last number.
    server_caches.clear()
    warmer = cold_warmer(configs, results=server_caches()["results"])
    warmer.warm_all()
    assert warmer.warmed == [config_to_yaml(config) for config in configs]
    for config, earlier in zip(configs, pressed):
        assert_same_run(server_caches()["results"].get(config_to_yaml(config)), earlier)

    # A new visitor: the warmed section's numbers and chart at once, the others still offer their button.
    app = tour_page()
    assert not app.exception
    buttons = {button.key for button in app.button}
    assert "tour_run_step" not in buttons and "tour_open_step" in buttons and "tour_run_sigmoid" in buttons
    text = "\n".join(block.value for block in app.markdown)
    assert f"run {pressed[0].run_id}" in text
    remedied = f"step_zero_gradient + {TEXT['en']['remedy_tanh']}"
    assert {"step_zero_gradient", remedied} <= {row.get("run") for row in chart_rows(app)}  # the section's signal chart
    server_caches.clear()


def test_a_section_still_warming_says_so(monkeypatch):
    class Warming:
        finished = threading.Event()  # never set: warming in progress

    monkeypatch.setattr(app.tour_warmer, "tour_warmer", lambda: Warming())
    server_caches.clear()
    page = tour_page()
    assert not page.exception
    assert f"{TEXT['en']['tour_not_run']} {TEXT['en']['tour_warming']}" in [caption.value for caption in page.caption]
