"""The time views in the app (AppTest, issue #14): an rnn run's Experiment page in English and Korean shows the sentence
with the frame's ratio, the time charts holding the frame's values, recurrent layers named as such, and timesteps.csv;
Compare overlays rnn runs' time profiles and refuses to put an MLP's layer profile beside an rnn's, with one message.

The runs are trained here (T = 8, width 8, 1 epoch) and put in the session as opened runs are, so these tests do not
depend on the form (tests of training an rnn from the form and from a URL are the form's)."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from app.results_view import VIEW_KEY
from app.shared import run_label
from lab import run
from lab.readings import time_reading
from lab.text import en, ko
from tests.support.app_test import APP, TIMEOUT, chart_elements, chart_rows, chart_specs

LENGTH = 8
RNN = {"name": "tiny_rnn", "model": {"kind": "rnn", "width": 8},
       "data": {"dataset": "adding", "sequence_length": LENGTH, "num_samples": 160},
       "training": {"epochs": 1, "record_every": 2}, "probe": {"num_samples": 32}}


@pytest.fixture(scope="module")
def runs():
    """A simple-cell rnn, an LSTM and an MLP, each trained once."""
    rnn = run(RNN)
    lstm = run({**RNN, "name": "tiny_lstm", "model": {"kind": "rnn", "cell": "lstm", "width": 8}})
    mlp = run({"name": "tiny_mlp", "model": {"depth": 2, "width": 4}, "data": {"num_samples": 128},
               "training": {"epochs": 1}, "probe": {"num_samples": 16}})
    return rnn, lstm, mlp


def page(path: str, results, lang: str = "en", **state) -> AppTest:
    """The app on a page with these runs in the session (the last one current)."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["lang"] = lang
    labels = {run_label(result): result for result in results}
    app.session_state["runs"] = labels
    app.session_state["current_run"] = list(labels)[-1]
    for key, value in state.items():
        app.session_state[key] = value
    app.switch_page(path)
    return app.run()


def titles(app: AppTest) -> list[str]:
    """The titles of every chart on the page (top level and layers)."""
    found = []
    for element in chart_elements(app):
        spec = json.loads(element.proto.spec)
        for node in [spec, *spec.get("layer", []), *spec.get("hconcat", [])]:
            title = node.get("title")
            found.append(title if isinstance(title, str) else (title or {}).get("text", ""))
    return found


@pytest.mark.parametrize("lang, catalogue", [("en", en), ("ko", ko)])
def test_an_rnn_runs_page_shows_the_time_views_in_either_language(runs, lang, catalogue):
    rnn = runs[0]
    app = page("app/pages/experiment.py", [rnn], lang)
    assert not app.exception, app.exception
    text = "\n".join(block.value for block in app.markdown)
    ratio = time_reading.first_to_last(rnn.timesteps, 1, 0)
    key = "time_sentence_smaller" if ratio < 1 else "time_sentence_larger"
    sentence = catalogue.TEXT[key].format(moment=catalogue.TEXT["moment_start"], step=0, length=LENGTH,
                                          ratio=time_reading.scientific(ratio))
    assert sentence in text
    assert catalogue.TEXT["time_heading"] in text
    drawn = titles(app)
    assert catalogue.CHARTS["time_profile"]["title"] in drawn and catalogue.CHARTS["time_heatmap"]["title"] in drawn
    values = {(row["step"], row["t"]): row["value"] for row in chart_rows(app) if "lag" in row and "series" in row}
    frame = rnn.timesteps
    for record in frame[frame["step"] == 0].itertuples():
        assert values[(0, record.t)] == record.state_grad_rms
    theory = {row["t"] for row in chart_rows(app) if "curve" in row}
    assert theory == set(range(1, LENGTH + 1))  # the simple cell's theory line, one point per time step
    assert catalogue.TEXT["time_theory_note"] in "\n".join(block.value for block in app.caption)
    assert catalogue.TEXT["time_download"] in [button.label for button in app.get("download_button")]
    if lang == "ko":
        from tests.test_i18n import assert_korean

        assert_korean(chart_specs(app))
    # The time view is an rnn run's first; the layer profile stays in the next, its layers named recurrent layers.
    assert app.segmented_control[0].options[0] == catalogue.TEXT["view_time"]
    # Chosen before the page's first run: a second run of a Korean page fails inside AppTest (it re-reads Fix it's
    # selectbox through its format_func outside the script, in English).
    app = page("app/pages/experiment.py", [rnn], lang, **{VIEW_KEY: "gradients"})
    assert not app.exception, app.exception
    assert catalogue.TEXT["time_layers_note"] in "\n".join(block.value for block in app.caption)
    specs = [json.loads(element.proto.spec) for element in chart_elements(app)]
    axis_titles = {layer["encoding"]["x"].get("title") for spec in specs for layer in spec.get("layer", [])
                   if "x" in layer.get("encoding", {})}
    assert catalogue.TEXT["time_layer_axis"] in axis_titles


def test_an_lstm_runs_page_says_theory_is_for_the_simple_cell(runs):
    app = page("app/pages/experiment.py", [runs[1]])
    assert not app.exception, app.exception
    assert en.TEXT["time_gated_note"] in "\n".join(block.value for block in app.caption)
    assert not [row for row in chart_rows(app) if "curve" in row]


def test_compare_overlays_rnn_time_profiles(runs):
    rnn, lstm, _ = runs
    app = page("app/pages/compare.py", [rnn, lstm])
    assert not app.exception, app.exception
    assert en.CHARTS["time_compare"]["title_end"] in titles(app)
    assert not app.warning
    drawn = {row["run"] for row in chart_rows(app) if "lag" in row}
    assert drawn == {run_label(rnn), run_label(lstm)}
    axis_titles = {layer["encoding"]["x"].get("title") for spec in chart_specs(app) for layer in spec.get("layer", [])
                   if "x" in layer.get("encoding", {})}
    assert en.TEXT["time_layer_axis"] in axis_titles  # both recurrent: the layer profile is drawn, named so


def test_compare_refuses_an_mlps_layer_profile_beside_an_rnns(runs):
    rnn, _, mlp = runs
    app = page("app/pages/compare.py", [mlp, rnn])
    assert not app.exception, app.exception
    (warning,) = app.warning
    assert warning.value == en.TEXT["time_compare_mixed"].format(mlp=run_label(mlp), rnn=run_label(rnn))
    assert not any(title.endswith("(log scale)") and "per layer" in title for title in titles(app))
    assert en.CHARTS["time_compare"]["title_end"] in titles(app)  # the rnn's time profile is still drawn
