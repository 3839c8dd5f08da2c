"""Numpy side of the probe: the rows of the layers, histograms and (recurrent networks) timesteps frames from one ProbeReading."""
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
            "saturated_fraction": (float("nan") if not hidden
                                   else saturated_fraction(activation, reading.preactivations[index], alpha)
                                   if reading.saturated_fractions is None else float(reading.saturated_fractions[index])),
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


def recurrence_rows(reading: ProbeReading, cell: str, activation: str, alpha: float, step: int) -> list[dict]:
    """summary.json's "recurrence" rows of one record: per recurrent layer, the simple cell's theory inputs.

    spectral_radius = max |eigenvalue| of the recurrent kernel U (float64 eigvals); slope_rms = sqrt(mean over
    (sample, unit, t) of phi'(z_t)^2), z_t the cell's pre-activation. Their product is mean field's per-step factor
    of the gradient going back in time (an estimate, not a bound). Gated cells have no single U or phi': no rows.
    Non-finite values (a diverging run) are None, as JSON has no NaN.
    """
    if cell != "simple":
        return []
    rows = []
    for index, preactivation in enumerate(reading.preactivations[:len(reading.activations)]):
        with np.errstate(over="ignore", invalid="ignore"):
            kernel = reading.kernels[index].astype(np.float64)
            radius = float(np.max(np.abs(np.linalg.eigvals(kernel)))) if np.isfinite(kernel).all() else float("nan")
            slopes = act.derivative(activation, preactivation.astype(np.float64), alpha)
            slope_rms = float(np.sqrt(np.mean(np.square(slopes))))
        rows.append({"step": int(step), "layer": index + 1, "spectral_radius": _json_number(radius),
                     "slope_rms": _json_number(slope_rms)})
    return rows


def _json_number(value: float) -> float | None:
    """value, or None when it is not finite (summary.json is written with allow_nan=False)."""
    return value if np.isfinite(value) else None


def timestep_columns(timesteps: dict, context: dict) -> dict:
    """The timesteps frame's columns of one record: per recurrent layer (1 first), t = 1..T.

    timesteps: (layers, T) arrays state_grad_rms, state_rms and cell_grad_rms (lab.training.recurrent_probes);
    context: run_id and step (the frame has no epoch column; it is the step's, as in layers.csv).
    """
    layers, steps = timesteps["state_grad_rms"].shape
    columns = {key: np.repeat(np.asarray([context[key]]), layers * steps) for key in ("run_id", "step")}
    columns.update({
        "layer": np.repeat(np.arange(1, layers + 1), steps),
        "t": np.tile(np.arange(1, steps + 1), layers),
        **{name: np.asarray(timesteps[name], np.float64).ravel() for name in ("state_grad_rms", "state_rms", "cell_grad_rms")},
    })
    return columns
