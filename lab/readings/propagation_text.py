"""Plain-text reading of a run's signal propagation (issue #13) for `python -m lab show`: q, c and the Jacobians'
singular values per hidden layer at the first and the last record (a few layers of a deep net), then where the
initialisation sits in mean-field theory (lab.readings.phase's sentences, as the app's section words them).

Imports lab.text and lab.readings.phase only.
"""
from __future__ import annotations

import math

import pandas as pd

from lab.readings import phase
from lab.text.i18n import fact_sentences

MOST_LAYERS = 10  # rows per table at most: a depth-100 net's every layer would bury the sentence under the tables
COLUMNS = ("q", "c", "jac_mean_sq", "jac_max", "jac_min")


def shown_layers(layers: list[int], most: int = MOST_LAYERS) -> list[int]:
    """Every layer when there are at most `most`; else the first, the last and every k-th between (k so at most `most`)."""
    layers = sorted(layers)
    if len(layers) <= most:
        return layers
    every = math.ceil(len(layers) / (most - 2))
    return sorted({layers[0], layers[-1], *(layer for layer in layers if layer % every == 0)})


def figure(value: float) -> str:
    """A number as the tables print it: 4 significant digits; '-' for NaN (c with one probe sample), inf as inf."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4g}"


def condition(largest: float, smallest: float) -> float:
    """jac_max / jac_min (the spread of the singular values): inf where the smallest is 0, NaN where undefined."""
    if not (math.isfinite(largest) and math.isfinite(smallest)) or smallest < 0:
        return math.nan
    return math.inf if smallest == 0 else largest / smallest


def step_table(rows: pd.DataFrame, layers: list[int]) -> str:
    """The rows of one step, at the given layers, as right-aligned columns."""
    rows = rows.set_index("layer")
    table = [("layer", *COLUMNS, "jac_max/jac_min")]
    for layer in layers:
        row = rows.loc[layer]
        values = [float(row[column]) for column in COLUMNS]
        table.append((str(layer), *(figure(value) for value in values), figure(condition(values[3], values[4]))))
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in table)


def propagation_text(result, language: str = "en") -> str:
    """The propagation tables at the first and the last recorded step and the phase sentences; '' without propagation."""
    frame = result.propagation
    if frame.empty:
        return ""
    layers = shown_layers([int(layer) for layer in frame["layer"].unique()])
    steps = sorted(int(step) for step in frame["step"].unique())
    moments = [steps[0]] if len(steps) == 1 else [steps[0], steps[-1]]
    samples = result.config.probe.jacobian_samples
    lines = [f"signal propagation: q, c of the pre-activations; singular values of J_l = dz_l/dz_1 "
             f"(mean over {samples} probe sample{'s' if samples != 1 else ''})"]
    for step in moments:
        lines += ["", f"step {step}{' (initialisation)' if step == 0 else ''}:", step_table(frame[frame["step"] == step], layers)]
    lines += ["", *(f"- {sentence}" for sentence in fact_sentences(phase.where_you_are(result.config), language))]
    return "\n".join(lines)
