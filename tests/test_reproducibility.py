"""Reproducibility: one config and seed give byte-identical run folders from the CLI, the Python API and a sweep worker.

tests/test_cli.py already compares the CLI's layers.csv with the API's layers frame for one training run;
here every data file of the folder (config.yaml, the four CSVs, probe.npy) and summary.json are compared,
for a training run and for runs at initialisation (epochs 0, which a sweep worker measures on a reused,
re-initialised model: its fast path), with the sweep run by `--workers 2` so the runs happen in spawned
worker processes. summary.json must record the versions and thread settings that decide the numbers.
"""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lab
from lab import load_config, run
from lab.runs.store import FRAME_FILES, SUMMARY_FILE, folder_name, save

BASE = """
data: {dataset: moons, num_samples: 96, noise: 0.2}
model: {depth: 3, width: 6, activation: tanh}
training: {epochs: 3, batch_size: 16, learning_rate: 0.1}
probe: {num_samples: 24}
"""
EXPERIMENT = "name: repro\n" + BASE
# Every run is named after the sweep, so the experiment above with the same seed is the same run (same run id).
# Four seeds at epochs 0 over two workers: at least one worker measures two of them on one re-initialised model.
SWEEP = "name: repro\nbase:\n" + "".join(f"  {line}\n" for line in BASE.strip().splitlines()) + """
grid:
  training.epochs: [3, 0]
seeds: [0, 1, 2, 3]
"""
# (overrides) of the runs the CLI makes too: a training run, and a run at initialisation.
CLI_RUNS = ({"training.epochs": 3, "seed": 1}, {"training.epochs": 0, "seed": 3})
DATA_FILES = ("config.yaml", *FRAME_FILES.values(), "probe.npy")
VERSION_KEYS = {"python", "tensorflow", "keras", "numpy", "pandas", "platform"}


def lab_process(arguments: list[str], cwd: Path) -> subprocess.Popen:
    """`python -m lab ...` started in the background (the lab installed, as a user runs it)."""
    environment = dict(os.environ)
    environment.pop("LAB_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "lab", *arguments], cwd=cwd, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> None:
    """Wait for a background command and require success."""
    _stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, f"{' '.join(process.args)}: exit {process.returncode}: {stderr[-2000:]}"


pytestmark = pytest.mark.slow  # the module's folders: the CLI, the API and a sweep worker each train (about 30 s)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """{(epochs, seed): {"api"|"sweep"|"cli": run folder}}; the CLI and the sweep run while this process runs the API."""
    folder = tmp_path_factory.mktemp("reproducibility")
    (folder / "experiment.yaml").write_text(EXPERIMENT)
    (folder / "sweep.yaml").write_text(SWEEP)
    processes = [lab_process(["sweep", "sweep.yaml", "--out", "sweep", "--workers", "2"], folder)]
    for overrides in CLI_RUNS:
        settings = [argument for key, value in overrides.items() for argument in ("--set", f"{key}={value}")]
        processes.append(lab_process(["run", "experiment.yaml", "--out", "cli", *settings], folder))
    try:
        found = {}
        for epochs in (3, 0):
            for seed in range(4):
                config = load_config(folder / "experiment.yaml", overrides={"training.epochs": epochs, "seed": seed})
                api = save(run(config), folder / "api")
                found[(epochs, seed)] = {"api": api, "sweep": folder / "sweep" / "runs" / api.name}
                if {"training.epochs": epochs, "seed": seed} in CLI_RUNS:
                    found[(epochs, seed)]["cli"] = folder / "cli" / api.name
    finally:
        for process in processes:
            finish(process)
    return found


def assert_same_files(folders_by_path: dict[str, Path]) -> None:
    """Every data file byte for byte, and summary.json but for its wall time, across the paths given."""
    (first_path, first), *others = folders_by_path.items()
    for path, other in others:
        assert other.is_dir(), f"{path}: no run folder {other.name} (the same config should give the same run id)"
        for name in DATA_FILES:
            assert (other / name).read_bytes() == (first / name).read_bytes(), f"{name}: {path} differs from {first_path}"
        summaries = [json.loads((folder / SUMMARY_FILE).read_text()) for folder in (first, other)]
        for summary in summaries:
            summary.pop("wall_time_seconds")
        assert summaries[0] == summaries[1], f"summary.json: {path} differs from {first_path}"


@pytest.mark.parametrize("overrides", CLI_RUNS, ids=["training", "initialisation"])
def test_cli_api_and_sweep_worker_write_identical_files(folders, overrides):
    paths = folders[(overrides["training.epochs"], overrides["seed"])]
    assert set(paths) == {"api", "cli", "sweep"}
    assert_same_files({"api": paths["api"], "cli": paths["cli"], "sweep worker": paths["sweep"]})
    layers = pd.read_csv(paths["cli"] / "layers.csv")
    history = pd.read_csv(paths["cli"] / "history.csv")
    # Not vacuous: the files hold the records the config asks for (3 epochs of history, or none at epochs 0).
    assert len(history) == overrides["training.epochs"] and layers["step"].nunique() == overrides["training.epochs"] + 1
    assert len(pd.read_csv(paths["cli"] / "histograms.csv")) > 0


def test_every_sweep_run_equals_the_api_run_and_seeds_differ(folders):
    # All seeds: at epochs 0 some ran on a model re-initialised by a worker (which one is up to the pool).
    for (epochs, seed), paths in folders.items():
        assert_same_files({f"api (epochs {epochs}, seed {seed})": paths["api"], "sweep worker": paths["sweep"]})
    for epochs in (3, 0):
        grad_norms = [pd.read_csv(folders[(epochs, seed)]["sweep"] / "layers.csv")["grad_norm"] for seed in range(4)]
        assert all(not np.allclose(grad_norms[0], other) for other in grad_norms[1:]), "seeds must change the numbers"


def test_summary_records_the_versions_and_threads_of_the_interpreter_that_ran(folders):
    import keras
    import tensorflow as tf

    from lab.training.runtime import thread_count, thread_settings

    expected_versions = {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                         "numpy": np.__version__, "pandas": pd.__version__, "platform": platform.platform()}
    assert set(expected_versions) == VERSION_KEYS
    for (epochs, seed), paths in folders.items():
        for path, folder in paths.items():
            summary = json.loads((folder / SUMMARY_FILE).read_text())
            where = f"{path} run (epochs {epochs}, seed {seed})"
            assert summary["versions"] == expected_versions, where
            # The same thread pools, deterministic ops and oneDNN setting in every process: what makes the paths agree.
            threads = summary["threads"]
            assert threads == thread_settings(), where
            assert threads["intra_op_parallelism_threads"] == threads["inter_op_parallelism_threads"] == thread_count(), where
            assert threads["op_determinism"] is True, where
            assert summary["seed"] == seed and summary["lab_version"] == lab.__version__, where
            assert folder.name == folder_name(load_config(folder / "config.yaml"), summary["run_id"]), where
