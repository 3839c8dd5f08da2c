"""Fix it for recurrent networks (issue #14): the remedies offered for model.kind rnn and what each changes, the remedy
the gradient through time points to (read here straight from the timesteps frame, on tiny runs and on frames built from
them), and the comparison's numbers, which must be the two runs' own. tests/test_fix_it.py covers the MLP."""
import dataclasses
import math

import numpy as np
import pytest

from lab import load_config, run
from lab.contract.config_io import flatten
from lab.readings.fix_it import (
    REMEDIES,
    applicable_remedies,
    comparison_facts,
    comparison_sentences,
    format_ratio,
    remedied_config,
    suggested_remedy,
    time_ratio,
)
from lab.science.activations import HIDDEN_ACTIVATIONS

# A simple tanh RNN on the adding task, small enough to train in about a second; epochs 0 measures initialisation only.
TINY = {"model.kind": "rnn", "model.width": 16, "data.dataset": "adding", "data.sequence_length": 20,
        "data.num_samples": 128, "probe.num_samples": 32, "training.epochs": 0, "training.optimizer": "adam",
        "training.learning_rate": 0.005}
RNN_ONLY = {"lstm", "gru", "recurrent_orthogonal", "recurrent_identity", "smaller_spectral_radius"}
SHARED = {"tanh", "clip_norm", "lower_learning_rate"}  # act on a recurrent network as on an MLP
EXPLODING = {"model.spectral_radius": 3.0}  # T = 20, width 16: t = 1 / t = T measured 1.9e3 at initialisation
VANISHING = {"model.spectral_radius": 0.5}  # measured 5e-7
IRNN = {"model.activation": "relu", "model.recurrent_initializer": "identity"}  # measured 0.82


def rnn(**overrides):
    return load_config({}, overrides={**TINY, **overrides})


def ratio_from_frame(result, moment="start", column="state_grad_rms", layer=None) -> float:
    """t = 1 over t = T at the last recurrent layer (or layer), read straight from the timesteps frame."""
    frame = result.timesteps
    step = frame["step"].min() if moment == "start" else frame["step"].max()
    layer = frame["layer"].max() if layer is None else layer
    rows = frame[(frame["step"] == step) & (frame["layer"] == layer)].sort_values("t")
    return float(np.float64(rows[column].iloc[0]) / np.float64(rows[column].iloc[-1]))


# (remedy, the run it is applied to, every field it must change with its new value), written out by hand.
CHANGES = [
    ("lstm", {}, {"model.cell": "lstm"}),
    ("gru", {}, {"model.cell": "gru"}),
    # From an IRNN a gated cell needs tanh and a recurrent matrix it can have: Keras' default, orthogonal.
    ("lstm", {"model.activation": "relu", "model.recurrent_initializer": "identity"},
     {"model.cell": "lstm", "model.activation": "tanh", "model.recurrent_initializer": "orthogonal"}),
    ("gru", EXPLODING, {"model.cell": "gru", "model.spectral_radius": None}),
    ("recurrent_orthogonal", {"model.recurrent_initializer": "gaussian"}, {"model.recurrent_initializer": "orthogonal"}),
    ("recurrent_orthogonal", EXPLODING, {"model.spectral_radius": None}),
    ("recurrent_identity", {}, {"model.recurrent_initializer": "identity"}),
    ("recurrent_identity", {"model.recurrent_initializer": "glorot_uniform", **EXPLODING},
     {"model.recurrent_initializer": "identity", "model.spectral_radius": None}),
    ("smaller_spectral_radius", EXPLODING, {"model.spectral_radius": 1.0}),
    ("tanh", {"model.activation": "sigmoid"}, {"model.activation": "tanh"}),
    ("clip_norm", {}, {"training.clip_norm": 1.0}),
    ("lower_learning_rate", {}, {"training.learning_rate": 0.0005}),
]


