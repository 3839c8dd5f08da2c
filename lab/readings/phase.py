"""Where a run's initialisation sits in mean-field theory (issue #13): its (σw², σb²), its phase and depth scale.

effective_sigma_w_squared reads σw² and σb² off the config; where_you_are phrases the phase as (text key, values)
facts for lab.text.i18n.fact_sentences; theory_rows iterates the length and correlation maps from a run's measured
layer 1; phase_grid is the (σw², σb²) plane the phase diagram shades; boundary_line and depth_scale_line are the
boundary χ1 = 1 and ξc along σw² that the sweeps' phase view draws. The numbers are lab.science.mean_field's.

Imports lab.science only.
"""
from __future__ import annotations

import functools
import math
import time

import numpy as np
import pandas as pd

from lab.science import theory
from lab.science.activations import DEFAULT_LEAKY_ALPHA
from lab.science.initializers import KERNEL_INITIALIZERS, SIGMA_W_INITIALIZERS
from lab.science.mean_field import correlation_map, critical_sigma_w, length_map, mean_field, phase_boundary

CRITICAL_TOLERANCE = 0.01  # |χ1 − 1| within 1 %: at the edge of chaos
# Activations unbounded above (φ(x) ≈ x for large x): their phase diagram starts at σw² = 0, as the boundary can be low.
RELU_LIKE = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish", "linear")
# The phase diagram's plane: σw² from 0.25 (0 for RELU_LIKE) to 4, or to 1.5 × the boundary at σb² = 0 where that
# is beyond 4 (sigmoid's boundary is at σw² ≈ 103: its whole [0.25, 4] is ordered); σb² from 0 to 0.5, where every
# activation's boundary is already visibly bent (tanh's moves from σw² = 1 to about 2.2).
SIGMA_W2_MAX, SIGMA_B2_MAX = 4.0, 0.5
GRID_SIGMA_W2, GRID_SIGMA_B2 = 24, 16  # cells of the shaded grid (σw² × σb²)
BOUNDARY_POINTS = 33  # σb² values the boundary line is drawn through
LINE_POINTS = 41  # σw² values a depth-scale line (the sweeps' 6 ξc) is drawn through, evenly spaced
NEAR_BOUNDARY = (0.001, 0.003, 0.01, 0.03, 0.1)  # and these relative distances either side of the boundary, where ξc peaks
# Bias initializers that are random but not N(0, σb²) with a σb² the config names.
ZERO_BIAS = ("zeros",)


def effective_sigma_w_squared(config) -> tuple[float | None, float | None, str | None]:
    """(σw², σb², why None): mean field's σw² and σb² of the config's hidden layers; None where theory has none.

    σw² = fan_in × the kernel's weight variance, with fan_in = fan_out = width (hidden layer to hidden layer); sigma_w²
    for gaussian and orthogonal. σb² = sigma_b² for gaussian biases, 0 for zeros. why is a text key saying which
    initializer mean field does not cover (rai's asymmetric kernel; a constant or another random bias).
    """
    model = config.model
    name = model.kernel_initializer
    if name in SIGMA_W_INITIALIZERS:
        sigma_w2 = float(model.sigma_w) ** 2
    elif name in KERNEL_INITIALIZERS:
        sigma_w2 = model.width * theory.weight_variance(name, model.width, model.width)
    else:
        return None, None, "phase_no_kernel"
    bias = model.bias_initializer
    if isinstance(bias, str) and bias == "gaussian":
        return sigma_w2, float(model.sigma_b) ** 2, None
    if isinstance(bias, str) and bias in ZERO_BIAS:
        return sigma_w2, 0.0, None
    return sigma_w2, None, "phase_no_bias_constant" if not isinstance(bias, str) or bias == "ones" else "phase_no_bias_random"


def number(value: float) -> str:
    """A depth scale or factor as the sentences print it: 3 significant digits, ∞ for inf."""
    return "∞" if math.isinf(value) else f"{value:.3g}"


