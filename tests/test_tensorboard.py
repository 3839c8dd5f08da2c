"""TensorBoard export: event files read back with TensorBoard's own EventAccumulator equal the run folder's CSVs.

The expected values come from the CSV files on disk (pandas), not from the exporter; TensorBoard stores TF2 scalars
as tensors, so every series is read with Tensors().
"""
import glob
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lab
from lab import cli
from tests.support.configs import tiny_config
from tests.support.tensorboard_events import (
    HISTORY_MEASURES,
    assert_layer_scalars_equal_layers_csv,
    read_events,
    tag_of,
)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "tensorboard.md"
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny MLP run and a tiny two-layer LSTM run, saved, then exported through the CLI into one logdir."""
    base = tmp_path_factory.mktemp("tensorboard")
    mlp = lab.store.save(lab.run(tiny_config(**{"model.activation": "relu"})), base / "runs")
    recurrent_config = tiny_config(**{"model.kind": "rnn", "model.cell": "lstm", "model.depth": 2,
                                      "data.dataset": "bit_memory", "data.sequence_length": 6})
    recurrent = lab.store.save(lab.run(recurrent_config), base / "runs")
    logdir = base / "logs"
    assert cli.main(["tensorboard", str(mlp), str(recurrent), "--logdir", str(logdir)]) == 0
    return {"mlp": mlp, "rnn": recurrent, "logdir": logdir}


@pytest.mark.parametrize("kind", ["mlp", "rnn"])
def test_every_layer_measure_is_a_scalar_equal_to_layers_csv(exported, kind):
    assert_layer_scalars_equal_layers_csv(exported[kind], exported["logdir"] / exported[kind].name)


def test_a_keras_callback_run_folder_exports_too(tmp_path):
    """A folder written by lab.keras.GradientFlow during a user's model.fit (no config.yaml) goes through the CLI."""
    import keras

    from lab.keras import GradientFlow

    # The lab's runs earlier in this process turned on TensorFlow's op determinism, under which fit's shuffling needs a seed.
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, validation_split=0.25,
              callbacks=[GradientFlow((x[:32], y[:32]), tmp_path / "callback_run")])
    assert not (tmp_path / "callback_run" / "config.yaml").exists()
    assert cli.main(["tensorboard", str(tmp_path / "callback_run"), "--logdir", str(tmp_path / "logs")]) == 0
    assert_layer_scalars_equal_layers_csv(tmp_path / "callback_run", tmp_path / "logs" / "callback_run")
    values, _ = read_events(tmp_path / "logs" / "callback_run")
    assert sorted(values["epoch/val_accuracy"]) == [1, 2] and "layer_02/preactivation" in values


def test_output_layer_is_depth_plus_one_and_update_ratio_starts_after_step_zero(exported):
    values, _ = read_events(exported["logdir"] / exported["mlp"].name)
    assert "layer_04/grad_norm" in values and "layer_05/grad_norm" not in values  # depth 3: output is layer 4
    assert "layer_04/dead_fraction" not in values  # NaN for the output layer in every record
    assert min(values["layer_01/update_ratio"]) > 0


@pytest.mark.parametrize("kind", ["mlp", "rnn"])
def test_history_is_written_per_epoch_with_the_epoch_as_step(exported, kind):
    history = pd.read_csv(exported[kind] / "history.csv")
    values, plugins = read_events(exported["logdir"] / exported[kind].name)
    for column in HISTORY_MEASURES:
        tag = f"epoch/{column}"
        assert plugins[tag] == "scalars"
        expected = {int(epoch): np.float32(value) for epoch, value in zip(history["epoch"], history[column])}
        assert {step: value.item() for step, value in values[tag].items()} == expected
    assert sorted(values["epoch/loss"]) == [1, 2]


