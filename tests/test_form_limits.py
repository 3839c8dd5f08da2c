"""The experiment form's limits are the schema's, narrowed by the app's caps: every valid link opens without an
exception, shows its run, and Train on the unchanged form gives the same run id; the probe follows its default rule."""
import math
import random

import pytest
import streamlit

from app import experiment_form as form
from app.url_state import UI_LIMITS, check_ui_limits, ui_limits, widget_range
from lab import ConfigError, ExperimentConfig, load_config, run_id_of
from lab.contract.config_io import parse_override
from lab.contract.field_limits import bounds, field_keys
from lab.contract.presets import experiment_presets
from lab.readings.fix_it import applicable_remedies, remedied_config
from lab.readings.tour import SECTIONS
from lab.science.data import TWO_DIMENSIONAL
from tests.support.app_test import experiment_page, press_train, set_small

# Widgets for values that are not config fields of their own, and the field they stand for (read here, not from the form).
STANDS_FOR = {"w.bias_constant": "model.bias_initializer", "w.record_steps": "training.record_every"}
# Keeps each link's run to about a second; each link's own fields override these.
SMALL_LINK = {"model.depth": "2", "model.width": "4", "training.epochs": "1", "data.num_samples": "128",
              "probe.num_samples": "32"}
LINKS = {
    "momentum_above_the_old_slider": {"training.optimizer": "momentum", "training.momentum": "0.995"},
    "leaky_alpha_above_the_old_input": {"model.activation": "leaky_relu", "model.leaky_alpha": "0.995"},
    "learning_rate_below_the_old_input": {"training.learning_rate": "1e-6"},
    "samples_below_the_old_input": {"data.num_samples": "32", "training.batch_size": "8", "probe.num_samples": "8"},
    "bias_above_the_old_input": {"model.bias_initializer": "50"},
    "clip_above_the_old_input": {"training.clip_norm": "500"},
}


def link_config(parameters: dict) -> ExperimentConfig:
    """The config a link's parameters describe, read with the CLI's --set parsing (not the app's)."""
    return load_config({}, overrides=dict(parse_override(f"{key}={value}") for key, value in parameters.items()))


def expected_range(field: str, kind: str = "mlp") -> tuple[float, float]:
    """The schema's closed range of a field, with the app's cap for that model kind (if any) lowering its top."""
    low, high, _, _ = bounds(field)
    return low, min(high, ui_limits(kind).get(field, math.inf))


def numeric_widgets(app) -> dict[str, tuple[float, float]]:
    """{key: (min, max)} of every number input and slider of the form, as AppTest shows them."""
    shown = {widget.key: (widget.min, widget.max) for widget in app.number_input}
    shown.update({widget.key: (widget.min, widget.max) for widget in app.slider})
    return {key: value for key, value in shown.items() if key and key.startswith("w.")}


def current_run(app):
    """The run the page shows now."""
    return app.session_state["runs"][app.session_state["current_run"]]


def shown_run_ids(app) -> list[str]:
    """The run ids in the page's captions ('run <id> · ...')."""
    return [caption.value.split()[1] for caption in app.caption if caption.value.startswith("run ")]


def test_every_numeric_widget_shows_the_schemas_bounds_narrowed_by_the_caps():
    app = experiment_page()
    assert not app.exception
    app.selectbox(key="w.data.dataset").set_value("moons").run()
    assert "moons" in TWO_DIMENSIONAL and app.number_input(key="w.data.num_features").min == 2  # the 2-D rule raises the low
    app.selectbox(key="w.data.dataset").set_value("gaussian").run()  # shows the classes input; no 2-D rule on features
    assert not app.exception
    shown = {"mlp": numeric_widgets(app)}
    app.radio(key="w.model.kind").set_value("rnn").run()  # the recurrent network's form (issue #14), with its caps
    assert not app.exception
    shown["rnn"] = numeric_widgets(app)
    fields = {kind: {STANDS_FOR.get(key, key.removeprefix("w.")): key for key in widgets} for kind, widgets in shown.items()}
    numeric = {key for key in field_keys() if bounds(key).low is not None}
    assert numeric <= set(fields["mlp"]) | set(fields["rnn"]), f"numeric fields without a widget: {numeric - set(fields)}"
    for kind, widgets in fields.items():
        for field, key in widgets.items():
            assert shown[kind][key] == expected_range(field, kind), (kind, key, shown[kind][key], expected_range(field, kind))


