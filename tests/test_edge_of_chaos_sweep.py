"""The edge-of-chaos and isometry-training sweep presets: their stated numbers, and what their quick runs measure.

The presets' numbers (σb² = 0.05 and the boundary σw² = 1.761; the critical σw at σb² = 1e-4 and its q*) are
checked against lab.science.mean_field and, independently, against the tanh length map written out here in float64
numpy, its Gaussian expectations taken on a quantile grid (a midpoint rule in probability; plain Monte Carlo's noise
moves q* by 4 % this close to the critical line). The edge-of-chaos quick run (first and last value of each axis,
3 seeds, 5 epochs of 256 samples: 20 SGD steps) is far too short to train those nets, so its test reads what 20 steps
do show: the ordered and chaotic phases' vanishing and exploding gradients at depth 100, against theory's
χ1^((L-1)/2); a second test trains three of its cells at the full budget.
"""
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import optimize, stats

from lab.science.mean_field import critical_sigma_w, mean_field
from lab.sweeps.runner import run_sweep
from lab.sweeps.table import read_sweep_csv

SWEEPS = Path(__file__).resolve().parent.parent / "experiments" / "sweeps"
EDGE_OF_CHAOS = SWEEPS / "edge_of_chaos.yaml"
ISOMETRY = SWEEPS / "isometry_training.yaml"
Z = stats.norm.ppf((np.arange(1_000_000) + 0.5) / 1_000_000)  # z_i = Φ⁻¹((i + ½)/N): E[f(z)] ≈ mean f(z_i)


def preset(path):
    return yaml.safe_load(path.read_text())


def reference_q_star(sigma_w, sigma_b):
    """The tanh length map's fixed point q = σw² E[tanh(√q z)²] + σb², by root finding (one positive root for σb > 0)."""
    return optimize.brentq(lambda q: sigma_w**2 * np.mean(np.tanh(math.sqrt(q) * Z) ** 2) + sigma_b**2 - q, 1e-6, 10.0)


def reference_chi_1(sigma_w, sigma_b):
    """σw² E[tanh′(√q* z)²], tanh′ = 1/cosh²."""
    q_star = reference_q_star(sigma_w, sigma_b)
    return sigma_w**2 * np.mean(np.cosh(math.sqrt(q_star) * Z) ** -4)


def test_edge_of_chaos_preset_sits_on_the_papers_numbers():
    config = preset(EDGE_OF_CHAOS)
    sigma_b = config["base"]["model"]["sigma_b"]
    assert sigma_b**2 == pytest.approx(0.05, rel=1e-6)
    sigma_w_squared = [value**2 for value in config["grid"]["model.sigma_w"]]
    assert sigma_w_squared[0] == pytest.approx(1.0) and sigma_w_squared[-1] == pytest.approx(4.0, rel=1e-6)
    boundary = critical_sigma_w("tanh", sigma_b) ** 2
    assert boundary == pytest.approx(1.761, abs=5e-4)  # the number the header and docs state
    (on_the_boundary,) = [value for value in sigma_w_squared if abs(value - boundary) < 1e-4]
    assert reference_chi_1(math.sqrt(on_the_boundary), sigma_b) == pytest.approx(1.0, abs=1e-4)
    # Either side of it, the phases the grid is meant to cross: χ1 < 1 (ordered) at σw² = 1, > 1 (chaotic) at 4.
    assert reference_chi_1(1.0, sigma_b) < 0.8 and reference_chi_1(2.0, sigma_b) > 1.3
    # The header's q* at the grid's ends: 0.19 (σw² = 1) and 2.2 (σw² = 4).
    assert reference_q_star(1.0, sigma_b) == pytest.approx(0.19, abs=0.005)
    assert reference_q_star(2.0, sigma_b) == pytest.approx(2.2, abs=0.05)
    assert mean_field("tanh", 2.0, sigma_b).q_star == pytest.approx(reference_q_star(2.0, sigma_b), rel=1e-4)


def test_isometry_preset_sits_on_the_critical_line_at_small_q_star():
    model = preset(ISOMETRY)["base"]["model"]
    sigma_w, sigma_b = model["sigma_w"], model["sigma_b"]
    assert sigma_b**2 == pytest.approx(1e-4)
    assert sigma_w == pytest.approx(critical_sigma_w("tanh", sigma_b), rel=1e-6)
    assert reference_chi_1(sigma_w, sigma_b) == pytest.approx(1.0, abs=1e-5)
    q_star = reference_q_star(sigma_w, sigma_b)
    assert q_star == pytest.approx(0.046, abs=5e-4)  # the q* the header states
    assert mean_field("tanh", sigma_w, sigma_b).q_star == pytest.approx(q_star, rel=1e-3)


