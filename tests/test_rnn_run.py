"""The run contract for recurrent networks (model.kind rnn): run folders, determinism, the CLI, divergence."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lab import load_config
from lab.contract.result import FORMAT_VERSION, FRAME_COLUMNS
from lab.contract.run_data import prepare_data

TINY_RNN = {
    "name": "tiny_rnn",
    "data": {"dataset": "adding", "num_samples": 128, "sequence_length": 8},
    "model": {"kind": "rnn", "cell": "lstm", "depth": 2, "width": 5},
    "training": {"epochs": 2, "batch_size": 32, "optimizer": "adam", "learning_rate": 0.01},
    "probe": {"num_samples": 16},
}
FRAMES = ("layers", "history", "histograms", "boundary", "propagation", "spectrum", "timesteps")


def tiny_rnn(**overrides):
    """The tiny recurrent experiment with dotted-key overrides."""
    return load_config(TINY_RNN, overrides=overrides)


@pytest.fixture(scope="module")
def result():
    import lab

    return lab.run(tiny_rnn())


def assert_same_frames(first, second):
    """Every frame of two RunResults equal, bit for bit (NaN where NaN)."""
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name), check_exact=True, obj=name)


def test_timesteps_frame_has_one_row_per_step_layer_and_time(result):
    timesteps = result.timesteps
    assert tuple(timesteps.columns) == FRAME_COLUMNS["timesteps"]
    steps = sorted(result.layers["step"].unique())
    assert len(timesteps) == len(steps) * 2 * 8
    assert sorted(timesteps["step"].unique()) == steps
    for _, rows in timesteps.groupby(["step", "layer"]):
        assert list(rows["t"]) == list(range(1, 9))
    assert (timesteps["state_grad_rms"] > 0).all() and (timesteps["cell_grad_rms"] > 0).all()
    # layers.csv: preact_grad_rms of a recurrent layer is the rms over t of state_grad_rms (the same signal).
    for (step, layer), rows in timesteps.groupby(["step", "layer"]):
        row = result.layers.query("step == @step and layer == @layer").iloc[0]
        np.testing.assert_allclose(row["preact_grad_rms"], np.sqrt(np.mean(rows["state_grad_rms"] ** 2)), rtol=1e-5)
    assert list(result.layers.query("step == 0")["layer_kind"]) == ["hidden", "hidden", "output"]


def test_run_folder_round_trip_zip_and_probe_inputs(result, tmp_path):
    from lab.runs import archive, store

    folder = store.save(result, tmp_path)
    assert (folder / "timesteps.csv").is_file() and not (folder / "propagation.csv").exists()
    assert json.loads((folder / "summary.json").read_text())["format_version"] == FORMAT_VERSION >= 3
    loaded = store.load(folder)
    assert_same_frames(result, loaded)
    assert loaded.config == result.config
    assert_same_frames(result, archive.load_zip(archive.folder_to_zip(folder)))
    probe = np.load(folder / "probe.npy")
    dataset, index = prepare_data(result.config)
    assert probe.shape == (16, 8, 2)
    np.testing.assert_array_equal(probe, dataset.x_train[index])


def test_a_recurrent_run_is_bit_identical_twice(result):
    import lab

    assert_same_frames(result, lab.run(tiny_rnn()))


def test_mlp_results_have_an_empty_timesteps_frame_and_no_file(tmp_path):
    import lab
    from lab.runs import store
    from tests.support.configs import tiny_config

    mlp = lab.run(tiny_config(**{"training.epochs": 0}))
    assert mlp.timesteps.empty and tuple(mlp.timesteps.columns) == FRAME_COLUMNS["timesteps"]
    folder = store.save(mlp, tmp_path)
    assert not (folder / "timesteps.csv").exists()
    assert store.load(folder).timesteps.empty


@pytest.mark.parametrize("cell", ["simple", "gru"])
def test_other_cells_run_and_only_the_lstm_has_a_carry(cell):
    import lab

    run = lab.run(tiny_rnn(**{"model.cell": cell, "model.depth": 1, "training.epochs": 1}))
    assert run.status == "ok"
    assert run.timesteps["cell_grad_rms"].isna().all() and (run.timesteps["state_grad_rms"] > 0).all()


def test_an_exploding_relu_rnn_gives_nan_rows_and_diverges_without_crashing(tmp_path):
    """An identity relu RNN rescaled to spectral radius 10: h grows tenfold per step and overflows at initialisation."""
    import lab
    from lab.runs import store

    run = lab.run(tiny_rnn(**{"model.cell": "simple", "model.depth": 1, "model.activation": "relu",
                              "model.recurrent_initializer": "identity", "model.spectral_radius": 10.0,
                              "data.sequence_length": 60, "training.optimizer": "sgd"}))
    assert run.status == "diverged"
    assert run.layers["grad_norm"].isna().all()
    at_start = run.timesteps.query("step == 0")
    assert at_start["state_grad_rms"].isna().all()
    assert not np.isfinite(at_start["state_rms"].iloc[-1])
    assert at_start["state_rms"].iloc[1] > 5 * at_start["state_rms"].iloc[0]  # the tenfold growth, before overflow
    assert_same_frames(run, store.load(store.save(run, tmp_path)))


def test_cli_run_equals_the_api_run_and_show_prints_the_time_ratio(result, tmp_path):
    from lab.contract.config_io import config_to_yaml
    from lab.runs import store

    (tmp_path / "rnn.yaml").write_text(config_to_yaml(result.config))
    environment = {key: value for key, value in os.environ.items() if key != "LAB_DEBUG"}
    completed = subprocess.run([sys.executable, "-m", "lab", "run", "rnn.yaml", "--out", "cli"], cwd=tmp_path,
                               env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    (cli_folder,) = (tmp_path / "cli").iterdir()
    api_folder = store.save(result, tmp_path / "api")
    for name in ("config.yaml", "layers.csv", "history.csv", "histograms.csv", "timesteps.csv", "probe.npy"):
        assert (cli_folder / name).read_bytes() == (api_folder / name).read_bytes(), name
    shown = subprocess.run([sys.executable, "-m", "lab", "show", str(cli_folder)], env=environment, capture_output=True,
                           text=True, timeout=300, check=False)
    assert shown.returncode == 0, shown.stderr
    timesteps = result.timesteps.query("layer == 1 and step == 0")
    ratio = timesteps["state_grad_rms"].iloc[0] / timesteps["state_grad_rms"].iloc[-1]
    assert "t = 1 / at t = T" in shown.stdout
    assert f"layer 1: {ratio:.2g} at step 0" in shown.stdout
