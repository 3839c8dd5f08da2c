"""Mean field's gradient through time of a simple recurrent network at initialisation: the spectral-radius sweep's
dashed line.

The cell h_t = φ(z_t), z_t = W x_t + U h_{t-1} + b, h_0 = 0, with U = ρ·O (O orthogonal, or the identity; the lab's
model.spectral_radius rescales an orthogonal U to exactly that). Then ‖U v‖ = ρ‖v‖ for every v, and for wide layers:
- forward, the variance of a pre-activation: q_t = σ_in² ‖x_t‖² + σb² + ρ² E[φ(z_{t-1})²], with σ_in² the input
  kernel's entry variance (lab.science.theory.kernel_variance) and E[‖x_t‖²] the task's own, per step;
- backward, BPTT's δ_{t-1} = Uᵀ (φ′(z_t) ⊙ δ_t), so E‖δ_{t-1}‖² = ρ² E[φ′(z_t)²] E‖δ_t‖² when φ′(z_t) is taken
  independent of δ_t (the gradient-independence assumption of mean field: U is the same matrix at every step, so it
  is an approximation even for wide layers, not a bound; tests/test_rnn_sweeps.py measures how close it comes).
The t = 1 / t = T ratio of state_grad_rms is then Π_{t=2..T} ρ·√E[φ′(z_t)²]: the per-step factor ρ·slope_rms of the
issue, with slope_rms from mean field's q_t rather than measured, so the line is a prediction made before any run.
Covered: the simple cell, one recurrent layer, an orthogonal or identity recurrent kernel, zero or gaussian biases;
elsewhere None (no line is drawn).
"""
from __future__ import annotations

import math

import numpy as np

from lab.science import theory
from lab.science.mean_field import BREAKPOINTS, expectation, phi, phi_prime
from lab.science.sequences import CHANNELS, make_sequences
from lab.science.theory import bias_value

# Sequences drawn to measure the task's input power E‖x_t‖² per step: a statistic of the task, not of a run's draw
# (its sampling error is below 1 % of each step's power for adding at T <= 1000: a standard deviation of ~0.0025 on ~0.37).
POWER_SAMPLES = 20_000
POWER_SEED = 12345
NORM_PRESERVING = ("orthogonal", "identity")  # recurrent kernels with ‖U v‖ = ρ‖v‖ for every v


def input_power(task: str, sequence_length: int, noise: float = 0.0) -> np.ndarray:
    """E‖x_t‖² for t = 1..T (float64, length T), estimated on POWER_SAMPLES seeded sequences of the task."""
    inputs, _ = make_sequences(task, np.random.default_rng(POWER_SEED), POWER_SAMPLES, sequence_length, noise)
    return np.einsum("ntc,ntc->t", inputs, inputs) / POWER_SAMPLES


def log10_time_ratio(activation: str, spectral_radius: float, power: np.ndarray, input_variance: float,
                     bias_variance: float = 0.0, leaky_alpha: float = 0.01) -> float:
    """Mean field's log10(state_grad_rms at t = 1 / at t = T) = Σ_{t=2..T} log10(ρ·√E[φ′(z_t)²]) (see the module).

    power: E‖x_t‖² per step; input_variance: one input-kernel entry's variance; bias_variance: σb² (0 for zeros).
    -inf when some step's E[φ′²] is exactly 0 (a step function).
    """
    breaks = BREAKPOINTS.get(activation, ())
    mean_square_state = 0.0  # E[h_0²] = 0
    total = 0.0
    for t, step_power in enumerate(np.asarray(power, dtype=np.float64), start=1):
        q = input_variance * step_power + bias_variance + spectral_radius**2 * mean_square_state
        mean_square_state = expectation(lambda x: phi(activation, x, leaky_alpha) ** 2, q, breaks)
        if t == 1:  # δ_1 = Uᵀ(φ′(z_2) ⊙ δ_2): step 1's own slope lies before the ratio's first state
            continue
        slope_square = expectation(lambda x: phi_prime(activation, x, leaky_alpha) ** 2, q, breaks)
        if slope_square <= 0.0:
            return float("-inf")
        total += math.log10(spectral_radius) + 0.5 * math.log10(slope_square)
    return total


def covered(config) -> bool:
    """Whether the mean field above describes this config's network (module docstring)."""
    model = config.model
    return (model.kind == "rnn" and model.cell == "simple" and model.depth == 1
            and model.recurrent_initializer in NORM_PRESERVING
            and (model.bias_initializer == "gaussian" or bias_value(model.bias_initializer) == 0.0))


def predicted_time_ratio(config) -> float | None:
    """Mean field's log10 t = 1 / t = T ratio at initialisation for a config, or None where it is not covered."""
    if not covered(config):
        return None
    model, data = config.model, config.data
    # orthogonal and identity have every |eigenvalue| 1: rescaled to spectral_radius, or left at 1.
    radius = 1.0 if model.spectral_radius is None else float(model.spectral_radius)
    channels = CHANNELS[data.dataset]
    variance = theory.kernel_variance(model.kernel_initializer, channels, model.width, model.sigma_w)
    bias_variance = model.sigma_b**2 if model.bias_initializer == "gaussian" else 0.0
    power = input_power(data.dataset, data.sequence_length, data.noise if data.dataset == "bit_memory" else 0.0)
    return log10_time_ratio(model.activation, radius, power, variance, bias_variance, model.leaky_alpha)