def where_you_are(config) -> list[tuple[str, dict]]:
    """The phase of the config's initialisation as (text key, values) facts: ordered, critical or chaotic, and ξ."""
    sigma_w2, sigma_b2, why = effective_sigma_w_squared(config)
    model = config.model
    if why is not None:
        initializer = model.kernel_initializer if why == "phase_no_kernel" else str(model.bias_initializer)
        return [(why, {"initializer": initializer})]
    field = mean_field(model.activation, math.sqrt(sigma_w2), math.sqrt(sigma_b2), model.leaky_alpha)
    facts = [("phase_point", {"sigma_w2": f"{sigma_w2:.3g}", "sigma_b2": f"{sigma_b2:.3g}", "chi_1": f"{field.chi_1:.3g}",
                              "xi_c": number(field.xi_c)})]
    depth = model.depth
    if field.chi_1 == 0.0:
        facts.append(("phase_no_gradient", {"depth": depth}))
    elif abs(field.chi_1 - 1.0) <= CRITICAL_TOLERANCE:
        facts.append(("phase_critical", {"xi": number(field.xi_grad), "depth": depth}))
    else:
        key = "phase_ordered" if field.chi_1 < 1.0 else "phase_chaotic"
        facts.append((key, {"xi": number(field.xi_grad), "xi2": number(2.0 * field.xi_grad), "depth": depth}))
    if model.normalization != "none" or model.residual_every:
        facts.append(("phase_remedy_note", {}))
    return facts


def theory_rows(propagation: pd.DataFrame, config, step: int = 0) -> pd.DataFrame:
    """q and c per hidden layer from the length and correlation maps, iterated from the measured layer 1 at step.

    q_{l+1} = length_map(q_l); c_{l+1} = (σw² E[φ(u₁)φ(u₂)] + σb²) / q_{l+1} at length q_l, which is
    correlation_map(c_l, q_l) · q_l / q_{l+1} (correlation_map divides by its own q, the fixed point's). Empty where
    the frame has no layer 1 at step, where theory has no σw², σb² (see effective_sigma_w_squared), or q is not finite.
    """
    columns = ["layer", "q", "c"]
    sigma_w2, sigma_b2, _ = effective_sigma_w_squared(config)
    start = propagation[(propagation["step"] == step) & (propagation["layer"] == 1)] if not propagation.empty else propagation
    if sigma_w2 is None or sigma_b2 is None or start.empty:
        return pd.DataFrame({column: pd.Series(dtype="float64") for column in columns})
    model = config.model
    sigma_w, sigma_b = math.sqrt(sigma_w2), math.sqrt(sigma_b2)
    q, c = float(start["q"].iloc[0]), float(start["c"].iloc[0])
    rows = [{"layer": 1, "q": q, "c": c}]
    for layer in range(2, int(model.depth) + 1):
        if not (math.isfinite(q) and q > 0):
            break
        q_next = length_map(model.activation, q, sigma_w, sigma_b, model.leaky_alpha)
        c_next = math.nan
        if math.isfinite(c) and q_next > 0:
            c_next = correlation_map(model.activation, min(1.0, max(-1.0, c)), q, sigma_w, sigma_b, model.leaky_alpha)
            c_next = c_next * q / q_next
        q, c = q_next, c_next
        rows.append({"layer": layer, "q": q, "c": c})
    return pd.DataFrame(rows, columns=columns).astype({"layer": "int64"})


def plane(activation: str, leaky_alpha: float) -> tuple[float, float, float]:
    """(σw² low, σw² high, σb² high) of the phase diagram (see SIGMA_W2_MAX)."""
    low = 0.0 if activation in RELU_LIKE else 0.25
    edge = phase_boundary(activation, [0.0], leaky_alpha)[0]
    high = SIGMA_W2_MAX if not (math.isfinite(edge) and 1.5 * edge > SIGMA_W2_MAX) else float(math.ceil(1.5 * edge / 4) * 4)
    return low, high, SIGMA_B2_MAX


def phase_grid(activation: str, leaky_alpha: float) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """_phase_grid's, with α kept only for leaky_relu (the others ignore it): one cached grid per other activation."""
    return _phase_grid(activation, float(leaky_alpha) if activation == "leaky_relu" else DEFAULT_LEAKY_ALPHA)