@pytest.mark.parametrize("kind", ["mlp", "rnn"])
def test_histograms_are_the_stored_bins_as_64_by_3_tensors(exported, kind):
    histograms = pd.read_csv(exported[kind] / "histograms.csv")
    values, plugins = read_events(exported["logdir"] / exported[kind].name)
    groups = histograms.groupby(["step", "layer"])
    layers = pd.read_csv(exported[kind] / "layers.csv")
    assert set(groups.groups) == set(zip(layers["step"], layers["layer"]))  # every record's every layer, output too
    for (step, layer), bins in groups:
        tag = tag_of(layer, "preactivation")
        assert plugins[tag] == "histograms"
        tensor = values[tag][step]
        assert tensor.shape == (64, 3)
        expected = bins.sort_values("bin_left")[["bin_left", "bin_right", "count"]].to_numpy(dtype=np.float64)
        np.testing.assert_array_equal(tensor, expected)
        assert tensor[:, 2].sum() == bins["count"].sum() > 0
    histogram_tags = {tag for tag, plugin in plugins.items() if plugin == "histograms"}
    assert histogram_tags == {tag_of(layer, "preactivation") for layer in histograms["layer"].unique()}


def test_recurrent_run_has_one_time_ratio_per_record_and_layer(exported):
    timesteps = pd.read_csv(exported["rnn"] / "timesteps.csv")
    values, plugins = read_events(exported["logdir"] / exported["rnn"].name)
    last_t = timesteps["t"].max()
    assert last_t == 6
    for (step, layer), rows in timesteps.groupby(["step", "layer"]):
        expected = rows.loc[rows["t"] == 1, "state_grad_rms"].item() / rows.loc[rows["t"] == last_t, "state_grad_rms"].item()
        tag = tag_of(layer, "state_grad_first_over_last")
        assert plugins[tag] == "scalars"
        assert values[tag][step] == np.float32(expected), f"{tag} at step {step}"
    assert not any("first_over_last" in tag for tag in read_events(exported["logdir"] / exported["mlp"].name)[0])


def test_tensorboards_dashboards_list_every_series(exported):
    """What the Scalars and Histograms dashboards ask TensorBoard's data provider for: each series under its plugin
    (the provider files a series by the metadata's data class too, so a wrong one would hide it)."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(exported["logdir"]))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(exported["logdir"]))
    request = context.RequestContext()
    scalars = provider.list_scalars(request, experiment_id="", plugin_name="scalars")
    histograms = provider.list_tensors(request, experiment_id="", plugin_name="histograms")
    assert scalars.keys() == histograms.keys() == {exported["mlp"].name, exported["rnn"].name}
    for run in scalars:
        _, plugins = read_events(exported["logdir"] / run)
        assert set(scalars[run]) == {tag for tag, plugin in plugins.items() if plugin == "scalars"}
        assert set(histograms[run]) == {tag for tag, plugin in plugins.items() if plugin == "histograms"}
        assert {tag.split("/")[1] for tag in histograms[run]} == {"preactivation"}


def test_event_writer_fed_record_by_record_equals_write_run(exported, tmp_path):
    """The Keras callback's way: each record's new rows as they come give the same series as the whole folder."""
    from lab.exports.tensorboard import EventWriter

    result = lab.store.load(exported["mlp"])
    with EventWriter(tmp_path / "live") as writer:
        for step in sorted(result.layers["step"].unique()):
            writer.write_layers(result.layers[result.layers["step"] == step])
            writer.write_histograms(result.histograms[result.histograms["step"] == step])
        for index in range(len(result.history)):
            writer.write_history(result.history.iloc[[index]])
    live, _ = read_events(tmp_path / "live")
    whole, _ = read_events(exported["logdir"] / exported["mlp"].name)
    assert live.keys() == whole.keys()
    for tag in whole:
        assert live[tag].keys() == whole[tag].keys()
        for step in whole[tag]:
            np.testing.assert_array_equal(live[tag][step], whole[tag][step])


def test_event_writer_leaves_a_users_unseeded_fit_working(tmp_path):
    """In a fresh process (a user's script with the callback), making a writer must not turn on TensorFlow's op
    determinism: under it an unseeded model.fit fails with "Random ops require a seed"."""
    import subprocess
    import sys

    script = f"""
import numpy as np, keras
from lab.exports.tensorboard import EventWriter
EventWriter({str(tmp_path / "events")!r}).close()
x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x, (x[:, 0] > 0).astype("int64"), epochs=1, verbose=0)
print("fit ok")
"""
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert completed.stdout.strip().endswith("fit ok"), completed.stderr[-800:]


def test_exporting_again_replaces_the_event_files(exported, tmp_path):
    logdir = tmp_path / "logs"
    for _ in range(2):
        assert cli.main(["tensorboard", str(exported["mlp"]), "--logdir", str(logdir)]) == 0
    assert len(list((logdir / exported["mlp"].name).glob("events.out.tfevents.*"))) == 1
    read_events(logdir / exported["mlp"].name)  # asserts no step is written twice


def test_write_run_reads_no_config(exported, tmp_path):
    """A Keras callback's run folder loads with config None: the export uses the frames and summary only."""
    from dataclasses import replace

    from lab.exports.tensorboard import write_run

    result = replace(lab.store.load(exported["mlp"]), config=None)
    assert write_run(result, tmp_path / "no_config") == tmp_path / "no_config"
    values, _ = read_events(tmp_path / "no_config")
    assert values["layer_01/grad_norm"][0] == np.float32(result.layers["grad_norm"].iloc[0])


