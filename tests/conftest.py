"""Shared fixtures: tiny configs that run in well under a second once TensorFlow is loaded, and headless Chromium
for the browser tests. The helpers behind them are in tests/support/."""
from pathlib import Path

import pytest

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
