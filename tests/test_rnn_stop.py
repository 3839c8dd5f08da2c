"""Stopping a recurrent run keeps its time profile: on_progress hands the timesteps frame to a callback that asks."""
import pandas as pd

import lab
from lab.training.run import partial_result
from lab.training.trainer import accepts_keyword
from tests.test_rnn_run import tiny_rnn


class Stop(Exception):
    """Raised by the callback, as the app's Stop interrupts a script run."""


def test_a_callback_with_a_timesteps_keyword_gets_the_records_so_far_and_a_stopped_run_keeps_them():
    config = tiny_rnn(**{"training.epochs": 3})
    full = lab.run(config)
    seen = {}

    def on_progress(step, total_steps, layers, history, timesteps=None):
        seen.update(step=step, layers=layers, history=history, timesteps=timesteps)
        if step > 0:
            raise Stop  # after the first record past initialisation: records of steps 0 and one epoch

    try:
        lab.run(config, on_progress=on_progress)
    except Stop:
        pass
    stopped = partial_result(config, seen["layers"], seen["history"], seen["step"], "stopped", seen["timesteps"])
    steps = sorted(stopped.timesteps["step"].unique())
    assert steps == [0, seen["step"]] and stopped.status == "stopped"
    # The records made before Stop are the full run's records of those steps, bit for bit.
    expected = full.timesteps[full.timesteps["step"].isin(steps)].reset_index(drop=True)
    pd.testing.assert_frame_equal(stopped.timesteps.reset_index(drop=True), expected, check_exact=True)


def test_four_argument_callbacks_are_called_as_the_run_contract_says():
    calls = []
    result = lab.run(tiny_rnn(), on_progress=lambda step, total, layers, history: calls.append(step))
    assert calls == sorted(result.layers["step"].unique().tolist())


def test_accepts_keyword():
    def declared(a, timesteps=None): ...
    def keyword_only(a, *, timesteps): ...
    def anything(a, **extras): ...
    def four(a, b, c, d): ...
    assert accepts_keyword(declared, "timesteps") and accepts_keyword(keyword_only, "timesteps")
    assert accepts_keyword(anything, "timesteps")
    assert not accepts_keyword(four, "timesteps") and not accepts_keyword(None, "timesteps")