@pytest.mark.parametrize(("remedy", "base", "expected"), CHANGES)
def test_a_recurrent_remedy_changes_its_fields_and_nothing_else(remedy, base, expected):
    config = rnn(**base)
    assert remedy in applicable_remedies(config)
    before, after = flatten(config), flatten(remedied_config(config, remedy))
    changed = {key for key in before if before[key] != after[key]}
    assert changed == set(expected) | {"name"}, changed
    assert {key: after[key] for key in expected} == expected
    assert after["name"] == f"experiment_{remedy}" and after["seed"] == before["seed"]


OFFERED = [
    ({}, {"clip_norm", "lower_learning_rate", "lstm", "gru", "recurrent_identity"}),
    ({"model.recurrent_initializer": "gaussian", **EXPLODING},
     {"clip_norm", "lower_learning_rate", "lstm", "gru", "recurrent_orthogonal", "recurrent_identity",
      "smaller_spectral_radius"}),
    # Below 1 a smaller radius would shrink the gradient further: not offered; radius 1 of an orthogonal U is U itself.
    (VANISHING, {"clip_norm", "lower_learning_rate", "lstm", "gru", "recurrent_orthogonal", "recurrent_identity"}),
    ({"model.spectral_radius": 1.0}, {"clip_norm", "lower_learning_rate", "lstm", "gru", "recurrent_identity"}),
    ({"model.activation": "sigmoid"}, {"tanh", "clip_norm", "lower_learning_rate", "lstm", "gru", "recurrent_identity"}),
    ({"model.activation": "relu", "model.recurrent_initializer": "identity"},
     {"clip_norm", "lower_learning_rate", "lstm", "gru", "recurrent_orthogonal"}),
    ({"model.cell": "lstm"}, {"clip_norm", "lower_learning_rate", "gru"}),
    ({"model.cell": "gru", "model.recurrent_initializer": "glorot_uniform", "training.clip_norm": 1.0},
     {"lower_learning_rate", "lstm", "recurrent_orthogonal"}),
]


@pytest.mark.parametrize(("base", "expected"), OFFERED)
def test_the_remedies_offered_follow_the_recurrent_config_and_each_validates(base, expected):
    config = rnn(**base)
    offered = applicable_remedies(config)
    assert set(offered) == expected
    for remedy in offered:
        remedied_config(config, remedy)  # validates, or raises


def test_the_mlps_remedies_are_not_offered_for_rnn_nor_the_rnns_for_an_mlp():
    for activation in HIDDEN_ACTIVATIONS:  # the simple cell takes every activation: none opens an MLP remedy
        assert set(applicable_remedies(rnn(**{"model.activation": activation}))) <= RNN_ONLY | SHARED, activation
    for cell in ("lstm", "gru"):
        gated = rnn(**{"model.cell": cell, "model.recurrent_initializer": "gaussian"})
        assert set(applicable_remedies(gated)) <= RNN_ONLY | SHARED
    mlps = [load_config({}), load_config({}, overrides={"model.activation": "relu", "model.depth": 3})]
    for config in mlps:
        assert RNN_ONLY.isdisjoint(applicable_remedies(config))
    with pytest.raises(ValueError, match="remedy: lstm does not change this config"):
        remedied_config(mlps[0], "lstm")
    with pytest.raises(ValueError, match="remedy: batch_norm does not change this config"):
        remedied_config(rnn(), "batch_norm")
    with pytest.raises(ValueError, match="remedy: recurrent_identity does not change this config"):
        remedied_config(rnn(**{"model.cell": "lstm"}), "recurrent_identity")  # identity is for the simple cell only
    assert set(REMEDIES) >= RNN_ONLY | SHARED


@pytest.fixture(scope="module")
def initial():
    """Tiny runs at initialisation: an IRNN, a vanishing (ρ = 0.5) and an exploding (ρ = 3) tanh RNN, an LSTM."""
    return {name: run(rnn(**overrides)) for name, overrides in (
        ("irnn", IRNN), ("vanishing", VANISHING), ("exploding", EXPLODING), ("lstm", {"model.cell": "lstm"}))}


def with_time_ratio(result, ratio: float):
    """The run with its last layer's t = 1 state_grad_rms at the first record set to ratio times its t = T value."""
    frame = result.timesteps.copy()
    at_start = (frame["step"] == frame["step"].min()) & (frame["layer"] == frame["layer"].max())
    last = frame.loc[at_start & (frame["t"] == frame["t"].max()), "state_grad_rms"].iloc[0]
    frame.loc[at_start & (frame["t"] == 1), "state_grad_rms"] = ratio * last
    return dataclasses.replace(result, timesteps=frame)


