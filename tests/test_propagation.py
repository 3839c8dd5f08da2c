"""Signal propagation (probe.propagation) against an independent float64 numpy computation on the run's own
weights and probe inputs: q, c, J_l = dz_l/dz_1 by the chain rule and its singular values; the frames' shapes,
storage, refusals and the byte-identity of configs without the new keys."""
import json

import numpy as np
import pandas as pd
import pytest

from lab import load_config, run, store
from lab.contract.config_io import ConfigError, config_to_yaml, run_id_of
from lab.contract.resources import estimate
from lab.contract.result import FORMAT_VERSION, FRAME_COLUMNS, RunResult, frame
from lab.contract.run_data import prepare_data
from lab.runs.archive import RUN_FILES, folder_to_zip, load_zip
from lab.science import activations as act
from tests.support.configs import tiny_config

CASES = [
    # activation, residual_every, depth, width, bias initializer
    ("tanh", 0, 4, 6, "zeros"),
    ("relu", 0, 3, 8, 0.1),
    ("tanh", 2, 4, 6, "random_normal"),  # skips from the inputs (a projection) and from block 2
    ("relu", 1, 3, 5, "zeros"),  # a skip around every block
    ("step", 0, 3, 5, "zeros"),  # zero slope: J_l = 0 above layer 1
]


def propagation_trainer(activation, residual_every, depth, width, bias, **overrides):
    """A Trainer with probe.propagation, trained, its initial weights, and its propagation and spectrum frames."""
    from lab.training.trainer import Trainer

    config = tiny_config(**{
        "model.activation": activation, "model.residual_every": residual_every, "model.depth": depth,
        "model.width": width, "model.bias_initializer": bias, "data.num_features": 3, "training.epochs": 2,
        "probe.num_samples": 12, "probe.propagation": True, "probe.jacobian_samples": 3, **overrides,
    })
    data, probe_index = prepare_data(config)
    trainer = Trainer(config, data, probe_index, "reference")
    initial = network_weights(trainer)
    status, _ = trainer.train()
    assert status == "ok"
    return trainer, initial, network_weights(trainer), *trainer.propagation_frames()


def network_weights(trainer):
    """Hidden (kernel, bias) pairs and per block the skip (source, projection kernel or None), in float64."""
    blocks = trainer.network.blocks
    dense = [tuple(np.float64(value) for value in layer.get_weights()) for layer in blocks.hidden_dense]
    skips = [None if skip is None else (skip[0], None if skip[1] is None else np.float64(skip[1].get_weights()[0]))
             for skip in (blocks.skips or (None,) * len(dense))]
    return dense, skips


def reference(weights, inputs, activation, samples):
    """z_l by a float64 forward; J_l by the chain rule with np.diag(phi'(z)) W products, per sample."""
    dense, skips = weights
    outputs, zs = [inputs.astype(np.float64)], []
    for (kernel, bias), skip in zip(dense, skips):
        z = outputs[-1] @ kernel + bias
        zs.append(z)
        output = act.value(activation, z)
        if skip is not None:
            source, projection = skip
            output = output + (outputs[source] if projection is None else outputs[source] @ projection)
        outputs.append(output)
    jacobians = []  # per sample, per layer
    for sample in range(samples):
        width = zs[0].shape[1]
        block = {0: np.zeros((width, width))}  # d o_j / d z_1; the inputs do not depend on z_1
        per_layer = []
        for index, ((kernel, _), skip) in enumerate(zip(dense, skips)):
            jacobian = np.eye(width) if index == 0 else kernel.T @ block[index]
            per_layer.append(jacobian)
            block[index + 1] = np.diag(act.derivative(activation, zs[index][sample])) @ jacobian
            if skip is not None:
                block[index + 1] = block[index + 1] + block[skip[0]]
        jacobians.append(per_layer)
    return zs, jacobians


def cosine_mean(z):
    """Mean over distinct pairs (a, b) of z_a . z_b / (|z_a| |z_b|), zero vectors left out, by a double loop."""
    kept = [row for row in z if np.linalg.norm(row) > 0]
    values = [kept[a] @ kept[b] / (np.linalg.norm(kept[a]) * np.linalg.norm(kept[b]))
              for a in range(len(kept)) for b in range(len(kept)) if a != b]
    return float(np.mean(values)) if values else float("nan")


