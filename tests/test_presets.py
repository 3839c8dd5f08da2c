"""Every preset in experiments/ loads, runs in quick mode and shows the claim on its first line.
Presets whose claim needs their full size (they say so) are also run at full size."""
from functools import cache
from pathlib import Path

import pytest
import yaml

from lab import load_config, run

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def experiment_files():
    """Every experiment preset (a file with a top-level grid is a sweep, not an experiment), but the remedies:
    tests/test_remedies.py runs those, each against its counterpart without the remedy."""
    files = sorted(path for path in EXPERIMENTS.rglob("*.yaml") if "remedies" not in path.relative_to(EXPERIMENTS).parts)
    return [path for path in files if "grid" not in (yaml.safe_load(path.read_text()) or {})]


@cache
def result_of(name: str, quick: bool):
    """Run a preset once per test session (several claims compare presets)."""
    return run(load_config(EXPERIMENTS / f"{name}.yaml", quick=quick))


def hidden_at(result, which: str):
    """Hidden-layer rows at the first or last recorded step, indexed by layer."""
    layers = result.layers
    step = layers["step"].min() if which == "start" else layers["step"].max()
    rows = layers[(layers["step"] == step) & (layers["layer_kind"] == "hidden")]
    return rows.set_index("layer")


def first_to_last(rows, column: str) -> float:
    """The first hidden layer's value over the last hidden layer's."""
    return rows[column].iloc[0] / rows[column].iloc[-1]


def claim_sigmoid_vanishing(quick):
    start = hidden_at(result_of("sigmoid_vanishing", quick), "start")
    assert first_to_last(start, "grad_norm") < 1e-2  # at least 100x below the last hidden layer
    assert first_to_last(start, "preact_grad_rms") < 1e-2


def claim_tanh_vs_sigmoid(quick):
    tanh = first_to_last(hidden_at(result_of("tanh_vs_sigmoid", quick), "start"), "grad_norm")
    sigmoid = first_to_last(hidden_at(result_of("sigmoid_vanishing", quick), "start"), "grad_norm")
    assert 0.1 < tanh < 10 and tanh > 1e4 * sigmoid


def claim_relu_he(quick):
    result = result_of("relu_he", quick)
    start = hidden_at(result, "start")
    assert 0.05 < first_to_last(start, "preact_grad_rms") < 20  # no vanishing at initialisation
    if not quick:
        assert result.summary["final"]["val_accuracy"] >= 0.95


def claim_relu_glorot_deep(quick):
    start = hidden_at(result_of("relu_glorot_deep", quick), "start")
    assert 0.1 < first_to_last(start, "grad_norm") < 100  # weight gradients: flat to within two decades
    assert first_to_last(start, "preact_grad_rms") < 1e-3  # the back-propagated signal: vanished


def claim_dying_relu_training(quick):
    result = result_of("dying_relu_training", quick)
    start, end = hidden_at(result, "start"), hidden_at(result, "end")
    assert end["dead_fraction"].mean() >= 3 * start["dead_fraction"].mean() and not (start["dead_fraction"] == 1.0).any()
    if not quick:  # 20 quick steps kill units; whole layers die over the full 390
        assert end["dead_fraction"].mean() >= 0.5 and (end["dead_fraction"] == 1.0).any()
        assert end.loc[1, "grad_norm"] == 0.0


def claim_dead_at_birth(quick):
    result = result_of("dead_at_birth", quick)
    start, end = hidden_at(result, "start"), hidden_at(result, "end")
    dead_layers = start.index[start["dead_fraction"] == 1.0]
    assert len(dead_layers) >= 1
    below = start.loc[: dead_layers.min() - 1] if dead_layers.min() > 1 else start.iloc[:0]
    assert (below["grad_norm"] == 0).all() and start.loc[1, "grad_norm"] == 0.0
    assert (end["dead_fraction"] == 1.0).sum() >= len(dead_layers)  # training cannot revive them
    if not quick:
        assert result.summary["final"]["val_accuracy"] < 0.7


def claim_leaky_relu_rescue(quick):
    result = result_of("leaky_relu_rescue", quick)
    start = hidden_at(result, "start")
    assert (start["dead_fraction"] == 0).all() and start.loc[1, "grad_norm"] > 0
    claim_dead_at_birth(quick)  # the same net with ReLU is dead: the rescue is real
    if not quick:
        assert result.summary["final"]["val_accuracy"] >= 0.9


def claim_step_zero_gradient(quick):
    result = result_of("step_zero_gradient", quick)
    hidden = result.layers[result.layers["layer_kind"] == "hidden"]
    assert (hidden["grad_norm"] == 0).all() and (hidden["bias_grad_norm"] == 0).all()
    assert (result.layers[result.layers["layer_kind"] == "output"]["grad_norm"] > 0).all()


def claim_softmax_multiclass(quick):
    result = result_of("softmax_multiclass", quick)
    assert result.config.model.output_activation == "softmax" and result.config.data.num_classes == 4
    assert result.summary["final"]["val_accuracy"] >= 0.8
    assert set(result.boundary["predicted_class"]) == {0, 1, 2, 3}


CLAIMS = {name.removeprefix("claim_"): check for name, check in globals().items() if name.startswith("claim_")}
FULL_SIZE = ["relu_he", "leaky_relu_rescue", "dead_at_birth", "dying_relu_training"]


def test_every_preset_has_a_claim_line_and_a_check():
    names = {path.stem for path in experiment_files()}
    assert names == set(CLAIMS), "each preset needs a claim_<name> check here, and each check a preset"
    for path in experiment_files():
        text = path.read_text()
        assert text.startswith("# Claim: "), path
        if "Needs its full size" in text:
            assert path.stem in FULL_SIZE, f"{path.stem} says it needs its full size: test it at full size"


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_preset_runs_quick_and_shows_its_claim(name):
    result = result_of(name, True)
    assert result.status == "ok", result.summary["message"]
    assert result.config.training.epochs <= 5 and result.config.data.num_samples <= 256
    CLAIMS[name](True)


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL_SIZE)
def test_preset_that_needs_full_size_shows_its_claim_at_full_size(name):
    CLAIMS[name](False)
