"""lab.keras.GradientFlow: a user's keras.Sequential with the lab network's weights gives the lab probe's numbers.

The reference is the lab's own probe (lab.training.probes, itself held against plain tf.GradientTape and numpy in
tests/test_probes_reference.py) on the same weights and the same probe batch; the callback reads the user's model
its own way (layers one by one, the model's compiled loss), so agreement checks the reading, the loss and the rows.
"""
import json

import keras
import numpy as np
import pandas as pd
import pytest

from lab import store
from lab.contract.run_data import prepare_data
from lab.keras import GradientFlow, UnsupportedModel
from lab.keras.callback_folder import FolderTaken
from lab.training.measures import layer_rows
from lab.training.models import build_network
from lab.training.probes import make_probe
from tests.support.configs import tiny_config

MEASURES = ["grad_norm", "bias_grad_norm", "preact_grad_rms", "weight_norm", "dead_fraction", "saturated_fraction",
            "activation_mean", "activation_std"]


def lab_side(config):
    """The lab's network for config, its probe batch, and the lab probe's rows at step 0."""
    dataset, probe_index = prepare_data(config)
    network = build_network(config.model, dataset.num_features, dataset.num_classes, config.seed)
    binary = config.model.output_activation == "sigmoid"
    probe = make_probe(network, dataset.num_features, binary)
    x, y = dataset.x_train[probe_index], dataset.y_train[probe_index]
    rows = pd.DataFrame(layer_rows(probe(x, y), None, config.model.activation, config.model.leaky_alpha,
                                   {"run_id": "lab", "step": 0, "epoch": 0}))
    return dataset, network, probe, (x, y), rows


def user_layers(config, style: str) -> list:
    """The lab's architecture written as a user would: Dense(activation=...) or Dense then an activation layer."""
    model, layers = config.model, []
    for index in range(model.depth):  # named, so two models of one architecture have one config (and run id)
        if style == "own":
            layers.append(keras.layers.Dense(model.width, activation=model.activation, name=f"dense_{index}"))
        else:
            layers.append(keras.layers.Dense(model.width, name=f"dense_{index}"))
            if model.normalization == "batch":
                layers.append(keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3))
            layers.append(keras.layers.LeakyReLU(negative_slope=model.leaky_alpha) if model.activation == "leaky_relu"
                          else keras.layers.Activation(model.activation))
            layers.append(keras.layers.Dropout(0.5))  # off in the probe: must change nothing
    return layers


