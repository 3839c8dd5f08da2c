"""Shared fixtures: tiny configs that run in well under a second once TensorFlow is loaded, and headless Chromium
for the browser tests. The helpers behind them are in tests/support/."""
import os
from pathlib import Path

import pytest

# The test process is one of the lab's, so its TensorFlow gets the lab's thread pools whatever imports TensorFlow
# first: lab.keras (imported by the callback tests) gives a user's process TensorFlow's own pools back, but only those
# the lab itself set (lab.training.runtime.release_thread_defaults). LAB_TF_THREADS, default 1, as thread_count reads it.
for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_name, os.environ.get("LAB_TF_THREADS", "1"))
# The app warms the tour's runs in a background thread (app/tour_warmer.py): in the test process (AppTest) and in each
# test's `streamlit run` server (start_streamlit passes os.environ on) it would train the whole tour behind the tests.
# Tests see a cold server; tests/test_tour_warming.py drives the warmer itself.
os.environ.setdefault("LAB_WARM_TOUR", "0")
import lab  # noqa: E402,F401 - the rest of the lab's environment (oneDNN off) before any test module imports keras

# Before any test module imports tests.support: the helpers' asserts explain themselves as the tests' own do.
pytest.register_assert_rewrite("tests.support")


@pytest.fixture
def make_config():
    """The tiny_config factory, as a fixture."""
    from tests.support.configs import tiny_config

    return tiny_config


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium (never a downloaded browser), one for the module."""
    from playwright.sync_api import sync_playwright

    from tests.support.streamlit_server import CHROMIUM, CHROMIUM_ARGS

    assert Path(CHROMIUM).exists(), "Chromium is missing: `apt-get install -y chromium` (.ci/run does it)"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def quick_sweep_table(tmp_path_factory):
    """table(preset path) -> its sweep.csv frame with --quick, each sweep preset run at most once per test session.

    Several modules check the same quick preset sweeps (every preset in test_sweep_presets, the isometry and
    edge-of-chaos studies in their own modules): one run each instead of one per module.
    """
    from lab.sweeps.runner import run_sweep
    from lab.sweeps.table import read_sweep_csv

    tables = {}

    def table(path):
        path = Path(path).resolve()
        if path not in tables:
            csv, progress = run_sweep(path, tmp_path_factory.mktemp(path.stem), quick=True)
            assert progress.failed == 0, progress.errors
            tables[path] = read_sweep_csv(csv)
        return tables[path]

    return table
