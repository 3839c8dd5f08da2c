"""The app's way into recurrent experiments (issue #14): the form's kind choice, its recurrent fields and their bounds,
links that open, fill the form, run and train again to the same run id, in English and Korean, and bad inputs in one
line. Every training here is tiny (T = 8, width 8, one epoch) so the module stays within seconds per test."""
import random

import pytest
import streamlit

from app import experiment_form as form
from app.url_state import RNN_UI_LIMITS, UI_LIMITS, check_ui_limits, widget_range
from lab import ConfigError, ExperimentConfig, load_config, run_id_of
from lab.contract.config import MAX_RNN_DEPTH
from lab.contract.config_io import parse_override
from lab.contract.field_limits import bounds
from lab.science.recurrent_initializers import MAX_SPECTRAL_RADIUS
from lab.science.sequences import SEQUENCE_TASKS
from lab.text import en, ko
from tests.support.app_test import experiment_page, press_train

# Keeps each run to a second or two; each link's own fields override these.
TINY_LINK = {"model.kind": "rnn", "data.sequence_length": "8", "model.width": "8", "training.epochs": "1",
             "data.num_samples": "128", "probe.num_samples": "32"}
TINY_FORM = {"w.data.sequence_length": 8, "w.model.width": 8, "w.data.num_samples": 128, "w.probe.num_samples": 32}
RNN_LINKS = {
    "simple_adding_spectral_radius": {"data.dataset": "adding", "model.spectral_radius": "0.95"},
    "irnn": {"data.dataset": "adding", "model.activation": "relu", "model.recurrent_initializer": "identity"},
    "lstm_temporal_order_two_layers": {"data.dataset": "temporal_order", "model.cell": "lstm", "model.depth": "2",
                                       "model.output_activation": "softmax"},
    "gru_bit_memory_noise": {"data.dataset": "bit_memory", "model.cell": "gru", "data.noise": "0.3"},
}
# Widgets a recurrent network's form does not draw: the MLP's blocks, its Jacobians, and the features the task fixes.
MLP_ONLY_WIDGETS = ("w.model.normalization", "w.model.normalization_position", "w.model.residual_every",
                    "w.probe.propagation", "w.probe.jacobian_samples", "w.data.num_features")
RNN_ONLY_WIDGETS = ("w.model.cell", "w.model.recurrent_initializer", "w.model.spectral_radius", "w.data.sequence_length")


def link_config(parameters: dict) -> ExperimentConfig:
    """The config a link's parameters describe, read with the CLI's --set parsing (not the app's)."""
    return load_config({}, overrides=dict(parse_override(f"{key}={value}") for key, value in parameters.items()))


def current_run(app):
    """The run the page shows now."""
    return app.session_state["runs"][app.session_state["current_run"]]


def widget_keys(app) -> set[str]:
    """The keys of every widget the page draws."""
    elements = [*app.number_input, *app.slider, *app.selectbox, *app.radio, *app.checkbox]
    return {element.key for element in elements if element.key}


def switch_to_recurrent(app):
    """Pick 'recurrent' in the task section (the form starts from the default rnn experiment)."""
    return app.radio(key="w.model.kind").set_value("rnn").run()


def set_tiny(app) -> None:
    """Shrink the form's recurrent experiment: T = 8, width 8, one epoch, 128 sequences."""
    for key, value in TINY_FORM.items():
        app.number_input(key=key).set_value(value)
    app.slider(key="w.training.epochs").set_value(1)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_recurrent_choice_starts_from_the_default_rnn_experiment_and_trains_from_the_form(language):
    text = {"en": en.TEXT, "ko": ko.TEXT}[language]
    app = experiment_page(lang=language)
    assert not app.exception
    assert app.radio(key="w.model.kind").label == text["rnn_form_kind"]
    assert set(RNN_ONLY_WIDGETS).isdisjoint(widget_keys(app))  # an MLP's form has no recurrent fields
    app = switch_to_recurrent(app)
    assert not app.exception, app.exception
    default = form.kind_default("rnn")
    assert (default.model.kind, default.model.cell, default.data.dataset) == ("rnn", "simple", "adding")
    assert (default.data.sequence_length, default.model.width, default.model.activation) == (50, 32, "tanh")
    assert app.selectbox(key="w.data.dataset").options == list(SEQUENCE_TASKS)
    assert app.selectbox(key="w.data.dataset").value == "adding"
    assert app.number_input(key="w.data.sequence_length").value == 50
    assert app.number_input(key="w.data.sequence_length").label == text["rnn_form_sequence_length"]
    assert app.slider(key="w.model.depth").label == text["rnn_form_depth"]
    assert set(MLP_ONLY_WIDGETS).isdisjoint(widget_keys(app))
    assert set(RNN_ONLY_WIDGETS) <= widget_keys(app)
    set_tiny(app)
    app = press_train(app)
    assert not app.exception, app.exception
    assert not app.error, [error.value for error in app.error]
    result = current_run(app)
    sent = result.config
    assert (sent.model.kind, sent.data.dataset, sent.data.sequence_length, sent.model.width) == ("rnn", "adding", 8, 8)
    expected = default.model_copy(update={
        "data": default.data.model_copy(update={"sequence_length": 8, "num_samples": 128}),
        "model": default.model.model_copy(update={"width": 8}),
        "training": default.training.model_copy(update={"epochs": 1}),
        "probe": default.probe.model_copy(update={"num_samples": 32})})
    assert result.run_id == run_id_of(expected)  # exactly the default rnn experiment with the four sizes changed
    assert set(result.timesteps["t"]) == set(range(1, 9))  # a recurrent run: its time profile was measured
    assert app.query_params["model.kind"] == "rnn" and app.query_params["data.sequence_length"] == "8"


