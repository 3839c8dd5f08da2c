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
