"""Tied grid axes (issue #13): a grid name without dots listing mappings of dotted keys sets those keys together.

Expansion, one-line refusals naming the axis, --quick, sweep.csv's columns, the expanded sweep.yaml, and run ids
equal to the same config run alone.
"""
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lab import ConfigError, load_config, run, run_id_of
from lab.charts.sweep_charts import sweep_summary_table
from lab.readings.report import FIGURE_COLUMNS, figures
from lab.sweeps.runner import plan_sweep, run_sweep
from lab.sweeps.sweep_config import expand, load_sweep
from lab.sweeps.table import read_sweep_csv

BASE = {"data": {"dataset": "gaussian", "num_features": 4, "num_samples": 128}, "model": {"width": 4},
        "training": {"epochs": 0}, "probe": {"num_samples": 16}}
POINTS = [{"model.activation": "linear", "model.kernel_initializer": "gaussian", "model.sigma_w": 1.0},
          {"model.activation": "tanh", "model.kernel_initializer": "orthogonal", "model.sigma_w": 1.5},
          {"model.activation": "relu", "model.kernel_initializer": "gaussian", "model.sigma_w": 1.4142135623730951}]


def sweep_of(grid: dict, seeds=2) -> dict:
    """A sweep mapping over the tiny base."""
    return {"name": "tied", "base": BASE, "grid": grid, "seeds": seeds}


def test_a_tied_axis_sets_its_keys_together_in_grid_order():
    sweep, base = load_sweep(sweep_of({"model.depth": [2, 3], "point": POINTS}))
    assert sweep.grid_keys == ["model.depth", "model.activation", "model.kernel_initializer", "model.sigma_w"]
    assert sweep.run_count == 2 * 3 * 2
    planned = expand(sweep, base)
    assert len(planned) == 12 and [item.cell for item in planned] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # The last axis varies fastest, as for plain axes; each cell holds one entry's keys, never a mix of two.
    expected = [{"model.depth": depth, **point} for depth in (2, 3) for point in POINTS]
    assert [item.cell_values for item in planned[::2]] == expected
    for item in planned:
        model = item.config.model
        values = {"model.depth": model.depth, "model.activation": model.activation,
                  "model.kernel_initializer": model.kernel_initializer, "model.sigma_w": model.sigma_w}
        assert values == item.cell_values


def test_an_entry_may_list_its_keys_in_another_order():
    reordered = [POINTS[0], dict(reversed(list(POINTS[1].items())))]
    sweep, base = load_sweep(sweep_of({"point": reordered}))
    assert [item.cell_values for item in expand(sweep, base)][::2] == POINTS[:2]  # cells in the grid's key order


@pytest.mark.parametrize("grid, message", [
    ({"point": [{"model.activation": "tanh", "model.sigam_w": 1.0}]},
     "grid.point entry 1: model.sigam_w: unknown key; did you mean 'model.sigma_w'?"),
    ({"point": [POINTS[0], 3]}, "grid.point: entry 2 is not a mapping (got 3); a tied axis lists mappings of dotted keys"),
    ({"point": [POINTS[0], {"model.activation": "tanh"}]},
     "grid.point: entry 2 sets model.activation but entry 1 sets model.activation, model.kernel_initializer, "
     "model.sigma_w; every entry of a tied axis sets the same keys"),
    ({"model.activation": ["relu"], "point": POINTS},
     "grid.point: sets model.activation, which grid.model.activation varies already; each dotted key belongs to one axis"),
    ({"point": POINTS, "other": [{"model.sigma_w": 2.0}]},
     "grid.other: sets model.sigma_w, which grid.point varies already"),
    ({"point": [POINTS[0], dict(reversed(list(POINTS[0].items())))]}, "grid.point: an entry is listed twice"),
    ({"point": []}, "grid.point: needs at least one value (a tied axis: at least one mapping of dotted keys)"),
    ({"point": [{}]}, "grid.point: entry 1 sets no key"),
    ({"point": [{"seed": 3}]}, "grid.point entry 1: seed: set by the sweep itself"),
    ({"model": [{"model.depth": 2}]}, "grid.model: unknown key"),  # a section's name is never a tied axis' name
    ({"depth": [2, 3]}, "grid.depth: unknown key; did you mean 'model.depth'? a grid key is a dotted field such as "
                        "model.depth (or a name without dots whose values are mappings of dotted keys: a tied axis)"),
])
def test_bad_tied_axes_get_one_line_naming_the_axis(grid, message):
    with pytest.raises(ConfigError) as refused:
        load_sweep(sweep_of(grid))
    text = str(refused.value)
    assert message in text and "\n" not in text, text


