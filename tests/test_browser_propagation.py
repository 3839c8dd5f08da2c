"""Signal propagation in a real browser (issue #13): Debian's Chromium driven by Playwright against `streamlit run`.

The Experiment page opened on a small tanh net with gaussian weights and biases (σb² = 0.05, where the order-chaos
boundary is at σw = 1.327, checked in tests/test_propagation_app.py) at σw = 1.2; the section's view chosen: the ordered
phase; σw typed as 1.5 and Train: the chaotic phase, with the phase diagram, q/c and Jacobian charts drawn.
The harness: tests/support/streamlit_server.py; the `browser` fixture: tests/conftest.py. Screenshot in test-artifacts/.
"""
import math
import time

import pytest

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

QUERY = {"model.activation": "tanh", "model.kernel_initializer": "gaussian", "model.sigma_w": "1.2",
         "model.bias_initializer": "gaussian", "model.sigma_b": repr(math.sqrt(0.05)), "probe.propagation": "true",
         "model.depth": "4", "model.width": "8", "training.epochs": "1", "data.num_samples": "256", "probe.num_samples": "64"}
SECTION_CHARTS = 4  # the phase diagram, q and c per layer, the singular values per layer, one layer's histogram
# The result charts drawn on the page: those of the chosen view (app.results_view builds only that one), not the live
# chart of training, which stays in the collapsed status box (an expander).
RESULT_CHART = '[data-testid="stMainBlockContainer"] [data-testid="stVegaLiteChart"]:not([data-testid="stExpander"] *)'
SECTION_DRAWN = f"() => document.querySelectorAll('{RESULT_CHART} canvas, {RESULT_CHART} svg.marks').length"


@pytest.fixture(scope="module")
def server():
    """One server for the module; its base URL."""
    yield from module_server("streamlit_propagation.log")


def wait_for_section_charts(page, count: int) -> None:
    """Wait until count result charts have drawn (the signal propagation view chosen: the section's)."""
    page.wait_for_function(f"({SECTION_DRAWN})() >= {count}", timeout=60_000)


def test_sigma_w_across_the_boundary_switches_the_phase_and_draws_the_propagation_charts(server, browser):
    context, page = new_page(browser)
    started = time.time()
    page.goto(server + "experiment?" + "&".join(f"{key}={value}" for key, value in QUERY.items()))
    page.get_by_text("tanh · depth 4 × 8").wait_for(timeout=120_000)
    wait_for_charts(page, RESULT_VIEW_CHARTS)
    assert page.get_by_text("Ordered phase:").count() == 0  # another view is chosen: the section is not built

    page.get_by_role("radio", name=en.TEXT["view_propagation"]).click()
    page.get_by_text("Ordered phase:").wait_for(timeout=60_000)
    wait_for_section_charts(page, SECTION_CHARTS)
    assert page.get_by_text("Chaotic phase:").count() == 0

    sigma_w = page.get_by_role("spinbutton", name=en.TEXT["sigma_w"], exact=True)
    sigma_w.fill("1.5")
    sigma_w.press("Tab")  # commits the number; Enter would submit the form before it does
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Chaotic phase:").wait_for(timeout=60_000)
    page.get_by_text("σw² = 2.25, σb² = 0.05").wait_for(timeout=10_000)
    assert page.get_by_text("Ordered phase:").count() == 0
    wait_for_section_charts(page, SECTION_CHARTS)
    assert page.get_by_text(en.TEXT["propagation_off"]).count() == 0  # the run recorded propagation: its charts, not the hint
    assert_no_exception(page)
    print(f"opened, view chosen, retrained and drawn in {time.time() - started:.1f} s")
    page.screenshot(path=str(ARTIFACTS / "propagation.png"), full_page=True)
    context.close()