@pytest.mark.parametrize("activation, residual_every, depth, width, bias", CASES)
def test_frames_match_numpy_reference(activation, residual_every, depth, width, bias):
    trainer, initial, final, propagation, spectrum = propagation_trainer(activation, residual_every, depth, width, bias)
    samples = trainer.config.probe.jacobian_samples
    assert sorted(set(propagation["step"])) == [0, trainer.step]
    for step, weights in ((0, initial), (trainer.step, final)):
        zs, jacobians = reference(weights, trainer.probe_inputs, activation, samples)
        rows = propagation[propagation["step"] == step].sort_values("layer")
        assert list(rows["layer"]) == list(range(1, depth + 1))
        for layer, row in zip(range(depth), rows.itertuples()):
            np.testing.assert_allclose(row.q, np.mean(zs[layer] ** 2), rtol=1e-5)
            np.testing.assert_allclose(row.c, cosine_mean(zs[layer]), rtol=1e-4, atol=1e-5)
            values = np.array([np.linalg.svd(jacobians[sample][layer], compute_uv=False) for sample in range(samples)])
            np.testing.assert_allclose(row.jac_mean_sq, np.mean(values ** 2), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(row.jac_max, np.mean(values[:, 0]), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(row.jac_min, np.mean(values[:, -1]), rtol=1e-4, atol=1e-6)
            recorded = spectrum[(spectrum["step"] == step) & (spectrum["layer"] == layer + 1)]
            recorded = recorded.sort_values(["sample", "index"])["singular_value"].to_numpy().reshape(samples, width)
            np.testing.assert_allclose(recorded, values, rtol=1e-4, atol=1e-6)


def test_first_layer_is_identity_and_spectrum_agrees_with_propagation():
    trainer, _, _, propagation, spectrum = propagation_trainer("tanh", 0, 4, 6, "zeros")
    samples, width, depth = 3, 6, 4
    assert len(spectrum) == 2 * depth * samples * width
    assert tuple(propagation.columns) == FRAME_COLUMNS["propagation"]
    assert tuple(spectrum.columns) == FRAME_COLUMNS["spectrum"]
    first = spectrum[spectrum["layer"] == 1]["singular_value"]
    np.testing.assert_allclose(first, 1.0)
    assert set(spectrum["sample"]) == set(range(1, samples + 1)) and set(spectrum["index"]) == set(range(1, width + 1))
    grouped = spectrum.groupby(["step", "layer", "sample"])["singular_value"]
    largest = spectrum.loc[spectrum["index"] == 1].set_index(["step", "layer", "sample"])["singular_value"]
    pd.testing.assert_series_equal(largest, grouped.max(), check_names=False)
    per_layer = pd.DataFrame({
        "jac_max": largest.groupby(["step", "layer"]).mean(),
        "jac_min": grouped.min().groupby(["step", "layer"]).mean(),
    }).reset_index()
    merged = propagation.merge(per_layer, on=["step", "layer"], suffixes=("", "_spectrum"))
    np.testing.assert_allclose(merged["jac_max"], merged["jac_max_spectrum"])
    np.testing.assert_allclose(merged["jac_min"], merged["jac_min_spectrum"])


def test_one_probe_sample_gives_nan_c_and_one_jacobian():
    config = tiny_config(**{"probe.num_samples": 1, "probe.propagation": True, "training.epochs": 0})
    assert config.probe.jacobian_samples == 1  # the default 4 is resolved to the probe batch
    result = run(config)
    assert result.propagation["c"].isna().all() and result.propagation["q"].notna().all()
    assert list(result.propagation["step"].unique()) == [0]  # epochs 0: step 0 is also the end
    assert set(result.spectrum["sample"]) == {1}


def test_non_finite_weights_give_nan_rows_without_crashing():
    from lab.training.trainer import Trainer

    config = tiny_config(**{"probe.propagation": True, "training.epochs": 0, "model.depth": 4})
    data, probe_index = prepare_data(config)
    trainer = Trainer(config, data, probe_index, "nan")
    kernel = trainer.network.hidden_dense[1].kernel
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    trainer.train()
    propagation, spectrum = trainer.propagation_frames()
    above = propagation[propagation["layer"] >= 2]
    assert above[["q", "c", "jac_mean_sq", "jac_max", "jac_min"]].isna().all().all()
    assert propagation.loc[propagation["layer"] == 1, "jac_max"].tolist() == [1.0]
    assert spectrum.loc[spectrum["layer"] >= 2, "singular_value"].isna().all()


def test_a_diverging_run_keeps_its_records_and_status():
    diverging = {"model.depth": 3, "model.width": 32, "model.activation": "relu", "model.kernel_initializer": "he_normal",
                 "training.learning_rate": 10.0, "training.epochs": 20, "training.record_every": 1}
    result = run(tiny_config(**diverging, **{"probe.propagation": True}))
    assert result.status == "diverged"
    last = result.layers["step"].max()
    assert sorted(set(result.propagation["step"])) == [0, last]
    assert len(result.spectrum) == 2 * 3 * 4 * 32


def test_save_load_round_trip_and_zip(tmp_path):
    result = run(tiny_config(**{"probe.propagation": True, "probe.jacobian_samples": 2, "training.epochs": 1}))
    folder = store.save(result, tmp_path)
    assert {"propagation.csv", "spectrum.csv"} <= {path.name for path in folder.iterdir()}
    assert {"propagation.csv", "spectrum.csv"} <= set(RUN_FILES)
    for loaded in (store.load(folder), load_zip(folder_to_zip(folder))):
        assert loaded.config == result.config and loaded.summary == result.summary
        for name in FRAME_COLUMNS:
            pd.testing.assert_frame_equal(getattr(loaded, name), getattr(result, name), check_exact=True)


def test_a_run_without_propagation_writes_no_new_files_and_an_old_folder_loads(tmp_path):
    result = run(tiny_config(**{"training.epochs": 1}))
    assert result.propagation.empty and result.spectrum.empty
    assert tuple(result.spectrum.columns) == FRAME_COLUMNS["spectrum"]
    folder = store.save(result, tmp_path)
    assert not {"propagation.csv", "spectrum.csv"} & {path.name for path in folder.iterdir()}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["format_version"] == FORMAT_VERSION  # 2 added propagation/spectrum, 3 timesteps (issue #14)
    summary["format_version"] = 1  # as a lab before issue #13 wrote it
    (folder / "summary.json").write_text(json.dumps(summary))
    loaded = store.load(folder)
    assert loaded.propagation.empty and tuple(loaded.propagation.columns) == FRAME_COLUMNS["propagation"]
    pd.testing.assert_frame_equal(loaded.layers, result.layers, check_exact=True)


def test_run_result_is_constructible_as_before():
    empty = [frame(name) for name in ("layers", "history", "histograms", "boundary")]
    positional = RunResult(tiny_config(), *empty, {"run_id": "x", "status": "ok"})
    assert positional.propagation.empty and positional.spectrum.empty


@pytest.mark.parametrize("overrides, field", [
    ({"probe.jacobian_samples": 2}, "probe.jacobian_samples"),
    ({"probe.propagation": True, "probe.jacobian_samples": 20, "probe.num_samples": 10}, "probe.jacobian_samples"),
    ({"probe.propagation": True, "probe.jacobian_samples": 33}, "probe.jacobian_samples"),
    ({"probe.propagation": True, "model.normalization": "batch"}, "probe.propagation"),
    ({"probe.propagation": True, "model.normalization": "layer"}, "probe.propagation"),
])
def test_refusals_are_one_line_naming_the_field(overrides, field):
    with pytest.raises(ConfigError) as error:
        tiny_config(**overrides)
    message = str(error.value)
    assert "\n" not in message and message.startswith(field), message


def test_configs_without_the_new_keys_dump_unchanged():
    plain = tiny_config()
    explicit = tiny_config(**{"probe.propagation": False, "probe.jacobian_samples": 4})
    assert config_to_yaml(explicit) == config_to_yaml(plain) and run_id_of(explicit) == run_id_of(plain)
    assert "propagation" not in config_to_yaml(plain) and "jacobian_samples" not in config_to_yaml(plain)
    with_it = tiny_config(**{"probe.propagation": True})
    assert "propagation: true" in config_to_yaml(with_it) and run_id_of(with_it) != run_id_of(plain)
    assert load_config(config_to_yaml(with_it)) == with_it
    # a default probe resolved to a small training set keeps the propagation keys
    small = load_config({"data": {"num_samples": 40}, "training": {"batch_size": 16},
                         "probe": {"propagation": True, "jacobian_samples": 8}})
    assert small.probe.num_samples == 32 and small.probe.propagation and small.probe.jacobian_samples == 8


def test_resource_estimate_counts_the_jacobians():
    base = {"model.depth": 50, "model.width": 256}
    off, on = estimate(tiny_config(**base)), estimate(tiny_config(**base, **{"probe.propagation": True}))
    assert on.seconds > off.seconds and on.memory_mb > off.memory_mb
