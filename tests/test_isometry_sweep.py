"""The isometry sweep (issue #13): sweep.csv's Jacobian figures for runs with probe.propagation, the learning-curve
mean of trained runs, and experiments/sweeps/isometry.yaml's measured pattern (Pennington, Schoenholz & Ganguli 2017)."""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lab import load_config, run
from lab.contract.result import frame
from lab.readings.report import FIGURE_COLUMNS, PROPAGATION_FIGURE_COLUMNS, propagation_figures, run_figures
from lab.science.mean_field import mean_field
from lab.sweeps.runner import plan_sweep, run_sweep
from lab.sweeps.table import error_row, read_sweep_csv

PRESET = Path(__file__).resolve().parent.parent / "experiments" / "sweeps" / "isometry.yaml"
TINY = {"data": {"dataset": "gaussian", "num_features": 4, "num_samples": 128}, "model": {"depth": 3, "width": 6},
        "training": {"epochs": 0}, "probe": {"num_samples": 16}}


def propagation_rows(rows: list[tuple]) -> pd.DataFrame:
    """A propagation frame from (step, layer, q, jac_mean_sq, jac_max, jac_min) tuples."""
    return frame("propagation", [{"run_id": "x", "step": step, "layer": layer, "q": q, "c": 0.5, "jac_mean_sq": mean_square,
                                  "jac_max": largest, "jac_min": smallest}
                                 for step, layer, q, mean_square, largest, smallest in rows])


def test_propagation_figures_read_the_last_hidden_layer_at_the_first_and_last_step():
    data = propagation_rows([(0, 1, 1.0, 1.0, 1.0, 1.0), (0, 2, 0.7, 0.5, 2.0, 0.5), (0, 3, 0.4, 4.0, 8.0, 0.01),
                             (9, 1, 1.0, 1.0, 1.0, 1.0), (9, 2, 0.9, 0.5, 2.0, 0.5), (9, 3, 0.2, 9.0, 30.0, 0.3)])
    row = propagation_figures(data, depth=3)
    assert list(row) == list(PROPAGATION_FIGURE_COLUMNS)
    assert row["log10_jac_spread_start"] == pytest.approx(math.log10(8.0 / 0.01), rel=1e-12)
    assert row["log10_jac_spread_end"] == pytest.approx(math.log10(30.0 / 0.3), rel=1e-12)
    assert row["log10_jac_mean_sq_start"] == pytest.approx(math.log10(4.0), rel=1e-12)
    assert row["log10_jac_max_over_rms_start"] == pytest.approx(math.log10(8.0 / 2.0), rel=1e-12)
    assert row["q_last_start"] == 0.4


def test_a_singular_or_broken_jacobian_gives_inf_or_nan_never_an_error():
    singular = propagation_figures(propagation_rows([(0, 1, 1.0, 1.0, 1.0, 1.0), (0, 2, 1.0, 0.5, 2.0, 0.0)]), depth=2)
    assert singular["log10_jac_spread_start"] == math.inf and math.isfinite(singular["log10_jac_max_over_rms_start"])
    broken = propagation_figures(propagation_rows([(0, 1, np.nan, np.nan, np.nan, np.nan)]), depth=1)
    assert all(math.isnan(broken[column]) for column in PROPAGATION_FIGURE_COLUMNS)
    assert all(math.isnan(value) for value in propagation_figures(frame("propagation"), depth=4).values())


def test_runs_without_propagation_or_training_keep_the_classic_figures_only():
    plain = run_figures(run(load_config(TINY)))
    assert set(plain) == set(FIGURE_COLUMNS)
    probed = run_figures(run(load_config(TINY, overrides={"probe.propagation": True})))
    assert set(probed) == set(FIGURE_COLUMNS) | set(PROPAGATION_FIGURE_COLUMNS)
    assert abs(probed["log10_jac_spread_start"] - probed["log10_jac_spread_end"]) == 0  # epochs 0: one record


def test_a_trained_run_adds_the_mean_of_its_validation_curve():
    result = run(load_config(TINY, overrides={"training.epochs": 3}))
    row = run_figures(result)
    assert set(row) == set(FIGURE_COLUMNS) | {"val_accuracy_mean"}
    curve = result.history["val_accuracy"].to_numpy()
    assert len(curve) == 3 and row["val_accuracy_mean"] == pytest.approx(sum(curve) / 3, rel=1e-12)
    assert row["val_accuracy"] == curve[-1]


def test_a_failed_propagation_run_gets_its_columns_as_nan():
    _, _, planned = plan_sweep({"name": "x", "base": {**TINY, "probe": {"num_samples": 16, "propagation": True}},
                                "grid": {"model.depth": [2]}})
    row = error_row(planned[0], ["model.depth"], "abc")
    assert row["status"] == "error" and all(math.isnan(row[column]) for column in PROPAGATION_FIGURE_COLUMNS)


