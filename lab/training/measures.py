"""Numpy side of the probe: the rows of the layers and histograms frames from one ProbeReading."""
from __future__ import annotations

import numpy as np

from lab.science import activations as act
from lab.training.probes import ProbeReading

# Fixed pre-activation bins for every run, so steps and runs compare bin for bin. Values beyond the
# range are counted in the outermost bins (a long tail still shows as a spike at the edge).
HISTOGRAM_EDGES = np.linspace(-8.0, 8.0, 65)


def dead_fraction(layer_output: np.ndarray) -> float:
    """Share of units whose output is exactly 0 for every probe sample ("dead on the probe")."""
    return float(np.mean(np.all(layer_output == 0.0, axis=0)))


def saturated_fraction(name: str, preactivation: np.ndarray, alpha: float) -> float:
    """Share of (unit, sample) pairs where |f'(z)| < 5% of its maximum; NaN without a saturating regime."""
    if name not in act.SATURATING:
        return float("nan")
    return float(np.mean(act.saturated_mask(name, preactivation.astype(np.float64), alpha)))


def update_ratio(kernel: np.ndarray, previous: np.ndarray | None) -> float:
    """||W - W_previous|| / ||W_previous||, NaN at the first record."""
    if previous is None:
        return float("nan")
    base = np.linalg.norm(previous.astype(np.float64))
    change = np.linalg.norm(kernel.astype(np.float64) - previous.astype(np.float64))
    return float(change / base) if base > 0 else float("inf") if change > 0 else 0.0


def layer_rows(reading: ProbeReading, previous_kernels, activation: str, alpha: float, context: dict) -> list[dict]:
    """One row per Dense layer (hidden layers 1..depth, then the output layer) of the layers frame."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's last records may hold inf
        return _layer_rows(reading, previous_kernels, activation, alpha, context)


def _layer_rows(reading: ProbeReading, previous_kernels, activation: str, alpha: float, context: dict) -> list[dict]:
    """layer_rows without the floating-point warning guard."""
    depth = len(reading.activations)
    rows = []
    for index, kernel in enumerate(reading.kernels):
        hidden = index < depth
        output = reading.activations[index] if hidden else None
        rows.append({
            **context,
            "layer": index + 1,
            "layer_kind": "hidden" if hidden else "output",
            "grad_norm": reading.kernel_grad_norms[index],
            "bias_grad_norm": reading.bias_grad_norms[index],
            "preact_grad_rms": reading.preact_grad_rms[index],
            "weight_norm": float(np.linalg.norm(kernel.astype(np.float64))),
            "update_ratio": update_ratio(kernel, None if previous_kernels is None else previous_kernels[index]),
            "dead_fraction": dead_fraction(output) if hidden else float("nan"),
            "saturated_fraction": (saturated_fraction(activation, reading.preactivations[index], alpha)
                                   if hidden else float("nan")),
            # For the output row, statistics of the logits: what the head passes to sigmoid/softmax.
            "activation_mean": float(np.mean(output if hidden else reading.preactivations[index])),
            "activation_std": float(np.std(output if hidden else reading.preactivations[index])),
        })
    return rows


def layer_bin_counts(preactivations) -> np.ndarray:
    """np.histogram over HISTOGRAM_EDGES of each layer's values (beyond the range in the edge bins), concatenated.

    One bincount for every layer: each layer's bin indices are offset by its position.
    """
    low, width, bins = HISTOGRAM_EDGES[0], HISTOGRAM_EDGES[1] - HISTOGRAM_EDGES[0], len(HISTOGRAM_EDGES) - 1
    indices = [np.zeros(0, np.int64)]
    for position, values in enumerate(preactivations):
        present = values[~np.isnan(values)].astype(np.float64)  # NaN is not a value; +-inf land in the edge bins
        with np.errstate(invalid="ignore"):
            indices.append(np.clip(np.floor((present - low) / width), 0, bins - 1).astype(np.int64) + position * bins)
    return np.bincount(np.concatenate(indices), minlength=len(preactivations) * bins)


def histogram_columns(reading: ProbeReading, context: dict) -> dict:
    """Per layer, counts of the pre-activations in HISTOGRAM_EDGES (outliers in the edge bins), as columns."""
    bins = len(HISTOGRAM_EDGES) - 1
    layers = len(reading.preactivations)
    counts = layer_bin_counts(reading.preactivations)
    columns = {key: np.repeat(np.asarray([value]), layers * bins) for key, value in context.items()}
    columns.update({
        "layer": np.repeat(np.arange(1, layers + 1), bins),
        "bin_left": np.tile(HISTOGRAM_EDGES[:-1], layers),
        "bin_right": np.tile(HISTOGRAM_EDGES[1:], layers),
        "count": counts,
    })
    return columns
