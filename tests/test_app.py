"""The Streamlit app through AppTest: pages render, Train trains, charts carry the run's numbers,
query parameters round-trip, presets load, bad links get a message, compare overlays runs."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from lab import load_config, run
from lab.science.activations import HIDDEN_ACTIVATIONS
from lab.text.i18n import description
from tests.support.app_test import APP, TIMEOUT, chart_rows, chart_specs, choose_view, experiment_page, press_train, set_small


def test_gallery_renders_every_activation_and_softmax():
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    specs = chart_specs(app)
    assert len(specs) >= len(HIDDEN_ACTIVATIONS) + 1  # every hidden activation and the softmax chart
    texts = json.dumps(specs)
    assert "0.25" in texts  # sigmoid's derivative maximum is marked
    headings = {markdown.value for markdown in app.markdown}
    assert {f"#### {name}" for name in ("linear", "hard_tanh", "softsign")} <= headings  # issue #13's activations
    assert any(caption.value == description("hard_tanh", "en") for caption in app.caption)


def test_train_shows_charts_from_the_runs_frames_and_binds_the_url():
    app = experiment_page()
    assert not app.exception
    set_small(app)
    app = press_train(app)
    assert not app.exception, app.exception
    result = run(load_config({"data": {"num_samples": 256}, "model": {"depth": 3, "width": 8},
                              "training": {"epochs": 2}, "probe": {"num_samples": 64}}))
    expected = {round(value, 6) for value in result.layers["grad_norm"] if value > 0}
    plotted = {round(row["grad_norm"], 6) for row in chart_rows(app)
               if isinstance(row.get("grad_norm"), float) and row["grad_norm"] > 0}
    assert plotted and plotted <= expected  # the charts draw exactly the numbers the run measured
    assert any("first layer" in markdown.value for markdown in app.markdown)  # the verdict
    assert app.query_params["model.depth"] == "3" and app.query_params["training.epochs"] == "2"
    # One view at a time: each draws its own charts only (the default experiment's data is 2-D: a boundary).
    titles = {}
    for view in ("gradients", "training", "inside"):
        app = choose_view(app, view)
        assert not app.exception, app.exception
        titles[view] = [spec.get("title") or spec["layer"][0].get("title") for spec in chart_specs(app)]
    assert len(titles["gradients"]) == 2 and len(titles["inside"]) == 2 and len(titles["training"]) >= 2, titles
    assert not set(map(json.dumps, titles["gradients"])) & set(map(json.dumps, titles["training"] + titles["inside"]))


def test_a_url_reproduces_an_experiment():
    app = experiment_page(**{"model.depth": "4", "model.width": "8", "model.activation": "relu", "training.epochs": "1",
                             "data.num_samples": "256", "probe.num_samples": "64"})
    assert not app.exception, app.exception
    assert app.slider(key="w.model.depth").value == 4
    assert app.selectbox(key="w.model.activation").value == "relu"
    assert len(chart_specs(app)) >= 2  # it ran (or came from the cache) without pressing Train: the profile and heatmap


def test_a_bad_url_gets_a_message_not_a_traceback():
    app = experiment_page(**{"model.depth": "0", "model.activaton": "relu"})
    assert not app.exception
    errors = " ".join(error.value for error in app.error)
    assert "model.depth" in errors and "did you mean 'activation'" in errors


def test_a_config_over_the_app_caps_is_refused_with_the_cap():
    app = experiment_page(**{"model.depth": "80"})
    assert not app.exception
    assert "at most 50 in the app" in " ".join(error.value for error in app.error)


def test_loading_a_preset_fills_the_form():
    app = experiment_page()
    app.selectbox(key="w.preset").set_value("relu_glorot_deep")
    (load,) = [button for button in app.button if button.label == "Load preset"]
    app = load.click().run()
    assert not app.exception
    assert app.slider(key="w.model.depth").value == 30
    assert app.selectbox(key="w.model.activation").value == "relu"
    assert app.selectbox(key="w.model.kernel_initializer").value == "glorot_uniform"


def test_output_activation_follows_the_task():
    app = experiment_page()
    assert app.selectbox(key="w.model.output_activation").options == ["sigmoid", "softmax"]
    app.selectbox(key="w.data.dataset").set_value("blobs").run()
    app.number_input(key="w.data.num_classes").set_value(3).run()
    assert app.selectbox(key="w.model.output_activation").options == ["softmax"]
    assert not app.exception


def test_korean_interface():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["lang"] = "ko"
    app = app.run()
    assert not app.exception
    assert app.title[0].value == "기울기 소실 실험실"
    assert "도함수" in json.dumps(chart_specs(app), ensure_ascii=False)  # chart texts are translated too
    experiment = experiment_page(lang="ko", **{"model.depth": "3", "model.width": "8", "training.epochs": "1",
                                               "data.num_samples": "256", "probe.num_samples": "64"})
    assert not experiment.exception
    assert any("첫 번째 층" in markdown.value for markdown in experiment.markdown)  # the verdict in Korean


def test_compare_overlays_two_runs_with_their_differences():
    app = experiment_page()
    set_small(app)
    app = press_train(app)
    app.selectbox(key="w.model.activation").set_value("relu")
    app = press_train(app)
    assert not app.exception
    app.switch_page("app/pages/compare.py")
    app = app.run()
    assert not app.exception, app.exception
    assert len(app.multiselect(key="compare_pick").value) == 2
    runs_plotted = {row.get("run") for row in chart_rows(app) if row.get("run")}
    assert len(runs_plotted) == 2
    differences = app.table[0].value
    assert "model.activation" in list(differences.index)


@pytest.mark.slow
def test_sweeps_page_runs_a_small_sweep_and_draws_the_views_with_theory():
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.switch_page("app/pages/sweeps.py")
    app = app.run()
    assert not app.exception
    app.selectbox(key="sweep_preset").set_value("xavier_vs_he")
    (run_button,) = [button for button in app.button if button.label == "Run sweep"]
    app = run_button.click().run(timeout=TIMEOUT)
    assert not app.exception, app.exception
    rows = chart_rows(app)
    series = {str(row.get("series")) for row in rows}
    assert any("he_normal" in text for text in series) and any("glorot_uniform" in text for text in series)
    assert any("value" in row and "median" not in row for row in rows)  # the theory's dashed line rows
    assert len(app.dataframe) == 1