def test_suggestions_follow_the_gradient_through_time(initial):
    assert ratio_from_frame(initial["vanishing"]) < 0.1 and suggested_remedy(initial["vanishing"]) == "lstm"
    assert ratio_from_frame(initial["exploding"]) > 10 and suggested_remedy(initial["exploding"]) == "smaller_spectral_radius"
    assert 0.1 <= ratio_from_frame(initial["irnn"]) <= 10 and suggested_remedy(initial["irnn"]) is None
    # A gated cell's small ratio at initialisation is not read as vanishing: gated cells measure a smaller one than the
    # simple cell and still learn (their gates open in training).
    assert ratio_from_frame(initial["lstm"]) < 0.1 and suggested_remedy(initial["lstm"]) is None
    # The thresholds, on frames built from a real run: the measured numbers decide, not the config.
    irnn = initial["irnn"]
    assert [suggested_remedy(with_time_ratio(irnn, ratio)) for ratio in (0.09, 0.11, 9.0, 11.0)] == \
        ["lstm", None, None, "clip_norm"]  # exploding without a radius to bring to 1: clipping
    assert suggested_remedy(with_time_ratio(irnn, math.nan)) == "lstm"  # nothing reached t = 1 (0/0) counts as vanished
    assert suggested_remedy(with_time_ratio(initial["lstm"], 1e3)) == "clip_norm"
    assert time_ratio(with_time_ratio(irnn, 0.09)) == pytest.approx(0.09, rel=1e-12)


def test_divergence_and_the_step_function_come_first(initial):
    diverged = dataclasses.replace(initial["vanishing"], summary={**initial["vanishing"].summary, "status": "diverged"})
    assert suggested_remedy(diverged) == "clip_norm"
    clipped = dataclasses.replace(diverged, config=rnn(**VANISHING, **{"training.clip_norm": 1.0}))
    assert suggested_remedy(clipped) == "lower_learning_rate"
    step = run(rnn(**{"model.activation": "step"}))
    assert suggested_remedy(step) == "tanh"


def test_the_time_ratio_is_the_last_recurrent_layers():
    stacked = run(rnn(**{"model.depth": 2, "model.width": 8}))
    assert time_ratio(stacked) == ratio_from_frame(stacked, layer=2) != ratio_from_frame(stacked, layer=1)


@pytest.fixture(scope="module")
def trained():
    """A tiny simple RNN trained for 2 epochs, and the same with an LSTM cell and with clipping."""
    before = run(rnn(**{"training.epochs": 2, "model.width": 8, "data.sequence_length": 12}))
    return before, run(remedied_config(before.config, "lstm")), run(remedied_config(before.config, "clip_norm"))


def test_the_comparison_states_both_runs_time_ratios_carry_and_accuracy(trained):
    before, lstm, _ = trained
    sentences = comparison_sentences(before, lstm, "lstm")
    ratios = {moment: (format_ratio(ratio_from_frame(lstm, moment)), format_ratio(ratio_from_frame(before, moment)))
              for moment in ("start", "end")}
    carry = {moment: format_ratio(ratio_from_frame(lstm, moment, "cell_grad_rms")) for moment in ("start", "end")}
    accuracy = [f"{result.history['val_accuracy'].iloc[-1]:.2f}" for result in (lstm, before)]
    assert sentences == [
        f"With an LSTM cell, at initialisation the gradient reaching the first time step is {ratios['start'][0]} of the one "
        f"reaching the last (t = 12), instead of {ratios['start'][1]}.",
        f"With an LSTM cell, at the end of training the gradient reaching the first time step is {ratios['end'][0]} of the "
        f"one reaching the last (t = 12), instead of {ratios['end'][1]}.",
        f"With an LSTM cell, at initialisation the gradient reaching the LSTM's cell state (its carry) at the first time "
        f"step is {carry['start']} of the one at the last (t = 12).",
        f"With an LSTM cell, at the end of training the gradient reaching the LSTM's cell state (its carry) at the first "
        f"time step is {carry['end']} of the one at the last (t = 12).",
        f"With an LSTM cell the final validation accuracy is {accuracy[0]}, instead of {accuracy[1]}.",
    ]
    korean = comparison_sentences(before, lstm, "lstm", "ko")
    assert len(korean) == 5 and korean[0].startswith("LSTM 셀 적용 시 초기화 직후")
    assert ratios["start"][0] in korean[0] and ratios["start"][1] in korean[0] and accuracy[0] in korean[-1]
    assert all("{" not in sentence for sentence in korean)


