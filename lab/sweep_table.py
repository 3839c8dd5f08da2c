"""sweep.csv: one row per run, in grid order then seed order, with the figures the classic studies plot."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from lab.config_io import flatten
from lab.sweep_config import PlannedRun

# Always present, whatever the grid: the depth and born-dead views group by them.
MODEL_COLUMNS = ("model.depth", "model.width", "model.activation", "model.kernel_initializer")
FIGURE_COLUMNS = (
    "status", "log10_grad_ratio_start", "log10_grad_ratio_end", "log10_signal_ratio_start", "log10_signal_ratio_end",
    "dead_layer_start", "dead_layer_end", "accuracy", "val_accuracy",
)


def log10_ratio(first: float, last: float) -> float:
    """log10(first / last): -inf when only the first is exactly 0, NaN when undefined (last 0, or NaN)."""
    if not (math.isfinite(first) and math.isfinite(last)) or last <= 0:
        return float("nan")
    return float("-inf") if first == 0 else math.log10(first / last)


def figures(layers: pd.DataFrame, depth: int, summary: dict) -> dict:
    """The summary figures of one run from its layers frame and summary."""
    hidden = layers[layers["layer_kind"] == "hidden"]
    row = {"status": summary["status"]}
    for moment, step in (("start", hidden["step"].min()), ("end", hidden["step"].max())):
        at_step = hidden[hidden["step"] == step].set_index("layer") if not hidden.empty else None
        for name, column in (("grad", "grad_norm"), ("signal", "preact_grad_rms")):
            row[f"log10_{name}_ratio_{moment}"] = (
                log10_ratio(at_step.loc[1, column], at_step.loc[depth, column]) if at_step is not None else float("nan")
            )
        row[f"dead_layer_{moment}"] = bool(at_step is not None and (at_step["dead_fraction"] >= 1.0).any())
    final = summary.get("final") or {}
    row["accuracy"] = float("nan") if final.get("accuracy") is None else final["accuracy"]
    row["val_accuracy"] = float("nan") if final.get("val_accuracy") is None else final["val_accuracy"]
    return row


def identity(planned: PlannedRun, grid_keys: list[str], run_id: str) -> dict:
    """The row's first columns: where the run sits in the sweep and its config values."""
    flat = flatten(planned.config)
    row = {"cell": planned.cell, "seed": planned.seed, "run_id": run_id}
    for key in [*grid_keys, *(column for column in MODEL_COLUMNS if column not in grid_keys)]:
        row[key] = flat.get(key, planned.cell_values.get(key))
    return row


def row_from_folder(folder: Path, planned: PlannedRun, grid_keys: list[str], run_id: str) -> dict:
    """A finished run's row, read back from its folder (summary.json and layers.csv only)."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    layers = pd.read_csv(folder / "layers.csv", usecols=["step", "layer", "layer_kind", "grad_norm", "preact_grad_rms", "dead_fraction"])
    return {**identity(planned, grid_keys, run_id), **figures(layers, planned.config.model.depth, summary)}


def error_row(planned: PlannedRun, grid_keys: list[str], run_id: str) -> dict:
    """The row of a run that failed with an exception (it has no folder; a rerun retries it)."""
    row = {**identity(planned, grid_keys, run_id), **{column: float("nan") for column in FIGURE_COLUMNS}}
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