@functools.cache
def _phase_grid(activation: str, leaky_alpha: float) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """(cells, boundary, seconds): mean field on a GRID_SIGMA_W2 × GRID_SIGMA_B2 grid of cells, χ1 = 1's line, build time.

    cells: sigma_w2, sigma_b2 (the cell's centre), its edges (sigma_w2_low, ..._high, sigma_b2_low, ..._high), chi_1,
    xi_c, xi_grad, q_star. boundary: sigma_b2, sigma_w2 (nan where χ1 never reaches 1). Cached per activation and α:
    measured on the dev machine, tanh's grid takes 2.1 s (4.5 s with a training beside it), sigmoid's 2.8 s, step's 3.4 s,
    relu's 1.0 s; nearly all in the joint expectations of c* and χc at each of the 384 cells.
    """
    began = time.perf_counter()
    low, high, top = plane(activation, leaky_alpha)
    w_edges = np.linspace(low, high, GRID_SIGMA_W2 + 1)
    b_edges = np.linspace(0.0, top, GRID_SIGMA_B2 + 1)
    rows = []
    for w_low, w_high in zip(w_edges[:-1], w_edges[1:]):
        for b_low, b_high in zip(b_edges[:-1], b_edges[1:]):
            sigma_w2, sigma_b2 = (w_low + w_high) / 2, (b_low + b_high) / 2
            field = mean_field(activation, math.sqrt(sigma_w2), math.sqrt(sigma_b2), leaky_alpha)
            rows.append({"sigma_w2": sigma_w2, "sigma_b2": sigma_b2, "sigma_w2_low": w_low, "sigma_w2_high": w_high,
                         "sigma_b2_low": b_low, "sigma_b2_high": b_high, "chi_1": field.chi_1, "xi_c": field.xi_c,
                         "xi_grad": field.xi_grad, "q_star": field.q_star})
    return pd.DataFrame(rows), boundary_line(activation, leaky_alpha, top), time.perf_counter() - began


def boundary_line(activation: str, leaky_alpha: float, sigma_b2_high: float) -> pd.DataFrame:
    """The order–chaos boundary χ1 = 1 through BOUNDARY_POINTS σb² from 0 to sigma_b2_high: sigma_b2, sigma_w2 (nan
    where χ1 never reaches 1). The phase diagram and the sweeps' phase view draw it."""
    b_values = np.linspace(0.0, float(sigma_b2_high), BOUNDARY_POINTS)
    return pd.DataFrame({"sigma_b2": b_values, "sigma_w2": phase_boundary(activation, b_values, leaky_alpha)})


def depth_scale_line(activation: str, sigma_b2: float, leaky_alpha: float, sigma_w2_low: float,
                     sigma_w2_high: float) -> tuple[pd.DataFrame, float]:
    """_depth_scale_line's, with α kept only for leaky_relu (as phase_grid): one cached line per σb² and range."""
    alpha = float(leaky_alpha) if activation == "leaky_relu" else DEFAULT_LEAKY_ALPHA
    return _depth_scale_line(activation, float(sigma_b2), alpha, float(sigma_w2_low), float(sigma_w2_high))


@functools.lru_cache(maxsize=64)
def _depth_scale_line(activation: str, sigma_b2: float, leaky_alpha: float, sigma_w2_low: float,
                      sigma_w2_high: float) -> tuple[pd.DataFrame, float]:
    """(line, boundary σw²) at one σb²: mean field's chi_1, xi_c and q_star at LINE_POINTS σw² across [low, high] and
    at NEAR_BOUNDARY relative distances either side of the boundary σw² (critical_sigma_w², nan if none), where ξc
    diverges and an even grid would cut its peak short. Measured: about 1 s for tanh (the chaotic side's 2-D
    expectations), cached."""
    sigma_b = math.sqrt(sigma_b2)
    critical = critical_sigma_w(activation, sigma_b, leaky_alpha) ** 2
    points = set(np.linspace(sigma_w2_low, sigma_w2_high, LINE_POINTS).tolist())
    if math.isfinite(critical):
        points |= {critical * (1 + sign * gap) for gap in NEAR_BOUNDARY for sign in (-1, 1)}
    rows = []
    for sigma_w2 in sorted(point for point in points if sigma_w2_low <= point <= sigma_w2_high and point > 0):
        field = mean_field(activation, math.sqrt(sigma_w2), sigma_b, leaky_alpha)
        rows.append({"sigma_w2": sigma_w2, "chi_1": field.chi_1, "xi_c": field.xi_c, "q_star": field.q_star})
    return pd.DataFrame(rows, columns=["sigma_w2", "chi_1", "xi_c", "q_star"]), critical