def user_model(config, network, num_features: int, num_classes: int, style: str = "own"):
    """A keras.Sequential of the same architecture with the lab network's weights, compiled with a from-logits loss."""
    binary = config.model.output_activation == "sigmoid"
    model = keras.Sequential([keras.Input((num_features,)), *user_layers(config, style),
                              keras.layers.Dense(1 if binary else num_classes, name="output")], name="user")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for mine, theirs in zip(dense, network.dense_layers):
        mine.set_weights([theirs.kernel.numpy(), theirs.bias.numpy()])
    loss = (keras.losses.BinaryCrossentropy(from_logits=True) if binary
            else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.compile(optimizer=keras.optimizers.SGD(config.training.learning_rate), loss=loss, metrics=["accuracy"])
    return model


def fit_with_callback(model, dataset, probe, folder, epochs=2, every="epoch", extra=()):
    """model.fit on the lab's data with GradientFlow; the loaded run folder."""
    keras.utils.set_random_seed(0)  # op determinism is on in this process (the lab's runs): fit's shuffle needs a seed
    model.fit(dataset.x_train, dataset.y_train, epochs=epochs, batch_size=32, verbose=0,
              validation_data=(dataset.x_val, dataset.y_val), callbacks=[GradientFlow(probe, folder, every=every), *extra])
    return store.load(folder)


def assert_rows_equal(measured: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same layers, kinds and measures to float32 rounding (NaN where the lab has NaN)."""
    assert list(measured["layer"]) == list(expected["layer"])
    assert list(measured["layer_kind"]) == list(expected["layer_kind"])
    np.testing.assert_allclose(measured[MEASURES].to_numpy(np.float64), expected[MEASURES].to_numpy(np.float64),
                               rtol=2e-5, atol=1e-7, equal_nan=True)


@pytest.mark.parametrize("overrides, style", [
    ({"model.activation": "relu", "model.depth": 4, "model.width": 8, "data.dataset": "blobs", "data.num_classes": 3,
      "model.output_activation": "softmax"}, "own"),
    ({"model.activation": "tanh", "model.kernel_initializer": "gaussian", "model.sigma_w": 1.6}, "layers"),
    ({"model.activation": "leaky_relu", "model.leaky_alpha": 0.1, "model.depth": 3}, "layers"),
    ({"model.activation": "sigmoid", "model.normalization": "batch", "model.depth": 3}, "layers"),
])
def test_step_zero_equals_the_lab_probe(tmp_path, overrides, style):
    config = tiny_config(**overrides)
    dataset, network, _, probe, expected = lab_side(config)
    model = user_model(config, network, dataset.num_features, dataset.num_classes, style)
    moving_before = [variable.numpy().copy() for variable in model.non_trainable_variables]
    callback = GradientFlow(probe, tmp_path / "run")
    callback.set_model(model)
    callback.on_train_begin()  # step 0, before any update: the probe must leave every variable as it found it
    for before, variable in zip(moving_before, model.non_trainable_variables):
        np.testing.assert_array_equal(variable.numpy(), before)
    measured = pd.DataFrame(callback.layer_rows)
    assert_rows_equal(measured, expected)
    if config.model.activation in ("tanh", "sigmoid"):  # saturating: a real number to compare, not NaN = NaN
        assert measured["saturated_fraction"].iloc[:-1].notna().all()


def test_every_record_equals_the_lab_probe_on_the_trained_weights(tmp_path):
    config = tiny_config(**{"model.activation": "relu", "model.depth": 3, "model.width": 8})
    dataset, network, lab_probe, probe, expected = lab_side(config)
    model = user_model(config, network, dataset.num_features, dataset.num_classes)
    kernels = {}  # every Dense kernel at each epoch's end, kept by an independent callback for the update ratios

    def keep(epoch, logs):
        kernels[epoch + 1] = [layer.kernel.numpy().copy() for layer in model.layers if isinstance(layer, keras.layers.Dense)]

    result = fit_with_callback(model, dataset, probe, tmp_path / "run", epochs=3,
                               extra=[keras.callbacks.LambdaCallback(on_epoch_end=keep)])
    steps_per_epoch = int(np.ceil(len(dataset.x_train) / 32))
    assert sorted(result.layers["step"].unique()) == [0, steps_per_epoch, 2 * steps_per_epoch, 3 * steps_per_epoch]
    assert_rows_equal(result.layers[result.layers["step"] == 0].reset_index(drop=True), expected)
    # The end: the user's trained weights copied into the lab's network, measured by the lab's probe.
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for mine, theirs in zip(network.dense_layers, dense):
        mine.kernel.assign(theirs.kernel.numpy())
        mine.bias.assign(theirs.bias.numpy())
    end = pd.DataFrame(layer_rows(lab_probe(*probe), None, "relu", 0.01, {"run_id": "lab", "step": 0, "epoch": 0}))
    last = result.layers[result.layers["step"] == 3 * steps_per_epoch].reset_index(drop=True)
    assert_rows_equal(last, end)
    assert (last["epoch"] == 3).all()
    # update_ratio = ||W_end - W_epoch2|| / ||W_epoch2||, from the kernels an independent callback kept.
    expected_ratio = [np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b.astype(np.float64))
                      for a, b in zip(kernels[3], kernels[2])]
    np.testing.assert_allclose(last["update_ratio"], expected_ratio, rtol=1e-6)
    # history: fit's own logs, one row per epoch
    assert list(result.history["epoch"]) == [1, 2, 3]
    assert result.history["val_accuracy"].between(0, 1).all()
    assert result.summary["final"]["loss"] == pytest.approx(result.history["loss"].iloc[-1])


def test_every_n_updates_and_the_folder(tmp_path):
    config = tiny_config(**{"model.depth": 2})
    dataset, network, _, probe, _ = lab_side(config)
    model = user_model(config, network, dataset.num_features, dataset.num_classes)
    result = fit_with_callback(model, dataset, probe, tmp_path / "run", epochs=2, every=3)
    steps_per_epoch = int(np.ceil(len(dataset.x_train) / 32))  # 3 here: records at 0, 3, 6 (= the end)
    total = 2 * steps_per_epoch
    expected_steps = sorted({*range(0, total + 1, 3), total})
    assert sorted(result.layers["step"].unique()) == expected_steps
    epochs = result.layers.groupby("step")["epoch"].first()
    assert all(epochs[step] == step // steps_per_epoch for step in expected_steps)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["source"] == "keras_callback" and result.config is None and result.depth == 2
    assert [row["layer_kind"] for row in summary["model"]["rows"]] == ["hidden", "hidden", "output"]
    assert not (tmp_path / "run" / "config.yaml").exists()
    np.testing.assert_array_equal(np.load(tmp_path / "run" / "probe.npy"), probe[0])
    # the histograms: counts of the recorded pre-activations, every sample once per layer and step
    counts = result.histograms.groupby(["step", "layer"])["count"].sum()
    units = {1: config.model.width, 2: config.model.width, 3: 1}  # the binary head: one logit
    assert all(count == len(probe[0]) * units[layer] for (step, layer), count in counts.items())
    assert sorted(counts.index.get_level_values("step").unique()) == expected_steps


def test_run_id_is_the_hash_of_model_optimizer_and_probe(tmp_path):
    config = tiny_config()
    dataset, network, _, probe, _ = lab_side(config)
    ids = []
    for learning_rate, samples in ((0.1, 32), (0.1, 32), (0.2, 32), (0.1, 16)):
        model = user_model(config, network, dataset.num_features, dataset.num_classes)
        model.optimizer.learning_rate = learning_rate
        callback = GradientFlow((probe[0][:samples], probe[1][:samples]), tmp_path / f"run{len(ids)}")
        callback.set_model(model)
        callback.on_train_begin()
        ids.append(callback.run_id)
    assert ids[0] == ids[1] and len(set(ids)) == 3 and all(len(run_id) == 12 for run_id in ids)


@pytest.mark.parametrize("layers, named", [  # factories: a Keras layer made at collection would start TensorFlow early
    (lambda: [keras.layers.Reshape((4, 4, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(2)],
     "Reshape"),
    (lambda: [keras.layers.Dense(4), keras.layers.Dense(2, activation="relu"), keras.layers.Activation("tanh")], "activation"),
    (lambda: [keras.layers.Dense(4), keras.layers.GaussianNoise(0.1), keras.layers.Dense(2)], "GaussianNoise"),
    (lambda: [keras.layers.Flatten(), keras.layers.Dense(2)], "Flatten"),
])
def test_unreadable_models_are_refused_naming_the_layer(tmp_path, layers, named):
    model = keras.Sequential([keras.Input((16,)), *layers()])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = np.zeros((8, 16), np.float32), np.zeros(8, np.int32)
    with pytest.raises(UnsupportedModel, match=named) as error:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[GradientFlow((x, y), tmp_path / "run")])
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()  # nothing written


def recurrent_twin(config):
    """The lab's recurrent network for config, its probe batch and reading, and a user's Sequential with its weights."""
    from lab.training.recurrent_models import build_recurrent_from_config
    from lab.training.recurrent_probes import make_recurrent_probe

    dataset, probe_index = prepare_data(config)
    channels = dataset.x_train.shape[-1]
    network = build_recurrent_from_config(config.model, channels, dataset.num_classes, config.seed)
    x, y = dataset.x_train[probe_index], dataset.y_train[probe_index]
    reading = make_recurrent_probe(network, channels, binary=True)(x, y)
    layer_class = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.model.cell]
    extra = {"activation": config.model.activation} if config.model.cell == "simple" else {}
    layers = [layer_class(config.model.width, return_sequences=index + 1 < config.model.depth, name=f"rnn_{index}", **extra)
              for index in range(config.model.depth)]
    model = keras.Sequential([keras.Input((None, channels)), *layers, keras.layers.Dense(1, name="output")], name="user")
    for mine, theirs in zip(layers, network.recurrent):
        mine.set_weights([theirs.cell.kernel.numpy(), theirs.cell.recurrent_kernel.numpy(), theirs.cell.bias.numpy()])
    model.layers[-1].set_weights([network.output_dense.kernel.numpy(), network.output_dense.bias.numpy()])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model, (x, y), reading


@pytest.mark.parametrize("cell, depth", [("simple", 2), ("lstm", 1), ("gru", 2)])
def test_recurrent_layers_equal_the_lab_recurrent_probe_through_time(tmp_path, cell, depth):
    from lab.training.measures import timestep_columns

    config = tiny_config(**{"model.kind": "rnn", "model.cell": cell, "model.depth": depth, "model.width": 6,
                            "data.dataset": "bit_memory", "data.sequence_length": 8})
    model, probe, reading = recurrent_twin(config)
    callback = GradientFlow(probe, tmp_path / "run")
    callback.set_model(model)
    callback.on_train_begin()
    expected = pd.DataFrame(layer_rows(reading, None, config.model.activation, config.model.leaky_alpha,
                                       {"run_id": "lab", "step": 0, "epoch": 0}))
    assert_rows_equal(pd.DataFrame(callback.layer_rows), expected)
    measured_time = pd.DataFrame(callback.timestep_chunks[0])
    expected_time = pd.DataFrame(timestep_columns(reading.timesteps, {"run_id": "lab", "step": 0}))
    np.testing.assert_array_equal(measured_time[["layer", "t"]].to_numpy(), expected_time[["layer", "t"]].to_numpy())
    np.testing.assert_allclose(measured_time[["state_grad_rms", "state_rms", "cell_grad_rms"]].to_numpy(np.float64),
                               expected_time[["state_grad_rms", "state_rms", "cell_grad_rms"]].to_numpy(np.float64),
                               rtol=2e-5, atol=1e-9, equal_nan=True)
    if cell == "lstm":  # the carry's derivative is measured, not NaN
        assert measured_time["cell_grad_rms"].notna().all()


def fit_simple_rnn(tmp_path, **callback_options):
    """A one-layer simple RNN with the lab's initial weights, fit 2 epochs with GradientFlow into tmp_path/run: loaded."""
    config = tiny_config(**{"model.kind": "rnn", "model.cell": "simple", "model.depth": 1, "model.width": 6,
                            "data.dataset": "bit_memory", "data.sequence_length": 8})
    model, probe, _ = recurrent_twin(config)
    dataset, _ = prepare_data(config)
    keras.utils.set_random_seed(0)
    model.fit(dataset.x_train, dataset.y_train, epochs=2, batch_size=32, verbose=0,
              validation_data=(dataset.x_val, dataset.y_val),
              callbacks=[GradientFlow(probe, tmp_path / "run", **callback_options)])
    return store.load(tmp_path / "run")


def test_a_recurrent_callback_run_writes_and_loads_timesteps(tmp_path):
    result = fit_simple_rnn(tmp_path)
    assert result.depth == 1 and result.recurrent
    assert sorted(result.timesteps["step"].unique()) == sorted(result.layers["step"].unique())
    assert set(result.timesteps["t"]) == set(range(1, 9))
    assert result.summary["model"]["rows"][0]["cell"] == "simple"


@pytest.mark.parametrize("layers, named", [  # factories, as above
    (lambda: [keras.layers.SimpleRNN(4, go_backwards=True), keras.layers.Dense(2)], "go_backwards"),
    (lambda: [keras.layers.GRU(4, reset_after=False), keras.layers.Dense(2)], "reset_after"),
    (lambda: [keras.layers.SimpleRNN(4, return_sequences=True), keras.layers.LSTM(4), keras.layers.Dense(2)], "same cell"),
    (lambda: [keras.layers.SimpleRNN(4, return_sequences=True), keras.layers.Dense(2)], "return_sequences=False"),
    (lambda: [keras.layers.Masking(), keras.layers.SimpleRNN(4), keras.layers.Dense(2)], "Masking"),
    (lambda: [keras.layers.LSTM(4, activation="relu"), keras.layers.Dense(2)], "activation tanh"),
    (lambda: [keras.layers.Dense(4), keras.layers.SimpleRNN(4), keras.layers.Dense(2)], "follows a Dense"),
])
def test_recurrent_models_it_cannot_read_are_refused_naming_the_layer(tmp_path, layers, named):
    model = keras.Sequential([keras.Input((5, 3)), *layers()])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    callback = GradientFlow((np.zeros((8, 5, 3), np.float32), np.zeros(8, np.int32)), tmp_path / "run")
    callback.set_model(model)
    with pytest.raises(UnsupportedModel, match=named) as error:
        callback.on_train_begin()
    assert "\n" not in str(error.value)


def test_a_recurrent_model_needs_sequences_in_its_probe(tmp_path):
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.SimpleRNN(4), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    callback = GradientFlow((np.zeros((8, 3), np.float32), np.zeros(8, np.int32)), tmp_path / "run")
    callback.set_model(model)
    with pytest.raises(ValueError, match="3-D"):
        callback.on_train_begin()


def test_only_per_update_records_add_a_batch_hook(tmp_path):
    # Keras dispatches batch ends asynchronously (on thread-safe backends) only while every callback's
    # on_train_batch_end is Keras' default, marked _is_default: every="epoch" must leave it so.
    probe = (np.zeros((4, 3), np.float32), np.zeros(4, np.int32))
    assert getattr(GradientFlow(probe, tmp_path / "a").on_train_batch_end, "_is_default", False)
    assert not getattr(GradientFlow(probe, tmp_path / "b", every=5).on_train_batch_end, "_is_default", False)


@pytest.mark.parametrize("arguments, message", [
    ({"every": 0}, "every:"), ({"every": "batch"}, "every:"), ({"every": True}, "every:"),
    ({"probe": (np.zeros((4, 2)),)}, "probe:"), ({"probe": (np.zeros((4, 2)), np.zeros(3))}, "4 samples but y has 3"),
    ({"probe": (np.full((4, 2), np.nan), np.zeros(4))}, "NaN"),
])
def test_bad_arguments_get_one_line(tmp_path, arguments, message):
    keywords = {"probe": (np.zeros((4, 2)), np.zeros(4)), "folder": tmp_path / "run", **arguments}
    with pytest.raises(ValueError, match=message) as error:
        GradientFlow(**keywords)
    assert "\n" not in str(error.value)


def test_a_complete_folder_is_never_rewritten(tmp_path):
    config = tiny_config(**{"model.depth": 2})
    dataset, network, _, probe, _ = lab_side(config)
    fit_with_callback(user_model(config, network, dataset.num_features, dataset.num_classes), dataset, probe, tmp_path / "run",
                      epochs=1)
    before = {path.name: path.read_bytes() for path in (tmp_path / "run").iterdir()}
    with pytest.raises(FolderTaken, match="already holds a complete run"):
        GradientFlow(probe, tmp_path / "run")
    assert {path.name: path.read_bytes() for path in (tmp_path / "run").iterdir()} == before


def test_tensorboard_events_written_during_fit_equal_the_run_folder(tmp_path):
    from tests.support.tensorboard_events import assert_layer_scalars_equal_layers_csv, read_events

    result = fit_simple_rnn(tmp_path, tensorboard=tmp_path / "logs")
    assert_layer_scalars_equal_layers_csv(tmp_path / "run", tmp_path / "logs")
    values, plugins = read_events(tmp_path / "logs")
    assert sorted(values["epoch/loss"]) == [1, 2]
    np.testing.assert_array_equal([values["epoch/loss"][epoch] for epoch in (1, 2)], result.history["loss"].astype(np.float32))
    steps = sorted(result.layers["step"].unique())
    assert sorted(values["layer_01/preactivation"]) == steps and plugins["layer_01/preactivation"] == "histograms"
    assert sorted(values["layer_01/state_grad_first_over_last"]) == steps


def test_a_simple_cells_theory_inputs_are_recorded_like_the_labs(tmp_path):
    config = tiny_config(**{"model.kind": "rnn", "model.cell": "simple", "model.depth": 2, "model.width": 6,
                            "data.dataset": "bit_memory", "data.sequence_length": 8})
    model, probe, _ = recurrent_twin(config)
    callback = GradientFlow(probe, tmp_path / "run")
    callback.set_model(model)
    callback.on_train_begin()
    rows = callback.recurrence_rows
    assert [(row["step"], row["layer"]) for row in rows] == [(0, 1), (0, 2)]
    for row, layer in zip(rows, model.layers[:2]):  # numpy's eigenvalues of the user's own recurrent kernel
        radius = np.max(np.abs(np.linalg.eigvals(layer.cell.recurrent_kernel.numpy().astype(np.float64))))
        assert row["spectral_radius"] == pytest.approx(radius, rel=1e-12)
        assert 0 < row["slope_rms"] <= 1  # tanh' is at most 1


def test_importing_lab_keras_gives_a_users_tensorflow_its_own_thread_pools():
    import os
    import subprocess
    import sys

    pools = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    environment = {key: value for key, value in os.environ.items() if key not in pools}
    code = ("import os, lab; capped = os.environ.get('TF_NUM_INTRAOP_THREADS'); import keras; "
            "from lab.keras import GradientFlow; "
            "print(capped, os.environ.get('TF_NUM_INTRAOP_THREADS'), os.environ.get('TF_NUM_INTEROP_THREADS'))")
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "None", "None"]  # `import lab` caps at 1; lab.keras takes the cap back
