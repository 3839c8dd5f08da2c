"""sweep.csv: one row per run, in grid order then seed order, with the figures the classic studies plot."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from lab.contract.config_io import flatten
from lab.readings.report import figure_columns, run_figures
from lab.runs import store
from lab.sweeps.sweep_config import PlannedRun

# Always present, whatever the grid: the depth and born-dead views group by them.
MODEL_COLUMNS = ("model.depth", "model.width", "model.activation", "model.kernel_initializer")


def identity(planned: PlannedRun, grid_keys: list[str], run_id: str) -> dict:
    """The row's first columns: where the run sits in the sweep and its config values."""
    flat = flatten(planned.config)
    row = {"cell": planned.cell, "seed": planned.seed, "run_id": run_id}
    for key in [*grid_keys, *(column for column in MODEL_COLUMNS if column not in grid_keys)]:
        row[key] = flat.get(key, planned.cell_values.get(key))
    return row


def row_from_folder(folder: Path, planned: PlannedRun, grid_keys: list[str], run_id: str) -> dict:
    """A finished run's row, read back from its folder through lab.runs.store (summary, layers and the frames its
    config's figures need: propagation with probe.propagation, history when trained, timesteps for rnn; validated)."""
    config = planned.config
    frames = ("layers", *(["propagation"] if config.probe.propagation else []), *(["history"] if config.training.epochs else []),
              *(["timesteps"] if config.model.kind == "rnn" else []))
    result = store.load(folder, frames=frames)
    return {**identity(planned, grid_keys, run_id), **run_figures(result)}


def error_row(planned: PlannedRun, grid_keys: list[str], run_id: str) -> dict:
    """The row of a run that failed with an exception (it has no folder; a rerun retries it)."""
    row = {**identity(planned, grid_keys, run_id), **{column: float("nan") for column in figure_columns(planned.config)}}
    row.update(status="error", dead_layer_start=False, dead_layer_end=False)
    return row


def table(rows: list[dict]) -> pd.DataFrame:
    """The rows as sweep.csv's frame (rows already in grid order, then seed order)."""
    data = pd.DataFrame(rows)
    for column in ("dead_layer_start", "dead_layer_end"):
        data[column] = data[column].astype(bool)
    return data


def read_sweep_csv(path: Path) -> pd.DataFrame:
    """sweep.csv back as a frame (the views read it)."""
    data = pd.read_csv(path)
    for column in ("dead_layer_start", "dead_layer_end"):
        if column in data:
            data[column] = data[column].astype(bool)
    return data