@pytest.mark.parametrize("key", [key for key in field_keys() if bounds(key).low is not None])
def test_field_limits_are_what_the_schema_accepts(key):
    """Each bound, read from the schema's metadata and validators' constants, is where validation starts refusing."""
    base = {"data.dataset": "gaussian", "model.output_activation": "softmax", "data.num_samples": 100_000,
            "data.validation_split": 0.0, "training.batch_size": 1, "probe.num_samples": 1, "model.depth": 100,
            "model.kernel_initializer": "gaussian", "model.bias_initializer": "gaussian"}  # they read sigma_w and sigma_b
    if key == "probe.jacobian_samples":  # only with propagation, and at most the probe batch
        base = {**base, "probe.propagation": True, "probe.num_samples": 64}
    if key in ("data.sequence_length", "model.spectral_radius"):  # read by a recurrent network on a sequence task only
        base = {**base, "data.dataset": "adding", "model.kind": "rnn", "model.depth": 1}
    low, high, low_inclusive, high_inclusive = bounds(key)
    integer = isinstance(low, int) and isinstance(high, int)

    def accepted(value) -> bool:
        try:
            load_config({}, overrides={**base, key: value})
            return True
        except ConfigError:
            return False

    for end, inclusive, outward in ((low, low_inclusive, -math.inf), (high, high_inclusive, math.inf)):
        beyond = end + (1 if outward > 0 else -1) if integer else math.nextafter(end, outward)
        within = end - (1 if outward > 0 else -1) if integer else math.nextafter(end, -outward)
        assert accepted(end) == inclusive, (key, end)
        assert not accepted(beyond), (key, beyond)
        assert accepted(within), (key, within)


def form_round_trip(config: ExperimentConfig, monkeypatch) -> tuple[dict, ExperimentConfig]:
    """The widget state apply_to_widgets gives a config, and the config Train on that unchanged form sends."""
    state = {}
    monkeypatch.setattr(streamlit, "session_state", state)
    form.apply_to_widgets(config)
    return state, load_config(form.raw_config(config.data.dataset, config.data.num_classes, state=state))


def configs_the_form_is_given():
    """Presets, the tour's experiments, their Fix it configs, the links above and varied configs, all within the app's caps."""
    configs = [ExperimentConfig()] + [load_config(path) for path in experiment_presets().values()]
    configs += [section.config() for section in SECTIONS]
    configs += [remedied_config(config, remedy) for config in list(configs) for remedy in applicable_remedies(config)]
    configs += [link_config({**SMALL_LINK, **link}) for link in LINKS.values()]
    rng = random.Random(0)
    choices = {"data.num_samples": [16, 100, 256, 5000], "data.validation_split": [0.0, 0.123, 0.5], "data.noise": [0.0, 0.37, 2],
               "model.leaky_alpha": [0.0, 0.999999], "model.bias_initializer": [-100, 1e-9, 100, "ones"],
               "training.momentum": [0.0, 0.9999], "training.learning_rate": [1e-12, 0.123456789, 10],
               "training.clip_norm": [1e-9, 1e6], "training.record_every": [1, 7, 10**8], "probe.num_samples": [1, 8],
               "training.batch_size": [1, 8], "seed": [2**31 - 1], "model.residual_every": [0, 1], "data.num_features": [2, 100]}
    for _ in range(300):
        overrides = {key: rng.choice(values) for key, values in choices.items() if rng.random() < 0.4}
        try:
            configs.append(load_config({}, overrides=overrides))
        except ConfigError:
            continue  # a cross-field rule refuses this mix: not a config the form can be given
    within_caps = []
    for config in configs:
        try:
            check_ui_limits(config)
        except ConfigError:
            continue  # refused before it reaches the form (tested in tests/test_app.py)
        within_caps.append(config)
    return within_caps


def test_the_form_holds_every_config_it_is_given_exactly(monkeypatch):
    configs = configs_the_form_is_given()
    assert len(configs) > 100
    numeric = {key for key in field_keys() if bounds(key).low is not None}
    for config in configs:
        state, sent = form_round_trip(config, monkeypatch)
        assert run_id_of(sent) == run_id_of(config), config
        for key, value in state.items():  # every value fits its widget, so no widget raises on drawing it
            field = STANDS_FOR.get(key, key.removeprefix("w."))
            if field in numeric and isinstance(value, (int, float)):
                low, high = widget_range(field)
                assert low <= value <= high, (key, value, config)


