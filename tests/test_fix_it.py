"""Fix it: a run's config with one remedy applied, the remedy the numbers point to, and the comparison read
from both runs (checked against the frames read directly), in the lab and in the app (AppTest)."""
import math

import pytest
from streamlit.testing.v1 import AppTest

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
)
from tests.support.app_test import APP, TIMEOUT, chart_rows
from tests.support.frames import start_ratio

SMALL = {"data.num_samples": 256, "probe.num_samples": 64, "model.width": 8, "training.epochs": 2}
# As tests/test_numerical_faults.py: SGD at 10 on a depth-3 ReLU/He net overflows within 20 epochs.
DIVERGING = {"model.depth": 3, "model.width": 32, "model.activation": "relu", "model.kernel_initializer": "he_normal",
             "training.learning_rate": 10.0, "training.epochs": 20}


def small(**overrides):
    """A small experiment that trains in about a second."""
    return load_config({}, overrides={**SMALL, **overrides})


# A tanh net in the ordered phase of mean field (σw² = 1 < 1.761, the boundary at σb² = 0.05): the edge_of_chaos remedy's.
ORDERED_TANH = {"model.activation": "tanh", "model.kernel_initializer": "gaussian", "model.bias_initializer": "gaussian",
                "model.sigma_b": 0.2236}


@pytest.mark.parametrize("remedy", [name for name, remedy in REMEDIES.items() if "mlp" in remedy.kinds])
def test_a_remedy_changes_its_fields_and_nothing_else(remedy):  # the recurrent remedies: tests/test_fix_it_rnn.py
    base = small(**{"model.activation": "relu" if remedy in ("he_init", "leaky_relu", "rai") else "sigmoid", "model.depth": 6,
                    **(ORDERED_TANH if remedy == "edge_of_chaos" else {})})
    assert remedy in applicable_remedies(base)
    fixed = remedied_config(base, remedy)
    before, after = flatten(base), flatten(fixed)
    changed = {key for key in before if before[key] != after[key]}
    expected = {key for key, value in REMEDIES[remedy].overrides(base).items() if before[key] != value}
    assert changed == expected | {"name"}, changed
    assert expected, "the remedy changed nothing"
    assert after["seed"] == before["seed"] and after["name"] == f"experiment_{remedy}"


def test_remedies_offered_follow_the_config():
    relu = small(**{"model.activation": "relu", "model.kernel_initializer": "he_normal", "model.normalization": "batch"})
    offered = applicable_remedies(relu)
    assert "batch_norm" not in offered and "he_init" not in offered and "leaky_relu" in offered
    sigmoid = small(**{"model.activation": "sigmoid", "training.clip_norm": 1.0, "model.residual_every": 2})
    offered = applicable_remedies(sigmoid)
    assert {"he_init", "leaky_relu", "rai", "clip_norm", "residual"}.isdisjoint(offered) and "tanh" in offered


def test_the_edge_of_chaos_is_offered_where_mean_field_has_a_critical_point_and_sets_its_sigma_w():
    # Closed forms (χ1 does not depend on q for these): relu χ1 = σw²/2, so σw = √2; linear χ1 = σw², so σw = 1.
    relu = small(**{"model.activation": "relu", "model.kernel_initializer": "gaussian", "model.sigma_w": 1.0})
    assert remedied_config(relu, "edge_of_chaos").model.sigma_w == float(f"{math.sqrt(2):.4g}") == 1.414
    linear = small(**{"model.activation": "linear", "model.kernel_initializer": "orthogonal", "model.sigma_w": 1.5})
    assert remedied_config(linear, "edge_of_chaos").model.sigma_w == 1.0
    # Not offered: relu and linear with σb > 0 (q diverges on their boundary), a kernel without σw, a net already at
    # χ1 = 1 (tanh at σw = 1, σb = 0; relu at √2), normalisation (mean field is about plain nets), and the step
    # function (χ1 = 0 everywhere), or gelu near its boundary, where q* jumps and no σw has χ1 within 1 % of 1.
    refused = [small(**{"model.activation": "relu", "model.kernel_initializer": "gaussian", "model.sigma_w": 1.414}),
               small(**{"model.activation": "tanh", "model.kernel_initializer": "glorot_uniform"})]
    refused += [small(**{**ORDERED_TANH, **change}) for change in (
        {"model.activation": "relu"}, {"model.activation": "linear"}, {"model.activation": "step"},
        {"model.activation": "gelu"}, {"model.sigma_b": 0.0, "model.bias_initializer": "zeros"},
        {"model.normalization": "layer"})]
    for config in refused:
        assert "edge_of_chaos" not in applicable_remedies(config), config.model
    with pytest.raises(ValueError, match="remedy: edge_of_chaos does not change this config"):
        remedied_config(refused[0], "edge_of_chaos")
    # Offered for the ordered tanh net, with an orthogonal kernel too; the kernel and biases are kept.
    for kernel in ("gaussian", "orthogonal"):
        fixed = remedied_config(small(**{**ORDERED_TANH, "model.kernel_initializer": kernel}), "edge_of_chaos")
        assert (fixed.model.kernel_initializer, fixed.model.sigma_b, fixed.model.sigma_w) == (kernel, 0.2236, 1.327)


