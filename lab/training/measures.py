"""Numpy side of the probe: the rows of the layers, histograms and (recurrent networks) timesteps frames from one ProbeReading."""
from __future__ import annotations

import functools

import numpy as np

from lab.science import activations as act
from lab.training.probes import ProbeReading

# Fixed pre-activation bins for every run, so steps and runs compare bin for bin. Values beyond the
# range are counted in the outermost bins (a long tail still shows as a spike at the edge).
HISTOGRAM_EDGES = np.linspace(-8.0, 8.0, 65)


def saturated_fraction(name: str, preactivation: np.ndarray, alpha: float) -> float:
    """Share of (unit, sample) pairs where |f'(z)| < 5% of its maximum; NaN without a saturating regime."""
    if name not in act.SATURATING:
        return float("nan")
    return float(np.mean(act.saturated_mask(name, preactivation.astype(np.float64), alpha)))


# Per-layer arrays of one shape are measured stacked, in groups of at most this many values (a few MB of float64
# temporaries): one numpy pass per group instead of one per layer. Every measure below is elementwise or a count,
# so stacking gives the very numbers the per-layer calls give.
STACK_LIMIT = 1 << 16  # measured best at 32-128 K values (cache-sized temporaries); 1 M was 3x slower than this


def stacked_groups(arrays) -> list[tuple[int, np.ndarray]]:
    """(index of the first, stacked arrays) for runs of consecutive arrays of one shape, each within STACK_LIMIT values."""
    groups, start = [], 0
    while start < len(arrays):
        shape, stop = np.shape(arrays[start]), start + 1
        per_layer = max(1, int(np.prod(shape)))
        while stop < len(arrays) and np.shape(arrays[stop]) == shape and (stop - start + 1) * per_layer <= STACK_LIMIT:
            stop += 1
        groups.append((start, np.stack(arrays[start:stop])))
        start = stop
    return groups


def dead_fractions(layer_outputs) -> list[float]:
    """Each layer's share of units whose output is exactly 0 for every probe sample ("dead on the probe"), the layers
    of one shape counted together (a count: the same numbers layer by layer)."""
    fractions = []
    for _, outputs in stacked_groups(layer_outputs):
        fractions += [float(value) for value in np.mean(np.all(outputs == 0.0, axis=1).reshape(len(outputs), -1), axis=1)]
    return fractions


def saturated_fractions(name: str, preactivations, alpha: float) -> list[float]:
    """saturated_fraction of each layer (an elementwise mask and a count: the same numbers as one call per layer)."""
    if name not in act.SATURATING:
        return [float("nan")] * len(preactivations)
    fractions = []
    for _, values in stacked_groups(preactivations):
        mask = saturated_mask(name, values.astype(np.float64), alpha)
        fractions += [float(value) for value in np.mean(mask.reshape(len(values), -1), axis=1)]
    return fractions


# Activations whose |f'| is even and strictly decreasing in |z|: saturated exactly beyond one edge |z| = e.
EVEN_DECREASING_SLOPE = frozenset({"sigmoid", "tanh", "softsign"})
# Half-width of the band around the edge, relative, where the derivative is computed: outside it |f'| differs from
# the threshold by about this much relatively, ~10^9 times the float64 error of computing f' (a few ulp).
EDGE_BAND = 1e-6


@functools.cache
def saturation_edge(name: str, alpha: float) -> float:
    """The |z| where lab.science.activations.saturated_mask turns True (bisection on the mask itself, float64)."""
    low, high = 0.0, 1e3
    for _ in range(200):
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        if act.saturated_mask(name, np.array([middle]), alpha)[0]:
            high = middle
        else:
            low = middle
    return high


def saturated_mask(name: str, z: np.ndarray, alpha: float) -> np.ndarray:
    """lab.science.activations.saturated_mask(name, z, alpha) (float64 z), the same booleans, computed faster.

    For an even, decreasing |f'| the mask is |z| > edge except within EDGE_BAND of the edge, where it is computed
    as saturated_mask computes it. Comparing |z| costs a few passes where the derivative cost a dozen (exp, divisions):
    it was most of a record's numpy time. NaN stays unsaturated and +-inf saturated, as there.
    """
    if name not in EVEN_DECREASING_SLOPE:
        return act.saturated_mask(name, z, alpha)
    edge = saturation_edge(name, alpha)
    size = np.abs(z)
    mask = size > edge * (1 + EDGE_BAND)
    near = (size >= edge * (1 - EDGE_BAND)) & ~mask
    if near.any():
        mask[near] = act.saturated_mask(name, z[near], alpha)
    return mask


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
    dead = dead_fractions(reading.activations)
    saturated = (saturated_fractions(activation, reading.preactivations[:depth], alpha) if reading.saturated_fractions is None
                 else [float(value) for value in reading.saturated_fractions])
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
            "dead_fraction": dead[index] if hidden else float("nan"),
            "saturated_fraction": saturated[index] if hidden else float("nan"),
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
    counts = np.zeros(len(preactivations) * bins, np.int64)
    for first, values in stacked_groups(preactivations):  # bin indices are elementwise: stacked layers bin alike
        layers = len(values)
        scaled = values.reshape(layers, -1).astype(np.float64)
        missing = np.isnan(scaled)  # NaN is not a value: left out; +-inf land in the edge bins
        with np.errstate(invalid="ignore"):  # the same float64 operations as floor((x - low) / width), in place
            np.subtract(scaled, low, out=scaled)
            np.divide(scaled, width, out=scaled)
            np.floor(scaled, out=scaled)
            np.clip(scaled, 0, bins - 1, out=scaled)
        any_missing = missing.any()
        if any_missing:
            scaled[missing] = 0
        layer_bins = scaled.astype(np.int64)
        layer_bins += np.arange(layers)[:, None] * bins
        counts[first * bins:(first + layers) * bins] += np.bincount(
            layer_bins[~missing] if any_missing else layer_bins.ravel(), minlength=layers * bins)
    return counts


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
