"""Issue #14's presets (experiments/rnn_*.yaml, lstm_remembers, gru_remembers, irnn) and the claim measure they add,
time_ratio: state_grad_rms at t = 1 ÷ at t = T of the last recurrent layer, read from the timesteps frame. The presets'
claims themselves run in tests/test_presets.py (quick, and at full size marked slow) like every other preset's."""
import math

import numpy as np
import pandas as pd
import pytest

from lab import ConfigError, load_config
from lab.contract.presets import EXPERIMENTS
from lab.contract.result import RunResult, frame
from lab.readings.claims import Claim, evaluate, formula, read_claim

EMPTY = {name: frame(name) for name in ("layers", "history", "histograms", "boundary")}


def rnn_result(timesteps: pd.DataFrame, status: str = "ok") -> RunResult:
    config = load_config({"model": {"kind": "rnn", "depth": 2}, "data": {"dataset": "adding"}, "training": {"epochs": 0}})
    return RunResult(config=config, summary={"status": status}, timesteps=timesteps, **EMPTY)


def random_timesteps(seed: int, steps=(0, 38, 76), layers=(1, 2), length: int = 7) -> pd.DataFrame:
    """A timesteps frame of made-up values spanning decades, its rows shuffled (the reading may not rely on order)."""
    rng = np.random.default_rng(seed)
    rows = [{"run_id": "r", "step": step, "layer": layer, "t": t, "state_grad_rms": 10 ** rng.uniform(-12, 2),
             "state_rms": rng.uniform(0, 1), "cell_grad_rms": math.nan}
            for step in steps for layer in layers for t in range(1, length + 1)]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("moment", ["start", "end"])
def test_time_ratio_is_the_last_layers_t1_over_tT_at_the_moments_record(seed, moment):
    timesteps = random_timesteps(seed)
    # Independently: a (step, layer) x t table in float64, the last layer's row at the first or last step.
    table = timesteps.pivot_table(index=["step", "layer"], columns="t", values="state_grad_rms", aggfunc="first")
    step = table.index.get_level_values("step").min() if moment == "start" else table.index.get_level_values("step").max()
    row = table.loc[(step, table.index.get_level_values("layer").max())].astype(np.float64)
    expected = row[row.index.min()] / row[row.index.max()]
    claim = Claim(says="x {threshold}", measure="time_ratio", moment=moment, above=0.0)
    measurement = evaluate(claim, rnn_result(timesteps))
    assert measurement.value == pytest.approx(expected, rel=1e-12) and measurement.holds


def test_time_ratio_compares_and_fails_as_any_claim():
    timesteps = random_timesteps(0)
    start = evaluate(Claim(says="x {threshold}", measure="time_ratio", moment="start", above=0.0), rnn_result(timesteps)).value
    # A claim on the wrong side of the value fails; a run that did not end ok bears out nothing.
    assert not evaluate(Claim(says="x {threshold}", measure="time_ratio", below=start), rnn_result(timesteps)).holds
    assert not evaluate(Claim(says="x {threshold}", measure="time_ratio", above=0.0), rnn_result(timesteps, "diverged")).holds
    # Over a counterpart that gets 10 times the gradient at t = 1 (and the same at t = T): exactly 0.1.
    flatter = timesteps.copy()
    flatter.loc[flatter["t"] == 1, "state_grad_rms"] *= 10
    over = Claim(says="x {threshold}", measure="time_ratio", compare="over_counterpart", counterpart={"seed": 1}, below=1.0)
    measurement = evaluate(over, rnn_result(timesteps), rnn_result(flatter))
    assert measurement.value == pytest.approx(0.1, rel=1e-12) and measurement.holds


def test_time_ratio_of_a_run_without_timesteps_is_nan_and_holds_nothing():
    config = load_config({"training": {"epochs": 0}})  # an MLP: its timesteps frame is empty
    result = RunResult(config=config, summary={"status": "ok"}, **EMPTY)
    measurement = evaluate(Claim(says="x {threshold}", measure="time_ratio", above=0.0), result)
    assert math.isnan(measurement.value) and not measurement.holds


def test_time_ratio_takes_no_reading_and_one_record(tmp_path):
    for body, message in [("reading: mean\n", "claim.reading: leave it out: time_ratio is one figure of a run at a moment"),
                          ("moment: every\n", "claim.moment: time_ratio is read at one record: write moment: start or end")]:
        path = tmp_path / "preset.yaml"
        path.write_text("claim:\n  says: 'x {threshold}'\n  measure: time_ratio\n  below: 1\n"
                        + "".join(f"  {line}\n" for line in body.splitlines()) + "name: x\n")
        with pytest.raises(ConfigError, match=f"^{path}: {message}$"):
            read_claim(path)
    claim = Claim(says="x {threshold}", measure="time_ratio", at_least=1000.0)
    assert formula(claim) == "time_ratio (state_grad_rms at t = 1 ÷ at t = T, last recurrent layer) at initialisation ≥ 10³"


# ---- the presets are the ones the issue names, each one change away from its partner -------------------------------

def preset(name: str):
    return load_config(EXPERIMENTS / f"{name}.yaml")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_gated_presets_are_rnn_vanishing_with_only_the_cell_changed(cell):
    """So Fix it's remedies lstm and gru applied to rnn_vanishing give their configs, apart from the name."""
    gated = preset(f"{cell}_remembers")
    assert gated.model.cell == cell
    assert gated == load_config(EXPERIMENTS / "rnn_vanishing.yaml", overrides={"model.cell": cell, "name": gated.name})


def test_rnn_exploding_clipped_is_rnn_exploding_with_clip_norm():
    clipped = preset("rnn_exploding_clipped")
    assert clipped.training.clip_norm is not None and preset("rnn_exploding").training.clip_norm is None
    assert clipped == load_config(EXPERIMENTS / "rnn_exploding.yaml",
                                  overrides={"training.clip_norm": clipped.training.clip_norm, "name": clipped.name})


def test_the_rnn_presets_are_the_classics_configs():
    vanishing = preset("rnn_vanishing")
    # The calibration: 32 units, 3,000 sequences, 20 % validation, Adam 0.005, batch 64, 60 epochs, T = 50.
    assert (vanishing.model.kind, vanishing.model.cell, vanishing.model.activation, vanishing.model.width) == ("rnn", "simple",
                                                                                                              "tanh", 32)
    assert (vanishing.data.dataset, vanishing.data.num_samples, vanishing.data.validation_split,
            vanishing.data.sequence_length) == ("adding", 3000, 0.2, 50)
    assert (vanishing.training.optimizer, vanishing.training.learning_rate, vanishing.training.batch_size,
            vanishing.training.epochs) == ("adam", 0.005, 64, 60)
    latch = preset("rnn_latch")
    assert latch.data.dataset == "bit_memory" and latch.model == vanishing.model and latch.training == vanishing.training
    irnn = preset("irnn")
    assert (irnn.model.activation, irnn.model.recurrent_initializer, irnn.data.dataset) == ("relu", "identity", "adding")
    exploding = preset("rnn_exploding")
    assert (exploding.model.cell, exploding.model.activation, exploding.training.optimizer) == ("simple", "tanh", "sgd")
    assert exploding.model.spectral_radius is not None
