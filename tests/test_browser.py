"""The app in a real browser: Debian's Chromium driven by Playwright against `streamlit run` on 127.0.0.1.

One Streamlit server for the whole module (the harness: tests/support/streamlit_server.py; the `browser`
fixture: tests/conftest.py). Screenshots go to test-artifacts/.
"""
import time

import pytest

from tests.support.streamlit_server import (
    ARTIFACTS,
    RESULT_VIEW_CHARTS,
    assert_no_exception,
    module_server,
    new_page,
    wait_for_charts,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SMALL_URL = "experiment?data.num_samples=256&probe.num_samples=64&model.width=8&training.epochs=3"


@pytest.fixture(scope="module")
def server():
    """One server for the module; its base URL."""
    yield from module_server("streamlit.log")


def test_gallery_paints_every_chart(server, browser):
    context, page = new_page(browser)
    started = time.time()
    page.goto(server)
    wait_for_charts(page, 10)
    print(f"gallery painted in {time.time() - started:.1f} s")
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)
    context.close()


def test_change_depth_and_activation_then_train(server, browser):
    context, page = new_page(browser)
    page.goto(server + SMALL_URL.split("&training")[0])  # small data through the URL, the rest by hand
    page.get_by_role("button", name="Train").wait_for()
    page.wait_for_timeout(1500)  # the URL's experiment runs first; let it settle
    depth = page.get_by_role("slider", name="Depth (hidden layers)")
    depth.focus()
    for _ in range(6):
        page.keyboard.press("ArrowLeft")
    activation = page.get_by_label("Hidden activation")
    activation.click()
    page.get_by_role("option", name="relu", exact=True).click()
    epochs = page.get_by_role("slider", name="Epochs")
    epochs.focus()
    page.keyboard.press("Home")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.get_by_role("button", name="Train").click()
    page.get_by_text("relu · depth 4 × 8").wait_for(timeout=120_000)
    wait_for_charts(page, RESULT_VIEW_CHARTS)
    assert_no_exception(page)
    assert page.get_by_text("Verdict").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "experiment.png"), full_page=True)
    context.close()


def test_two_sessions_training_at_once_each_see_their_own(server, browser):
    first_context, first = new_page(browser)
    second_context, second = new_page(browser)
    first.goto(server + SMALL_URL + "&model.activation=sigmoid&model.depth=5")
    second.goto(server + SMALL_URL + "&model.activation=tanh&model.depth=6")
    first.get_by_text("sigmoid · depth 5 × 8").wait_for(timeout=120_000)
    second.get_by_text("tanh · depth 6 × 8").wait_for(timeout=120_000)
    wait_for_charts(first, RESULT_VIEW_CHARTS)
    wait_for_charts(second, RESULT_VIEW_CHARTS)
    assert first.get_by_text("tanh · depth 6").count() == 0
    assert second.get_by_text("sigmoid · depth 5").count() == 0
    for page in (first, second):
        assert_no_exception(page)
    second.screenshot(path=str(ARTIFACTS / "second_session.png"), full_page=True)
    first_context.close()
    second_context.close()


def test_a_bad_config_upload_gets_a_message(server, browser, tmp_path):
    context, page = new_page(browser)
    page.goto(server + "experiment")
    page.get_by_role("button", name="Train").wait_for(timeout=60_000)  # the page has drawn
    page.locator("[data-testid='stExpander'] summary").filter(has_text="Presets").click()
    uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
    uploader.wait_for(state="attached", timeout=30_000)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {depht: 3}\n")
    uploader.set_input_files(str(bad))
    page.get_by_text("did you mean 'depth'").wait_for(timeout=30_000)
    assert_no_exception(page)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    uploader.set_input_files(str(binary))
    page.get_by_text("not a UTF-8 text file").wait_for(timeout=30_000)
    assert_no_exception(page)
    context.close()


def test_stop_keeps_what_was_recorded(server, browser):
    context, page = new_page(browser)
    page.goto(server + "experiment?data.num_samples=5000&training.epochs=200&training.batch_size=16&model.width=64")
    stop = page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")  # not Streamlit's own
    stop.wait_for(timeout=120_000)
    page.get_by_text("step ", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_timeout(3000)
    stop.click()
    page.get_by_text("Stopped at step").first.wait_for(timeout=60_000)
    wait_for_charts(page, RESULT_VIEW_CHARTS)
    assert_no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "stopped.png"), full_page=True)
    context.close()


def test_fix_it_reruns_with_the_remedy_in_the_browser(server, browser):
    context, page = new_page(browser)
    page.goto(server + SMALL_URL + "&model.activation=sigmoid&model.depth=10")
    page.get_by_text("sigmoid · depth 10 × 8").wait_for(timeout=120_000)
    page.locator("[class*='st-key-fix_button_'] button").click()  # the suggested remedy: batch normalisation
    page.get_by_text("Before and after: batch normalisation").wait_for(timeout=120_000)
    page.get_by_text("With batch normalisation, at initialisation the first layer receives").first.wait_for(timeout=30_000)
    wait_for_charts(page, RESULT_VIEW_CHARTS + 2)  # the overlaid profiles and curves above the view
    assert_no_exception(page)
    assert "model.normalization=batch" in page.url
    page.screenshot(path=str(ARTIFACTS / "fix_it.png"), full_page=True)
    context.close()


def test_the_tour_runs_a_section_with_numbers_from_the_runs(server, browser):
    from lab import run
    from lab.readings.fix_it import format_ratio
    from lab.readings.report import first_to_last
    from lab.readings.tour import section

    context, page = new_page(browser)
    page.goto(server + "tour")
    page.locator(".st-key-tour_run_sigmoid button").click()
    page.get_by_text("Going down, the back-propagated signal changes").wait_for(timeout=120_000)
    wait_for_charts(page, 1)
    assert_no_exception(page)
    # The numbers on the page are those of the same preset run here (same config and seed, same numbers).
    experiment, remedy = run(section("sigmoid").config()), run(section("sigmoid").remedy_config())
    signal, fixed = (format_ratio(first_to_last(result.layers, "preact_grad_rms")) for result in (experiment, remedy))
    page.get_by_text(f"the first layer's back-propagated signal is {signal} of the last hidden layer's").wait_for(timeout=10_000)
    page.get_by_text(f"receives {fixed} of the last hidden layer's back-propagated signal, instead of {signal}").wait_for(
        timeout=10_000)
    assert page.get_by_text("The measured numbers bear the claim out.").count() == 1
    page.screenshot(path=str(ARTIFACTS / "tour.png"), full_page=True)
    context.close()
