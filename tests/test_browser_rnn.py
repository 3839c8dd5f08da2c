"""Recurrent networks in a real browser (issue #14): Debian's Chromium driven by Playwright against `streamlit run`.

An rnn link opens, fills the form, trains and draws its charts; and the form switched to "Recurrent" by hand starts
from the default rnn experiment, is shrunk (T = 8, width 8, 128 sequences, one epoch) and trains. Each shows the run
id the config predicts. The harness: tests/support/streamlit_server.py; the `browser` fixture: tests/conftest.py.
"""
import time

import pytest

from app.experiment_form import kind_default
from lab import load_config, run_id_of
from lab.contract.config_io import parse_override
from lab.text import en
from tests.support.streamlit_server import (
    ARTIFACTS,
    RESULT_VIEW_CHARTS,
    assert_no_exception,
    module_server,
    new_page,
    wait_for_charts,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LINK = {"model.kind": "rnn", "data.dataset": "temporal_order", "model.cell": "lstm", "model.output_activation": "softmax",
        "data.sequence_length": "8", "model.width": "8", "training.epochs": "1", "data.num_samples": "128",
        "probe.num_samples": "32"}
CHARTS = RESULT_VIEW_CHARTS  # an rnn run's first view: the gradient through time (the other views when chosen)


@pytest.fixture(scope="module")
def server():
    """One server for the module; its base URL."""
    yield from module_server("streamlit_rnn.log")


def fill(page, label: str, value) -> None:
    """Type a number into the form's input of that label (Tab commits it; Enter would submit the form first)."""
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(str(value))
    field.press("Tab")


def test_an_rnn_link_opens_trains_and_draws_its_charts(server, browser):
    context, page = new_page(browser)
    started = time.time()
    expected = run_id_of(load_config({}, overrides=dict(parse_override(f"{key}={value}") for key, value in LINK.items())))
    page.goto(server + "experiment?" + "&".join(f"{key}={value}" for key, value in LINK.items()))
    page.get_by_text(f"run {expected}").wait_for(timeout=120_000)
    wait_for_charts(page, CHARTS)
    assert_no_exception(page)
    assert page.get_by_role("spinbutton", name=en.TEXT["rnn_form_sequence_length"], exact=True).input_value() == "8"
    print(f"rnn link opened, trained and drawn in {time.time() - started:.1f} s")
    page.screenshot(path=str(ARTIFACTS / "rnn_link.png"), full_page=True)
    context.close()


def test_switch_the_form_to_recurrent_and_train(server, browser):
    context, page = new_page(browser)
    page.goto(server + "experiment")
    page.get_by_role("button", name="Train").wait_for()
    page.get_by_text(en.TEXT["rnn_form_kind_rnn"], exact=True).click()
    default = kind_default("rnn")
    page.get_by_text(en.TEXT["rnn_form_kind_switched"].format(name=default.name)).wait_for(timeout=30_000)
    fill(page, en.TEXT["rnn_form_sequence_length"], 8)
    fill(page, en.TEXT["rnn_form_width"], 8)
    page.get_by_text(en.TEXT["section_data"], exact=True).click()  # the data section is folded
    fill(page, en.TEXT["num_samples"], 128)
    fill(page, en.TEXT["probe_samples"], 32)
    epochs = page.get_by_role("slider", name=en.TEXT["epochs"])
    epochs.focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")  # 1 epoch (the slider starts at 0)
    page.get_by_role("button", name="Train").click()
    expected = default.model_copy(update={
        "data": default.data.model_copy(update={"sequence_length": 8, "num_samples": 128}),
        "model": default.model.model_copy(update={"width": 8}),
        "training": default.training.model_copy(update={"epochs": 1}),
        "probe": default.probe.model_copy(update={"num_samples": 32})})
    page.get_by_text(f"run {run_id_of(expected)}").wait_for(timeout=120_000)
    wait_for_charts(page, CHARTS)
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "rnn_form.png"), full_page=True)
    context.close()