def test_clipping_keeps_the_initial_ratio_so_only_what_differs_is_said(trained):
    before, _, clipped = trained
    facts = comparison_facts(before, clipped)
    # The same initial weights: the ratio at initialisation is the same and not repeated; no MLP layer sentence appears.
    assert ratio_from_frame(clipped) == ratio_from_frame(before)
    assert not [values for key, values in facts if key == "fix_rnn_time_ratio" and values["moment"] == "fix_moment_start"]
    assert {key for key, _ in facts} <= {"fix_rnn_time_ratio", "fix_status", "fix_accuracy"}


def test_fix_runs_headless_on_a_recurrent_run_folder(tmp_path, capsys):
    from lab.cli import main

    experiment = tmp_path / "vanishing.yaml"
    experiment.write_text("name: vanishing\nmodel: {kind: rnn, width: 8, spectral_radius: 0.5}\n"
                          "data: {dataset: adding, sequence_length: 12, num_samples: 128}\n"
                          "training: {epochs: 0}\nprobe: {num_samples: 16}\n")
    assert main(["run", str(experiment), "--out", str(tmp_path)]) == 0
    (folder,) = tmp_path.glob("vanishing-*")
    capsys.readouterr()
    assert main(["fix", str(folder), "--out", str(tmp_path)]) == 0  # the numbers point to the LSTM
    printed = capsys.readouterr().out
    (after,) = tmp_path.glob("vanishing_lstm-*")
    assert "Fix it (lstm)" in printed
    assert "With an LSTM cell, at initialisation the gradient reaching the first time step" in printed
    assert main(["fix", str(folder), "--remedy", "batch_norm", "--out", str(tmp_path)]) == 2
    assert "remedy: batch_norm does not change this config" in capsys.readouterr().err
    assert after.is_dir()


def test_fix_it_in_the_app_offers_the_lstm_first_and_states_both_runs_numbers():
    from streamlit.testing.v1 import AppTest

    from tests.support.app_test import APP, TIMEOUT, chart_rows

    query = {"model.kind": "rnn", "model.width": "8", "data.dataset": "adding", "data.sequence_length": "12",
             "data.num_samples": "128", "probe.num_samples": "32", "training.epochs": "1", "model.spectral_radius": "0.5"}
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        app.query_params[key] = value
    app.switch_page("app/pages/experiment.py")
    app.run()
    assert not app.exception
    (picker,) = [box for box in app.selectbox if (box.key or "").startswith("fix_remedy_")]
    assert picker.value == "lstm" and picker.options[0] == "an LSTM cell"  # the numbers point to it: listed first
    assert "batch normalisation" not in picker.options and "He initialisation" not in picker.options
    (button,) = [button for button in app.button if (button.key or "").startswith("fix_button_")]
    app = button.click().run(timeout=TIMEOUT)
    assert not app.exception and not app.error
    before, after = app.session_state["runs"].values()
    assert (after.config.model.cell, after.config.model.spectral_radius) == ("lstm", None)
    text = "\n".join(block.value for block in app.markdown)
    assert (f"With an LSTM cell, at initialisation the gradient reaching the first time step is "
            f"{format_ratio(ratio_from_frame(after))} of the one reaching the last (t = 12), instead of "
            f"{format_ratio(ratio_from_frame(before))}.") in text
    assert set(app.session_state["runs"]) <= {row.get("run") for row in chart_rows(app)}  # both time profiles overlaid
    assert app.selectbox(key="w.model.cell").value == "lstm"  # the form now describes the remedied run