def test_rows_read_back_from_the_run_folders_equal_the_workers_rows(tmp_path):
    """A rerun with every run finished reads each row from its folder (propagation and history too): same sweep.csv."""
    sweep = {"name": "probed", "base": {**TINY, "probe": {"num_samples": 16, "propagation": True}},
             "grid": {"training.epochs": [0, 2]}}
    table, _ = run_sweep(sweep, tmp_path)
    first = table.read_bytes()
    assert {"val_accuracy_mean", *PROPAGATION_FIGURE_COLUMNS} <= set(read_sweep_csv(table).columns)
    table.unlink()
    again, progress = run_sweep(sweep, tmp_path)
    assert progress.skipped == 2 and again.read_bytes() == first


def by_cell(table: pd.DataFrame, column: str) -> pd.Series:
    """Median of a column per (activation, initializer, depth)."""
    return table.groupby(["model.activation", "model.kernel_initializer", "model.depth"])[column].median()


@pytest.fixture(scope="module")
def quick_isometry(quick_sweep_table):
    """The preset with --quick: depths 2 and 100, both initializers, linear and tanh (the tied axis' ends), 3 seeds."""
    return quick_sweep_table(PRESET)


@pytest.mark.slow  # about 20 s
def test_orthogonal_linear_stays_an_isometry_and_gaussian_linear_spreads(quick_isometry):
    table = quick_isometry
    linear = table[table["model.activation"] == "linear"]
    orthogonal = linear[linear["model.kernel_initializer"] == "orthogonal"]
    assert len(orthogonal) == 6 and (orthogonal["log10_jac_spread_start"] < 1e-5).all()  # float32 rounding only
    spread = by_cell(table, "log10_jac_spread_start")
    # 18.5 decades measured at depth 100: the float64 floor of the product's smallest singular value; the true spread is larger.
    assert spread["linear", "gaussian", 100] > 10 and spread["linear", "gaussian", 100] > spread["linear", "gaussian", 2] + 8


@pytest.mark.slow  # shares the quick sweep
def test_orthogonal_tanh_spreads_far_less_than_gaussian_tanh(quick_isometry):
    """Measured, against the paper's flat spread: orthogonal tanh's spread also grows with depth (1.8 -> 6.7 decades),
    by 1.6 decades in the first layer alone, where q1 = 1.09 is far above q* = 0.046, then ~0.04 decades per layer."""
    spread = by_cell(quick_isometry, "log10_jac_spread_start")
    upper = by_cell(quick_isometry, "log10_jac_max_over_rms_start")
    assert spread["tanh", "orthogonal", 100] < spread["tanh", "gaussian", 100] - 5
    assert upper["tanh", "orthogonal", 100] < upper["tanh", "gaussian", 100] - 0.3
    assert spread["tanh", "orthogonal", 100] > spread["tanh", "orthogonal", 2] + 2


@pytest.mark.slow  # shares the quick sweep
def test_deep_tanh_sits_at_mean_fields_q_star(quick_isometry):
    """The preset's tanh point is on the critical line; by layer 100 the measured q has reached its q*."""
    tanh = quick_isometry[quick_isometry["model.activation"] == "tanh"].iloc[0]
    q_star = mean_field("tanh", tanh["model.sigma_w"], tanh["model.sigma_b"]).q_star
    q_last = by_cell(quick_isometry, "q_last_start")
    assert q_last["tanh", "orthogonal", 100] == pytest.approx(q_star, rel=0.05)
    assert q_last["tanh", "orthogonal", 2] > 5 * q_star  # the first layers are not at q*: q1 = sigma_w^2 + sigma_b^2


@pytest.mark.slow  # about 4 s
def test_relu_never_reaches_isometry(tmp_path):
    """ReLU (not in --quick: the tied axis' middle entry): J is singular at every depth, and its upper spread grows."""
    preset = yaml.safe_load(PRESET.read_text())
    relu = next(point for point in preset["grid"]["critical_point"] if point["model.activation"] == "relu")
    sweep = {**preset, "grid": {"model.depth": [2, 100], "model.kernel_initializer": ["orthogonal"], "critical_point": [relu]},
             "seeds": 2}
    table, _ = run_sweep(sweep, tmp_path)
    rows = read_sweep_csv(table)
    assert (rows["log10_jac_spread_start"] > 30).all()  # inf, or ~60-150 decades of rounding: a zero singular value
    upper = rows.groupby("model.depth")["log10_jac_max_over_rms_start"].median()
    assert upper[100] > upper[2] + 0.5  # measured 0.15 -> 0.97 (at most log10(sqrt(128)) = 1.05: rank one)