def test_edge_of_chaos_header_states_mean_fields_six_xi_c():
    """The header's 6ξc per σw²; on the ordered side c* = 1, so ξc = -1/ln χ1 there: checked against the reference too."""
    header = EDGE_OF_CHAOS.read_text()
    found = re.search(r"6 xi_c = ([\d., inf]+) at sigma_w\^2 = ([\d., ]+) \(mean_field\)", header.replace("\n# ", " "))
    stated = [float(value) for value in found.group(1).split(", ")]
    sigma_w_squared = [float(value) for value in found.group(2).split(", ")]
    sigma_b = preset(EDGE_OF_CHAOS)["base"]["model"]["sigma_b"]
    assert sigma_w_squared == pytest.approx([value**2 for value in preset(EDGE_OF_CHAOS)["grid"]["model.sigma_w"]], abs=5e-4)
    for value, six_xi_c in zip(sigma_w_squared, stated):
        result = mean_field("tanh", math.sqrt(value), sigma_b)
        if math.isinf(six_xi_c):  # on the boundary, to the grid's rounding: thousands of layers
            assert 6 * result.xi_c > 1e4
            continue
        assert 6 * result.xi_c == pytest.approx(six_xi_c, abs=0.5)
        if value < 1.761:
            assert 6 * result.xi_c == pytest.approx(-6 / math.log(reference_chi_1(math.sqrt(value), sigma_b)), rel=1e-3)


def median(table, column, **where):
    rows = table
    for key, value in where.items():
        values = rows[key.replace("__", ".")]
        rows = rows[np.isclose(values, value)] if isinstance(value, float) else rows[values == value]
    assert len(rows) == 3, where  # quick: 3 seeds per cell
    return rows[column].median()


@pytest.mark.slow  # 12 quick runs: 36 s measured on 2 shared cores
def test_edge_of_chaos_quick_shows_both_phases_at_depth_100(quick_sweep_table):
    table = quick_sweep_table(EDGE_OF_CHAOS)
    sigma_b = preset(EDGE_OF_CHAOS)["base"]["model"]["sigma_b"]
    for sigma_w, sign in ((1.0, -1), (2.0, +1)):
        # First over last hidden layer's back-propagated signal at step 0: χ1 per layer, in the RMS its square root.
        predicted = (100 - 1) / 2 * math.log10(mean_field("tanh", sigma_w, sigma_b).chi_1)
        measured = median(table, "log10_signal_ratio_start", model__sigma_w=sigma_w, model__depth=100)
        assert sign * measured > 4  # ordered: vanished by over 4 decades; chaotic: grown by over 4
        assert measured == pytest.approx(predicted, abs=1.0)  # measured -6.26 vs -5.93 and +6.07 vs +6.33


@pytest.mark.slow  # 3 runs at the full budget (920 SGD steps at depth 50): 11 s measured on 2 shared cores
def test_edge_of_chaos_full_budget_trains_only_near_the_boundary_at_depth_50(tmp_path):
    """Three cells of the full-size map, seed 0: depth 50 is beyond 6ξc = 22 (σw² = 1) and 42 (σw² = 4), not at 1.761."""
    sweep = preset(EDGE_OF_CHAOS)
    sigma_ws = [1.0, 1.32701, 2.0]
    sweep.update(grid={"model.sigma_w": sigma_ws, "model.depth": [50]}, seeds=[0])
    six_xi_c = [6 * mean_field("tanh", sigma_w, sweep["base"]["model"]["sigma_b"]).xi_c for sigma_w in sigma_ws]
    assert six_xi_c[0] < 50 < six_xi_c[1] and six_xi_c[2] < 50  # the theory's side of each cell
    table_path, progress = run_sweep(sweep, tmp_path / "eoc", workers=1)
    assert progress.failed == 0
    table = read_sweep_csv(table_path)
    accuracy = dict(zip(table["model.sigma_w"], table["accuracy"]))
    # Measured (training accuracy, seeds 0-2): ordered 0.10-0.11, boundary 0.97-0.99, chaotic 0.17-0.38; chance 0.1.
    assert accuracy[1.32701] > 0.9
    assert accuracy[1.0] < 0.2
    assert accuracy[2.0] < 0.6


@pytest.mark.slow  # 12 quick runs with the propagation probe: 27 s measured on 2 shared cores
def test_isometry_quick_orthogonal_trains_faster_than_gaussian(quick_sweep_table):
    table = quick_sweep_table(ISOMETRY)
    for depth in (32, 64):
        orthogonal = median(table, "val_accuracy", model__kernel_initializer="orthogonal", model__depth=depth)
        gaussian = median(table, "val_accuracy", model__kernel_initializer="gaussian", model__depth=depth)
        # Measured after 20 SGD steps: 0.63 vs 0.28 (depth 32) and 0.77 vs 0.33 (depth 64); chance is 0.1.
        assert orthogonal > gaussian + 0.2, (depth, orthogonal, gaussian)
        # Sooner, not only further: the mean over the 5 epochs' validation accuracy, 0.42 vs 0.26 and 0.59 vs 0.26.
        sooner = median(table, "val_accuracy_mean", model__kernel_initializer="orthogonal", model__depth=depth)
        assert sooner > median(table, "val_accuracy_mean", model__kernel_initializer="gaussian", model__depth=depth) + 0.1