def test_a_bad_entry_fails_up_front_naming_the_cell_with_its_tied_keys():
    points = [POINTS[0], {**POINTS[1], "model.sigma_w": 20.0}]  # sigma_w is at most 10
    with pytest.raises(ConfigError, match=r"grid cell 1 \(model.activation=tanh, model.kernel_initializer=orthogonal, "
                                          r"model.sigma_w=20.0\): model.sigma_w"):
        plan_sweep(sweep_of({"point": points}))


def test_quick_keeps_the_first_and_last_entry_of_a_tied_axis():
    sweep, _ = load_sweep(sweep_of({"model.depth": [2, 3, 4], "point": POINTS}, seeds=5), quick=True)
    assert sweep.grid == {"model.depth": [2, 4], "point": [POINTS[0], POINTS[2]]} and sweep.seed_list == [0, 1, 2]
    two, _ = load_sweep(sweep_of({"point": POINTS[:2]}), quick=True)
    assert two.grid["point"] == POINTS[:2]


@pytest.fixture(scope="module")
def tied_sweep(tmp_path_factory):
    """A tiny sweep with a plain and a tied axis, run once in this process."""
    folder = tmp_path_factory.mktemp("tied")
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep_of({"model.depth": [2], "point": POINTS}), sort_keys=False))
    table, progress = run_sweep(path, folder / "out")
    assert progress.failed == 0
    return path, folder / "out", read_sweep_csv(table)


def test_sweep_csv_has_one_column_per_dotted_key_and_none_for_the_axis_name(tied_sweep):
    _, _, rows = tied_sweep
    assert list(rows.columns[:8]) == ["cell", "seed", "run_id", "model.depth", "model.activation",
                                      "model.kernel_initializer", "model.sigma_w", "model.width"]
    assert sorted(rows.columns[8:]) == sorted(FIGURE_COLUMNS)  # no propagation, no training: the classic figures only
    assert list(rows["model.activation"]) == ["linear", "linear", "tanh", "tanh", "relu", "relu"]
    assert list(rows["model.sigma_w"]) == [point["model.sigma_w"] for point in POINTS for _ in (0, 1)]


def test_run_ids_and_figures_equal_the_same_config_run_alone(tied_sweep):
    _, _, rows = tied_sweep
    for row in rows.to_dict("records"):
        point = next(point for point in POINTS if point["model.activation"] == row["model.activation"])
        alone = load_config({**BASE, "name": "tied"}, overrides={**point, "model.depth": row["model.depth"], "seed": row["seed"]})
        assert row["run_id"] == run_id_of(alone)
    row = rows.iloc[3]  # depth 2, tanh orthogonal, seed 1: run alone, outside the sweep
    result = run(load_config({**BASE, "name": "tied"}, overrides={**POINTS[1], "model.depth": 2, "seed": 1}))
    assert result.run_id == row["run_id"]
    assert figures(result.layers, 2, result.summary)["log10_signal_ratio_start"] == row["log10_signal_ratio_start"]


def test_the_expanded_sweep_yaml_keeps_the_tied_axis_and_reruns_the_same_sweep(tied_sweep):
    _, out, _ = tied_sweep
    written = yaml.safe_load((out / "sweep.yaml").read_text())
    assert written["grid"] == {"model.depth": [2], "point": POINTS}
    _, progress = run_sweep(out / "sweep.yaml", out)
    assert progress.skipped == progress.total == 6


def test_the_summary_table_has_one_row_per_cell_with_the_tied_keys(tied_sweep):
    _, _, rows = tied_sweep
    summary = sweep_summary_table(rows)
    assert list(summary["cell"]) == [0, 1, 2] and (summary["seeds"] == 2).all()
    cells = summary[["model.depth", "model.activation", "model.kernel_initializer", "model.sigma_w"]]
    expected = pd.DataFrame([{"model.depth": 2, **point} for point in POINTS])
    pd.testing.assert_frame_equal(cells.reset_index(drop=True), expected, check_dtype=False)


def test_a_tied_axis_from_a_file_path_base(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({"name": "tied", "base": "base.yaml", "grid": {"point": POINTS}}))
    _, _, planned = plan_sweep(tmp_path / "sweep.yaml")
    assert [item.config.model.activation for item in planned] == ["linear", "tanh", "relu"]