@pytest.mark.parametrize(("name", "language"), [(name, "en") for name in RNN_LINKS] + [("irnn", "ko")])
def test_an_rnn_link_opens_fills_the_form_runs_and_trains_again_unchanged(name, language):
    parameters = {**TINY_LINK, **RNN_LINKS[name]}
    config = link_config(parameters)
    expected = run_id_of(config)
    app = experiment_page(lang=language, **parameters)
    assert not app.exception, app.exception
    assert not app.error, [error.value for error in app.error]
    assert current_run(app).run_id == expected
    assert app.radio(key="w.model.kind").value == "rnn"
    assert app.selectbox(key="w.model.cell").value == config.model.cell
    assert app.selectbox(key="w.data.dataset").value == config.data.dataset
    assert app.number_input(key="w.data.sequence_length").value == config.data.sequence_length
    assert app.selectbox(key="w.model.activation").value == config.model.activation
    assert app.selectbox(key="w.model.recurrent_initializer").value == config.model.recurrent_initializer
    if config.model.cell == "simple":
        assert app.number_input(key="w.model.spectral_radius").value == config.model.spectral_radius
    # What Train sends from the unchanged form (AppTest cannot click in Korean once the results are drawn: it re-reads
    # every widget's label through its format_func outside the session, and Fix it's remedy menu is translated lazily).
    raw = form.raw_config(config.data.dataset, config.data.num_classes, state=app.session_state)
    assert run_id_of(load_config(raw)) == expected
    if language != "en":
        return
    app = press_train(app)
    assert not app.exception, app.exception
    assert not app.error, [error.value for error in app.error]
    assert current_run(app).run_id == expected  # Train on the unchanged form: the same experiment


def test_a_gated_cell_offers_only_what_it_takes_and_nothing_hidden_is_sent():
    app = switch_to_recurrent(experiment_page())
    app.selectbox(key="w.model.activation").set_value("relu")
    app.selectbox(key="w.model.recurrent_initializer").set_value("identity")
    app.number_input(key="w.model.spectral_radius").set_value(0.5)
    app = app.run()
    app = app.selectbox(key="w.model.cell").set_value("gru").run()
    assert not app.exception
    activation = app.selectbox(key="w.model.activation")
    assert activation.options == ["tanh"] and activation.value == "tanh" and activation.disabled
    assert "identity" not in app.selectbox(key="w.model.recurrent_initializer").options
    assert app.selectbox(key="w.model.recurrent_initializer").value == "orthogonal"
    assert "w.model.spectral_radius" not in widget_keys(app)
    assert "rai" not in app.selectbox(key="w.model.kernel_initializer").options
    set_tiny(app)
    app = press_train(app)
    assert not app.exception and not app.error, [error.value for error in app.error]
    model = current_run(app).config.model
    sent = (model.cell, model.activation, model.recurrent_initializer, model.spectral_radius)
    assert sent == ("gru", "tanh", "orthogonal", None)


def test_switching_back_to_the_mlp_restores_its_form():
    app = switch_to_recurrent(experiment_page())
    app = app.radio(key="w.model.kind").set_value("mlp").run()
    assert not app.exception
    assert app.selectbox(key="w.data.dataset").value == ExperimentConfig().data.dataset
    assert app.slider(key="w.model.depth").value == ExperimentConfig().model.depth
    assert app.slider(key="w.model.depth").max == UI_LIMITS["model.depth"]
    assert set(RNN_ONLY_WIDGETS).isdisjoint(widget_keys(app))


def test_a_link_asking_a_gated_cell_for_relu_gets_the_configs_one_line_error():
    app = experiment_page(**{**TINY_LINK, "model.cell": "lstm", "model.activation": "relu", "data.dataset": "adding"})
    assert not app.exception
    (error,) = [error.value for error in app.error]
    assert "\n" not in error and "model.activation" in error and "tanh" in error
    assert "current_run" not in app.session_state  # nothing ran
    assert app.radio(key="w.model.kind").value == "mlp"  # the form is left as it was


@pytest.mark.parametrize(("field", "value"), [("model.width", RNN_UI_LIMITS["model.width"] + 1),
                                              ("data.sequence_length", UI_LIMITS["data.sequence_length"] + 1)])