def test_all_defaults_train_the_default_config():
    app = experiment_page()
    assert not app.exception
    assert app.number_input(key="w.probe.num_samples").value is None  # left at the default rule
    raw = form.raw_config(app.selectbox(key="w.data.dataset").value, 2, state=app.session_state)
    assert run_id_of(load_config(raw)) == run_id_of(load_config({}))


@pytest.mark.parametrize("name", list(LINKS))
def test_a_valid_link_opens_shows_its_run_and_trains_it_again_unchanged(name):
    parameters = {**SMALL_LINK, **LINKS[name]}
    expected = run_id_of(link_config(parameters))
    app = experiment_page(**parameters)
    assert not app.exception, app.exception
    assert not app.error, [error.value for error in app.error]
    assert shown_run_ids(app) == [expected] and current_run(app).run_id == expected
    config = link_config(parameters)
    for key in LINKS[name]:  # the form holds the link's own values, unrounded
        section, field = key.split(".")
        config_value = config.model_dump(mode="json")[section][field]
        if key == "model.bias_initializer":
            assert app.selectbox(key="w.model.bias_initializer").value == form.BIAS_CONSTANT
            assert app.number_input(key="w.bias_constant").value == config_value
        elif key == "probe.num_samples":
            assert app.number_input(key="w.probe.num_samples").value == config_value  # not the default rule's value
        elif key in ("training.optimizer", "model.activation"):
            assert app.selectbox(key=f"w.{key}").value == config_value
        else:
            assert app.number_input(key=f"w.{key}").value == config_value
    app = press_train(app)
    assert not app.exception, app.exception
    assert not app.error, [error.value for error in app.error]
    assert shown_run_ids(app) == [expected] and current_run(app).run_id == expected


def test_a_link_over_the_caps_shows_the_cap_and_leaves_the_form():
    app = experiment_page(**{"model.width": "300", "training.momentum": "0.5"})
    assert not app.exception
    assert f"at most {UI_LIMITS['model.width']} in the app" in " ".join(error.value for error in app.error)
    assert app.number_input(key="w.model.width").value == ExperimentConfig().model.width
    assert app.number_input(key="w.training.momentum").value == ExperimentConfig().training.momentum


def test_momentum_of_one_is_refused_in_one_line_and_the_form_keeps_its_values():
    app = experiment_page()
    set_small(app)
    app.selectbox(key="w.training.optimizer").set_value("momentum")
    app.number_input(key="w.training.momentum").set_value(1.0)  # the widget's closed range lets the open end in
    typed = {"w.training.momentum": 1.0, "w.training.optimizer": "momentum", "w.model.depth": 3, "w.model.width": 8}
    app = press_train(app)
    assert not app.exception, app.exception
    (error,) = [error.value for error in app.error]
    assert "\n" not in error and "training.momentum" in error
    assert "current_run" not in app.session_state  # nothing trained
    assert {key: app.session_state[key] for key in typed} == typed
    assert app.number_input(key="w.training.momentum").value == 1.0 and app.slider(key="w.model.depth").value == 3


def test_the_probe_left_at_its_default_follows_the_training_set():
    app = experiment_page()
    assert app.number_input(key="w.probe.num_samples").value is None
    assert "256" in app.number_input(key="w.probe.num_samples").proto.placeholder
    set_small(app, **{"w.data.num_samples": 256, "w.model.depth": 2, "w.model.width": 4, "w.training.epochs": 1})
    app.number_input(key="w.probe.num_samples").set_value(None)  # set_small types a probe; back to the default
    app = press_train(app)
    assert not app.exception and not app.error, [error.value for error in app.error]
    train = 256 - round(256 * 0.2)
    assert current_run(app).config.probe.num_samples == train == 205
    assert app.query_params["probe.num_samples"] == "205"
    assert app.number_input(key="w.probe.num_samples").value is None  # still following the default
    assert "205" in app.number_input(key="w.probe.num_samples").proto.placeholder
    app.number_input(key="w.probe.num_samples").set_value(300)  # typed: more than the training set is refused
    app = press_train(app)
    assert not app.exception
    (error,) = [error.value for error in app.error]
    assert "probe.num_samples" in error and "205" in error
    assert current_run(app).config.probe.num_samples == 205  # the page still shows the last run
