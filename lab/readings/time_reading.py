"""What a recurrent run's timesteps frame says: the gradient reaching t = 1 over the one at t = T, the measured slope
over t, theory's per-step factor, and the sentence computed from them (the app, `show`, and the time charts read these).

The time lag of step t is T - t: the error enters the last recurrent layer at t = T (the head reads h_T) and travels
back T - t steps to reach t. Mean field's estimate for the simple cell: each step back multiplies the gradient by
about spectral_radius(U) * sqrt(mean phi'(z_t)^2) (summary.json's "recurrence" rows; lab.training.measures), an
estimate, not a bound: Pascanu et al.'s bound (sigma_max(U) max|phi'|)^(T-1) equals rho^(T-1) only for a scaled
orthogonal or identity U.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lab.contract.result import RunResult

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def last_layer(timesteps: pd.DataFrame) -> int:
    """The last recurrent layer: the one the error enters from the head (the one sentences and Compare read)."""
    return int(timesteps["layer"].max())


def recorded_steps(timesteps: pd.DataFrame) -> list[int]:
    """The recorded training steps, in order."""
    return sorted(int(step) for step in timesteps["step"].unique())


def time_profile(timesteps: pd.DataFrame, step: int, layer: int, column: str = "state_grad_rms") -> pd.DataFrame:
    """(t, lag, value) of one recurrent layer at one recorded step, t = 1 first; lag = T - t."""
    rows = timesteps[(timesteps["layer"] == layer) & (timesteps["step"] == step)].sort_values("t")
    length = int(timesteps["t"].max()) if len(timesteps) else 0
    t = rows["t"].to_numpy(dtype=np.int64)
    return pd.DataFrame({"t": t, "lag": length - t, "value": rows[column].to_numpy(dtype=np.float64)})


def first_to_last(timesteps: pd.DataFrame, layer: int, step: int, column: str = "state_grad_rms") -> float:
    """column at t = 1 over its value at t = T, for one recurrent layer at one recorded step (NaN for 0/0, inf for x/0)."""
    values = time_profile(timesteps, step, layer, column)["value"]
    if values.empty:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(values.iloc[0]) / np.float64(values.iloc[-1]))


def measured_slope(timesteps: pd.DataFrame, step: int, layer: int, column: str = "state_grad_rms") -> float:
    """Least-squares slope over t of log10(column), in log10 per time step; NaN with fewer than two positive values.

    Positive when the gradient grows towards t = T, i.e. vanishes going back in time: 10**(-slope) is the measured
    per-step factor, comparable with theory_factor. Exact zeros and non-finite values have no logarithm: left out.
    """
    profile = time_profile(timesteps, step, layer, column)
    kept = profile[np.isfinite(profile["value"]) & (profile["value"] > 0)]
    if len(kept) < 2:
        return float("nan")
    slope, _ = np.polyfit(kept["t"].to_numpy(dtype=np.float64), np.log10(kept["value"].to_numpy()), 1)
    return float(slope)


def measured_factor(slope: float) -> float:
    """The measured per-step factor going back in time, 10**(-slope) (inf past float64's range)."""
    with np.errstate(over="ignore"):
        return float(np.power(10.0, -slope))


def recurrence_frame(summary: dict) -> pd.DataFrame:
    """summary.json's "recurrence" rows as a frame (step, layer, spectral_radius, slope_rms, factor); empty without them.

    factor = spectral_radius * slope_rms, theory's per-step factor (simple cell only; None in JSON becomes NaN).
    """
    rows = summary.get("recurrence") or []
    data = pd.DataFrame(rows, columns=["step", "layer", "spectral_radius", "slope_rms"])
    for column in ("spectral_radius", "slope_rms"):
        data[column] = pd.to_numeric(data[column], errors="coerce").astype(np.float64)
    return data.assign(factor=data["spectral_radius"] * data["slope_rms"])


def theory_factor(summary: dict, step: int, layer: int) -> float:
    """Theory's per-step factor spectral_radius * slope_rms at a record and layer; NaN where there is none (gated cells)."""
    data = recurrence_frame(summary)
    chosen = data[(data["step"] == step) & (data["layer"] == layer)]
    return float(chosen["factor"].iloc[0]) if len(chosen) else float("nan")


def theory_line(timesteps: pd.DataFrame, summary: dict, step: int, layer: int) -> pd.DataFrame:
    """Theory's (t, lag, value): anchored at the measured value at t = T, times factor**lag; empty without a factor."""
    factor = theory_factor(summary, step, layer)
    profile = time_profile(timesteps, step, layer)
    if profile.empty or not math.isfinite(factor) or factor <= 0:
        return profile.iloc[0:0]
    anchor = float(profile["value"].iloc[-1])
    if not (math.isfinite(anchor) and anchor > 0):
        return profile.iloc[0:0]
    with np.errstate(over="ignore", under="ignore"):
        values = anchor * np.power(factor, profile["lag"].to_numpy(dtype=np.float64))
    return profile.assign(value=values)


def scientific(value: float) -> str:
    """A number spanning many decades for a sentence: 0.25, 3×10⁻⁹, 4.2×10¹²; one or two significant digits."""
    if value == 0:
        return "0"
    if 0.01 <= abs(value) < 1000:
        return f"{value:.2g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    mantissa = mantissa.removesuffix(".0")
    return f"{mantissa}×10{str(int(exponent)).translate(SUPERSCRIPT)}"


def time_facts(timesteps: pd.DataFrame, summary: dict) -> list[tuple[str, dict]]:
    """The sentences' facts (text key, values) for lab.text.i18n.fact_sentences: at the first and last record, at the
    last recurrent layer, the t = 1 / t = T ratio, the measured per-step factor and slope, and theory's factor."""
    if timesteps.empty:
        return []
    layer, steps = last_layer(timesteps), recorded_steps(timesteps)
    length = int(timesteps["t"].max())
    facts = []
    for moment, step in (("start", steps[0]), ("end", steps[-1])) if len(steps) > 1 else (("start", steps[0]),):
        values = {"moment": f"moment_{moment}", "step": step, "length": length}
        ratio = first_to_last(timesteps, layer, step)
        if ratio == 0:
            facts.append(("time_sentence_zero", values))
        elif math.isfinite(ratio):
            key = "time_sentence_smaller" if ratio < 1 else "time_sentence_larger"
            facts.append((key, {**values, "ratio": scientific(ratio)}))
        slope = measured_slope(timesteps, step, layer)
        if math.isfinite(slope):
            facts.append(("time_sentence_slope", {**values, "slope": f"{slope:.3g}", "factor": f"{measured_factor(slope):.3g}"}))
        factor = theory_factor(summary, step, layer)
        if math.isfinite(factor):
            facts.append(("time_sentence_theory", {**values, "factor": f"{factor:.3g}"}))
    return facts


def ratio_lines(timesteps: pd.DataFrame) -> list[str]:
    """`show`'s lines: per recurrent layer, state_grad_rms at t = 1 over t = T at the first and last record."""
    if timesteps.empty:
        return ["(no time-step records)"]
    steps = recorded_steps(timesteps)
    steps = steps[:1] if len(steps) == 1 else [steps[0], steps[-1]]
    lines = ["gradient through time, state_grad_rms at t = 1 / at t = T:"]
    for layer in sorted(int(value) for value in timesteps["layer"].unique()):
        ratios = ", ".join(f"{_ratio(first_to_last(timesteps, layer, step))} at step {step}" for step in steps)
        lines.append(f"  layer {layer}: {ratios}")
    return lines


def slope_lines(timesteps: pd.DataFrame, summary: dict) -> list[str]:
    """`show`'s lines: the measured slope and per-step factor at the last recurrent layer, with theory's factor."""
    if timesteps.empty:
        return []
    layer, steps = last_layer(timesteps), recorded_steps(timesteps)
    lines = [f"per step back in time, layer {layer} (measured: least squares of log10 state_grad_rms over t; "
             "theory: spectral radius x rms phi', simple cell):"]
    for step in steps[:1] if len(steps) == 1 else [steps[0], steps[-1]]:
        slope, factor = measured_slope(timesteps, step, layer), theory_factor(summary, step, layer)
        measured = "-" if math.isnan(slope) else f"factor {measured_factor(slope):.3g} (slope {slope:.3g} log10/step)"
        lines.append(f"  step {step}: measured {measured}, theory {'-' if math.isnan(factor) else f'{factor:.3g}'}")
    return lines


def _ratio(value: float) -> str:
    """A ratio that may span many decades: two significant digits, exact zeros as 0, NaN as '-'."""
    return "-" if math.isnan(value) else "0" if value == 0 else f"{value:.2g}"


def run_time_ratio(result: RunResult, moment: str = "start", column: str = "state_grad_rms") -> float:
    """column (state_grad_rms or the LSTM's cell_grad_rms) at t = 1 over t = T, at the first ('start') or last ('end')
    record, of the LAST recurrent layer: the one the error enters from the head, as the claims' and sweeps' time_ratio
    (NaN for 0/0 or no record, inf for x/0)."""
    timesteps = result.timesteps
    if timesteps.empty:
        return math.nan
    steps = recorded_steps(timesteps)
    return first_to_last(timesteps, last_layer(timesteps), steps[0 if moment == "start" else -1], column)
