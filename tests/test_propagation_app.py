"""The Experiment page's signal propagation through its widgets (AppTest, issue #13): move σw across tanh's
order-chaos boundary at σb² = 0.05 (σw = 1.327), train on each side, and read the phase sentence, the charts, the
phase diagram's spinner and the propagation downloads.

The boundary is checked here by an independent float64 quadrature (numpy's Gauss–Hermite rule), not by
lab.science.mean_field. tests/test_browser_propagation.py does the same in a real browser.
"""
import contextlib
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
import streamlit
from streamlit.runtime.media_file_manager import MediaFileManager

from app.caches import server_caches
from lab import load_config, run
from lab.text import en, ko
from tests.support.app_test import chart_elements, choose_view, experiment_page, press_train, set_small

SIGMA_B = math.sqrt(0.05)
ORDERED_SIGMA_W, CHAOTIC_SIGMA_W = 1.2, 1.5  # either side of σw = 1.327
FORM = {"w.model.depth": 4, "w.model.width": 8, "w.training.epochs": 1, "w.data.num_samples": 256, "w.probe.num_samples": 64}
QUERY = {"model.activation": "tanh", "model.kernel_initializer": "gaussian", "model.bias_initializer": "gaussian",
         "model.sigma_w": "1.5", "model.sigma_b": str(SIGMA_B), "probe.propagation": "true", "model.depth": "4",
         "model.width": "8", "training.epochs": "1", "data.num_samples": "256", "probe.num_samples": "64"}


def tanh_chi_1(sigma_w: float, sigma_b2: float) -> float:
    """χ1 = σw² E[tanh'(√q* z)²] with q* iterated from 1, by numpy's probabilists' Gauss–Hermite rule in float64."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(121)
    weights = weights / weights.sum()
    q = 1.0
    for _ in range(2000):
        q = sigma_w ** 2 * float(weights @ np.tanh(math.sqrt(q) * nodes) ** 2) + sigma_b2
    return sigma_w ** 2 * float(weights @ (1.0 - np.tanh(math.sqrt(q) * nodes) ** 2) ** 2)


def test_the_two_sigma_w_lie_either_side_of_the_boundary():
    assert tanh_chi_1(ORDERED_SIGMA_W, SIGMA_B ** 2) < 0.95 and tanh_chi_1(CHAOTIC_SIGMA_W, SIGMA_B ** 2) > 1.05
    assert tanh_chi_1(1.32, 0.05) < 1.0 < tanh_chi_1(1.335, 0.05)  # the boundary the brief names: σw = 1.327


@pytest.fixture
def recorded(monkeypatch):
    """The spinners' texts and the deferred downloads (file name -> the callable the button runs on click)."""
    spinners, downloads = [], {}
    original_spinner, original_deferred = streamlit.spinner, MediaFileManager.add_deferred

    @contextlib.contextmanager
    def spinner(text="", **options):
        spinners.append(text)
        with original_spinner(text, **options):
            yield

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **options):
        downloads[file_name] = data_callable
        return original_deferred(self, data_callable, mimetype, coordinates, file_name, **options)

    monkeypatch.setattr(streamlit, "spinner", spinner)
    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    server_caches()["charts"].clear()  # the phase diagram's spec is built (and its spinner shown) in this test
    return spinners, downloads


def markdown_lines(app) -> list[str]:
    """Every line of the page's markdown."""
    return "\n".join(markdown.value for markdown in app.markdown).splitlines()


def chart_titles(app) -> set[str]:
    """The titles of the page's charts."""
    titles = set()
    for element in chart_elements(app):
        title = json.loads(element.proto.spec).get("title")
        titles.add(title.get("text", "") if isinstance(title, dict) else title or "")
    return titles


def train_at(app, sigma_w: float):
    """Set σw in the form, press Train; the page after the run."""
    app.number_input(key="w.model.sigma_w").set_value(sigma_w)
    app = press_train(app)
    assert not app.exception, app.exception
    return app


def test_moving_sigma_w_across_the_boundary_switches_the_phase_and_draws_the_charts(recorded):
    spinners, downloads = recorded
    app = experiment_page()
    set_small(app, **FORM)
    app.selectbox(key="w.model.activation").set_value("tanh")
    app.selectbox(key="w.model.kernel_initializer").set_value("gaussian")
    app.selectbox(key="w.model.bias_initializer").set_value("gaussian")
    app.number_input(key="w.model.sigma_b").set_value(SIGMA_B)
    app.checkbox(key="w.probe.propagation").check()
    app = train_at(app, ORDERED_SIGMA_W)
    assert not [line for line in markdown_lines(app) if "phase:" in line]  # the section is built once its view is chosen
    app = choose_view(app, "propagation")
    assert not app.exception, app.exception
    assert any(line.startswith("- Ordered phase") for line in markdown_lines(app))
    assert not any(line.startswith("- Chaotic phase") for line in markdown_lines(app))
    phase_title = en.CHARTS["phase"]["title"].format(activation="tanh")
    assert spinners == [en.TEXT["propagation_phase_spinner"].format(activation="tanh")]  # the diagram was not cached

    app = train_at(app, CHAOTIC_SIGMA_W)
    lines = markdown_lines(app)
    assert any(line.startswith("- Chaotic phase") for line in lines) and not any(line.startswith("- Ordered") for line in lines)
    assert any(f"σw² = {CHAOTIC_SIGMA_W ** 2:.3g}, σb² = 0.05" in line for line in lines)
    assert {phase_title, en.CHARTS["propagation"]["title"], en.CHARTS["jacobian"]["title"]} <= chart_titles(app)
    assert len(spinners) == 2  # a new dot: the diagram's spec is built again (its grid is cached: no visible spinner)
    app = app.run()  # a rerun: every spec cached, no spinner at all
    assert not app.exception and len(spinners) == 2

    # The downloads: both propagation frames, labelled, and on click the CSV of this very run (the CLI's frames).
    labels = [button.label for button in app.download_button]
    assert en.TEXT["download_propagation"] in labels and en.TEXT["download_spectrum"] in labels
    expected = run(load_config(QUERY_CONFIG))
    assert any(expected.run_id in caption.value for caption in app.caption)  # the form's run is this config's
    for name in ("propagation", "spectrum"):
        downloaded = pd.read_csv(io.BytesIO(downloads[f"{name}.csv"]()))
        pd.testing.assert_frame_equal(downloaded, getattr(expected, name), check_dtype=False)
        assert len(downloaded) > 0


QUERY_CONFIG = {"name": "experiment", "data": {"num_samples": 256},
                "model": {"depth": 4, "width": 8, "activation": "tanh", "kernel_initializer": "gaussian",
                          "sigma_w": CHAOTIC_SIGMA_W, "bias_initializer": "gaussian", "sigma_b": SIGMA_B},
                "training": {"epochs": 1}, "probe": {"num_samples": 64, "propagation": True}}


def test_a_run_without_propagation_offers_no_propagation_downloads():
    app = experiment_page(**{**QUERY, "probe.propagation": "false"})
    assert not app.exception, app.exception
    labels = [button.label for button in app.download_button]
    assert "layers.csv" in labels
    assert en.TEXT["download_propagation"] not in labels and en.TEXT["download_spectrum"] not in labels


def test_the_propagation_downloads_in_korean():
    app = experiment_page(**QUERY, lang="ko")
    assert not app.exception, app.exception
    labels = [button.label for button in app.download_button]
    assert ko.TEXT["download_propagation"] in labels and ko.TEXT["download_spectrum"] in labels
    assert ko.TEXT["download_propagation"] != en.TEXT["download_propagation"]
