"""The run contract: frames, numbering, schedules, determinism, divergence, and the run folder."""
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from lab import run
from lab.contract.result import FRAME_COLUMNS
from lab.contract.run_data import prepare_data, steps_per_epoch
from lab.runs import store
from tests.support.configs import tiny_config


@pytest.fixture(scope="module")
def tiny_result():
    """One small finished run shared by the read-only checks of this module."""
    return run(tiny_config())


def test_frames_have_the_contract_columns(tiny_result):
    for name, columns in FRAME_COLUMNS.items():
        assert tuple(getattr(tiny_result, name).columns) == columns, name
    assert tiny_result.summary["status"] == "ok"
    assert set(tiny_result.layers["run_id"]) == {tiny_result.run_id}


def test_numbering_step_zero_epochs_and_layers(tiny_result):
    config = tiny_result.config
    per_epoch = steps_per_epoch(config)
    layers = tiny_result.layers
    assert sorted(layers["step"].unique()) == [0, per_epoch, 2 * per_epoch]
    assert sorted(layers["epoch"].unique()) == [0, 1, 2]
    depth = config.model.depth
    at_zero = layers[layers["step"] == 0]
    assert list(at_zero["layer"]) == list(range(1, depth + 2))
    assert list(at_zero["layer_kind"]) == ["hidden"] * depth + ["output"]
    assert at_zero["update_ratio"].isna().all() and layers[layers["step"] > 0]["update_ratio"].notna().all()
    assert list(tiny_result.history["epoch"]) == [1, 2]
    assert tiny_result.summary["steps"] == 2 * per_epoch


def test_history_and_boundary(tiny_result):
    history = tiny_result.history
    assert history[["loss", "accuracy", "val_loss", "val_accuracy"]].notna().all().all()
    assert history["accuracy"].between(0, 1).all()
    boundary = tiny_result.boundary
    assert len(boundary) == 100 * 100
    assert boundary["probability"].between(0.5, 1).all()  # the probability of the predicted class
    assert set(boundary["predicted_class"]) <= {0, 1}


def test_histograms_count_every_probe_preactivation(tiny_result):
    config = tiny_result.config
    counts = tiny_result.histograms.groupby(["step", "layer"])["count"].sum()
    for (step, layer), total in counts.items():
        units = config.model.width if layer <= config.model.depth else 1
        assert total == config.probe.num_samples * units


def test_record_every_steps_and_the_end_is_always_recorded():
    config = tiny_config(**{"training.record_every": 3, "training.epochs": 2})
    total = 2 * steps_per_epoch(config)
    result = run(config)
    expected = sorted({0, *range(3, total + 1, 3), total})
    assert sorted(result.layers["step"].unique()) == expected
    steps = result.layers.drop_duplicates("step")
    assert list(steps["epoch"]) == [step // steps_per_epoch(config) for step in steps["step"]]


def test_epochs_zero_measures_initialisation_only():
    result = run(tiny_config(**{"training.epochs": 0}))
    assert list(result.layers["step"].unique()) == [0]
    assert result.history.empty and tuple(result.history.columns) == FRAME_COLUMNS["history"]
    assert result.summary["status"] == "ok" and result.summary["final"]["loss"] is None


def test_progress_callback_sees_each_record():
    calls = []
    config = tiny_config()
    run(config, on_progress=lambda step, total, layers, history: calls.append((step, total, len(layers), len(history))))
    per_epoch = steps_per_epoch(config)
    width = config.model.depth + 1
    assert calls == [(0, 2 * per_epoch, width, 0), (per_epoch, 2 * per_epoch, 2 * width, 1),
                     (2 * per_epoch, 2 * per_epoch, 3 * width, 2)]


def test_same_config_and_seed_give_identical_frames_and_other_seeds_differ(tmp_path):
    first, second = run(tiny_config()), run(tiny_config())
    pd.testing.assert_frame_equal(first.layers, second.layers, check_exact=True)
    assert first.layers.to_csv(index=False) == second.layers.to_csv(index=False)
    other = run(tiny_config(seed=1))
    assert not np.allclose(other.layers["grad_norm"], first.layers["grad_norm"])


def test_diverging_run_keeps_its_rows_and_says_where():
    config = tiny_config(**{
        "model.activation": "relu", "model.kernel_initializer": "he_normal", "model.depth": 4, "model.width": 32,
        "training.learning_rate": 10.0, "training.epochs": 20, "training.record_every": 1,
    })
    result = run(config)
    assert result.status == "diverged"
    assert "training.learning_rate" in result.summary["message"] and "step" in result.summary["message"]
    layers = result.layers
    assert len(layers) > 0 and layers["step"].min() == 0
    # Every record before the bad step is kept, one per step (record_every 1), none after it.
    assert sorted(layers["step"].unique()) == list(range(result.summary["steps"] + 1))
    assert np.isfinite(layers[layers["step"] == 0]["grad_norm"]).all()
    assert result.boundary.empty


def test_step_activation_trains_with_exactly_zero_hidden_gradients():
    result = run(tiny_config(**{"model.activation": "step"}))
    assert result.status == "ok"
    hidden = result.layers[result.layers["layer_kind"] == "hidden"]
    assert (hidden["grad_norm"] == 0).all() and (hidden["preact_grad_rms"] == 0).all()
    output = result.layers[result.layers["layer_kind"] == "output"]
    assert (output["grad_norm"] > 0).all()


def test_result_pickles_and_the_folder_loads_back_equal(tiny_result, tmp_path):
    clone = pickle.loads(pickle.dumps(tiny_result))
    pd.testing.assert_frame_equal(clone.layers, tiny_result.layers)
    folder = store.save(tiny_result, tmp_path)
    assert folder.name == f"tiny-{tiny_result.run_id}"
    expected_files = {"config.yaml", "layers.csv", "history.csv", "histograms.csv", "boundary.csv", "summary.json", "probe.npy"}
    assert expected_files <= {path.name for path in folder.iterdir()}
    loaded = store.load(folder)
    assert loaded.config == tiny_result.config and loaded.summary == tiny_result.summary
    for name in FRAME_COLUMNS:
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(tiny_result, name), check_exact=True)
    dataset, probe_index = prepare_data(tiny_result.config)
    np.testing.assert_array_equal(np.load(folder / "probe.npy"), dataset.x_train[probe_index])
    assert json.loads((folder / "summary.json").read_text())["versions"]["tensorflow"]


def test_a_complete_folder_is_never_rewritten(tiny_result, tmp_path):
    folder = store.save(tiny_result, tmp_path)
    (folder / "layers.csv").write_text("tampered")
    assert store.save(tiny_result, tmp_path) == folder
    assert (folder / "layers.csv").read_text() == "tampered"


def test_an_interrupted_folder_is_not_complete_and_is_completed_by_saving_again(tiny_result, tmp_path):
    folder = store.save(tiny_result, tmp_path)
    (folder / "summary.json").unlink()
    (folder / "history.csv").write_text("half a fi")
    with pytest.raises(store.RunFolderError, match="incomplete"):
        store.load(folder)
    store.save(tiny_result, tmp_path)
    pd.testing.assert_frame_equal(store.load(folder).history, tiny_result.history)


def test_run_id_is_the_hash_of_the_resolved_config(tiny_result):
    import hashlib

    from lab import config_to_yaml

    digest = hashlib.sha256(config_to_yaml(tiny_result.config).encode()).hexdigest()[:12]
    assert tiny_result.run_id == digest
