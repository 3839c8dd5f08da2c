"""A sweep worker trains every run of one architecture on one built and traced network (lab.sweeps.worker,
#16 goal 7): re-initialised for the run's initial values and seed, its optimizer's state reset. Each run's folder is
byte for byte the folder of the same run on a fresh build (summary.json: all but its wall time), for runs that differ
in seed, in sigma_w (one architecture: the edge of chaos's axis) and in the optimizer's slots (momentum, Adam)."""
from __future__ import annotations

import pytest

from lab import load_config, run
from lab.contract.config_io import config_to_yaml
from lab.runs.store import save
from lab.sweeps import worker
from tests.test_seed_batch import assert_same_folder

# Each cell: runs a sweep would send one worker, all of one architecture.
CELLS = {
    "momentum, sigma_w and seeds, batch norm": [
        {"seed": seed, "data": {"num_samples": 192}, "probe": {"num_samples": 32},
         "model": {"depth": 4, "width": 8, "activation": "tanh", "kernel_initializer": "gaussian", "sigma_w": sigma_w,
                   "normalization": "batch"},
         "training": {"optimizer": "momentum", "learning_rate": 0.05, "batch_size": 32, "epochs": 2}}
        for sigma_w, seed in ((1.0, 0), (1.0, 1), (2.0, 0))],
    "adam on a softmax, record every 3 steps": [
        {"seed": seed, "data": {"dataset": "gaussian", "num_features": 4, "num_classes": 3, "num_samples": 160},
         "probe": {"num_samples": 32}, "model": {"depth": 3, "width": 8, "activation": "relu", "output_activation": "softmax"},
         "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 2, "record_every": 3}}
        for seed in (3, 4)],
    "an LSTM with Adam": [
        {"seed": seed, "data": {"dataset": "adding", "num_samples": 128, "sequence_length": 5}, "probe": {"num_samples": 16},
         "model": {"kind": "rnn", "cell": "lstm", "width": 6},
         "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 2}}
        for seed in (0, 1)],
}


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_runs_on_a_reused_network_write_the_folders_of_fresh_builds(cell, tmp_path, monkeypatch):
    monkeypatch.setattr(worker, "_ARCHITECTURES", type(worker._ARCHITECTURES)())  # this test's own cache
    texts = [config_to_yaml(load_config(raw)) for raw in CELLS[cell]]
    outcomes = worker.run_batch(texts, True, str(tmp_path / "reused"))
    assert [error for _, _, error, _ in outcomes] == [""] * len(texts)
    assert len(worker._ARCHITECTURES) == 1  # every run of the cell on one build
    for text in texts:
        save(run(load_config(text)), tmp_path / "fresh")
    fresh = sorted((tmp_path / "fresh").iterdir())
    reused = sorted((tmp_path / "reused").iterdir())
    assert [folder.name for folder in reused] == [folder.name for folder in fresh] and len(fresh) == len(texts)
    for ours, theirs in zip(reused, fresh):
        assert_same_folder(ours, theirs)


def test_only_initial_values_are_left_out_of_the_architecture():
    base = {"model": {"depth": 3, "width": 8}}
    key = worker.architecture_key(load_config(base), 2, 2)
    same = [{"kernel_initializer": "gaussian", "sigma_w": 2.0}, {"bias_initializer": "gaussian", "sigma_b": 0.3}]
    other = [{"depth": 4}, {"width": 9}, {"activation": "relu"}, {"normalization": "layer"}, {"residual_every": 1}]
    for change in same:
        assert worker.architecture_key(load_config({"model": {**base["model"], **change}}), 2, 2) == key, change
    for change in other:
        assert worker.architecture_key(load_config({"model": {**base["model"], **change}}), 2, 2) != key, change
    assert worker.architecture_key(load_config({**base, "training": {"learning_rate": 0.5}}), 2, 2) != key
    assert worker.architecture_key(load_config({**base, "training": {"epochs": 7}}), 2, 2) == key  # epochs: calls only
    assert worker.architecture_key(load_config(base), 3, 2) != key