def test_an_rnn_link_over_the_apps_caps_names_the_cap(field, value):
    app = experiment_page(**{**TINY_LINK, "data.dataset": "adding", field: str(value)})
    assert not app.exception
    (error,) = [error.value for error in app.error]
    limit = {**UI_LIMITS, **RNN_UI_LIMITS}[field]
    assert f"{field}: at most {limit} in the app" in error and "\n" not in error


def test_the_recurrent_widgets_show_the_schemas_bounds_narrowed_by_the_rnn_caps():
    app = switch_to_recurrent(experiment_page())
    low, high, _, _ = bounds("data.sequence_length")
    assert (app.number_input(key="w.data.sequence_length").min, app.number_input(key="w.data.sequence_length").max) == (
        low, min(high, UI_LIMITS["data.sequence_length"]))
    assert (app.slider(key="w.model.depth").min, app.slider(key="w.model.depth").max) == (1, MAX_RNN_DEPTH)
    assert app.number_input(key="w.model.width").max == RNN_UI_LIMITS["model.width"]
    assert app.number_input(key="w.probe.num_samples").max == RNN_UI_LIMITS["probe.num_samples"]
    radius = app.number_input(key="w.model.spectral_radius")
    assert (radius.min, radius.max, radius.value) == (0.0, MAX_SPECTRAL_RADIUS, None)  # empty: U as drawn
    assert widget_range("model.width", "rnn")[1] == RNN_UI_LIMITS["model.width"] < widget_range("model.width")[1]


def recurrent_configs() -> list[ExperimentConfig]:
    """Varied recurrent configs within the app's caps (every task and cell; the simple cell's own fields too)."""
    rng = random.Random(1)
    width, length = RNN_UI_LIMITS["model.width"], UI_LIMITS["data.sequence_length"]
    shared = {"model.depth": [1, MAX_RNN_DEPTH], "model.width": [1, width],
              "data.sequence_length": [2, 77, length], "data.num_samples": [16, 300], "model.leaky_alpha": [0.0, 0.3],
              "model.kernel_initializer": ["glorot_uniform", "gaussian", "orthogonal"], "model.sigma_w": [0.5, 1.5],
              "model.bias_initializer": ["zeros", -0.5, 1e-9], "training.clip_norm": [None, 1.0], "seed": [0, 2**31 - 1],
              "model.recurrent_initializer": ["orthogonal", "glorot_uniform", "gaussian"]}
    simple_only = {"model.activation": ["tanh", "relu", "leaky_relu", "sigmoid"], "model.recurrent_initializer": ["identity"],
                   "model.spectral_radius": [1e-3, 0.95, MAX_SPECTRAL_RADIUS]}
    configs = []
    for _ in range(300):
        cell = rng.choice(["simple", "lstm", "gru"])
        overrides = {"model.kind": "rnn", "model.cell": cell, "data.dataset": rng.choice(SEQUENCE_TASKS)}
        overrides.update({key: rng.choice(values) for key, values in shared.items() if rng.random() < 0.5})
        if cell == "simple":
            overrides.update({key: rng.choice(values) for key, values in simple_only.items() if rng.random() < 0.4})
        if overrides["data.dataset"] == "temporal_order":
            overrides["model.output_activation"] = "softmax"  # 4 classes
        if overrides["data.dataset"] == "bit_memory" and rng.random() < 0.5:
            overrides["data.noise"] = rng.choice([0.0, 0.37])
        try:
            config = load_config({}, overrides=overrides)
            check_ui_limits(config)
        except ConfigError:
            continue  # a cap refuses this mix (an estimate over the hosted memory or time): not a config the form is given
        configs.append(config)
    return configs


def test_the_form_holds_every_recurrent_config_exactly_and_sends_only_its_fields(monkeypatch):
    configs = recurrent_configs()
    assert len(configs) > 120
    assert {config.model.cell for config in configs} == {"simple", "lstm", "gru"}
    assert any(config.model.spectral_radius is not None for config in configs)
    for config in configs:
        state = {}
        monkeypatch.setattr(streamlit, "session_state", state)
        form.apply_to_widgets(config)
        raw = form.raw_config(config.data.dataset, config.data.num_classes, state=state)
        assert run_id_of(load_config(raw)) == run_id_of(config), config
        assert not {"normalization", "normalization_position", "residual_every"} & set(raw["model"])
        assert not {"num_features", "num_classes"} & set(raw["data"])  # the task's own
        assert ("noise" in raw["data"]) == (config.data.dataset == "bit_memory")
        assert not {"propagation", "jacobian_samples"} & set(raw["probe"])
        assert ("spectral_radius" in raw["model"]) == (config.model.spectral_radius is not None)


def test_a_spectral_radius_of_zero_typed_in_the_form_is_refused_in_one_line():
    app = switch_to_recurrent(experiment_page())
    set_tiny(app)
    app.number_input(key="w.model.spectral_radius").set_value(0.0)  # the widget's closed range lets the open end in
    app = press_train(app)
    assert not app.exception, app.exception
    (error,) = [error.value for error in app.error]
    assert "\n" not in error and "model.spectral_radius" in error
    assert "current_run" not in app.session_state  # nothing trained
    assert app.number_input(key="w.model.spectral_radius").value == 0.0  # the form keeps what was typed
