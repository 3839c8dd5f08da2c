"""A real `streamlit run` server on 127.0.0.1 and Debian's Chromium (driven by Playwright): the one harness of
the browser tests (tests/test_browser*.py, their `browser` fixture in tests/conftest.py) and of the benches
(bench/app_timing.py, bench/memory.py)."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# The charts of a run's first view on the Experiment page (app.results_view builds the chosen view only): an MLP's
# per-layer profile and heatmap, an rnn's time profile and time heatmap.
RESULT_VIEW_CHARTS = 2
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_streamlit(port: int, log_path: Path | None = None, environment: dict | None = None,
                    timeout_seconds: float = 60.0) -> subprocess.Popen:
    """`streamlit run streamlit_app.py` on 127.0.0.1:port (environment added to this process's), returned once
    its health check answers; RuntimeError naming the log if it does not within timeout_seconds.
    The one server harness of the browser tests and the benches."""
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    environment = {**os.environ, **(environment or {})}
    if log_path is None:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=environment)
    else:
        with open(log_path, "w") as log:  # closed once started: the server holds its own descriptor
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment)
    deadline = time.time() + timeout_seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.05)  # polling the health endpoint until the server answers
    process.kill()
    raise RuntimeError(f"streamlit did not start within {timeout_seconds:g} s (see {log_path or 'its output'})")


def stop_streamlit(process: subprocess.Popen) -> None:
    """Terminate a server started by start_streamlit (killed if it has not ended within 30 s)."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def new_page(browser):
    """A fresh browser context (a new Streamlit session) with a tall viewport: the app scrolls inside itself."""
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    return context, context.new_page()


def wait_for_charts(page, count: int, timeout_ms: int = 120_000) -> None:
    """Wait until at least count Vega charts have drawn (a canvas or svg inside each)."""
    drawn = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks'
    page.wait_for_function(f"document.querySelectorAll('{drawn}').length >= {count}", timeout=timeout_ms)


def assert_no_exception(page) -> None:
    """No Streamlit exception box on the page."""
    assert page.locator("[data-testid='stException']").count() == 0


def module_server(log_name: str):
    """A module's server as a pytest fixture body: start `streamlit run` on a free port (log in test-artifacts/),
    yield its base URL, stop it after the module; a server that does not start fails the tests that need it."""
    import pytest

    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        process = start_streamlit(port, ARTIFACTS / log_name)
    except RuntimeError as error:
        pytest.fail(str(error))
    yield f"http://127.0.0.1:{port}/"
    stop_streamlit(process)