def test_an_unknown_or_useless_remedy_is_refused_by_name():
    with pytest.raises(ValueError, match="remedy: unknown 'dropout'"):
        remedied_config(small(), "dropout")
    with pytest.raises(ValueError, match="remedy: batch_norm does not change this config"):
        remedied_config(small(**{"model.normalization": "batch"}), "batch_norm")


def test_format_ratio():
    assert [format_ratio(value) for value in (0.72, 130.0, 1.3e-12, 9.96e-5, 0.0)] == ["0.72", "130", "1.3×10⁻¹²", "1×10⁻⁴", "0"]
    assert format_ratio(math.nan) == "ratio_both_zero" and format_ratio(math.inf) == "ratio_last_zero"


def test_suggestions_follow_the_measured_numbers():
    diverged = run(small(**DIVERGING))
    assert diverged.status == "diverged" and suggested_remedy(diverged) == "clip_norm"
    assert suggested_remedy(run(small(**{"model.activation": "step", "model.depth": 3}))) == "tanh"
    vanishing = run(small(**{"model.activation": "sigmoid", "model.depth": 12}))
    assert start_ratio(vanishing.layers, "preact_grad_rms") < 1e-2 and suggested_remedy(vanishing) == "batch_norm"
    dying = run(load_config("experiments/dying_relu_training.yaml", quick=True))
    assert suggested_remedy(dying) == "lower_learning_rate"
    # A plain Gaussian tanh net: in the ordered phase its signal vanishes, in the chaotic phase it explodes on the way
    # down (σw = 3: seeds 0-2 measured 2900-5000 times the last layer's); both point to σw on the boundary.
    ordered = run(small(**{**ORDERED_TANH, "model.depth": 40, "model.width": 32}))
    assert start_ratio(ordered.layers, "preact_grad_rms") < 1e-2 and suggested_remedy(ordered) == "edge_of_chaos"
    chaotic = run(small(**{**ORDERED_TANH, "model.depth": 30, "model.width": 32, "model.sigma_w": 3.0}))
    assert start_ratio(chaotic.layers, "preact_grad_rms") > 1e2 and suggested_remedy(chaotic) == "edge_of_chaos"
    healthy = run(small(**{"model.activation": "tanh", "model.depth": 2}))
    assert start_ratio(healthy.layers, "preact_grad_rms") >= 1e-2 and suggested_remedy(healthy) is None


def test_batch_norm_lifts_a_deep_sigmoid_nets_first_layer_and_the_sentence_says_by_how_much():
    before = run(small(**{"model.activation": "sigmoid", "model.depth": 10}))
    after = run(remedied_config(before.config, "batch_norm"))
    lifted = start_ratio(after.layers, "preact_grad_rms") / start_ratio(before.layers, "preact_grad_rms")
    assert lifted > 1e3  # orders of magnitude, the documented direction
    sentences = comparison_sentences(before, after, "batch_norm")
    expected = (f"With batch normalisation, at initialisation the first layer receives "
                f"{format_ratio(start_ratio(after.layers, 'preact_grad_rms'))} of the last hidden layer's "
                f"back-propagated signal, instead of {format_ratio(start_ratio(before.layers, 'preact_grad_rms'))}.")
    assert sentences[0] == expected
    end = before.layers["step"].max()
    assert any(format_ratio(start_ratio(after.layers, "grad_norm", end)) in sentence and "end of training" in sentence
               for sentence in sentences)
    accuracy = f"{after.history['val_accuracy'].iloc[-1]:.2f}"  # the history frame, not the summary the code reads
    assert sentences[-1].startswith(f"With batch normalisation the final validation accuracy is {accuracy}")
    korean = comparison_sentences(before, after, "batch_norm", "ko")
    assert korean[0].startswith("배치 정규화 적용 시 초기화 직후")
    assert format_ratio(start_ratio(after.layers, "preact_grad_rms")) in korean[0]


def test_comparison_names_a_change_of_status_and_skips_what_did_not_change():
    before = run(small(**DIVERGING))
    after = run(remedied_config(before.config, "clip_norm"))
    facts = comparison_facts(before, after)
    assert ("fix_status", {"after": "run_status_ok", "before": "run_status_diverged"}) in facts
    # Clipping changes updates, not the initial weights: the ratios at initialisation are the same and not repeated.
    assert not [values for key, values in facts if key == "fix_ratio" and values["moment"] == "fix_moment_start"]
    assert ("With gradient clipping (norm ≤ 1) the run trains to the end; without it, it diverges."
            in comparison_sentences(before, after, "clip_norm"))


