"""The sweep worker's batched path for runs at initialisation (lab.training.seed_batch, lab.sweeps.worker): every run
folder it writes is byte for byte the one the same run made alone writes (summary.json: all but its wall time)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab import load_config, run
from lab.contract.config_io import config_to_yaml
from lab.runs.store import save
from lab.sweeps.worker import configs_of, measure_together, run_batch

ROOT = Path(__file__).resolve().parents[1]
# Two grid cells: a plain ReLU net on gaussian data, and the remedies (batch norm, skips with a projection, tanh) on
# moons, whose decision boundary is drawn by each seed's own weights.
CELLS = (
    {"data": {"dataset": "gaussian", "num_features": 5, "num_samples": 200},
     "model": {"depth": 4, "width": 6, "activation": "relu"}, "training": {"epochs": 0}},
    {"data": {"num_samples": 200}, "model": {"depth": 4, "width": 6, "activation": "tanh", "normalization": "batch",
                                             "residual_every": 2}, "training": {"epochs": 0}},
)
SEEDS = (0, 1, 2)


def texts_of(cell: dict) -> list[str]:
    """The config texts a sweep sends its workers for this cell, one per seed."""
    return [config_to_yaml(load_config(cell, overrides={"seed": seed})) for seed in SEEDS]


def assert_same_folder(batched: Path, alone: Path, charts: bool = False) -> None:
    """Same files with the same bytes; summary.json equal but for wall_time_seconds. charts: alone has charts too (the CLI)."""
    names = sorted(path.name for path in alone.iterdir() if not (charts and path.suffix in (".png", ".html")))
    assert sorted(path.name for path in batched.iterdir()) == names
    for name in names:
        if name == "summary.json":
            ours, theirs = (json.loads((folder / name).read_text()) for folder in (batched, alone))
            ours.pop("wall_time_seconds"), theirs.pop("wall_time_seconds")
            assert ours == theirs
        else:
            assert (batched / name).read_bytes() == (alone / name).read_bytes(), name


@pytest.fixture(scope="module")
def batched_runs(tmp_path_factory) -> Path:
    """Both cells' seeds through run_batch, in one batch, writing their folders."""
    folder = tmp_path_factory.mktemp("batched")
    outcomes = run_batch([text for cell in CELLS for text in texts_of(cell)], True, str(folder))
    assert [error for _, _, error, _ in outcomes] == [""] * len(CELLS) * len(SEEDS)
    return folder


def test_every_seed_of_a_cell_is_measured_in_the_batched_call():
    texts = [text for cell in CELLS for text in texts_of(cell)]
    measured = measure_together(configs_of(texts))
    assert sorted(measured) == list(range(len(texts)))  # none fell back to the one-seed path
    networks = {id(entry[2][0]) for entry in measured.values()}
    assert len(networks) == len(CELLS)  # one network per architecture, shared by its seeds


def test_batched_folders_equal_the_runs_made_alone(batched_runs, tmp_path):
    for cell in CELLS:
        for text in texts_of(cell):
            alone = save(run(load_config(text)), tmp_path)
            assert_same_folder(batched_runs / alone.name, alone)


def test_a_batched_folder_equals_the_cli_run(batched_runs, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(texts_of(CELLS[1])[-1])
    completed = subprocess.run([sys.executable, "-m", "lab", "run", str(config), "--out", str(tmp_path / "runs")], cwd=ROOT,
                               capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    (alone,) = (tmp_path / "runs").iterdir()
    assert_same_folder(batched_runs / alone.name, alone, charts=True)


def test_configs_of_gives_each_text_its_own_config():
    texts = texts_of(CELLS[0]) + texts_of(CELLS[1])[:1] + ["seed: 3\nmodel: {depth: 0}\n", "seed: [\n"]
    configs = configs_of(texts)
    for text, config in zip(texts[:-2], configs):
        assert config == load_config(text)
    assert configs[-2:] == [None, None]  # not valid: left to the run, which reports why
    outcomes = run_batch(texts[-1:], True)
    assert outcomes[0][1] is None and outcomes[0][2].startswith("ConfigError")