@pytest.mark.parametrize("case", ["missing", "not_a_run", "folder_of_runs", "logdir_is_a_file", "same_name_twice"])
def test_bad_input_is_one_line_exit_2_and_nothing_written(exported, tmp_path, capsys, case):
    good = str(exported["mlp"])
    logdir = tmp_path / "logs"
    if case == "missing":
        arguments = [good, str(tmp_path / "nowhere")]
    elif case == "not_a_run":
        (tmp_path / "empty").mkdir()
        arguments = [good, str(tmp_path / "empty")]
    elif case == "folder_of_runs":
        arguments = [good, str(exported["mlp"].parent)]
    elif case == "logdir_is_a_file":
        logdir = tmp_path / "file"
        logdir.write_text("not a folder")
        arguments = [good]
    else:
        twin = tmp_path / "elsewhere" / exported["mlp"].name
        twin.parent.mkdir()
        twin.symlink_to(exported["mlp"], target_is_directory=True)
        arguments = [good, str(twin)]
    capsys.readouterr()
    assert cli.main(["tensorboard", *arguments, "--logdir", str(logdir)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1, error
    if case == "logdir_is_a_file":
        assert logdir.read_text() == "not a folder" and "--logdir" in error
    elif case == "folder_of_runs":
        assert "a folder of run folders" in error and not logdir.exists()
    else:
        assert case != "same_name_twice" or "two are named" in error
        assert not logdir.exists(), "event files written although one folder was bad"


def test_docs_example_runs(tmp_path, monkeypatch, capsys):
    """The page's block: its `python -m lab` lines run (runs with --quick) and leave event files for both runs."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.DOTALL).group(1)
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    pin = re.search(r"^tensorboard==\S+$", (ROOT / "requirements-test.txt").read_text(), re.MULTILINE).group(0)
    assert f"pip install {pin}" in lines, "the page must install the version the tests read with"
    assert lines[-1] == "tensorboard --logdir tb-logs"
    (tmp_path / "experiments").symlink_to(ROOT / "experiments", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for line in lines:
        words = shlex.split(line)
        if words[:3] != ["python", "-m", "lab"]:
            continue
        arguments = [match for word in words[3:] for match in (sorted(glob.glob(word)) if "*" in word else [word])]
        if arguments[0] == "run":
            arguments.append("--quick")
        assert cli.main(arguments) == 0, line
    capsys.readouterr()
    written = sorted(folder.name.split("-")[0] for folder in (tmp_path / "tb-logs").iterdir())
    assert written == ["relu_he", "sigmoid_vanishing"]
    # The page's sentence, read from the event files at step 0: the signal's shrink factor per layer from layer 10
    # to layer 1 (measured 4.2 for sigmoid, 1.03 for ReLU with He weights).
    factor = {}
    for name in written:
        values, _ = read_events(next((tmp_path / "tb-logs").glob(f"{name}-*")))
        factor[name] = (values["layer_10/preact_grad_rms"][0] / values["layer_01/preact_grad_rms"][0]) ** (1 / 9)
    assert 3 < factor["sigmoid_vanishing"] < 5 and 0.7 < factor["relu_he"] < 1.4, factor