# ---- in the app ---------------------------------------------------------------------------------------

QUERY = {"model.depth": "10", "model.activation": "sigmoid", **{key: str(value) for key, value in SMALL.items()}}


def fixed_in_app() -> AppTest:
    """The Experiment page opened on a small depth-10 sigmoid run, then Fix it pressed with the suggested remedy."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in QUERY.items():
        app.query_params[key] = value
    app.switch_page("app/pages/experiment.py")
    app.run()
    assert not app.exception
    (picker,) = [box for box in app.selectbox if (box.key or "").startswith("fix_remedy_")]
    assert picker.value == "batch_norm" and picker.options[0] == "batch normalisation"
    (button,) = [button for button in app.button if (button.key or "").startswith("fix_button_")]
    return button.click().run(timeout=TIMEOUT)


@pytest.mark.slow
def test_fix_it_reruns_with_the_remedy_overlays_both_and_states_the_change_from_both_runs():
    app = fixed_in_app()
    assert not app.exception and not app.error
    runs = app.session_state["runs"]
    assert len(runs) == 2
    before_label, after_label = list(runs)
    assert app.session_state["current_run"] == after_label
    # The same configs run headless give the numbers the page states (same config and seed, same numbers).
    before = run(small(**{"model.depth": 10, "model.activation": "sigmoid"}))
    after = run(remedied_config(before.config, "batch_norm"))
    assert runs[after_label].run_id == after.run_id and runs[before_label].run_id == before.run_id
    text = "\n".join(block.value for block in app.markdown)
    assert "Before and after: batch normalisation" in "\n".join(heading.value for heading in app.markdown)
    assert (f"the first layer receives {format_ratio(start_ratio(after.layers, 'preact_grad_rms'))} of the last hidden layer's "
            f"back-propagated signal, instead of {format_ratio(start_ratio(before.layers, 'preact_grad_rms'))}") in text
    # The overlay draws both runs, at initialisation, the signal measure first.
    overlaid = {row.get("run") for row in chart_rows(app)}
    assert {before_label, after_label} <= overlaid
    assert app.radio(key="fix_measure").value == "preact_grad_rms" and app.radio(key="fix_which").value == "start"
    # The form and the link now describe the remedied run.
    assert app.selectbox(key="w.model.normalization").value == "batch"
    assert "batch" in str(app.query_params["model.normalization"])


def test_fix_it_over_the_hosted_caps_is_refused_with_a_message_and_keeps_the_run(monkeypatch):
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in QUERY.items():
        app.query_params[key] = value
    app.switch_page("app/pages/experiment.py")
    app.run()
    monkeypatch.setenv("LAB_MAX_RUN_MEMORY_MB", "1")
    (button,) = [button for button in app.button if (button.key or "").startswith("fix_button_")]
    app = button.click().run(timeout=TIMEOUT)
    assert not app.exception
    (error,) = app.error
    assert "memory" in error.value and "LAB_MAX_RUN_MEMORY_MB" in error.value
    assert len(app.session_state["runs"]) == 1
    assert "fixes" not in app.session_state or not app.session_state["fixes"]


def test_adam_moves_the_first_layer_of_a_vanishing_net_and_the_sentence_says_so():
    before = run(small(**{"model.activation": "sigmoid", "model.depth": 10, "training.epochs": 5}))
    after = run(remedied_config(before.config, "adam"))
    end = before.layers["step"].max()
    moved_before, moved_after = start_ratio(before.layers, "update_ratio", end), start_ratio(after.layers, "update_ratio", end)
    assert moved_after > 10 * moved_before  # Adam's per-parameter scaling: the first layer moves despite its tiny gradient
    # The gradients at initialisation are the same (same weights): no sentence repeats them.
    facts = comparison_facts(before, after)
    assert ("fix_update", {"after": format_ratio(moved_after), "before": format_ratio(moved_before)}) in facts
    assert not [values for key, values in facts if key == "fix_ratio" and values["moment"] == "fix_moment_start"]


def test_a_remedy_a_rule_would_refuse_is_not_offered():
    # Normalisation with probe.propagation is refused (no per-sample Jacobian): Fix it must not offer it.
    config = small(**{"probe.propagation": True, "model.activation": "sigmoid"})
    offered = applicable_remedies(config)
    assert "batch_norm" not in offered and "layer_norm" not in offered
    assert offered, "the other remedies are still offered"
    for remedy in offered:
        remedied_config(config, remedy)  # each one offered validates
